import { join } from 'node:path';
import type { ConfigOverrides } from '../config/load.js';
import { resolveContext } from '../context.js';
import { ExitCode, UserError } from '../errors.js';
import { packageVersion } from '../package-root.js';
import { parseReleaseTag } from '../release/plan.js';
import { type NotesSource, publishRelease, type ReleaseReport } from '../release/publish.js';
import { appendSummary, mask, releaseSummary, setOutput } from '../ui/github-actions.js';
import { printJson } from '../ui/output.js';

export interface ReleaseCommandOptions {
  config?: string | undefined;
  tag?: string | undefined;
  draft?: boolean;
  notes?: string | undefined;
  generateNotes?: boolean;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
  concurrency?: number | undefined;
  targetCommitish?: string | undefined;
  overrides: ConfigOverrides;
  env?: Record<string, string | undefined>;
}

export async function releaseCommand(dists: string[], options: ReleaseCommandOptions): Promise<number> {
  const env = options.env ?? process.env;
  const context = await resolveContext({ configFile: options.config, flags: options.overrides, env });
  const { release, build } = context.config;
  if (options.notes !== undefined && options.generateNotes)
    throw new UserError('--notes and --generate-notes: give one of them', {
      hint: '--notes FILE publishes your text; --generate-notes writes it from the manifest and git log',
    });
  if (options.concurrency !== undefined && !(Number.isInteger(options.concurrency) && options.concurrency > 0))
    throw new UserError(`--concurrency ${String(options.concurrency)}: expected a whole number above 0`, {
      hint: 'e.g. --concurrency 4',
    });
  let directories = dists;
  if (directories.length === 0) {
    if (!options.tag)
      throw new UserError('release: which dist? pass DIST directories or --tag', {
        hint: `crossdock release ${join(build.outDir, '<version>')}, or --tag v<version> to use ${join(build.outDir, '<version>')}`,
      });
    directories = [join(build.outDir, parseReleaseTag(options.tag).version)];
  }
  const notes: NotesSource = options.generateNotes
    ? { kind: 'generate' }
    : options.notes !== undefined
      ? { kind: 'file', path: options.notes }
      : { kind: 'none' };
  const { log } = context;
  // The runner masks secrets it was given; a token from elsewhere is masked here, before any output.
  mask(context.githubToken);
  const report = await publishRelease({
    dists: directories,
    repository: release.repository,
    tag: options.tag,
    tagPrefix: release.tagPrefix,
    apiUrl: context.githubApiUrl,
    token: context.githubToken,
    userAgent: `crossdock/${packageVersion()}`,
    draft: options.draft ?? false,
    notes,
    replace: release.replaceAssets,
    dryRun: options.dryRun ?? false,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    targetCommitish: options.targetCommitish ?? env.GITHUB_SHA,
    signingKey: build.signingKey,
    runner: context.runner(),
    cwd: context.baseDirectory,
    renderer: { json: options.json, verbose: options.verbose },
    log,
  });
  if (report.url) setOutput('release-url', report.url);
  if (!report.dryRun) appendSummary(releaseSummary(report));
  if (options.json) printJson(report);
  else process.stdout.write(summary(report));
  return ExitCode.Ok;
}

function summary(report: ReleaseReport): string {
  const count = (action: string) => report.assets.filter((a) => a.action === action).length;
  const state = report.dryRun
    ? 'dry run, nothing written'
    : report.published
      ? `published${report.latest ? ' (latest)' : ''}${report.prerelease ? ' (prerelease)' : ''}`
      : 'draft';
  const verb = report.dryRun ? 'to upload' : 'uploaded';
  const lines = [
    `${report.repository} ${report.tag}: ${state}${report.url ? ` — ${report.url}` : ''}`,
    `  ${count('uploaded')} ${verb}, ${count('replaced')} replaced, ${count('skipped')} already there`,
  ];
  if (report.extraAssets.length > 0) lines.push(`  not from these dists, left alone: ${report.extraAssets.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
