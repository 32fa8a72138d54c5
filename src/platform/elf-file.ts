/** Reads ELF files from disk through positional reads, so large binaries are never loaded whole. */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '../errors.js';
import { type ByteSource, type ElfFile, ElfFormatError, readElf } from './elf.js';

export function withFileSource<T>(path: string, use: (source: ByteSource) => T): T {
  let descriptor: number;
  try {
    descriptor = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: cannot open: ${code === 'ENOENT' ? 'no such file' : String(code ?? error)}`, {
      hint: 'check the path',
      cause: error,
    });
  }
  try {
    const stat = fstatSync(descriptor);
    if (!stat.isFile()) throw new UserError(`${path}: not a regular file`, { hint: 'give the path of a binary' });
    const source: ByteSource = {
      size: stat.size,
      read(offset, length) {
        const size = Math.max(0, Math.min(length, stat.size - offset));
        const buffer = new Uint8Array(size);
        let done = 0;
        while (done < size) {
          const count = readSync(descriptor, buffer, done, size - done, offset + done);
          if (count === 0) break;
          done += count;
        }
        return buffer.subarray(0, done);
      },
    };
    return use(source);
  } finally {
    closeSync(descriptor);
  }
}

/** Thrown for a file that is not ELF or is cut short; exit code 2 like any bad input. */
export class ElfInputError extends UserError {
  constructor(
    readonly file: string,
    readonly kind: ElfFormatError['kind'],
    message: string,
  ) {
    super(`${file}: ${message}`, {
      hint:
        kind === 'not-elf'
          ? 'give the path of a Linux binary (ELF)'
          : 'the file is damaged or incomplete; rebuild or download it again',
    });
  }
}

export function readElfFile(path: string): ElfFile {
  return withFileSource(path, (source) => {
    try {
      return readElf(source);
    } catch (error) {
      if (error instanceof ElfFormatError) throw new ElfInputError(path, error.kind, error.message);
      throw error;
    }
  });
}
