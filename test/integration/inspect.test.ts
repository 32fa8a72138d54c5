import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ElfInputError } from '../../src/platform/elf-file.js';
import { inspectFile } from '../../src/platform/inspect.js';
import { loadTargets } from '../../src/platform/targets.js';
import { goEnvironment } from '../../src/platform/vocabulary.js';
import { compileC, compileGo, GO_CACHE } from '../helpers/compile.js';
import { tempTree } from '../helpers/temp.js';
import { requireTools } from '../helpers/tools.js';

const registry = await loadTargets();
const aarch64 = registry.get('aarch64');
const armv7 = registry.get('armv7');
const armv6 = registry.get('armv6');

const haveCompilers = requireTools(
  `${aarch64.gnu.triple}-gcc`,
  `${armv7.gnu.triple}-gcc`,
  `${armv6.gnu.triple}-gcc`,
  'gcc',
);
const haveGo = requireTools('go');

describe.runIf(haveCompilers)("inspect on binaries from Debian's cross compilers", () => {
  it.each([
    ['aarch64', true, { class: 64, machine: 'aarch64', target: 'aarch64', armArch: 'v8', floatAbi: null }],
    [
      'aarch64',
      false,
      {
        class: 64,
        machine: 'aarch64',
        target: 'aarch64',
        interpreter: '/lib/ld-linux-aarch64.so.1',
      },
    ],
    [
      'armv7',
      true,
      {
        class: 32,
        machine: 'arm',
        target: 'armv7',
        armArch: 'v7',
        armArchName: 'v7',
        floatAbi: 'hard',
      },
    ],
    [
      'armv7',
      false,
      {
        class: 32,
        machine: 'arm',
        target: 'armv7',
        armArch: 'v7',
        floatAbi: 'hard',
        interpreter: '/lib/ld-linux-armhf.so.3',
      },
    ],
    [
      'armv6',
      true,
      {
        class: 32,
        machine: 'arm',
        target: 'armv6',
        armArch: 'v6',
        armArchName: 'v6',
        floatAbi: 'soft',
      },
    ],
    [
      'armv6',
      false,
      {
        class: 32,
        machine: 'arm',
        target: 'armv6',
        armArch: 'v6',
        floatAbi: 'soft',
        interpreter: '/lib/ld-linux.so.3',
      },
    ],
    ['x86_64', true, { class: 64, machine: 'x86_64', target: 'x86_64', armArch: null, floatAbi: null }],
  ] as const)('%s static=%s', async (name, isStatic, expected) => {
    const target = registry.get(name);
    const directory = await tempTree();
    const binary = await compileC(directory, target, `hello-${target.name}`, { static: isStatic });
    const report = inspectFile(binary, registry);
    expect(report).toMatchObject({
      ...expected,
      static: isStatic,
      armArchSource: target.elf.machine === 'arm' ? 'attributes' : report.armArchSource,
    });
    if (isStatic) expect(report.interpreter).toBeNull();
  });

  it('tells an armv6 build from an armv7 one made by the same armel compiler', async () => {
    const directory = await tempTree();
    const asV6 = await compileC(directory, armv6, 'v6', { static: true });
    const asV7 = await compileC(directory, armv6, 'v7', {
      static: true,
      flags: ['-march=armv7-a', '-marm'],
    });
    expect(inspectFile(asV6, registry)).toMatchObject({ armArchName: 'v6', target: 'armv6' });
    expect(inspectFile(asV7, registry)).toMatchObject({
      armArchName: 'v7',
      target: 'armv7',
      floatAbi: 'soft',
    });
  });

  it("reports Debian armel's default ARMv5TE code as running on armv6", async () => {
    const directory = await tempTree();
    const binary = await compileC(directory, armv6, 'v5', { static: true, flags: [] });
    expect(inspectFile(binary, registry)).toMatchObject({
      armArch: 'v5',
      armArchName: 'v5TE',
      target: 'armv6',
    });
  });

  it('gives AArch32 code built for ARMv8 no target (a Pi 2 v1.1 could not run it)', async () => {
    const directory = await tempTree();
    const binary = await compileC(directory, armv7, 'v8', {
      static: true,
      flags: ['-march=armv8-a', '-mfpu=neon-fp-armv8', '-mfloat-abi=hard'],
    });
    expect(inspectFile(binary, registry)).toMatchObject({
      machine: 'arm',
      armArch: 'v8',
      target: null,
    });
  });

  it('rejects truncated copies of a real binary, wherever they are cut', async () => {
    const directory = await tempTree();
    const binary = await readFile(await compileC(directory, armv7, 'whole', { static: true }));
    for (const length of [0, 3, 20, 51, 60, 200, binary.length - 100]) {
      const cut = join(directory, `cut-${length}`);
      await writeFile(cut, binary.subarray(0, length));
      const attempt = () => inspectFile(cut, registry);
      expect(attempt, `cut at ${length}`).toThrow(ElfInputError);
      expect(attempt).toThrow(length < 4 ? /not an ELF file/ : /truncated ELF/);
    }
  });
});

