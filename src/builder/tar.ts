/**
 * A deterministic .tar.gz writer: entries sorted by path, one fixed mtime, uid/gid 0, fixed
 * modes, and a gzip header without name or time. Two builds of the same files give the same
 * bytes, whatever the host, its umask, its tar version or its clock. Streams file contents, so
 * a 100 MB dockerd is never held in memory whole.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGunzip, createGzip } from 'node:zlib';

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

/**
 * Copies the named regular files out of a gzip'd tar into `directory`, streaming (a bundle is
 * some 170 MB unpacked; it never sits in memory). `wanted` maps a path in the archive to the
 * file name to write. Ustar names with their prefix, and pax/GNU long-name records, are read;
 * resolves with the files it wrote and every regular file the archive holds.
 */
export async function extractFromTarGz(
  archive: string,
  wanted: ReadonlyMap<string, string>,
  directory: string,
): Promise<{ written: string[]; files: string[] }> {
  const written: string[] = [];
  const files: string[] = [];
  let buffer = Buffer.alloc(0);
  let remaining = 0;
  let padding = 0;
  let out: WriteStream | null = null;
  let longName: string | null = null;
  let collecting: Buffer[] | null = null;
  let collectingType = '';
  const field = (header: Buffer, start: number, length: number) =>
    header
      .subarray(start, start + length)
      .toString('utf8')
      .replace(/\0.*$/s, '');
  for await (const chunk of createReadStream(archive).pipe(createGunzip())) {
    buffer = Buffer.concat([buffer, chunk as Buffer]);
    for (;;) {
      if (remaining > 0) {
        const take = Math.min(remaining, buffer.length);
        if (take === 0) break;
        const piece = buffer.subarray(0, take);
        if (out && !out.write(piece)) await once(out, 'drain');
        collecting?.push(Buffer.from(piece));
        buffer = buffer.subarray(take);
        remaining -= take;
        if (remaining > 0) break;
        if (out) {
          await closeStream(out);
          out = null;
        }
        if (collecting) {
          const record = Buffer.concat(collecting).toString('utf8');
          // GNU 'L' holds the name itself; pax 'x' may hold "len path=NAME\n" among other keys.
          longName =
            collectingType === 'L'
              ? record.replace(/\0.*$/s, '')
              : (/(?:^|\n)\d+ path=([^\n]*)\n/.exec(record)?.[1] ?? null);
          collecting = null;
        }
        continue;
      }
      if (padding > 0) {
        const skip = Math.min(padding, buffer.length);
        buffer = buffer.subarray(skip);
        padding -= skip;
        if (padding > 0) break;
      }
      if (buffer.length < BLOCK) break;
      const header = buffer.subarray(0, BLOCK);
      buffer = buffer.subarray(BLOCK);
      if (header.every((byte) => byte === 0)) continue;
      const size = parseInt(field(header, 124, 12).trim() || '0', 8);
      const type = field(header, 156, 1) || '0';
      const prefix = field(header, 345, 155);
      const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
      if (type === 'L' || type === 'x') {
        collecting = [];
        collectingType = type;
      } else if (type === 'g') collecting = null;
      else {
        longName = null;
        const regular = type === '0' || type === '7';
        if (regular) files.push(name.replace(/^\.\//, ''));
        const target = regular && wanted.get(name.replace(/^\.\//, ''));
        if (target) {
          const path = join(directory, target);
          out = createWriteStream(path, { mode: 0o755 });
          written.push(path);
        }
      }
      remaining = size;
      padding = (BLOCK - (size % BLOCK)) % BLOCK;
      if (size === 0) {
        collecting = null;
        if (out) {
          await closeStream(out);
          out = null;
        }
      }
    }
  }
  return { written, files };
}

function closeStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => {
      resolve();
    });
  });
}
