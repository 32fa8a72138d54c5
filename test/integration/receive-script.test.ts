/**
 * The board's side of a transfer, run here with the same POSIX sh, tee, sha256sum and tar a
 * Debian board has: the bundle is hashed and unpacked as it arrives, and nothing takes its
 * real name unless the hash and size are the manifest's.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { writeTarGz } from '../../src/builder/tar.js';
import { pruneScript, receiveScript } from '../../src/install/board-scripts.js';
import { tempTree } from '../helpers/temp.js';

async function bundle(directory: string) {
  const file = join(directory, 'docker-1.0.0-aarch64.tgz');
  await writeTarGz(
    file,
    [
      { path: 'docker', type: 'directory' },
      { path: 'docker/dockerd', type: 'file', mode: 0o755, content: Buffer.from('#!/bin/sh\necho dockerd\n') },
      { path: 'docker/runc', type: 'file', mode: 0o755, content: Buffer.alloc(256 * 1024, 7) },
    ],
    0,
  );
  const bytes = await readFile(file);
  return { file, bytes, sha256: sha256(bytes), size: bytes.length };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const RUNC = sha256(Buffer.alloc(256 * 1024, 7));

async function receive(root: string, input: Buffer, expected: { sha256: string; size: number }, streamed = true) {
  const script = receiveScript({
    incoming: join(root, 'incoming/docker-1.0.0-aarch64.tgz'),
    versionDirectory: join(root, 'versions/1.0.0'),
    ...expected,
    streamed,
    objects: { directory: join(root, 'objects'), binaries: [{ name: 'runc', sha256: RUNC }] },
  });
  return execa('sh', ['-c', script], { input, reject: false });
}

describe('receiving a bundle on the board', () => {
  it('hashes and unpacks it as it arrives, then gives the file and the directory their names', async () => {
    const root = await tempTree();
    const b = await bundle(root);
    const result = await receive(root, b.bytes, b);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      `received ${b.sha256} ${String(b.size)} 0`,
      'file dockerd',
      'file runc',
    ]);
    expect(await readFile(join(root, 'incoming/docker-1.0.0-aarch64.tgz'))).toEqual(b.bytes);
    expect((await execa(join(root, 'versions/1.0.0/dockerd'))).stdout).toBe('dockerd');
    expect((await readdir(join(root, 'incoming'))).sort()).toEqual(['docker-1.0.0-aarch64.tgz']);
    expect((await readdir(join(root, 'versions'))).sort()).toEqual(['1.0.0']);
    // runc is in the store under its hash, as the same file (a hard link), for the next upgrade.
    expect(await readdir(join(root, 'objects'))).toEqual([RUNC]);
    expect((await stat(join(root, 'objects', RUNC))).ino).toBe((await stat(join(root, 'versions/1.0.0/runc'))).ino);
    // Shared by every version that has it, so no one may write through it (#25 low).
    expect((await stat(join(root, 'objects', RUNC))).mode & 0o222).toBe(0);
  });

  it('a bundle changed on the way is refused and leaves nothing behind', async () => {
    const root = await tempTree();
    const b = await bundle(root);
    const changed = Buffer.from(b.bytes);
    // A flipped byte inside the gzip stream's stored data: tar may still unpack something.
    changed[changed.length - 20] = (changed[changed.length - 20] ?? 0) ^ 0xff;
    const result = await receive(root, changed, b);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toMatch(/^received [0-9a-f]{64} \d+ \d+$/m);
    expect(result.stdout).not.toContain(b.sha256);
    expect(await readdir(join(root, 'incoming'))).toEqual([]);
    expect(await readdir(join(root, 'versions'))).toEqual([]);
    expect(existsSync(join(root, 'objects'))).toBe(false);
  });

  it('a transfer cut short is refused by its size and hash, with nothing named as installed', async () => {
    const root = await tempTree();
    const b = await bundle(root);
    const result = await receive(root, b.bytes.subarray(0, Math.floor(b.size / 2)), b);
    expect(result.exitCode).toBe(3);
    expect(existsSync(join(root, 'versions/1.0.0'))).toBe(false);
    expect(existsSync(join(root, 'incoming/docker-1.0.0-aarch64.tgz'))).toBe(false);
  });

  it('keeps the version flat: CLI plugins from docker/cli-plugins/ sit beside the other binaries (#26)', async () => {
    const root = await tempTree();
    const compose = Buffer.from('#!/bin/sh\necho "Docker Compose version v2.40.3"\n');
    const file = join(root, 'docker-1.0.0-aarch64.tgz');
    await writeTarGz(
      file,
      [
        { path: 'docker', type: 'directory' },
        { path: 'docker/cli-plugins', type: 'directory' },
        { path: 'docker/cli-plugins/docker-compose', type: 'file', mode: 0o755, content: compose },
        { path: 'docker/runc', type: 'file', mode: 0o755, content: Buffer.alloc(256 * 1024, 7) },
      ],
      0,
    );
    const bytes = await readFile(file);
    const script = receiveScript({
      incoming: join(root, 'incoming/docker-1.0.0-aarch64.tgz'),
      versionDirectory: join(root, 'versions/1.0.0'),
      sha256: sha256(bytes),
      size: bytes.length,
      streamed: true,
      objects: { directory: join(root, 'objects'), binaries: [{ name: 'docker-compose', sha256: sha256(compose) }] },
    });
    const result = await execa('sh', ['-c', script], { input: bytes, reject: false });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.split('\n').slice(1)).toEqual(['file docker-compose', 'file runc']);
    expect((await execa(join(root, 'versions/1.0.0/docker-compose'))).stdout).toBe('Docker Compose version v2.40.3');
    expect(await readdir(join(root, 'objects'))).toEqual([sha256(compose)]);
  });

  it('unpacks a bundle already in incoming/ (a resumed run or a download) without reading stdin', async () => {
    const root = await tempTree();
    const b = await bundle(root);
    expect((await receive(root, b.bytes, b)).exitCode).toBe(0);
    const again = await receive(root, Buffer.alloc(0), b, false);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain(`received ${b.sha256} ${String(b.size)} 0`);
    expect((await readdir(join(root, 'versions/1.0.0'))).sort()).toEqual(['dockerd', 'runc']);
  });
});

describe('the commit prunes under sh', () => {
  it('never removes what current or previous resolve to at the commit, whatever the plan said (#25)', async () => {
    const root = await tempTree();
    await execa(
      'sh',
      [
        '-c',
        'mkdir -p versions/1.0.0 versions/2.0.0 versions/3.0.0 && touch versions/1.0.0.json versions/2.0.0.json versions/2.0.0.probe.tar && ln -s versions/3.0.0 current && ln -s versions/1.0.0 previous',
      ],
      { cwd: root },
    );
    // The plan (from facts read earlier) doomed 1.0.0 and 2.0.0; a rollback since made 1.0.0 previous.
    await execa('sh', ['-c', pruneScript(['1.0.0', '2.0.0'])], { cwd: root });
    expect((await readdir(join(root, 'versions'))).sort()).toEqual(['1.0.0', '1.0.0.json', '3.0.0']);
  });
});
