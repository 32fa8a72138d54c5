import { describe, expect, it } from 'vitest';
import {
  armFloatAbiFromFlags,
  bufferSource,
  ElfFormatError,
  parseArmAttributes,
  parseModuleInfo,
  readElf,
  readElfHeader,
} from '../../src/platform/elf.js';

/** Builds an ARM build-attributes section the way GNU as lays it out (ARM IHI 0045). */
function attributesSection(attributes: number[]): Uint8Array {
  const vendor = [...Buffer.from('aeabi'), 0];
  const fileBlock = [1, ...u32(5 + attributes.length), ...attributes];
  const subsection = [...u32(4 + vendor.length + fileBlock.length), ...vendor, ...fileBlock];
  return Uint8Array.from([0x41, ...subsection]);
}
function u32(value: number): number[] {
  return [value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, (value >>> 24) & 0xff];
}

describe('parseArmAttributes', () => {
  it('reads Tag_CPU_name, Tag_CPU_arch, the profile and Tag_ABI_VFP_args around string tags', () => {
    // Tag_CPU_name "6KZ", Tag_CPU_arch 7 (v6KZ), Tag_ARM_ISA_use 1, Tag_ABI_VFP_args 1,
    // Tag_compatibility 0 "", Tag_conformance "2.09", Tag_also_compatible_with (65) "x".
    const section = attributesSection([
      5,
      ...Buffer.from('6KZ'),
      0,
      6,
      7,
      8,
      1,
      28,
      1,
      32,
      0,
      0,
      67,
      ...Buffer.from('2.09'),
      0,
      65,
      0x78,
      0,
    ]);
    expect(parseArmAttributes(section)).toEqual({
      cpuArch: 'v6KZ',
      cpuArchProfile: null,
      cpuName: '6KZ',
      vfpArgs: 1,
      fpArch: null,
    });
  });

  it('reads a v7-A profile from multi-byte tags', () => {
    const section = attributesSection([6, 10, 7, 0x41, 10, 3]);
    expect(parseArmAttributes(section)).toMatchObject({
      cpuArch: 'v7',
      cpuArchProfile: 'A',
      fpArch: 3,
    });
  });

  it("skips other vendors' subsections", () => {
    const gnu = [...u32(4 + 4 + 3), ...Buffer.from('gnu'), 0, 1, 2, 3];
    const section = Uint8Array.from([...attributesSection([6, 6]), ...gnu]);
    expect(parseArmAttributes(section).cpuArch).toBe('v6');
  });

  it('rejects damaged sections instead of reading past them', () => {
    expect(() => parseArmAttributes(Uint8Array.from([0x42]))).toThrow(ElfFormatError);
    const good = attributesSection([6, 10]);
    expect(() => parseArmAttributes(good.subarray(0, good.length - 3))).toThrow(/bad subsection length/);
    expect(() => parseArmAttributes(attributesSection([5, 0x41, 0x42]))).toThrow(/unterminated string/);
    expect(() => parseArmAttributes(attributesSection([6, 0x80]))).toThrow(/truncated number/);
  });
});

describe('readElfHeader', () => {
  const aarch64Dash = Buffer.from(
    '7f454c460201010000000000000000000300b700010000008046000000000000400000000000000048030200000000000000000040003800090040001b001a00',
    'hex',
  );

  it('reads a real /bin/dash header (Debian arm64)', () => {
    expect(readElfHeader(bufferSource(aarch64Dash))).toMatchObject({
      class: 64,
      endianness: 'little',
      machine: 'aarch64',
      type: 'shared',
      programHeaderOffset: 64,
      programHeaderCount: 9,
    });
  });

  it('reads big-endian headers and names unknown machines by number', () => {
    const header = Buffer.alloc(52);
    Buffer.from('7f454c46010201', 'hex').copy(header);
    header.writeUInt16BE(2, 16);
    header.writeUInt16BE(0x1234, 18);
    expect(readElfHeader(bufferSource(header))).toMatchObject({
      endianness: 'big',
      machine: 'em-4660',
      type: 'executable',
    });
  });

  it('refuses an unknown class or data encoding', () => {
    const header = Buffer.from(aarch64Dash);
    header[4] = 3;
    expect(() => readElfHeader(bufferSource(header))).toThrow(/unknown class 3/);
    header[4] = 2;
    header[5] = 0;
    expect(() => readElfHeader(bufferSource(header))).toThrow(/unknown data encoding/);
  });

  it('needs the whole header', () => {
    expect(() => readElfHeader(bufferSource(aarch64Dash.subarray(0, 40)))).toThrow(
      /truncated ELF: the ELF header needs bytes 0–64/,
    );
  });

  it('refuses program headers that point past the end of the file', () => {
    const header = Buffer.from(aarch64Dash);
    expect(() => readElf(bufferSource(header))).toThrow(/truncated ELF: program header 0 of 9/);
  });
});

describe('armFloatAbiFromFlags', () => {
  it.each([
    [0x05000400, 'hard'],
    [0x05000200, 'soft'],
    [0x05000002, null], // Go's linker: EABI5 with no float ABI
    [0x04000000, null],
  ] as const)('0x%s → %s', (flags, expected) => {
    expect(armFloatAbiFromFlags(flags)).toBe(expected);
  });
});

describe('parseModuleInfo', () => {
  it('reads build settings inside the sentinels, unquoting Go-quoted values', () => {
    const start = '0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6';
    const end = '\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2';
    const body =
      'path\tgithub.com/opencontainers/runc\nmod\tgithub.com/opencontainers/runc\t(devel)\t\ndep\tgithub.com/sirupsen/logrus\tv1.9.0\th1:trlNQbNUG3OdDrDil03MCb1H2o9nJ1x4/5LYw7byDE0=\nbuild\t-ldflags="-s -w -buildid="\nbuild\tCGO_ENABLED=1\nbuild\tGOARCH=arm\nbuild\tGOARM=6\nbuild\t-tags=netgo,osusergo,static_build,seccomp\n';
    const info = parseModuleInfo(`${start}${body}${end}`);
    expect(info.path).toBe('github.com/opencontainers/runc');
    expect(info.main).toEqual({ path: 'github.com/opencontainers/runc', version: '(devel)', sum: null });
    expect(info.dependencies).toEqual([
      { path: 'github.com/sirupsen/logrus', version: 'v1.9.0', sum: 'h1:trlNQbNUG3OdDrDil03MCb1H2o9nJ1x4/5LYw7byDE0=' },
    ]);
    expect(info.settings).toMatchObject({
      '-ldflags': '-s -w -buildid=',
      CGO_ENABLED: '1',
      GOARCH: 'arm',
      GOARM: '6',
      '-tags': 'netgo,osusergo,static_build,seccomp',
    });
  });
});
