/**
 * Board identification: what a board reports about itself → the target to install there and the
 * board model. Pure; the SSH probe (install issue) gathers the report.
 *
 * The rules, all driven by targets/*.yaml:
 * - the kernel (`uname -m`) says which instruction sets can run at all;
 * - the userland (ELF header of /bin/sh, else `getconf LONG_BIT`, else dpkg) says whether
 *   the OS is 32- or 64-bit: a Pi 4 or 5 on 32-bit Raspberry Pi OS has an arm64 kernel and an
 *   armhf userland, and gets armv7 (arm64 static binaries would run too, which we note);
 * - the CPU (/proc/cpuinfo model name and part number, never the "CPU architecture" line
 *   alone) caps 32-bit ARM: a Pi Zero says "CPU architecture: 7" but is an ARMv6 ARM1176.
 */
import { FailureError } from '../errors.js';
import { bufferSource, ElfFormatError, type ElfHeader, readElfHeader } from './elf.js';
import { ARM_CPU_ARCHITECTURES } from './elf-constants.js';
import { parseOsRelease } from './host.js';
import { findTargets } from './resolve.js';
import type { BoardProfile, Target, TargetRegistry } from './targets.js';

export interface BoardReport {
  /** `uname -m` */
  unameMachine: string;
  /** `getconf LONG_BIT` */
  longBit?: string | number | null;
  /** `dpkg --print-architecture`, on Debian-based systems */
  dpkgArchitecture?: string | null;
  /** /etc/os-release, to tell Raspbian's armhf from Debian's */
  osRelease?: string | null;
  /** /proc/cpuinfo */
  cpuinfo?: string | null;
  /** /sys/firmware/devicetree/base/model (NUL-terminated on the board) */
  deviceTreeModel?: string | null;
  /** The first bytes (64 are enough) of /bin/sh */
  shElfHeader?: Uint8Array | null;
}

export interface BoardIdentity {
  /** The target to install. */
  target: string;
  /** Other targets whose static binaries would also run here. */
  alsoRuns: string[];
  board: { id: string; name: string; model: string } | null;
  /** QEMU CPU model that behaves like this board, for emulated smoke runs. */
  qemuCpu: string;
  kernel: { machine: string; target: string; bits: 32 | 64 };
  userland: Userland & { distributionArchitecture: string | null };
  cpu: {
    modelName: string | null;
    part: string | null;
    architecture: string | null;
    target: string | null;
  };
  notes: string[];
}

export class UnsupportedBoardError extends FailureError {}

