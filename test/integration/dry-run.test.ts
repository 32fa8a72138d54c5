/**
 * `--dry-run` changes nothing anywhere (#17): every command that reaches a board is run with
 * --dry-run against a board whose sshd records each command it is asked to run (ForceCommand),
 * and the board's whole writable layer, its /run, and this machine's working files are compared
 * before and after. The same comparison sees a real install change them, so it can fail.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml, parse as parseYaml } from 'yaml';
import { loadTargets, type Target } from '../../src/platform/targets.js';
import { loadInventory } from '../../src/remote/inventory.js';
import { SshRunner } from '../../src/remote/ssh-runner.js';
import { type TestBoards, upBoards } from '../helpers/boards.js';
import { makeRunnableDist } from '../helpers/dist.js';
import { installRecorder, RECORDED_LOG, recordedCommands } from '../helpers/recorder.js';
import { requireRoot, requireTools } from '../helpers/tools.js';

const ready =
  requireRoot() &&
  requireTools('debootstrap', 'unshare', 'ip', 'qemu-aarch64-static', 'ssh-keygen', 'aarch64-linux-gnu-gcc');

const BOARD = 'rpi-3-1';
const LOG = RECORDED_LOG;

const SCRATCH = ['tmp', 'var/tmp'];

let work: string;
let state: string;
let inventoryFile: string;
let targets: Record<string, Target>;
let dists: Record<string, string>;

let boards: TestBoards | undefined;

function cli(args: string[]) {
  if (!boards) throw new Error('no boards: beforeAll did not run');
  return boards.cli(args);
}

async function onBoard(command: string): Promise<string> {
  const inventory = await loadInventory(inventoryFile);
  const host = inventory.hosts.find((h) => h.name === BOARD);
  if (!host) throw new Error(BOARD);
  const runner = await SshRunner.connect(host, { knownHosts: [inventory.knownHosts ?? ''] });
  try {
    return (await runner.run('sh', ['-c', command])).stdout;
  } finally {
    runner.dispose();
  }
}

/** Every path under `root` with its type, mode, size, mtime and content hash (or link target). */
async function tree(root: string, skip: (path: string) => boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (directory: string) => {
    for (const name of (await readdir(directory).catch(() => [])).sort()) {
      const path = join(directory, name);
      const rel = relative(root, path);
      if (skip(rel)) continue;
      const info = await lstat(path);
      // A scratch directory's own mtime moves when a reader makes and removes a temp file in it.
      const scratch = info.isDirectory() && SCRATCH.includes(rel);
      let detail = `${info.mode.toString(8)} ${scratch ? '' : String(info.mtimeMs)}`;
      if (info.isSymbolicLink()) detail += ` -> ${await readlink(path)}`;
      else if (info.isFile())
        detail += ` ${createHash('sha256')
          .update(await readFile(path))
          .digest('hex')}`;
      out.set(rel, detail);
      if (info.isDirectory()) await walk(path);
    }
  };
  await walk(root);
  return out;
}

function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((p) => before.get(p) !== after.get(p)).sort();
}

interface Snapshot {
  board: Map<string, string>;
  run: string;
  local: Map<string, string>;
  logLines: number;
}

async function snapshot(): Promise<Snapshot> {
  const upper = join(state, BOARD, 'upper');
  // The recorder's own log, and what sshd itself keeps of logins, are not crossdock's doing.
  const boardSkip = (p: string) => p === LOG.slice(1) || /^var\/log\/(lastlog|wtmp|btmp)$/.test(p);
  const board = await tree(upper, boardSkip);
  // pam_motd rewrites motd.dynamic at every login; directories are listed without their mtime.
  const run = await onBoard(
    "find /run /tmp /var/tmp -xdev ! -name sshd.pid ! -name motd.dynamic \\( -type d -printf '%p %m\\n' -o -printf '%p %m %s %T@\\n' \\) | sort",
  );
  // The board's own directory is its disk (compared above) and its runtime files.
  const local = await tree(work, (p) => p === `boards/${BOARD}` || p.startsWith(`boards/${BOARD}/`));
  const log = await readFile(join(upper, LOG.slice(1)), 'utf8').catch(() => '');
  return { board, run, local, logLines: log.split('\n').filter(Boolean).length };
}

/** The commands the board was asked to run between two snapshots, decoded (the snapshot's own find dropped). */
async function recordedSince(before: Snapshot): Promise<string[]> {
  return (await recordedCommands(join(state, BOARD)))
    .slice(before.logLines)
    .filter((command) => !command.includes('find /run /tmp /var/tmp'));
}

async function expectUnchanged(args: string[]) {
  const before = await snapshot();
  const result = await cli(args);
  const after = await snapshot();
  const asked = await recordedSince(before);
  return {
    result,
    asked,
    boardChanges: changes(before.board, after.board),
    runChanged: before.run !== after.run,
    localChanges: changes(before.local, after.local),
  };
}

