/**
 * Reading files out of a .tar.gz, streamed: archives by crossdock's own writer and by GNU tar
 * (long names, pax headers, a ./ prefix) give back the same bytes, and what was not asked for
 * is listed but not written.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractFromTarGz, writeTarGz } from '../../src/builder/tar.js';

let work: string;
const big = randomBytes(3 * 1024 * 1024 + 17);
const small = Buffer.from('hello\n');
const longName = `docker/${'x'.repeat(140)}`;

describe('extractFromTarGz', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'crossdock-tar-'));
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it("reads crossdock's own archives", async () => {
    const archive = join(work, 'own.tgz');
    await writeTarGz(
      archive,
      [
        { path: 'docker', type: 'directory' },
        { path: 'docker/dockerd', type: 'file', mode: 0o755, content: big },
        { path: 'docker/empty', type: 'file', mode: 0o755, content: Buffer.alloc(0) },
        { path: 'docker/runc', type: 'file', mode: 0o755, content: small },
      ],
      0,
    );
    const out = join(work, 'own');
    await mkdir(out);
    const { written, files } = await extractFromTarGz(
      archive,
      new Map([
        ['docker/dockerd', 'a'],
        ['docker/empty', 'e'],
      ]),
      out,
    );
    expect(files).toEqual(['docker/dockerd', 'docker/empty', 'docker/runc']);
    expect(written.map((w) => w.slice(out.length + 1)).sort()).toEqual(['a', 'e']);
    expect((await readFile(join(out, 'a'))).equals(big)).toBe(true);
    expect(await readFile(join(out, 'e'))).toHaveLength(0);
    expect((await readdir(out)).sort()).toEqual(['a', 'e']);
  });

  it.each(['gnu', 'pax'])("reads GNU tar's %s archives, long names included", async (format) => {
    const tree = join(work, `tree-${format}`);
    await mkdir(join(tree, 'docker'), { recursive: true });
    await writeFile(join(tree, 'docker/dockerd'), big);
    await writeFile(join(tree, longName), small);
    const archive = join(work, `${format}.tgz`);
    await execa('tar', [`--format=${format}`, '-czf', archive, '-C', tree, './docker']);
    const out = join(work, `out-${format}`);
    await mkdir(out);
    const { files } = await extractFromTarGz(
      archive,
      new Map([
        ['docker/dockerd', 'd'],
        [longName, 'l'],
      ]),
      out,
    );
    expect(files.sort()).toEqual(['docker/dockerd', longName].sort());
    expect((await readFile(join(out, 'd'))).equals(big)).toBe(true);
    expect(await readFile(join(out, 'l'), 'utf8')).toBe('hello\n');
  });
});
