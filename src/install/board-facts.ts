/**
 * What a board is, read over SSH without changing it: the install layout (current, previous,
 * pending, versions, systemd, daemon.json) and whether a version answers its health check. Each
 * fact is one script and a parse of its output; the install and the day-2 operations read them.
 */
import { normalizeSmokeLine, smokeFirstLine } from '../builder/smoke-line.js';
import { isDistVersion, type ManifestBinary, parseVersionRecord } from '../artifacts/manifest.js';
import { shellQuote } from '../exec/runner.js';
import type { SshRunner } from '../remote/ssh-runner.js';
import { DEFAULT_HEALTH_SECONDS, layout, RECONFIGURE_PENDING, serverCheckSeconds } from './board-scripts.js';

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
  // Builtins and globs rather than ls, grep and sed: each program started costs a Pi Zero (or an
  // emulated board) some 50 ms, and this runs on every install and status.
  const script = [
    `cd ${shellQuote(layout.root)} 2>/dev/null || exit 0`,
    '[ -L current ] && printf "current=%s\\n" "$(readlink current)"',
    '[ -L previous ] && printf "previous=%s\\n" "$(readlink previous)"',
    '[ -f pending ] && { { read -r a; read -r b; } < pending; printf "pending=%s\\n" "$b"; }',
    `[ -f ${RECONFIGURE_PENDING} ] && { { read -r a; read -r b; } < ${RECONFIGURE_PENDING}; printf "reconfigure=%s %s\\n" "$a" "$b"; }`,
    'printf "incoming="; for f in incoming/*; do [ -f "$f" ] && printf "%s " "${f#incoming/}"; done; echo',
    'printf "objects="; for f in objects/*; do [ -f "$f" ] && printf "%s " "${f#objects/}"; done; echo',
    'printf "versions="; for f in versions/*; do [ -d "$f" ] || continue; case $f in *.partial) ;; *) printf "%s " "${f#versions/}";; esac; done; echo',
  ].join('\n');
  // The layout part runs in a subshell: on a fresh board it stops early, the systemd check must not.
  const output = (
    await runner.run(
      'sh',
      [
        '-c',
        `(${script})\n[ -d /run/systemd/system ] && echo systemd=1\n[ -f ${layout.daemonConfig} ] && printf "daemon=%s\\n" "$(sha256sum ${layout.daemonConfig})"\n:`,
      ],
      { readOnly: true },
    )
  ).stdout;
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(output)?.[1]?.trim() ?? '';
  const version = (link: string) => (link ? (link.split('/').at(-1) ?? null) : null);
  return {
    current: version(value('current')),
    previous: version(value('previous')),
    pending: value('pending') || null,
    reconfigurePending: reconfigurePending(value('reconfigure')),
    versions: value('versions').split(' ').filter(Boolean),
    incoming: value('incoming').split(' ').filter(Boolean),
    objects: value('objects')
      .split(' ')
      .filter((name) => /^[0-9a-f]{64}$/.test(name)),
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
  /** Shell that writes $d/<index>.out, .err and .rc. */
  run: (index: number) => string;
}

/**
 * Each binary's own smoke command, and each CLI plugin through the version's own docker CLI
 * (`docker compose version` with a plugin directory of this version's plugins), as the build
 * ran them: the CLI asks the plugin for its metadata first, the call that broke Pi Zeros. Pure.
 */