describe.runIf(ready)('--dry-run against a board that records every command', () => {
  beforeAll(async () => {
    boards = await upBoards('dry-run', ['rpi-3']);
    ({ work, state, inventoryFile } = boards);
    const registry = await loadTargets();
    targets = Object.fromEntries(registry.targets.map((t) => [t.name, t]));

    await installRecorder(join(state, BOARD), onBoard);

    dists = {};
    for (const version of ['1.0.0', '1.1.0', '1.2.0'])
      dists[version] = await makeRunnableDist(join(work, `dist-${version}`), {
        version,
        targets: [targets.aarch64 as Target],
      });
    for (const version of ['1.0.0', '1.1.0']) {
      const installed = await cli(['install', '--inventory', inventoryFile, '--from', dists[version] ?? '']);
      expect(installed.exitCode, installed.stderr).toBe(0);
    }
  }, 1_800_000);

  afterAll(async () => {
    await boards?.down();
  });

  it('the recorder sees every command and the snapshot sees a real change (so the test can fail)', async () => {
    const real = await expectUnchanged(['install', '--inventory', inventoryFile, '--from', dists['1.2.0'] ?? '']);
    expect(real.result.exitCode, real.result.stderr).toBe(0);
    expect(real.boardChanges.some((p) => p.startsWith('opt/crossdock/versions/1.2.0'))).toBe(true);
    expect(real.asked.some((c) => c.includes('current.new'))).toBe(true);
    // Back to 1.1.0, so the dry runs below have an upgrade, a downgrade and a rollback to plan.
    const back = await cli(['fleet', 'rollback', '--inventory', inventoryFile]);
    expect(back.exitCode, back.stderr).toBe(0);
    expect((await onBoard('readlink /opt/crossdock/current')).trim()).toBe('versions/1.1.0');
  });

  const inventoryWith = async (extra: Record<string, unknown>) => {
    const file = join(state, `inventory-${Object.keys(extra).join('-')}.yaml`);
    const base = parseYaml(await readFile(inventoryFile, 'utf8')) as Record<string, unknown>;
    await writeFile(file, stringifyYaml({ ...base, ...extra }));
    return file;
  };

  const cases: Array<[string, () => string[] | Promise<string[]>]> = [
    ['install (an upgrade)', () => ['install', '--inventory', inventoryFile, '--from', dists['1.2.0'] ?? '']],
    ['install (a downgrade)', () => ['install', '--inventory', inventoryFile, '--from', dists['1.0.0'] ?? '']],
    [
      'install (daemon.json only: a reconfigure)',
      async () => [
        'install',
        '--inventory',
        await inventoryWith({ defaults: { daemon: { 'log-driver': 'local' } } }),
        '--from',
        dists['1.1.0'] ?? '',
      ],
    ],
    ['fleet rollback', () => ['fleet', 'rollback', '--inventory', inventoryFile]],
    ['fleet swarm init', () => ['fleet', 'swarm', 'init', '--inventory', inventoryFile]],
    ['fleet swarm leave', () => ['fleet', 'swarm', 'leave', '--inventory', inventoryFile]],
    ['fleet tls enable', () => ['fleet', 'tls', 'enable', '--inventory', inventoryFile]],
    ['fleet tls disable', () => ['fleet', 'tls', 'disable', '--inventory', inventoryFile]],
    [
      'install --accept-new, the board not yet in known_hosts',
      async () => {
        const file = await inventoryWith({ knownHosts: 'empty.known_hosts' });
        await writeFile(join(state, 'empty.known_hosts'), '');
        return ['install', '--inventory', file, '--accept-new', '--from', dists['1.2.0'] ?? ''];
      },
    ],
  ];

  it.each(cases)('%s --dry-run changes nothing on the board or here', async (_name, args) => {
    const { result, asked, boardChanges, runChanged, localChanges } = await expectUnchanged([
      ...(await args()),
      '--dry-run',
    ]);
    expect(result.stdout + result.stderr).not.toBe('');
    // It did talk to the board (it read facts), and nothing it asked for changed anything.
    expect(asked.length).toBeGreaterThan(0);
    expect(boardChanges).toEqual([]);
    expect(runChanged).toBe(false);
    expect(localChanges).toEqual([]);
    expect(
      asked.filter((c) =>
        /current\.new|mv -T|docker swarm|swarm\/(init|join|leave)|systemctl (re)?start|restart/.test(c),
      ),
    ).toEqual([]);
  });

  it('read-only commands (probe, fleet status, swarm status, tls status) change nothing either', async () => {
    for (const args of [
      ['probe', '--inventory', inventoryFile],
      ['fleet', 'status', '--inventory', inventoryFile, '--deep'],
      ['fleet', 'swarm', 'status', '--inventory', inventoryFile],
      ['fleet', 'tls', 'status', '--inventory', inventoryFile],
    ]) {
      const { asked, boardChanges, runChanged, localChanges } = await expectUnchanged(args);
      expect(asked.length, args.join(' ')).toBeGreaterThan(0);
      expect([args.join(' '), boardChanges, runChanged, localChanges]).toEqual([args.join(' '), [], false, []]);
    }
  });
});
