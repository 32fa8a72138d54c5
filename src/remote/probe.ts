/**
 * What a board is and what it has, in one SSH round trip: one POSIX sh script prints every fact
 * in a marked section; parsing is pure, and the target comes from the foundation's board
 * identification (never from `uname -m` alone).
 */
import { printable } from '../errors.js';
import { identifyBoard, type BoardIdentity, UnsupportedBoardError } from '../platform/identify-board.js';
import type { TargetRegistry } from '../platform/targets.js';
import type { Runner } from '../exec/runner.js';
import { shellQuote } from '../exec/runner.js';

const MARK = '@@crossdock:';

/** The probe, as sent. Every command may fail; a missing fact is an empty section. */
export function probeScript(installPath: string): string {
  const section = (name: string) => `printf '\\n${MARK}${name}\\n'`;
  // Shell builtins where they do: every program started costs some 50 ms on a Pi Zero or an
  // emulated board, and this runs before every install.
  const show = (file: string) => `[ -r ${file} ] && { IFS= read -r l < ${file}; printf '%s\\n' "$l"; }`;
  return [
    `${section('uname')}; uname -m`,
    `${section('kernel')}; uname -r`,
    `${section('longbit')}; getconf LONG_BIT 2>/dev/null`,
    `${section('dpkg')}; dpkg --print-architecture 2>/dev/null`,
    `${section('osrelease')}; cat /etc/os-release 2>/dev/null`,
    `${section('cpuinfo')}; cat /proc/cpuinfo 2>/dev/null`,
    `${section('dtmodel')}; [ -r /sys/firmware/devicetree/base/model ] && tr -d '\\000' < /sys/firmware/devicetree/base/model`,
    `${section('shelf')}; od -An -v -tx1 -N64 /bin/sh 2>/dev/null | tr -d ' \\n'`,
    `${section('init')}; ${show('/proc/1/comm')}; [ -d /run/systemd/system ] && echo systemd-running`,
    // Free space where the install goes, or at the nearest directory that exists.
    `${section('disk')}; p=${shellQuote(installPath)}; while [ ! -e "$p" ] && [ -n "$p" ]; do p=\${p%/*}; done; df -Pk "\${p:-/}" 2>/dev/null | tail -n 1`,
    // cgroup v2's controllers decide where they exist (labelled: the file may be absent), else v1's table.
    `${section('memory')}; [ -r /sys/fs/cgroup/cgroup.controllers ] && { read -r c < /sys/fs/cgroup/cgroup.controllers; printf 'controllers: %s\\n' "$c"; } || grep -w '^memory' /proc/cgroups 2>/dev/null`,
    `${section('cmdline')}; for f in /boot/firmware/cmdline.txt /boot/cmdline.txt; do [ -f "$f" ] && { echo "$f"; cat "$f"; break; }; done`,
    `${section('iptables')}; command -v iptables >/dev/null 2>&1 && iptables --version 2>/dev/null; grep -Eo '^(nf_tables|ip_tables|x_tables)' /proc/modules 2>/dev/null`,
    // dockerd loads its AppArmor profile with apparmor_parser whenever the kernel has AppArmor on.
    `${section('apparmor')}; ${show('/sys/module/apparmor/parameters/enabled')}; command -v apparmor_parser >/dev/null 2>&1 || [ -x /sbin/apparmor_parser ] && echo parser`,
    `${section('packages')}; dpkg-query -W -f '\${Package} \${Version} \${db:Status-Abbrev}\\n' docker.io docker-ce containerd containerd.io runc 2>/dev/null`,
    `${section('commands')}; for c in dockerd docker containerd runc; do command -v "$c"; done; q=${shellQuote(installPath)}; [ -L "$q/current" ] && printf 'crossdock-current %s\\n' "$(readlink "$q/current")"`,
    `${section('sudo')}; u=$(id -u); echo "$u"; [ "$u" = 0 ] || { command -v sudo >/dev/null && { sudo -n true 2>/dev/null && echo nopasswd || echo password; }; }`,
    section('end'),
  ].join('\n');
}

export function splitSections(output: string): Map<string, string> {
  const sections = new Map<string, string>();
  let current: string | null = null;
  let lines: string[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith(MARK)) {
      if (current) sections.set(current, lines.join('\n').trim());
      current = line.slice(MARK.length).trim();
      lines = [];
    } else if (current) lines.push(line);
  }
  if (current) sections.set(current, lines.join('\n').trim());
  return sections;
}

