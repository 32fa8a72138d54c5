/**
 * What a board is, read over SSH without changing it: the install layout (current, previous,
 * pending, versions, systemd, daemon.json) and whether a version answers its health check. Each
 * fact is one script and a parse of its output; the install and the day-2 operations read them.
 */
import { normalizeSmokeLine, smokeFirstLine } from '../builder/smoke-line.js';
import { isDistVersion, type ManifestBinary, parseVersionRecord } from '../artifacts/manifest.js';
import { shellQuote } from '../exec/runner.js';
import type { SshRunner } from '../remote/ssh-runner.js';
import { splitSections } from './fact-sections.js';
import { boardScript, DEFAULT_HEALTH_SECONDS, layout, serverCheckSeconds } from './board-scripts.js';

export interface RemoteState {
  current: string | null;
  previous: string | null;
  pending: string | null;
  /**
   * A daemon.json change a dead run left uncommitted (`reconfigure-pending`: the version and the
   * token of its watchdog), read as data: a version and a hex token, else null.
   */
  reconfigurePending: { version: string; token: string } | null;
  versions: string[];
  /** Files in incoming/ (left by an interrupted run, or downloaded). */
  incoming: string[];
  /** sha256s in the object store (objects/): binaries an upgrade need not send again. */
  objects: string[];
  systemd: boolean;
  /** sha256 of the board's daemon.json, null when there is none. */
  daemonConfig: string | null;
}

function reconfigurePending(line: string): RemoteState['reconfigurePending'] {
  const [version = '', token = ''] = line.split(' ');
  return isDistVersion(version) && /^[0-9a-f]{16}$/.test(token) ? { version, token } : null;
}

export async function readBoardState(runner: SshRunner): Promise<RemoteState> {
  const output = (await runner.run('sh', ['-c', boardScript('state')], { readOnly: true })).stdout;
  return parseBoardState(output);
}

/** The facts scripts/state.sh prints. Pure. */
export function parseBoardState(output: string): RemoteState {
  const facts = splitSections(output);
  const value = (key: string) => facts.get(key) ?? '';
  const list = (key: string) => value(key).split('\n').filter(Boolean);
  const version = (link: string) => (link ? (link.split('/').at(-1) ?? null) : null);
  return {
    current: version(value('current')),
    previous: version(value('previous')),
    pending: value('pending') || null,
    reconfigurePending: reconfigurePending(value('reconfigure')),
    versions: list('versions'),
    incoming: list('incoming'),
    objects: list('objects').filter((name) => /^[0-9a-f]{64}$/.test(name)),
    systemd: value('systemd') === '1',
    daemonConfig: /^[0-9a-f]{64}/.exec(value('daemon'))?.[0] ?? null,
  };
}

export type VersionRecord = NonNullable<ReturnType<typeof parseVersionRecord>>;

/**
 * What the board says one of its versions is (`versions/<v>.json`, written at its switch), through
 * the same checks as a manifest's binaries; null when it has none or it does not parse.
 */
export async function readVersionRecord(runner: SshRunner, version: string): Promise<VersionRecord | null> {
  const text = await runner.run('cat', [`${layout.versions}/${version}.json`], { allowFailure: true, readOnly: true });
  if (text.exitCode !== 0) return null;
  let value: unknown;
  try {
    value = JSON.parse(text.stdout);
  } catch {
    return null;
  }
  const record = parseVersionRecord(value);
  return record && record.version === version ? record : null;
}

export async function remoteSha256(runner: SshRunner, path: string): Promise<string | null> {
  const result = await runner.run('sh', ['-c', `sha256sum ${shellQuote(path)} 2>/dev/null || true`], {
    privileged: true,
    readOnly: true,
  });
  return /^([0-9a-f]{64})\s/.exec(result.stdout)?.[1] ?? null;
}

interface SmokeCheck {
  /** The line the build recorded, or null when only the exit status counts. */
  firstLine: string | null;
  /** The binary whose path the line may name. */
  name: string;
  /** The check as scripts/smoke.sh reads it, after its kind and before nothing: `run PATH ARGS…` and so on. */
  line: (index: number) => string;
}

/**
 * Each binary's own smoke command, and each CLI plugin through the version's own docker CLI
 * (`docker compose version` with a plugin directory of this version's plugins), as the build
 * ran them: the CLI asks the plugin for its metadata first, the call that broke Pi Zeros. Names,
 * commands and smoke arguments are the manifest's, checked to be plain words. Pure.
 */
export function smokeChecks(directory: string, binaries: readonly ManifestBinary[]): SmokeCheck[] {
  const own = binaries.map((binary): SmokeCheck => {
    const path = `${directory}/${binary.name}`;
    const { smoke } = binary;
    return smoke
      ? {
          firstLine: smoke.firstLine,
          name: binary.name,
          line: (index) => ['run', index, path, ...smoke.args].join(' '),
        }
      : { firstLine: null, name: binary.name, line: (index) => `exists ${String(index)} ${path}` };
  });
  const docker = `${directory}/docker`;
  const throughCli = binaries.some((b) => b.name === 'docker')
    ? binaries.flatMap((binary): SmokeCheck[] => {
        const line = binary.plugin?.firstLine;
        if (!binary.plugin || line === null || line === undefined) return [];
        const { command } = binary.plugin;
        return [
          {
            firstLine: line,
            name: binary.name,
            line: (index) => `plugin ${String(index)} ${docker} ${directory}/${binary.name} ${command}`,
          },
        ];
      })
    : [];
  return [...own, ...throughCli];
}

export async function healthy(
  runner: SshRunner,
  version: string,
  binaries: readonly ManifestBinary[],
  systemd: boolean,
  healthSeconds = DEFAULT_HEALTH_SECONDS,
): Promise<boolean> {
  const directory = `${layout.versions}/${version}`;
  const checks = smokeChecks(directory, binaries);
  const output = (
    await runner.run(
      'sh',
      ['-c', boardScript('smoke', { CHECKS: checks.map((check, index) => check.line(index)).join('\n') })],
      { allowFailure: true, timeoutMs: 120_000, readOnly: true },
    )
  ).stdout;
  const facts = splitSections(output);
  for (const [index, check] of checks.entries()) {
    const status = facts.get(`${String(index)}.rc`);
    if (status === undefined || status === '') return false;
    if (check.firstLine === null) {
      if (status !== '0') return false;
      continue;
    }
    const line = smokeFirstLine(
      facts.get(`${String(index)}.out`) ?? '',
      facts.get(`${String(index)}.err`) ?? '',
      check.name,
    );
    // Manifests written before the path normalisation still carry the build machine's path.
    if (line !== normalizeSmokeLine(check.firstLine, check.name)) return false;
  }
  if (systemd && binaries.some((b) => b.name === 'dockerd')) {
    // dockerd answers on its socket (systemd restarted it and waited for its ready signal, but
    // socket activation may still be starting it), client and server are the same build, and
    // containerd answers on its own socket.
    const check = boardScript('server-check', {
      TRIES: Math.max(1, Math.ceil(healthSeconds / 2)),
      CTR: binaries.some((b) => b.name === 'ctr'),
    });
    const server = await runner.run('sh', ['-c', check], {
      allowFailure: true,
      timeoutMs: serverCheckSeconds(healthSeconds) * 1000,
      privileged: true,
      readOnly: true,
    });
    if (server.exitCode !== 0) return false;
  }
  return true;
}