export function identifyBoard(report: BoardReport, registry: TargetRegistry): BoardIdentity {
  const notes: string[] = [];
  const kernelTarget = kernelTargetOf(report.unameMachine, registry);
  const cpu = parseCpuinfo(report.cpuinfo ?? '');
  const cpuTarget = cpuTargetOf(cpu, registry);
  const userland = userlandOf(report, kernelTarget, registry, notes);

  let target: Target | undefined;
  if (userland.bits === kernelTarget.bits && userland.machine === kernelTarget.elf.machine) {
    // Same width as the kernel: on 32-bit ARM the CPU decides between armv6 and armv7.
    target =
      kernelTarget.elf.armArchitectures && kernelTarget.bits === 32
        ? bestByLevel(registry, kernelTarget.elf.machine, 32, levelOf(cpuTarget ?? kernelTarget))
        : kernelTarget;
  } else if (userland.bits === 32 && kernelTarget.bits === 64 && userland.machine === kernelTarget.elf.compatMachine) {
    target = bestByLevel(registry, userland.machine, 32, levelOf(cpuTarget ?? kernelTarget));
    if (target) {
      notes.push(
        `${kernelTarget.bits}-bit ${kernelTarget.name} kernel with a 32-bit userland: ${target.name} matches the OS; ${kernelTarget.name} static binaries would also run`,
      );
    }
  }
  if (!target) {
    throw new UnsupportedBoardError(
      `no crossdock target runs a ${userland.bits}-bit ${userland.machine} userland on a ${report.unameMachine} kernel`,
      {
        hint: `supported targets: ${registry.targets.map((t) => t.name).join(', ')}; install a ${kernelTarget.bits}-bit OS on the board`,
      },
    );
  }

  if (cpuTarget?.cpuinfo && cpu.architecture && !cpuTarget.cpuinfo.architectures.includes(cpu.architecture)) {
    notes.push(
      `/proc/cpuinfo says "CPU architecture: ${cpu.architecture}" but the CPU (${cpu.modelName ?? cpu.part}) is ${cpuTarget.name}`,
    );
  }
  const distributionArchitecture = report.dpkgArchitecture?.trim() || null;
  if (distributionArchitecture && report.dpkgArchitecture) {
    const distribution = parseOsRelease(report.osRelease ?? '').id === 'raspbian' ? 'raspbian' : 'debian';
    const [meaning] = findTargets(registry, distributionArchitecture, { vocabulary: distribution });
    if (
      meaning &&
      levelOf(meaning.target) !== null &&
      (levelOf(meaning.target) ?? 0) > (levelOf(cpuTarget ?? target) ?? 0)
    ) {
      // Debian's armhf needs ARMv7; on an ARMv6 CPU it can only be Raspbian's ARMv6+VFP armhf.
      notes.push(
        `dpkg architecture ${distributionArchitecture} on an ${cpuTarget?.name ?? target.name} CPU: this is Raspbian's ${distributionArchitecture} (ARMv6+VFP), not Debian's`,
      );
    }
  }

  const model = (report.deviceTreeModel ?? cpu.model ?? '').replace(/\0/g, '').trim();
  const board = model ? matchBoard(model, registry.boards) : undefined;
  if (board && board.nativeTarget !== target.name && !board.also.includes(target.name)) {
    notes.push(`${board.name} does not normally run ${target.name}; trusting what the CPU and OS report`);
  }

  const alsoRuns = registry.targets
    .filter((candidate) => candidate !== target && runs(candidate, kernelTarget, cpuTarget))
    .map((candidate) => candidate.name);
  return {
    target: target.name,
    alsoRuns,
    board: board ? { id: board.id, name: board.name, model } : null,
    qemuCpu: board?.cpu ?? (cpuTarget ?? target).qemu.cpu,
    kernel: {
      machine: report.unameMachine.trim(),
      target: kernelTarget.name,
      bits: kernelTarget.bits,
    },
    userland: { ...userland, distributionArchitecture },
    cpu: {
      modelName: cpu.modelName,
      part: cpu.part,
      architecture: cpu.architecture,
      target: cpuTarget?.name ?? null,
    },
    notes,
  };
}

function kernelTargetOf(unameMachine: string, registry: TargetRegistry): Target {
  const matches = findTargets(registry, unameMachine, { vocabulary: 'uname' });
  const [first] = matches;
  if (!first) {
    throw new UnsupportedBoardError(`unsupported kernel architecture "${unameMachine.trim()}" (uname -m)`, {
      hint: `crossdock supports: ${registry.targets.flatMap((t) => t.names.uname).join(', ')}`,
    });
  }
  return first.target;
}

interface Userland {
  bits: 32 | 64;
  machine: string;
  source: 'sh-elf' | 'getconf' | 'dpkg' | 'kernel';
}

