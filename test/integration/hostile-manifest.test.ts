/**
 * A manifest is untrusted input (#25, finding 1). Against a real sshd board that records every
 * command it is asked to run: the audit's manifest (a binary named `../../../../bin/sh`, smoke
 * arguments `-c …`, the version the board already runs) runs nothing on the board, with or
 * without --dry-run, with or without allowedSigners; a manifest that parses but names arguments
 * of its own runs none of them before the plan or under --dry-run; with allowedSigners an
 * unsigned one is refused before any board is reached.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTargets, type Target } from '../../src/platform/targets.js';
import { sha256 } from '../../src/artifacts/checksums.js';
import { onBoard as onBoardOf, type TestBoards, upBoards } from '../helpers/boards.js';
import { makeRunnableDist } from '../helpers/dist.js';
import { installRecorder, recordedCommands } from '../helpers/recorder.js';
import { requireRoot, requireTools } from '../helpers/tools.js';

const ready =
  requireRoot() &&
  requireTools('debootstrap', 'unshare', 'ip', 'qemu-aarch64-static', 'ssh-keygen', 'aarch64-linux-gnu-gcc');

const BOARD = 'rpi-3-1';
const PWNED = '/tmp/crossdock-pwned';
const MARKER = '--crossdock-hostile-marker';

let boards: TestBoards | undefined;
let installed: string;

function cli(args: string[]) {
  if (!boards) throw new Error('no boards: beforeAll did not run');
  return boards.cli(args);
}

async function onBoard(command: string): Promise<string> {
  if (!boards) throw new Error('no boards');
  return onBoardOf(boards.inventoryFile, BOARD, command);
}

/** A copy of the installed dist whose manifest (and SHA256SUMS, so only the manifest lies) is rewritten. */
async function hostileDist(name: string, rewrite: (binary: Record<string, unknown>) => void): Promise<string> {
  if (!boards) throw new Error('no boards');
  const directory = join(boards.work, name, '1.0.0');
  await execa('mkdir', ['-p', join(boards.work, name)]);
  await execa('cp', ['-a', installed, directory]);
  const file = join(directory, 'manifest.json');
  const manifest = JSON.parse(await readFile(file, 'utf8')) as {
    artifacts: Array<{ kind: string; binaries?: Array<Record<string, unknown>> }>;
  };
  const bundle = manifest.artifacts.find((a) => a.kind === 'bundle');
  const first = bundle?.binaries?.[0];
  if (!first) throw new Error('the test dist has no binaries');
  rewrite(first);
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  await writeFile(file, text);
  const sums = (await readFile(join(directory, 'SHA256SUMS'), 'utf8')).replace(
    /^[0-9a-f]{64}(?= {2}manifest\.json$)/m,
    sha256(text),
  );
  await writeFile(join(directory, 'SHA256SUMS'), sums);
  return directory;
}

async function signedInventory(): Promise<string> {
  if (!boards) throw new Error('no boards');
  const key = join(boards.work, 'release');
  if (!existsSync(key)) await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'release@acme', '-f', key]);
  const publicKey = (await readFile(`${key}.pub`, 'utf8')).trim();
  await writeFile(join(boards.state, 'allowed_signers'), `release@acme namespaces="crossdock" ${publicKey}\n`);
  const file = join(boards.state, 'signed.yaml');
  await writeFile(file, `allowedSigners: allowed_signers\n${await readFile(boards.inventoryFile, 'utf8')}`);
  return file;
}

/** `crossdock install --from DIST --json`, exit 0, and what it asked of the board. */
async function installAsked(from: string, extra: string[]) {
  if (!boards) throw new Error('no boards');
  const inventory = boards.inventoryFile;
  let result: Awaited<ReturnType<typeof cli>> | undefined;
  const asked = await askedDuring(async () => {
    result = await cli(['install', '--inventory', inventory, '--from', from, '--json', ...extra]);
  });
  if (!result) throw new Error('install did not run');
  expect(result.exitCode, `${result.stderr}${result.stdout}`).toBe(0);
  return { result, asked };
}

/** What crossdock asked of the board while `run` ran. */
async function askedDuring(run: () => Promise<unknown>): Promise<string[]> {
  if (!boards) throw new Error('no boards');
  const before = (await recordedCommands(join(boards.state, BOARD))).length;
  await run();
  return (await recordedCommands(join(boards.state, BOARD))).slice(before);
}

