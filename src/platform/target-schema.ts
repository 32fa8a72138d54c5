/**
 * The one schema for targets/*.yaml. Each file names its platform in every vocabulary a tool or
 * a user may speak; the code derives everything else from these facts.
 */
import * as v from 'valibot';
import { ARM_CPU_ARCHITECTURES, ELF_MACHINE_NAMES } from './elf-constants.js';

/** The vocabularies a platform name can come from; `resolveTarget` takes one of these. */
export const VOCABULARIES = [
  'crossdock',
  'oci',
  'uname',
  'debian',
  'raspbian',
  'alpine',
  'go',
  'gnu',
  'docker-static',
  'qemu',
] as const;
export type Vocabulary = (typeof VOCABULARIES)[number];

const word = (description: string) =>
  v.pipe(
    v.string(),
    v.regex(/^[A-Za-z0-9_.+-]+$/, 'expected a name without spaces or slashes'),
    v.description(description),
  );

const hexBytes = (description: string) =>
  v.pipe(
    v.string(),
    v.regex(/^(?:[0-9a-f]{2})+$/, 'expected lower-case hex bytes, e.g. 7f454c46'),
    v.description(description),
  );

export const BoardProfileSchema = v.strictObject({
  id: v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/, 'expected a lower-case id like rpi-zero')),
  name: v.pipe(v.string(), v.description('The board as people call it')),
  soc: v.pipe(v.string(), v.description('The SoC, as /proc/cpuinfo or the datasheet names it')),
  cpu: v.pipe(v.string(), v.description('QEMU CPU model (-cpu) that behaves like the board')),
  models: v.pipe(
    v.array(v.string()),
    v.minLength(1, 'list at least one device-tree model pattern'),
    v.description('Regular expressions matched against /sys/firmware/devicetree/base/model'),
  ),
  also: v.pipe(
    v.optional(v.array(v.string()), []),
    v.description('Other targets this board runs with another OS (e.g. armv7 with a 32-bit OS)'),
  ),
});

export const TargetSchema = v.strictObject({
  name: v.pipe(
    v.string(),
    v.regex(/^[a-z][a-z0-9_]*$/, 'expected a lower-case target name like armv7'),
    v.description('crossdock target name; must equal the file name'),
  ),
  title: v.string(),
  support: v.pipe(
    v.picklist(['stable', 'experimental']),
    v.description('experimental targets are listed but not built by default'),
  ),
  bits: v.picklist([32, 64]),
  oci: v.strictObject({
    os: v.literal('linux'),
    architecture: word('OCI image-spec architecture (GOARCH spelling)'),
    variant: v.optional(word('OCI variant, e.g. v6, v7, v8')),
  }),
  uname: v.pipe(v.array(word('`uname -m` value')), v.minLength(1)),
  debian: word('Debian architecture (dpkg --print-architecture)'),
  raspbian: v.optional(word('Raspbian / Raspberry Pi OS 32-bit architecture')),
  alpine: v.optional(word('Alpine architecture (apk --print-arch)')),
  go: v.strictObject({
    GOARCH: word('GOARCH'),
    GOARM: v.optional(v.picklist(['5', '6', '7'])),
  }),
  gnu: v.strictObject({
    triple: word('GNU triple of the Debian cross toolchain'),
    cflags: v.pipe(v.array(v.string()), v.description('C flags for this architecture variant')),
  }),
  dockerStatic: v.optional(word("Directory name on Docker's static download site")),
  qemu: v.strictObject({
    name: word('QEMU user-mode emulator suffix: qemu-<name>'),
    cpu: word('QEMU CPU model of the oldest board of the target, for smoke runs'),
  }),
  binfmt: v.pipe(
    v.strictObject({
      name: word('binfmt_misc entry name'),
      magic: hexBytes('binfmt_misc magic'),
      mask: hexBytes('binfmt_misc mask'),
    }),
    v.check((binfmt) => binfmt.magic.length === binfmt.mask.length, 'magic and mask must be the same length'),
  ),
  elf: v.strictObject({
    machine: v.picklist(ELF_MACHINE_NAMES),
    class: v.picklist([32, 64]),
    armArchitectures: v.optional(v.array(v.picklist(ARM_CPU_ARCHITECTURES))),
    compatMachine: v.pipe(
      v.optional(v.picklist(ELF_MACHINE_NAMES)),
      v.description('The 32-bit ELF machine a 64-bit kernel of this target also runs (AArch32: arm)'),
    ),
  }),
  cpuinfo: v.pipe(
    v.optional(
      v.strictObject({
        modelNames: v.optional(v.array(v.string()), []),
        parts: v.optional(v.array(v.pipe(v.string(), v.regex(/^0x[0-9a-f]+$/, 'expected a CPU part like 0xb76'))), []),
        architectures: v.optional(v.array(v.string()), []),
      }),
    ),
    v.description(
      'How /proc/cpuinfo shows a CPU whose newest instruction set is this target: model name patterns and CPU part numbers first, the "CPU architecture" line last (an ARM1176 says 7)',
    ),
  ),
  aliases: v.optional(v.record(v.picklist(VOCABULARIES), v.array(v.pipe(v.string(), v.minLength(1)))), {}),
  boards: v.optional(v.array(BoardProfileSchema), []),
});

export type TargetDefinition = v.InferOutput<typeof TargetSchema>;
export type BoardProfileDefinition = v.InferOutput<typeof BoardProfileSchema>;
