/**
 * Numbers from the ELF and ARM EABI specifications. These are the ELF vocabulary, not our
 * platform model: targets/*.yaml name a machine by the strings on the right.
 */

/** e_machine values (System V ABI, "Machine architectures"), named as `uname -m` would. */
export const ELF_MACHINES: Readonly<Record<number, string>> = {
  2: 'sparc',
  3: 'i386',
  8: 'mips',
  20: 'ppc',
  21: 'ppc64',
  22: 's390',
  40: 'arm',
  43: 'sparc64',
  62: 'x86_64',
  183: 'aarch64',
  243: 'riscv64',
  258: 'loongarch64',
};

export const ELF_MACHINE_NAMES = Object.values(ELF_MACHINES);

/**
 * Tag_CPU_arch values (ARM "Addenda to, and Errata in, the ABI for the Arm Architecture",
 * section 3.3.5.2), by value.
 */
export const ARM_CPU_ARCHITECTURES = [
  'pre-v4',
  'v4',
  'v4T',
  'v5T',
  'v5TE',
  'v5TEJ',
  'v6',
  'v6KZ',
  'v6T2',
  'v6K',
  'v7',
  'v6-M',
  'v6S-M',
  'v7E-M',
  'v8',
  'v8-R',
  'v8-M.baseline',
  'v8-M.mainline',
  'v8.1-A',
  'v8.2-A',
  'v8.3-A',
  'v8.1-M.mainline',
  'v9',
] as const;
export type ArmCpuArchitecture = (typeof ARM_CPU_ARCHITECTURES)[number];

/** `v6KZ` → `v6`, `v8.2-A` → `v8`: the architecture version a user asks about. */
export function armArchitectureVersion(name: ArmCpuArchitecture): string | null {
  const match = /^v(\d)/.exec(name);
  return match ? `v${match[1]}` : null;
}

export const ARM_ATTRIBUTE_TAGS = {
  file: 1,
  cpuRawName: 4,
  cpuName: 5,
  cpuArch: 6,
  cpuArchProfile: 7,
  armIsaUse: 8,
  thumbIsaUse: 9,
  fpArch: 10,
  abiVfpArgs: 28,
  compatibility: 32,
  conformance: 67,
} as const;

export const EF_ARM_EABI_MASK = 0xff000000;
export const EF_ARM_ABI_FLOAT_SOFT = 0x200;
export const EF_ARM_ABI_FLOAT_HARD = 0x400;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const SHT_ARM_ATTRIBUTES = 0x70000003;
