/**
 * The fleet `crossdock pipeline` rehearses on when there is no inventory: an emulated Pi Zero,
 * Pi 3 and Pi 4 on a 32-bit OS (the three kinds of Pi whose targets differ), started once and
 * reused while they run. The command starts it; the pipeline itself only reads an inventory.
 */
import { join } from 'node:path';
import type { Runner } from '../exec/runner.js';
import { hostTarget } from '../platform/host.js';
import type { TargetRegistry } from '../platform/targets.js';
import { boardsUp, defaultStateDirectory, listBoards, writeBoardInventory } from './board.js';
import { findModel, loadBoardModels } from './models.js';
import { defaultCacheDirectory } from './rootfs.js';

export const DEFAULT_FLEET = ['rpi-zero', 'rpi-3', 'rpi-4-32'];

/** Starts what of the default fleet is not running; returns the inventory of all its boards. */
export async function ensureDefaultFleet(options: {
  registry: TargetRegistry;
  runner: Runner;
  log: (line: string) => void;
  /** Why it is needed, for the log ("no inventory at …"). */
  reason: string;
}): Promise<string> {
  const stateDirectory = defaultStateDirectory();
  const inventoryFile = join(stateDirectory, 'inventory.yaml');
  const existing = await listBoards(stateDirectory);
  const models = await loadBoardModels(options.registry);
  for (const id of DEFAULT_FLEET) {
    if (existing.some((board) => board.model === id && board.running)) continue;
    options.log(`${options.reason}: starting an emulated ${id}`);
    const taken = new Set(existing.map((b) => b.name));
    let n = 1;
    while (taken.has(`${id}-${n}`)) n += 1;
    await boardsUp(
      findModel(models, id),
      [`${id}-${n}`],
      {
        stateDirectory,
        cacheDirectory: defaultCacheDirectory(),
        runner: options.runner,
        mirror: process.env.CROSSDOCK_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian',
        suite: 'bookworm',
        log: options.log,
      },
      hostTarget(options.registry),
    );
  }
  await writeBoardInventory(inventoryFile, await listBoards(stateDirectory));
  return inventoryFile;
}
