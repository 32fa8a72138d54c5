/**
 * A minimal static ELF executable for a target, written byte by byte: it prints one line and
 * exits 0. It proves a binfmt handler and a QEMU CPU model work without needing a compiler,
 * so `binfmt install` can check itself on a host that has no cross toolchain.
 *
 * The code uses only the oldest instructions of each architecture (ARMv4 for 32-bit ARM), so
 * it runs on every CPU model of its target, the ARM1176 of a Pi Zero included.
 */
import { ELF_MACHINES } from '../platform/elf-constants.js';
import type { Target } from '../platform/targets.js';

const LOAD_ADDRESS = 0x10000;

type Assemble = (messageOffset: number, messageLength: number) => { code: number[]; codeLength: number };

const le32 = (...words: number[]) =>
  words.flatMap((w) => [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, (w >>> 24) & 0xff]);

/** Machine code by ELF e_machine number: write(1, message, length); exit(0). */
const PROGRAMS: Record<number, Assemble> = {
  // ARM (A32), EABI syscalls: r7 = number, svc #0. `add r1, pc, #n` reads pc as this + 8.
  40: (_, length) => ({
    code: le32(0xe3a00001, 0xe28f1014, 0xe3a02000 | length, 0xe3a07004, 0xef000000, 0xe3a00000, 0xe3a07001, 0xef000000),
    codeLength: 32,
  }),
  // AArch64: x8 = number, svc #0; `adr x1, +28` from the second instruction.
  183: (_, length) => ({
    code: le32(
      0xd2800020,
      0x100000e1,
      0xd2800002 | (length << 5),
      0xd2800808,
      0xd4000001,
      0xd2800000,
      0xd2800ba8,
      0xd4000001,
    ),
    codeLength: 32,
  }),
  // x86-64: syscall with rax = number; `lea rsi, [rip + 16]` ends at offset 17, the message is at 33.
  62: (_, length) => ({
    code: [
      0xb8,
      1,
      0,
      0,
      0,
      0xbf,
      1,
      0,
      0,
      0,
      0x48,
      0x8d,
      0x35,
      16,
      0,
      0,
      0,
      0xba,
      length,
      0,
      0,
      0,
      0x0f,
      0x05,
      0xb8,
      60,
      0,
      0,
      0,
      0x31,
      0xff,
      0x0f,
      0x05,
    ],
    codeLength: 33,
  }),
  // RISC-V 64: a7 = number, ecall; `auipc a1, 0` at 4 plus 32 reaches the message at 36.
  243: (_, length) => ({
    code: le32(
      0x00100513,
      0x00000597,
      0x02058593,
      0x00000613 | (length << 20),
      0x04000893,
      0x00000073,
      0x00000513,
      0x05d00893,
      0x00000073,
    ),
    codeLength: 36,
  }),
};

function machineNumber(name: string): number | undefined {
  const entry = Object.entries(ELF_MACHINES).find(([, machine]) => machine === name);
  return entry ? Number(entry[0]) : undefined;
}

export function probeMessage(target: Target): string {
  return `crossdock probe: ${target.name} ok\n`;
}

export function canBuildProbe(target: Target): boolean {
  const number = machineNumber(target.elf.machine);
  return number !== undefined && number in PROGRAMS;
}

export function probeProgram(target: Target): Uint8Array {
  const number = machineNumber(target.elf.machine);
  const assemble = number === undefined ? undefined : PROGRAMS[number];
  if (number === undefined || !assemble) throw new Error(`no probe program for ELF machine ${target.elf.machine}`);
  const message = [...Buffer.from(probeMessage(target))];
  const is64 = target.elf.class === 64;
  const headerSize = is64 ? 64 : 52;
  const programHeaderSize = is64 ? 56 : 32;
  const codeOffset = headerSize + programHeaderSize;
  const { code, codeLength } = assemble(codeOffset + 0, message.length);
  if (code.length !== codeLength) throw new Error('probe program length mismatch');
  const fileSize = codeOffset + code.length + message.length;
  const bytes = Buffer.alloc(fileSize);
  // e_ident: magic, class, little-endian, version 1, System V ABI.
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1, 0]).copy(bytes, 0);
  bytes.writeUInt16LE(2, 16); // ET_EXEC
  bytes.writeUInt16LE(number, 18);
  bytes.writeUInt32LE(1, 20);
  const entry = LOAD_ADDRESS + codeOffset;
  // EABI version 5 for ARM; RVC + double-float ABI for RISC-V, as Debian's toolchains emit.
  const flags = number === 40 ? 0x05000000 : number === 243 ? 0x5 : 0;
  if (is64) {
    bytes.writeBigUInt64LE(BigInt(entry), 24);
    bytes.writeBigUInt64LE(BigInt(headerSize), 32); // e_phoff
    bytes.writeBigUInt64LE(0n, 40); // e_shoff
    bytes.writeUInt32LE(flags, 48);
    bytes.writeUInt16LE(headerSize, 52);
    bytes.writeUInt16LE(programHeaderSize, 54);
    bytes.writeUInt16LE(1, 56);
    // PT_LOAD, R+X, the whole file at LOAD_ADDRESS.
    const ph = headerSize;
    bytes.writeUInt32LE(1, ph);
    bytes.writeUInt32LE(5, ph + 4);
    bytes.writeBigUInt64LE(0n, ph + 8);
    bytes.writeBigUInt64LE(BigInt(LOAD_ADDRESS), ph + 16);
    bytes.writeBigUInt64LE(BigInt(LOAD_ADDRESS), ph + 24);
    bytes.writeBigUInt64LE(BigInt(fileSize), ph + 32);
    bytes.writeBigUInt64LE(BigInt(fileSize), ph + 40);
    bytes.writeBigUInt64LE(0x1000n, ph + 48);
  } else {
    bytes.writeUInt32LE(entry, 24);
    bytes.writeUInt32LE(headerSize, 28);
    bytes.writeUInt32LE(0, 32);
    bytes.writeUInt32LE(flags, 36);
    bytes.writeUInt16LE(headerSize, 40);
    bytes.writeUInt16LE(programHeaderSize, 42);
    bytes.writeUInt16LE(1, 44);
    const ph = headerSize;
    bytes.writeUInt32LE(1, ph);
    bytes.writeUInt32LE(0, ph + 4);
    bytes.writeUInt32LE(LOAD_ADDRESS, ph + 8);
    bytes.writeUInt32LE(LOAD_ADDRESS, ph + 12);
    bytes.writeUInt32LE(fileSize, ph + 16);
    bytes.writeUInt32LE(fileSize, ph + 20);
    bytes.writeUInt32LE(5, ph + 24);
    bytes.writeUInt32LE(0x1000, ph + 28);
  }
  Buffer.from(code).copy(bytes, codeOffset);
  Buffer.from(message).copy(bytes, codeOffset + code.length);
  return bytes;
}