describe.runIf(ready)('a hostile manifest against a board that records every command', () => {
  beforeAll(async () => {
    boards = await upBoards('hostile', ['rpi-3']);
    const registry = await loadTargets();
    const aarch64 = registry.targets.find((t) => t.name === 'aarch64') as Target;
    // Before anything else reaches the board: files written under a mounted overlay's upper
    // layer are seen only where the overlay has not looked yet.
    await installRecorder(join(boards.state, BOARD), onBoard);
    installed = await makeRunnableDist(join(boards.work, 'dist'), { version: '1.0.0', targets: [aarch64] });
    const first = await cli(['install', '--inventory', boards.inventoryFile, '--from', installed]);
    expect(first.exitCode, first.stderr).toBe(0);
  }, 1_800_000);

  afterAll(async () => {
    await boards?.down();
  });

  it("the audit's manifest is refused on this machine, naming the field: nothing reaches the board", async () => {
    if (!boards) throw new Error('no boards');
    const hostile = await hostileDist('audit', (binary) => {
      binary.name = '../../../../bin/sh';
      binary.smoke = { args: ['-c', `id > ${PWNED}`], cpu: null, firstLine: '' };
    });
    const signed = await signedInventory();
    for (const extra of [[], ['--dry-run']])
      for (const inventory of [boards.inventoryFile, signed]) {
        let result: Awaited<ReturnType<typeof cli>> | undefined;
        const asked = await askedDuring(async () => {
          result = await cli(['install', '--inventory', inventory, '--from', hostile, ...extra]);
        });
        expect(result?.exitCode).toBe(2);
        expect(result?.stderr.split('\n')[0]).toBe(
          `crossdock: ${join(hostile, 'manifest.json')}: artifacts[0].binaries[0].name "../../../../bin/sh": is not a plain file name (one path component)`,
        );
        expect(asked).toEqual([]);
      }
    expect(await onBoard(`test -e ${PWNED} && echo pwned || echo clean`)).toBe('clean\n');
  });

  it('a manifest that parses runs none of its own arguments on the board, with or without --dry-run', async () => {
    if (!boards) throw new Error('no boards');
    // The build the board runs, its manifest's smoke arguments changed: deciding that the board
    // is up to date runs the board's own record of its version, never what the manifest names.
    const other = await hostileDist('marker', (binary) => {
      binary.smoke = { args: [MARKER], cpu: null, firstLine: 'x' };
    });
    for (const extra of [['--dry-run'], []]) {
      const { result, asked } = await installAsked(other, extra);
      expect(asked.some((c) => c.includes('/opt/crossdock/versions/1.0.0.json'))).toBe(true);
      expect(asked.some((c) => c.includes('/opt/crossdock/versions/1.0.0/dockerd') && c.includes('--version'))).toBe(
        true,
      );
      expect(asked.filter((c) => c.includes(MARKER))).toEqual([]);
      expect(JSON.parse(result.stdout)).toMatchObject({ hosts: [{ status: 'unchanged' }] });
    }
  });

  it('another build under the version the board runs is planned as an install, deciding so by no manifest command', async () => {
    if (!boards) throw new Error('no boards');
    const other = await hostileDist('rebuilt', (binary) => {
      binary.smoke = { args: [MARKER], cpu: null, firstLine: 'x' };
      binary.sha256 = 'f'.repeat(64);
    });
    const { result, asked } = await installAsked(other, ['--dry-run']);
    expect(asked.filter((c) => c.includes(MARKER))).toEqual([]);
    const host = (JSON.parse(result.stdout) as { hosts: Array<{ status: string; steps: string[] }> }).hosts[0];
    expect(host?.status).toBe('planned');
    expect(host?.steps).toContain('send');
  });

  it('with allowedSigners, a manifest that parses but is not signed never reaches a board', async () => {
    const other = await hostileDist('unsigned', (binary) => {
      binary.smoke = { args: [MARKER], cpu: null, firstLine: 'x' };
    });
    const signed = await signedInventory();
    let result: Awaited<ReturnType<typeof cli>> | undefined;
    const asked = await askedDuring(async () => {
      result = await cli(['install', '--inventory', signed, '--from', other]);
    });
    expect(result?.exitCode).toBe(1);
    expect(result?.stderr.split('\n')[0]).toBe(
      `crossdock: ${other}: the inventory asks for signed builds and there is no SHA256SUMS.sig`,
    );
    expect(asked).toEqual([]);
  });
});
