/**
 * Emulated boards of a test file's own: a temporary HOME and board state directory, the boards
 * started, and a `cli` that runs crossdock against them; `down` stops them and removes it all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { defaultCacheDirectory } from '../../src/boards/rootfs.js';
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