export function smokeChecks(directory: string, binaries: readonly ManifestBinary[]): SmokeCheck[] {
  const output = (index: number) => `>"$d/${index}.out" 2>"$d/${index}.err" </dev/null; echo $? >"$d/${index}.rc"`;
  const own = binaries.map((binary): SmokeCheck => {
    const path = shellQuote(`${directory}/${binary.name}`);
    const { smoke } = binary;
    return smoke
      ? {
          firstLine: smoke.firstLine,
          name: binary.name,
          run: (index) => `(timeout 60 ${[path, ...smoke.args.map(shellQuote)].join(' ')} ${output(index)}) &`,
        }
      : {
          firstLine: null,
          name: binary.name,
          run: (index) => `{ test -x ${path} && echo 0 || echo 1; } >"$d/${index}.rc"`,
        };
  });
  const docker = shellQuote(`${directory}/docker`);
  const throughCli = binaries.some((b) => b.name === 'docker')
    ? binaries.flatMap((binary): SmokeCheck[] => {
        const line = binary.plugin?.firstLine;
        if (!binary.plugin || line === null || line === undefined) return [];
        const command = shellQuote(binary.plugin.command);
        return [
          {
            firstLine: line,
            name: binary.name,
            run: (index) =>
              `(c="$d/cli${index}"; mkdir -p "$c/cli-plugins" && ln -s ${shellQuote(`${directory}/${binary.name}`)} "$c/cli-plugins/" && DOCKER_CONFIG="$c" HOME="$c" DOCKER_CLI_HINTS=false timeout 60 ${docker} ${command} version ${output(index)}) &`,
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
  // Every binary's smoke command at once, in one round trip: on an emulated or slow board each
  // start of a Go binary costs the better part of a second.
  const MARK = '@@crossdock-smoke';
  const checks = smokeChecks(directory, binaries);
  const script = [
    // Removed however the script ends: a cut link makes the output's writes fail (SIGPIPE is
    // ignored so the script goes on to exit), and the folder must not stay in the board's /tmp.
    'd=$(mktemp -d) || exit 1',
    'trap \'rm -rf "$d"\' EXIT',
    "trap '' PIPE",
    "trap 'exit 1' HUP INT TERM",
    ...checks.map((check, index) => check.run(index)),
    'wait',
    `for i in ${checks.map((_, index) => index).join(' ')}; do printf '\n${MARK} %s out\n' "$i"; cat "$d/$i.out" 2>/dev/null; printf '\n${MARK} %s err\n' "$i"; cat "$d/$i.err" 2>/dev/null; printf '\n${MARK} %s rc %s\n' "$i" "$(cat "$d/$i.rc")"; done`,
  ].join('\n');
  const output = (await runner.run('sh', ['-c', script], { allowFailure: true, timeoutMs: 120_000, readOnly: true }))
    .stdout;
  const parts = new Map<string, string>();
  let key: string | null = null;
  for (const line of output.split('\n')) {
    const mark = new RegExp(`^${MARK} (\\d+) (out|err|rc)(?: (\\d+))?$`).exec(line);
    if (mark) {
      key = `${mark[1] ?? ''} ${mark[2] ?? ''}`;
      if (mark[2] === 'rc') parts.set(key, mark[3] ?? '');
      else parts.set(key, '');
      continue;
    }
    if (key && !key.endsWith('rc')) parts.set(key, `${parts.get(key) ?? ''}${line}\n`);
  }
  for (const [index, check] of checks.entries()) {
    if (!parts.has(`${index} rc`)) return false;
    if (check.firstLine === null) {
      if (parts.get(`${index} rc`) !== '0') return false;
      continue;
    }
    const line = smokeFirstLine(parts.get(`${index} out`) ?? '', parts.get(`${index} err`) ?? '', check.name);
    // Manifests written before the path normalisation still carry the build machine's path.
    if (line !== normalizeSmokeLine(check.firstLine, check.name)) return false;
  }
  if (systemd && binaries.some((b) => b.name === 'dockerd')) {
    // dockerd answers on its socket (systemd restarted it and waited for its ready signal, but
    // socket activation may still be starting it), client and server are the same build, and
    // containerd answers on its own socket.
    const check = [
      `for i in $(seq 1 ${Math.max(1, Math.ceil(healthSeconds / 2))}); do`,
      `  v=$(${layout.bin}/docker version --format '{{.Client.Version}} {{.Server.Version}}' 2>/dev/null) && break`,
      '  sleep 2',
      'done',
      'set -- $v; [ -n "$2" ] && [ "$1" = "$2" ] || { echo "docker version: ${v:-no answer}"; exit 1; }',
      ...(binaries.some((b) => b.name === 'ctr')
        ? [
            `${layout.bin}/ctr --address /run/containerd/containerd.sock version >/dev/null || { echo "containerd does not answer"; exit 1; }`,
          ]
        : []),
    ].join('\n');
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