function userlandOf(report: BoardReport, kernel: Target, registry: TargetRegistry, notes: string[]): Userland {
  const longBit =
    report.longBit === undefined || report.longBit === null ? null : Number(String(report.longBit).trim());
  if (report.shElfHeader && report.shElfHeader.length > 0) {
    let header: ElfHeader | undefined;
    try {
      header = readElfHeader(bufferSource(report.shElfHeader));
    } catch (error) {
      if (!(error instanceof ElfFormatError)) throw error;
      notes.push(`/bin/sh: ${error.message}; using getconf and dpkg instead`);
    }
    if (header) {
      if (longBit && longBit !== header.class) {
        notes.push(
          `getconf LONG_BIT says ${longBit} but /bin/sh is a ${header.class}-bit ${header.machine} binary; trusting /bin/sh`,
        );
      }
      return { bits: header.class, machine: header.machine, source: 'sh-elf' as const };
    }
  }
  const machineFor = (bits: 32 | 64) =>
    bits === kernel.bits ? kernel.elf.machine : (kernel.elf.compatMachine ?? kernel.elf.machine);
  if (longBit === 32 || longBit === 64) {
    const bits: 32 | 64 = longBit;
    return { bits, machine: machineFor(bits), source: 'getconf' };
  }
  if (report.dpkgArchitecture?.trim()) {
    const [match] = findTargets(registry, report.dpkgArchitecture, { vocabulary: 'debian' });
    if (match)
      return {
        bits: match.target.bits,
        machine: match.target.elf.machine,
        source: 'dpkg' as const,
      };
  }
  return { bits: kernel.bits, machine: kernel.elf.machine, source: 'kernel' as const };
}

interface CpuFacts {
  modelName: string | null;
  part: string | null;
  architecture: string | null;
  /** The "Model" line Raspberry Pi kernels add to /proc/cpuinfo. */
  model: string | null;
}

/** Reads the first processor's lines (all cores of a Pi are alike) and the board lines. */
export function parseCpuinfo(text: string): CpuFacts {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const separator = line.indexOf(':');
    if (separator === -1) continue;
    const key = line.slice(0, separator).trim().toLowerCase();
    const value = line.slice(separator + 1).trim();
    if (!fields.has(key)) fields.set(key, value);
  }
  // Old ARM kernels print "Processor : ARMv6-compatible processor rev 7 (v6l)" instead.
  const modelName = fields.get('model name') ?? fields.get('processor')?.replace(/^\d+$/, '') ?? null;
  return {
    modelName: modelName || null,
    part: fields.get('cpu part')?.toLowerCase() ?? null,
    architecture: fields.get('cpu architecture') ?? null,
    model: fields.get('model') ?? null,
  };
}

function cpuTargetOf(cpu: CpuFacts, registry: TargetRegistry): Target | undefined {
  const withCpuinfo = registry.targets.filter((target) => target.cpuinfo);
  const { modelName, part, architecture } = cpu;
  return (
    (modelName
      ? withCpuinfo.find((t) => t.cpuinfo?.modelNames.some((p) => new RegExp(p).test(modelName)))
      : undefined) ??
    (part ? withCpuinfo.find((t) => t.cpuinfo?.parts.includes(part)) : undefined) ??
    (architecture ? withCpuinfo.find((t) => t.cpuinfo?.architectures.includes(architecture)) : undefined)
  );
}

/** How new an ARM target's instruction set is (its newest accepted Tag_CPU_arch). */
function levelOf(target: Target): number | null {
  const accepted = target.elf.armArchitectures;
  if (!accepted) return null;
  return Math.max(...accepted.map((name) => ARM_CPU_ARCHITECTURES.indexOf(name)));
}

function bestByLevel(registry: TargetRegistry, machine: string, bits: 32 | 64, cap: number | null): Target | undefined {
  return registry.targets
    .filter((t) => t.elf.machine === machine && t.bits === bits && t.support === 'stable')
    .filter((t) => cap === null || (levelOf(t) ?? 0) <= cap)
    .sort((a, b) => (levelOf(b) ?? 0) - (levelOf(a) ?? 0))[0];
}

function runs(candidate: Target, kernel: Target, cpuTarget: Target | undefined): boolean {
  const cap = levelOf(cpuTarget ?? kernel);
  if (candidate.elf.machine === kernel.elf.machine && candidate.bits === kernel.bits) {
    return cap === null || (levelOf(candidate) ?? 0) <= cap;
  }
  if (candidate.bits === 32 && kernel.bits === 64 && candidate.elf.machine === kernel.elf.compatMachine) {
    return cap === null || (levelOf(candidate) ?? 0) <= cap;
  }
  return false;
}

function matchBoard(model: string, boards: readonly BoardProfile[]): BoardProfile | undefined {
  return boards.find((board) => board.models.some((pattern) => new RegExp(pattern).test(model)));
}
