/**
 * What a board is and what it has, in one SSH round trip: scripts/probe.sh prints every fact in
 * a marked section; parsing is pure, and the target comes from the foundation's board
 * identification (never from `uname -m` alone).
 */
import { printable } from '../errors.js';
import { identifyBoard, type BoardIdentity, UnsupportedBoardError } from '../platform/identify-board.js';
import type { TargetRegistry } from '../platform/targets.js';
import type { Runner } from '../exec/runner.js';

import { boardScript } from './board-scripts.js';
import { splitSections } from './fact-sections.js';

/** The probe, as sent (scripts/probe.sh). Every command may fail; a missing fact is an empty section. */
export function probeScript(installPath: string): string {
  return boardScript('probe', { INSTALL_PATH: installPath });
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
