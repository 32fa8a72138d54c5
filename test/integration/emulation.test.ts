import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeMessage, probeProgram } from '../../src/emulation/test-programs.js';
import { runUnderEmulation } from '../../src/emulation/run-under-emulation.js';
import { inspectFile } from '../../src/platform/inspect.js';
import { loadTargets } from '../../src/platform/targets.js';
import { loadToolchains } from '../../src/platform/toolchains.js';
import { compileC } from '../helpers/compile.js';
import { tempTree } from '../helpers/temp.js';
import { requireTools } from '../helpers/tools.js';

const registry = await loadTargets();
const qemu = (await loadToolchains()).find((t) => t.kind === 'emulator');
if (!qemu) throw new Error('toolchains/qemu.yaml missing');
const haveQemu = requireTools('qemu-arm-static', 'qemu-aarch64-static', 'qemu-riscv64-static');
const haveArmCompiler = requireTools(`${registry.get('armv7').gnu.triple}-gcc`);

// movw exists from ARMv6T2/ARMv7 on; an ARM1176 (ARMv6KZ) raises SIGILL on it.
const ARMV7_ONLY = `#include <stdio.h>
int main(void) {
  unsigned int value;
  __asm__ volatile ("movw %0, #4660" : "=r"(value));
  printf("movw gave %u\\n", value);
  return value == 4660 ? 0 : 1;
}
`;

describe.runIf(haveQemu)('runUnderEmulation', () => {
  it.each(registry.targets.map((t) => [t.name, t] as const))(
    "runs the generated probe program for %s on its oldest board's CPU",
    async (_, target) => {
      const directory = await tempTree();
      const file = join(directory, 'probe');
      await writeFile(file, probeProgram(target));
      await chmod(file, 0o755);
      const result = await runUnderEmulation(file, [], { target, registry, qemu });
      expect(result.stdout).toBe(probeMessage(target));
      expect(result.exitCode).toBe(0);
      expect(inspectFile(file, registry)).toMatchObject({
        machine: target.elf.machine,
        class: target.elf.class,
        static: true,
      });
    },
  );

  it.runIf(haveArmCompiler)(
    "fails an ARMv7-only program with SIGILL on the Pi Zero's arm1176 and passes it on cortex-a7",
    async () => {
      const directory = await tempTree();
      const armv7 = registry.get('armv7');
      const armv6 = registry.get('armv6');
      const binary = await compileC(directory, armv7, 'movw', { static: true, source: ARMV7_ONLY });
      expect(inspectFile(binary, registry).armArchName).toBe('v7');

      const onPiZero = await runUnderEmulation(binary, [], { target: armv6, registry, qemu });
      expect(onPiZero).toMatchObject({ cpu: 'arm1176', illegalInstruction: true, exitCode: 132, signal: 'SIGILL' });
      expect(onPiZero.stderr).toContain('Illegal instruction');

      const onPi2 = await runUnderEmulation(binary, [], { target: armv7, registry, qemu });
      expect(onPi2).toMatchObject({
        cpu: 'cortex-a7',
        illegalInstruction: false,
        exitCode: 0,
        stdout: 'movw gave 4660\n',
      });

      const pinned = await runUnderEmulation(binary, [], { target: armv7, registry, qemu, cpu: 'arm1176' });
      expect(pinned.illegalInstruction).toBe(true);
    },
  );

  it('says which package to install when QEMU is missing', async () => {
    const directory = await tempTree();
    const target = registry.get('armv6');
    await expect(runUnderEmulation('/bin/true', [], { target, registry, qemu, path: directory })).rejects.toMatchObject(
      {
        exitCode: 3,
        message: 'qemu-arm-static: not installed',
      },
    );
  });
});
