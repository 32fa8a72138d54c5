import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DocumentError } from '../../src/document/document.js';
import { buildRegistry, loadTargets } from '../../src/platform/targets.js';
import { goEnvironment, ociPlatform } from '../../src/platform/vocabulary.js';
import { tempTree } from '../helpers/temp.js';

const registry = await loadTargets();

describe('targets/', () => {
  // The platform facts of ../shared/DESIGN.md, as test vectors.
  it.each([
    [
      'x86_64',
      'linux/amd64',
      'x86_64',
      'amd64',
      { GOOS: 'linux', GOARCH: 'amd64' },
      'x86_64-linux-gnu',
      'x86_64',
      'x86_64',
    ],
    [
      'aarch64',
      'linux/arm64/v8',
      'aarch64',
      'arm64',
      { GOOS: 'linux', GOARCH: 'arm64' },
      'aarch64-linux-gnu',
      'aarch64',
      'aarch64',
    ],
    [
      'armv7',
      'linux/arm/v7',
      'armv7l',
      'armhf',
      { GOOS: 'linux', GOARCH: 'arm', GOARM: '7' },
      'arm-linux-gnueabihf',
      'armhf',
      'arm',
    ],
    [
      'armv6',
      'linux/arm/v6',
      'armv6l',
      'armel',
      { GOOS: 'linux', GOARCH: 'arm', GOARM: '6' },
      'arm-linux-gnueabi',
      'armel',
      'arm',
    ],
  ])(
    '%s: %s, uname %s, Debian %s, Go %o, %s, docker %s, qemu-%s',
    (name, oci, uname, debian, go, triple, docker, qemu) => {
      const target = registry.get(name);
      expect(ociPlatform(target)).toBe(oci);
      expect(target.uname[0]).toBe(uname);
      expect(target.debian).toBe(debian);
      expect(goEnvironment(target)).toEqual(go);
      expect(target.gnu.triple).toBe(triple);
      expect(target.dockerStatic).toBe(docker);
      expect(target.qemu.name).toBe(qemu);
    },
  );

  it('carries the binfmt_misc magic and mask QEMU registers', () => {
    const mask = 'ffffffffffffff00fffffffffffffffffeffffff';
    expect(registry.get('aarch64').binfmt).toEqual({
      name: 'qemu-aarch64',
      magic: '7f454c460201010000000000000000000200b700',
      mask,
    });
    expect(registry.get('armv7').binfmt).toEqual({
      name: 'qemu-arm',
      magic: '7f454c4601010100000000000000000002002800',
      mask,
    });
    expect(registry.get('armv6').binfmt).toEqual(registry.get('armv7').binfmt);
    expect(registry.get('riscv64').binfmt.magic).toBe('7f454c460201010000000000000000000200f300');
  });

  it("pins each ARM target's smoke-run CPU to its oldest board", () => {
    expect(registry.get('armv6').qemu.cpu).toBe('arm1176');
    expect(registry.get('armv7').qemu.cpu).toBe('cortex-a7');
    expect(registry.get('aarch64').qemu.cpu).toBe('cortex-a53');
  });

  it('lists every Raspberry Pi under the targets it runs', () => {
    const boards = (name: string) => registry.get(name).runsOn.map((board) => board.id);
    expect(boards('armv6')).toEqual(['rpi-zero', 'rpi-1']);
    expect(boards('armv7')).toEqual(['rpi-zero-2', 'rpi-3', 'rpi-4', 'rpi-5', 'rpi-2']);
    expect(boards('aarch64')).toEqual(['rpi-zero-2', 'rpi-3', 'rpi-4', 'rpi-5']);
    expect(Object.fromEntries(registry.boards.map((b) => [b.id, b.cpu]))).toEqual({
      'rpi-zero-2': 'cortex-a53',
      'rpi-3': 'cortex-a53',
      'rpi-4': 'cortex-a72',
      'rpi-5': 'cortex-a76',
      'rpi-2': 'cortex-a7',
      'rpi-zero': 'arm1176',
      'rpi-1': 'arm1176',
    });
  });

  it('orders targets 64-bit first, then ARM from newest to oldest, experimental last', () => {
    expect(registry.targets.map((t) => t.name)).toEqual(['x86_64', 'aarch64', 'armv7', 'armv6', 'riscv64']);
  });
});

