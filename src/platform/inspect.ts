/**
 * What a binary is, in our terms: the ELF facts plus the target it belongs to. Pure over a parsed
 * ElfFile and the target registry; `inspectFile` adds the disk read.
 */

import { armFloatAbiFromFlags, type ElfFile } from './elf.js';
import { ARM_CPU_ARCHITECTURES, type ArmCpuArchitecture, armArchitectureVersion } from './elf-constants.js';
import { readElfFile } from './elf-file.js';
import type { Target, TargetRegistry } from './targets.js';

export interface InspectReport {
  file: string;
  class: 32 | 64;
  machine: string;
  /** Our target name, or null when no target runs this binary. */
  target: string | null;
  /** Architecture version: `v6`, `v7`, `v8`; null off ARM or when the file does not say. */
  armArch: string | null;
  /** The exact ARM architecture (Tag_CPU_arch spelling): `v5TE`, `v6KZ`, `v7`, `v8`. */
  armArchName: ArmCpuArchitecture | null;
  /** Where armArch came from. */
  armArchSource: 'attributes' | 'go-buildinfo' | 'attributes+go-buildinfo' | 'elf-machine' | null;
  /**
   * `hard` or `soft` float ABI for C code (e_flags, else Tag_ABI_VFP_args). Go code has an ABI
   * of its own, so for pure Go it says whether the code uses VFP (GOARM 6, 7) or not (GOARM 5).
   */
  floatAbi: 'hard' | 'soft' | null;
  static: boolean;
  interpreter: string | null;
  endianness: 'little' | 'big';
  type: string;
  go: { version: string; GOARCH: string | null; GOARM: string | null; cgo: boolean | null } | null;
}

/** GOARM → the ARM architecture its code needs. */
const GOARM_ARCHITECTURE: Record<string, ArmCpuArchitecture> = {
  '5': 'v5TE',
  '6': 'v6',
  '7': 'v7',
};

export function describeElf(file: string, elf: ElfFile, registry: TargetRegistry): InspectReport {
  const { header } = elf;
  const go = elf.goBuildInfo;
  const goarm = go?.settings.GOARM?.split(',')[0] ?? null;

  let armArchName: ArmCpuArchitecture | null = null;
  let armArchSource: InspectReport['armArchSource'] = null;
  let floatAbi: InspectReport['floatAbi'] = null;
  if (header.machine === 'arm') {
    const fromAttributes = elf.armAttributes?.cpuArch ?? null;
    const fromGo = goarm ? (GOARM_ARCHITECTURE[goarm] ?? null) : null;
    // A cgo binary carries both; it needs the higher of the two to run.
    armArchName = highest(fromAttributes, fromGo);
    armArchSource =
      fromAttributes && fromGo
        ? 'attributes+go-buildinfo'
        : fromAttributes
          ? 'attributes'
          : fromGo
            ? 'go-buildinfo'
            : null;
    floatAbi = armFloatAbiFromFlags(header.flags) ?? vfpArgsAbi(elf.armAttributes?.vfpArgs ?? null);
    if (!floatAbi && goarm) floatAbi = goarm === '5' || go?.settings.GOARM?.includes('softfloat') ? 'soft' : 'hard';
  } else {
    // A 64-bit ARM binary carries no attributes: its machine alone says v8 (targets/ says so).
    const [only, ...others] =
      registry.targets.find((t) => t.elf.machine === header.machine && t.elf.class === header.class)?.elf
        .armArchitectures ?? [];
    if (only && others.length === 0) {
      armArchName = only;
      armArchSource = 'elf-machine';
    }
  }

  const target = registry.targets.find((candidate) =>
    matchesTarget(candidate, header.machine, header.class, header.endianness, armArchName),
  );
  return {
    file,
    class: header.class,
    machine: header.machine,
    target: target?.name ?? null,
    armArch: armArchName ? armArchitectureVersion(armArchName) : null,
    armArchName,
    armArchSource,
    floatAbi,
    static: elf.interpreter === null,
    interpreter: elf.interpreter,
    endianness: header.endianness,
    type: header.type,
    go: go
      ? {
          version: go.goVersion,
          GOARCH: go.settings.GOARCH ?? null,
          GOARM: go.settings.GOARM ?? null,
          cgo: go.settings.CGO_ENABLED === undefined ? null : go.settings.CGO_ENABLED === '1',
        }
      : null,
  };
}

function matchesTarget(
  target: Target,
  machine: string,
  elfClass: 32 | 64,
  endianness: 'little' | 'big',
  armArchName: ArmCpuArchitecture | null,
): boolean {
  if (target.elf.machine !== machine || target.elf.class !== elfClass || endianness !== 'little') return false;
  const accepted = target.elf.armArchitectures;
  return accepted ? armArchName !== null && accepted.includes(armArchName) : true;
}

function highest(a: ArmCpuArchitecture | null, b: ArmCpuArchitecture | null): ArmCpuArchitecture | null {
  if (!a || !b) return a ?? b;
  return ARM_CPU_ARCHITECTURES.indexOf(a) >= ARM_CPU_ARCHITECTURES.indexOf(b) ? a : b;
}

function vfpArgsAbi(vfpArgs: number | null): 'hard' | 'soft' | null {
  if (vfpArgs === 1) return 'hard';
  if (vfpArgs === 0) return 'soft';
  return null;
}

export function inspectFile(file: string, registry: TargetRegistry): InspectReport {
  return describeElf(file, readElfFile(file), registry);
}
