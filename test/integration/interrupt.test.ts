/**
 * Ctrl-C (#25, finding 4): the first SIGINT unwinds, so every `finally` runs (the archive of
 * changed binaries leaves this machine's temporary directory, the board lock is released) and
 * the run exits 130; a second one quits at once. Either way an immediate re-run completes the
 * install, with no collision with a script the dead run left on the board.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheDirectory } from '../../src/boards/rootfs.js';
import { loadTargets, type Target } from '../../src/platform/targets.js';
import { type TestBoards, upBoards } from '../helpers/boards.js';
import { CLI } from '../helpers/cli.js';
import { makeRunnableDist } from '../helpers/dist.js';
import { requireRoot, requireTools } from '../helpers/tools.js';

const ready =
  requireRoot() &&
  requireTools('debootstrap', 'unshare', 'ip', 'qemu-aarch64-static', 'ssh-keygen', 'aarch64-linux-gnu-gcc');

let boards: TestBoards | undefined;
/** Noise per binary: enough that the one changed binary is still on its way when Ctrl-C comes. */
const PADDING = 16 * 1024 * 1024;
let aarch64: Target;

/** crossdock install in the background, interrupted with `signals` SIGINTs once it is sending. */
async function interruptedInstall(from: string, temporary: string, signals: number) {
  if (!boards) throw new Error('no boards');
  await mkdir(temporary, { recursive: true });
  const child = execa(process.execPath, [CLI, 'install', '--inventory', boards.inventoryFile, '--from', from], {
    reject: false,
    cwd: boards.work,
    env: {
      CI: 'true',
      TMPDIR: temporary,
      CROSSDOCK_BOARD_DIR: boards.state,
      HOME: boards.work,
      XDG_CACHE_HOME: dirname(defaultCacheDirectory()),
    },
  });
  // The changed binaries are on their way: the board is unpacking them into its store's scratch
  // folder (seen from here in the board's writable layer).
  const scratch = join(boards.state, 'rpi-3-1', 'upper', 'opt/crossdock/objects/.incoming');
  const run = { done: false };
  void child.finally(() => {
    run.done = true;
  });
  while (!run.done && !existsSync(scratch)) await new Promise((resolve) => setTimeout(resolve, 20));
  const interruptedMidway = !run.done;
  for (let n = 0; n < signals; n += 1) child.kill('SIGINT');
  const result = await child;
  return { exitCode: result.exitCode, stderr: result.stderr, interruptedMidway };
}

async function install(from: string) {
  if (!boards) throw new Error('no boards');
  return boards.cli(['install', '--inventory', boards.inventoryFile, '--from', from, '--json']);
}

describe.runIf(ready)('Ctrl-C during an install', () => {
  beforeAll(async () => {
    boards = await upBoards('interrupt', ['rpi-3']);
    aarch64 = (await loadTargets()).targets.find((t) => t.name === 'aarch64') as Target;
    const first = await makeRunnableDist(join(boards.work, 'dist-1'), {
      version: '1.0.0',
      targets: [aarch64],
      components: { dockerd: '1.0.0', containerd: '1.0.0', runc: '1.0.0', docker: '1.0.0' },
      binaryPadding: PADDING,
    });
    const installed = await install(first);
    expect(installed.exitCode, installed.stderr).toBe(0);
  }, 1_800_000);

  afterAll(async () => {
    await boards?.down();
  });

  it.each([
    ['once: everything unwinds', 1, '2.0.0'],
    ['twice: it quits at once', 2, '3.0.0'],
  ])(
    '%s, and the next run completes',
    async (_what, signals, version) => {
      if (!boards) throw new Error('no boards');
      // One binary changed and big enough that the transfer is still under way when Ctrl-C comes.
      const from = await makeRunnableDist(join(boards.work, `dist-${version}`), {
        version,
        targets: [aarch64],
        components: { dockerd: version, containerd: '1.0.0', runc: '1.0.0', docker: '1.0.0' },
        binaryPadding: PADDING,
      });
      const temporary = join(boards.work, `tmp-${version}`);
      const interrupted = await interruptedInstall(from, temporary, signals);
      expect(interrupted.interruptedMidway, `${String(interrupted.exitCode)} ${interrupted.stderr}`).toBe(true);
      expect(interrupted.exitCode, interrupted.stderr).toBe(130);
      expect(interrupted.stderr).toContain('crossdock: interrupted');
      // Nothing of the run is left in its temporary directory: the first Ctrl-C ran every finally,
      // the second exits at once but still removes it on the way out.
      expect(await readdir(temporary)).toEqual([]);
      const again = await install(from);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ hosts: [{ status: 'installed', activeVersion: version }] });
      const scratch = await execa('sh', [
        '-c',
        `ls -a ${join(boards.state, 'rpi-3-1', 'upper', 'opt/crossdock/versions')}`,
      ]);
      expect(scratch.stdout).not.toContain('.partial');
      // Two installs of 64 MB onto an emulated Pi 3 while other test files share the two cores:
      // a hang guard, not a speed test.
    },
    600_000,
  );
});