export interface ProbeReport {
  name: string;
  /** The target to install, or null when the board is refused (see `refused`). */
  target: string | null;
  refused: string | null;
  identity: BoardIdentity | null;
  model: string | null;
  kernel: { release: string; machine: string; bits: number | null };
  userland: { bits: number | null; dpkgArchitecture: string | null };
  os: string | null;
  init: string | null;
  freeDiskBytes: number | null;
  memoryCgroup: { enabled: boolean; fix: string | null; cmdlineFile: string | null; cmdline: string | null };
  iptables: 'nft' | 'legacy' | null;
  /** AppArmor on in the kernel, and whether apparmor_parser is there to load dockerd's profile. */
  apparmor: { enabled: boolean; parser: boolean };
  docker: {
    packages: Array<{ name: string; version: string }>;
    commands: string[];
    crossdockVersion: string | null;
  };
  sudo: 'root' | 'nopasswd' | 'password' | 'none';
}

export function parseProbe(name: string, output: string, registry: TargetRegistry): ProbeReport {
  // Everything a board reports may be shown (os, model, versions): no control sequences in it.
  const s = splitSections(printable(output));
  const get = (key: string) => s.get(key) ?? '';
  const hex = get('shelf');
  const longBit = Number(get('longbit')) || null;
  let identity: BoardIdentity | null = null;
  let refused: string | null = null;
  try {
    identity = identifyBoard(
      {
        unameMachine: get('uname'),
        longBit,
        dpkgArchitecture: get('dpkg') || null,
        osRelease: get('osrelease') || null,
        cpuinfo: get('cpuinfo') || null,
        deviceTreeModel: get('dtmodel') || null,
        shElfHeader: /^[0-9a-f]+$/.test(hex) ? Buffer.from(hex, 'hex') : null,
      },
      registry,
    );
  } catch (error) {
    if (!(error instanceof UnsupportedBoardError)) throw error;
    refused = error.message;
  }
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(get('osrelease'))?.[1] ?? null;
  const initLines = get('init').split('\n');
  const diskFields = get('disk').split(/\s+/);
  const memory = get('memory');
  const controllers = /^controllers: (.*)$/m.exec(memory)?.[1];
  const memoryEnabled =
    controllers !== undefined ? /\bmemory\b/.test(controllers) : /^memory\s+\d+\s+\d+\s+1$/m.test(memory);
  const [cmdlineFile, cmdline] = get('cmdline').split('\n');
  const iptables = get('iptables');
  const sudoLines = get('sudo').split('\n');
  const commands = get('commands').split('\n').filter(Boolean);
  const current = commands.find((line) => line.startsWith('crossdock-current ')) ?? null;
  return {
    name,
    target: identity?.target ?? null,
    refused,
    identity,
    model: get('dtmodel') || null,
    kernel: {
      release: get('kernel'),
      machine: get('uname'),
      bits: identity?.kernel.bits ?? null,
    },
    userland: { bits: longBit, dpkgArchitecture: get('dpkg') || null },
    os: pretty,
    init: initLines.includes('systemd-running') ? 'systemd' : (initLines[0] ?? null) || null,
    freeDiskBytes: diskFields[3] && /^\d+$/.test(diskFields[3]) ? Number(diskFields[3]) * 1024 : null,
    memoryCgroup: {
      enabled: memoryEnabled,
      fix:
        memoryEnabled || !cmdlineFile
          ? null
          : `add "cgroup_enable=memory cgroup_memory=1" to the single line of ${cmdlineFile}${cmdline?.includes('cgroup_disable=memory') ? ' (and remove cgroup_disable=memory)' : ''}, then reboot (install --fix does the edit)`,
      cmdlineFile: cmdlineFile || null,
      cmdline: cmdline ?? null,
    },
    iptables: /nf_tables/.test(iptables) ? 'nft' : /legacy|ip_tables/.test(iptables) ? 'legacy' : null,
    apparmor: { enabled: /^Y/m.test(get('apparmor')), parser: /^parser$/m.test(get('apparmor')) },
    docker: {
      packages: get('packages')
        .split('\n')
        .map((line) => line.split(' '))
        .filter((fields) => fields.length >= 3 && fields[2]?.startsWith('i'))
        .map(([pkg, version]) => ({ name: pkg ?? '', version: version ?? '' })),
      commands: commands.filter((line) => line.startsWith('/')),
      crossdockVersion: current ? (current.split('/').at(-1) ?? null) : null,
    },
    sudo: sudoLines[0] === '0' ? 'root' : sudoLines[1] === 'nopasswd' ? 'nopasswd' : sudoLines[1] ? 'password' : 'none',
  };
}

export async function probeBoard(
  runner: Runner,
  registry: TargetRegistry,
  options: { installPath?: string } = {},
): Promise<ProbeReport> {
  const result = await runner.run('sh', ['-c', probeScript(options.installPath ?? '/opt/crossdock')], {
    timeoutMs: 60_000,
    readOnly: true,
  });
  return parseProbe(runner.host, result.stdout, registry);
}
