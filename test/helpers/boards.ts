/**
 * Emulated boards of a test file's own: a temporary HOME and board state directory, the boards
 * started, and a `cli` that runs crossdock against them; `down` stops them and removes it all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { defaultCacheDirectory } from '../../src/boards/rootfs.js';
import { loadInventory } from '../../src/remote/inventory.js';
import { SshRunner } from '../../src/remote/ssh-runner.js';
import { crossdock } from './cli.js';

export interface TestBoards {
  work: string;
  state: string;
  inventoryFile: string;
  cli(args: string[]): ReturnType<typeof crossdock>;
  down(): Promise<void>;
}

export async function upBoards(prefix: string, models: readonly string[]): Promise<TestBoards> {
  const work = mkdtempSync(join(tmpdir(), `crossdock-${prefix}-`));
  const state = join(work, 'boards');
  const cli = (args: string[]) =>
    crossdock(args, {
      cwd: work,
      env: { CROSSDOCK_BOARD_DIR: state, HOME: work, XDG_CACHE_HOME: dirname(defaultCacheDirectory()) },
    });
  for (const model of models) {
    const up = await cli(['board', 'up', '--model', model]);
    expect(up.exitCode, up.stderr).toBe(0);
  }
  return {
    work,
    state,
    inventoryFile: join(state, 'inventory.yaml'),
    cli,
    down: async () => {
      await cli(['board', 'down', '--all']);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** A shell command as root on one board of the inventory, over its own connection; its stdout. */
export async function onBoard(inventoryFile: string, board: string, command: string): Promise<string> {
  const inventory = await loadInventory(inventoryFile);
  const host = inventory.hosts.find((h) => h.name === board);
  if (!host) throw new Error(`no board ${board} in ${inventoryFile}`);
  const runner = await SshRunner.connect(host, { knownHosts: [inventory.knownHosts ?? ''] });
  try {
    return (await runner.run('sh', ['-c', command], { allowFailure: true })).stdout;
  } finally {
    runner.dispose();
  }
}
