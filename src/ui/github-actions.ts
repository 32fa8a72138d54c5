/**
 * GitHub Actions' workflow commands and files, for when crossdock runs in a workflow
 * (GITHUB_ACTIONS=true): `::group::` per stage, `::error file=…,line=…::` annotations,
 * `::add-mask::` for secrets, step outputs in $GITHUB_OUTPUT and a Markdown job summary in
 * $GITHUB_STEP_SUMMARY. The formatting is pure; only `emit`/`append*` touch the world.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { Manifest } from '../artifacts/manifest.js';

type Env = Record<string, string | undefined>;

export function inGitHubActions(env: Env = process.env): boolean {
  return env.GITHUB_ACTIONS === 'true';
}

/** Workflow command data: %, CR and LF would end or corrupt the command. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Property values also lose ':' and ',' which separate properties. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function workflowCommand(
  name: string,
  properties: Record<string, string | number | undefined>,
  message: string,
): string {
  const props = Object.entries(properties)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined && entry[1] !== '')
    .map(([key, value]) => `${key}=${escapeProperty(String(value))}`)
    .join(',');
  return `::${name}${props ? ` ${props}` : ''}::${escapeData(message)}`;
}

/**
 * An error as an annotation: a message that starts with `file:line:column:` (how config and
 * input errors name their place) is pinned to that place in the file.
 */
export function errorAnnotation(message: string, hint?: string, workspace = process.env.GITHUB_WORKSPACE): string {
  const place = /^(\S+?):(\d+)(?::(\d+))?:? (.*)$/s.exec(message);
  const text = hint ? `${place?.[4] ?? message}\n${hint}` : (place?.[4] ?? message);
  // Annotations name files relative to the checkout.
  const file =
    place?.[1] && workspace && place[1].startsWith(`${workspace}/`) ? place[1].slice(workspace.length + 1) : place?.[1];
  return workflowCommand(
    'error',
    place ? { file, line: place[2], col: place[3], title: 'crossdock' } : { title: 'crossdock' },
    text,
  );
}

/** `name<<DELIM\nvalue\nDELIM`: the form $GITHUB_OUTPUT takes for any value, multi-line included. */
export function outputEntry(
  name: string,
  value: string,
  delimiter = `ghadelimiter_${randomBytes(8).toString('hex')}`,
): string {
  if (name.includes(delimiter) || value.includes(delimiter))
    throw new Error('output delimiter collides with the value');
  return `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
}

export function setOutput(name: string, value: string, env: Env = process.env): void {
  if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, outputEntry(name, value));
}

export function appendSummary(markdown: string, env: Env = process.env): void {
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `${markdown.trimEnd()}\n\n`);
}

/**
 * The runner reads workflow commands on stdout and stderr alike; stderr keeps them out of
 * `--json` output a workflow pipes into a file.
 */
export function emit(line: string, env: Env = process.env): void {
  if (inGitHubActions(env)) process.stderr.write(`${line}\n`);
}

export function mask(secret: string | undefined, env: Env = process.env): void {
  if (secret) emit(workflowCommand('add-mask', {}, secret), env);
}

export async function group<T>(title: string, work: () => Promise<T>, env: Env = process.env): Promise<T> {
  emit(`::group::${escapeData(title)}`, env);
  try {
    return await work();
  } finally {
    emit('::endgroup::', env);
  }
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(rows: readonly (readonly string[])[]): string {
  const [head, ...body] = rows;
  if (!head) return '';
  return [
    `| ${head.map(cell).join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...body.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

function size(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** The job summary of a build: targets × components, each cell the binary's size and sha256. */
export function buildSummary(manifest: Manifest): string {
  const bundles = manifest.artifacts.filter((a) => a.kind === 'bundle');
  const components = [...new Set(bundles.flatMap((b) => (b.binaries ?? []).map((x) => x.name)))].sort();
  const rows: string[][] = [['target', ...components, 'bundle']];
  for (const bundle of bundles) {
    const binaries = new Map((bundle.binaries ?? []).map((b) => [b.name, b]));
    rows.push([
      bundle.target ?? '—',
      ...components.map((name) => {
        const binary = binaries.get(name);
        return binary ? `${size(binary.size)} \`${binary.sha256.slice(0, 12)}\`` : '—';
      }),
      `${bundle.file} (${size(bundle.size)}) \`${bundle.sha256.slice(0, 12)}\``,
    ]);
  }
  return `### crossdock build ${manifest.version}\n\n${table(rows)}`;
}

export interface SummaryHost {
  name: string;
  target: string | null;
  status: string;
  activeVersion: string | null;
  previousVersion?: string | null;
  health: string;
  bytesSent: number;
  error?: string | null;
}

export function hostsSummary(version: string, hosts: readonly SummaryHost[]): string {
  const rows = [
    ['host', 'target', 'status', 'active', 'previous', 'health', 'sent'],
    ...hosts.map((h) => [
      h.name,
      h.target ?? '—',
      h.status === 'installed' || h.status === 'unchanged' || h.status === 'reconfigured'
        ? h.status
        : `**${h.status}**`,
      h.activeVersion ?? '—',
      h.previousVersion ?? '—',
      h.health === 'ok' ? '✅ ok' : h.health === 'failed' ? '❌ failed' : h.health,
      size(h.bytesSent),
    ]),
  ];
  const failures = hosts.filter((h) => h.error).map((h) => `- ${h.name}: ${h.error ?? ''}`);
  return `### crossdock install ${version}\n\n${table(rows)}${failures.length ? `\n\n${failures.join('\n')}` : ''}`;
}

export function releaseSummary(report: {
  repository: string;
  tag: string;
  url: string | null;
  published: boolean;
  assets: Array<{ name: string; size: number; action: string }>;
}): string {
  const title = report.url
    ? `[${report.repository} ${report.tag}](${report.url})`
    : `${report.repository} ${report.tag}`;
  return `### crossdock release ${title}${report.published ? '' : ' (draft)'}\n\n${table([
    ['asset', 'size', 'action'],
    ...report.assets.map((a) => [a.name, size(a.size), a.action]),
  ])}`;
}
