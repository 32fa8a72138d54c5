import { VOCABULARIES } from '../platform/target-schema.js';
import { loadTargets, type Target } from '../platform/targets.js';
import { goName, ociPlatform } from '../platform/vocabulary.js';
import { formatTable, printJson } from '../ui/output.js';

export interface TargetSummary {
  name: string;
  title: string;
  support: string;
  bits: number;
  oci: string;
  uname: string[];
  debian: string;
  raspbian: string | null;
  alpine: string | null;
  go: Record<string, string>;
  gnuTriple: string;
  cflags: string[];
  dockerStatic: string | null;
  qemu: { name: string; cpu: string };
  binfmt: { name: string; magic: string; mask: string };
  elf: { machine: string; class: number; armArchitectures: string[] | null };
  boards: Array<{ id: string; name: string; cpu: string; os: string }>;
  /** Every name the target answers to, by vocabulary. */
  names: Record<string, string[]>;
}

export function summarizeTarget(target: Target): TargetSummary {
  return {
    name: target.name,
    title: target.title,
    support: target.support,
    bits: target.bits,
    oci: ociPlatform(target),
    uname: target.uname,
    debian: target.debian,
    raspbian: target.raspbian ?? null,
    alpine: target.alpine ?? null,
    go: { GOOS: target.oci.os, ...target.go },
    gnuTriple: target.gnu.triple,
    cflags: target.gnu.cflags,
    dockerStatic: target.dockerStatic ?? null,
    qemu: target.qemu,
    binfmt: target.binfmt,
    elf: {
      machine: target.elf.machine,
      class: target.elf.class,
      armArchitectures: target.elf.armArchitectures ?? null,
    },
    boards: target.runsOn.map((board) => ({
      id: board.id,
      name: board.name,
      cpu: board.cpu,
      os: board.nativeTarget === target.name ? 'native' : `${target.bits}-bit OS`,
    })),
    names: Object.fromEntries(VOCABULARIES.map((vocabulary) => [vocabulary, target.names[vocabulary]])),
  };
}

export async function targetsCommand(options: { json?: boolean }): Promise<number> {
  const registry = await loadTargets();
  if (options.json) {
    printJson(registry.targets.map(summarizeTarget));
    return 0;
  }
  const rows = [
    ['TARGET', 'OCI', 'UNAME', 'DEBIAN', 'GO', 'GNU TRIPLE', 'DOCKER', 'QEMU', 'BOARDS'],
    ...registry.targets.map((target) => [
      target.support === 'stable' ? target.name : `${target.name}*`,
      ociPlatform(target),
      target.uname.join(','),
      target.raspbian ? `${target.debian} (raspbian: ${target.raspbian})` : target.debian,
      goName(target),
      target.gnu.triple,
      target.dockerStatic ?? '-',
      `${target.qemu.name} -cpu ${target.qemu.cpu}`,
      target.runsOn
        .map((board) => (board.nativeTarget === target.name ? board.id : `${board.id}(${target.bits}-bit OS)`))
        .join(', ') || '-',
    ]),
  ];
  process.stdout.write(`${formatTable(rows)}\n`);
  if (registry.targets.some((t) => t.support !== 'stable'))
    process.stdout.write('* experimental: not built by default\n');
  return 0;
}