describe.runIf(haveGo)('inspect on Go binaries (no attributes section: GOARM from the build info)', () => {
  it.each([
    ['armv6', { armArch: 'v6', armArchSource: 'go-buildinfo', target: 'armv6', floatAbi: 'hard' }],
    ['armv7', { armArch: 'v7', armArchSource: 'go-buildinfo', target: 'armv7' }],
    ['aarch64', { armArch: 'v8', target: 'aarch64', class: 64 }],
    ['x86_64', { armArch: null, target: 'x86_64', class: 64 }],
  ] as const)('%s', async (name, expected) => {
    const directory = await tempTree();
    const target = registry.get(name);
    const binary = await compileGo(directory, goEnvironment(target), `hello-${name}`);
    const report = inspectFile(binary, registry);
    expect(report).toMatchObject({ ...expected, static: true });
    expect(report.go?.GOARCH).toBe(target.go.GOARCH);
    expect(report.go?.GOARM ?? null).toBe(target.go.GOARM ?? null);
    expect(report.go?.version).toMatch(/^go1\.\d+/);
  });

  it.runIf(haveCompilers)("takes the higher of GOARM and the C code's Tag_CPU_arch for a cgo binary", async () => {
    const directory = await tempTree();
    const source =
      'package main\n\n/*\nint twice(int x) { return 2 * x; }\n*/\nimport "C"\nimport "fmt"\n\nfunc main() { fmt.Println(C.twice(21)) }\n';
    const file = join(directory, 'cgo.go');
    await writeFile(file, source);
    const { execa } = await import('execa');
    const build = (cflags: string, output: string) =>
      execa('go', ['build', '-ldflags', '-extldflags -static', '-o', join(directory, output), file], {
        cwd: directory,
        env: {
          ...goEnvironment(armv6),
          CGO_ENABLED: '1',
          CC: `${armv6.gnu.triple}-gcc`,
          CGO_CFLAGS: cflags,
          GO111MODULE: 'off',
          GOCACHE: GO_CACHE,
        },
      });
    await build(armv6.gnu.cflags.join(' '), 'good');
    await build('-march=armv7-a -marm', 'bad');
    expect(inspectFile(join(directory, 'good'), registry)).toMatchObject({
      armArchName: 'v6',
      armArchSource: 'attributes+go-buildinfo',
      target: 'armv6',
    });
    expect(inspectFile(join(directory, 'bad'), registry)).toMatchObject({
      armArchName: 'v7',
      target: 'armv7',
    });
  });
});

describe('inspect on files that are not binaries', () => {
  it('rejects garbage, an empty file, a directory and a missing path with exit code 2', async () => {
    const directory = await tempTree({
      'notes.txt': 'not a binary\n',
      empty: '',
      'script.sh': '#!/bin/sh\necho hi\n',
    });
    for (const [file, message] of [
      ['notes.txt', 'not an ELF file (starts with 6e 6f 74 20)'],
      ['empty', 'not an ELF file (starts with nothing: the file is empty)'],
      ['script.sh', 'not an ELF file'],
      ['.', 'not a regular file'],
      ['missing', 'cannot open: no such file'],
    ] as const) {
      const path = join(directory, file);
      expect(() => inspectFile(path, registry)).toThrow(
        expect.objectContaining({ exitCode: 2, message: expect.stringContaining(message) }),
      );
    }
  });
});