describe('target file checks', () => {
  const good = readFileSync(fileURLToPath(new URL('../../targets/armv6.yaml', import.meta.url)), 'utf8');

  it('rejects a misspelt key with file and line', async () => {
    const directory = await tempTree({
      'armv6.yaml': good.replace('dockerStatic:', 'dockerstatic:'),
    });
    await expect(loadTargets(directory)).rejects.toThrow(/armv6\.yaml:\d+:1 dockerstatic: unknown key "dockerstatic"/);
  });

  it('rejects a name that does not match the file', async () => {
    const directory = await tempTree({ 'armv5.yaml': good });
    await expect(loadTargets(directory)).rejects.toThrow(/armv5\.yaml name: "armv6" does not match the file name/);
  });

  it('rejects a board that points at an unknown target, and a bad model pattern', async () => {
    const [file, definition] = [`${directory()}/armv6.yaml`, (await loadTargets()).get('armv6')];
    const broken = {
      ...definition,
      boards: [{ ...definition.boards[0], id: 'x', also: ['armv9'] }],
    } as never;
    expect(() => buildRegistry([{ file, definition: broken }])).toThrow(DocumentError);
    expect(() => buildRegistry([{ file, definition: broken }])).toThrow(/boards\[0\]\.also: unknown target "armv9"/);
    const pattern = {
      ...definition,
      boards: [{ ...definition.boards[0], models: ['(unclosed'] }],
    } as never;
    expect(() => buildRegistry([{ file, definition: pattern }])).toThrow(/not a valid regular expression/);
  });

  it('rejects two targets that disagree on a shared QEMU handler', async () => {
    const armv7 = readFileSync(fileURLToPath(new URL('../../targets/armv7.yaml', import.meta.url)), 'utf8');
    const directory = await tempTree({
      'armv6.yaml': good,
      'armv7.yaml': armv7.replace(
        'magic: 7f454c4601010100000000000000000002002800',
        'magic: 7f454c4601010100000000000000000002002801',
      ),
    });
    await expect(loadTargets(directory)).rejects.toThrow(/binfmt handler qemu-arm differs from the one in/);
  });
});

function directory(): string {
  return fileURLToPath(new URL('../../targets', import.meta.url));
}

describe('the code never spells an architecture string', () => {
  // Architecture names live in targets/; ELF machine names in elf-constants.ts are the ELF spec's.
  const ALLOWED = new Set(['elf-constants.ts']);
  // A literal that is exactly a name is code deciding by architecture; prose in help texts and
  // messages may mention names.
  const NAMES =
    /['"`](armhf|armel|armv[678]l?|aarch64|arm64|amd64|x86_64|riscv64|arm-linux-gnueabi(?:hf)?|aarch64-linux-gnu|cortex-a\d+|arm1176)['"`]/;

  it.each(walk(fileURLToPath(new URL('../../src', import.meta.url))))('%s', (file) => {
    if (ALLOWED.has(file.split('/').at(-1) ?? '')) return;
    const lines = readFileSync(file, 'utf8').split('\n');
    const offenders = lines
      .map((line, index) => [index + 1, line] as const)
      .filter(([, line]) => !/^\s*(\/\/|\*|\/\*)/.test(line) && NAMES.test(line));
    expect(offenders, 'move these names into targets/*.yaml').toEqual([]);
  });
});

function walk(root: string): string[] {
  return readdirSync(root, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(`${root}/${entry.name}`) : entry.name.endsWith('.ts') ? [`${root}/${entry.name}`] : [],
  );
}
