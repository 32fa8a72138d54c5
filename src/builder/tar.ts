/**
 * A deterministic .tar.gz writer: entries sorted by path, one fixed mtime, uid/gid 0, fixed
 * modes, and a gzip header without name or time. Two builds of the same files give the same
 * bytes, whatever the host, its umask, its tar version or its clock. Streams file contents, so
 * a 100 MB dockerd is never held in memory whole.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';

export type TarEntry =
  | { path: string; type: 'directory'; mode?: number }
  | { path: string; type: 'file'; mode: number; source: string }
  | { path: string; type: 'file'; mode: number; content: Uint8Array };

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

export function tarHeader(path: string, size: number, mode: number, type: 'file' | 'directory', mtime: number): Buffer {
  const name = type === 'directory' && !path.endsWith('/') ? `${path}/` : path;
  if (Buffer.byteLength(name) > 100) throw new Error(`tar: path longer than 100 bytes: ${name}`);
  const header = Buffer.alloc(BLOCK, 0);
  header.write(name, 0, 100, 'utf8');
  header.write(octal(mode, 8), 100, 8, 'ascii');
  header.write(octal(0, 8), 108, 8, 'ascii'); // uid
  header.write(octal(0, 8), 116, 8, 'ascii'); // gid
  header.write(octal(size, 12), 124, 12, 'ascii');
  header.write(octal(mtime, 12), 136, 12, 'ascii');
  header.fill(0x20, 148, 156); // checksum is computed with this field as spaces
  header.write(type === 'directory' ? '5' : '0', 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write('root', 265, 32, 'ascii');
  header.write('root', 297, 32, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

async function* tarStream(entries: readonly TarEntry[], mtime: number): AsyncGenerator<Buffer> {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const entry of sorted) {
    if (entry.type === 'directory') {
      yield tarHeader(entry.path, 0, entry.mode ?? 0o755, 'directory', mtime);
      continue;
    }
    const size = 'content' in entry ? entry.content.length : (await stat(entry.source)).size;
    yield tarHeader(entry.path, size, entry.mode, 'file', mtime);
    if ('content' in entry) yield Buffer.from(entry.content);
    else {
      let written = 0;
      for await (const chunk of createReadStream(entry.source)) {
        written += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (written !== size) throw new Error(`tar: ${entry.source} changed size while being archived`);
    }
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (padding) yield Buffer.alloc(padding, 0);
  }
  // Two zero blocks end the archive.
  yield Buffer.alloc(BLOCK * 2, 0);
}

/** An uncompressed archive in memory, for small archives nested in another (an image layer). */
export async function tarBuffer(entries: readonly TarEntry[], mtime: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStream(entries, mtime)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Node's gzip writes mtime 0 and no file name, so only the content decides the bytes. */
export async function writeTarGz(output: string, entries: readonly TarEntry[], mtime: number): Promise<void> {
  await pipeline(
    Readable.from(tarStream(entries, mtime)),
    createGzip({ level: constants.Z_BEST_COMPRESSION }),
    createWriteStream(output),
  );
}
