import { join, resolve } from 'node:path';
import {
  type BoardEnvironment,
  boardsDown,
  boardsPowerCycle,
  boardsUp,
  defaultStateDirectory,
  listBoards,
  prepareModel,
  writeBoardInventory,
} from '../boards/board.js';
import { findModel, loadBoardModels } from '../boards/models.js';
import { defaultCacheDirectory } from '../boards/rootfs.js';
import { ExitCode, UserError } from '../errors.js';
import { hostTarget } from '../platform/host.js';
import { loadTargets } from '../platform/targets.js';
import { formatTable, printJson } from '../ui/output.js';
import { createRunner } from './shared.js';

export interface BoardCommandOptions {
  model?: string | undefined;
  name?: string | undefined;
  count?: number | undefined;
  inventory?: string | undefined;
  all?: boolean;
  json?: boolean;
  mirror?: string | undefined;
}

const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

export async function boardCommand(action: string, names: string[], options: BoardCommandOptions): Promise<number> {
  const stateDirectory = defaultStateDirectory();
  const log = (line: string) => process.stderr.write(`crossdock: ${line}\n`);
  const runner = createRunner({});
  const inventoryFile = resolve(options.inventory ?? join(stateDirectory, 'inventory.yaml'));
  const environment = (): BoardEnvironment => ({
    stateDirectory,
    cacheDirectory: defaultCacheDirectory(),
    runner,
    mirror: options.mirror ?? process.env.CROSSDOCK_DEBIAN_MIRROR ?? DEFAULT_MIRROR,
    suite: 'bookworm',
    log,
  });
  switch (action) {
    case 'prepare': {
      // Make the rootfs of each model ahead of time (CI does, so tests find them cached).
      const registry = await loadTargets();
      const models = await loadBoardModels(registry);
      const ids = (options.model ?? '').split(',').filter(Boolean);
      if (ids.length === 0)
        throw new UserError('board prepare: which models? --model a,b', { hint: '--model rpi-zero,rpi-3' });
      const host = hostTarget(registry);
      for (const id of ids) {
        const prepared = await prepareModel(findModel(models, id), environment(), host);
        process.stdout.write(`${id}: ${prepared.rootfs}\n`);
      }
      return ExitCode.Ok;
    }
    case 'up': {
      if (!options.model)
        throw new UserError('board up: which model? --model MODEL', {
          hint: 'crossdock board models lists them, e.g. --model rpi-zero',
        });
      const registry = await loadTargets();
      const model = findModel(await loadBoardModels(registry), options.model);
      const count = options.count ?? 1;
      // A namespace board is an sshd in a network namespace (a few MiB; 250 veth slots); a whole
      // machine takes 1 GiB and a core's share of emulation.
      const most = model.vm ? 8 : 250;
      if (!Number.isInteger(count) || count < 1 || count > most)
        throw new UserError(`--count ${String(options.count)}: expected 1 to ${String(most)} ${model.id} boards`, {
          hint: model.vm ? 'e.g. --count 2' : 'e.g. --count 100 (--model x86_64 boards run natively, for scale)',
        });
      if (options.name && count > 1)
        throw new UserError('--name names one board; with --count the names are MODEL-1, MODEL-2, …', {
          hint: 'drop --name, or drop --count',
        });
      const existing = new Set((await listBoards(stateDirectory)).map((b) => b.name));
      const chosen: string[] = [];
      if (options.name) chosen.push(options.name);
      for (let n = 1; chosen.length < count; n += 1)
        if (!existing.has(`${model.id}-${n}`)) chosen.push(`${model.id}-${n}`);
      const boards = await boardsUp(model, chosen, environment(), hostTarget(registry));
      const all = await listBoards(stateDirectory);
      const written = await writeBoardInventory(inventoryFile, all);
      if (options.inventory) await writeBoardInventory(join(stateDirectory, 'inventory.yaml'), all);
      if (options.json) printJson({ boards, inventory: written.inventory, knownHosts: written.knownHosts });
      else {
        for (const board of boards)
          process.stdout.write(
            `${board.name}: ${board.model} (${board.target}) at ${board.user}@${board.address}:${board.port}\n`,
          );
        process.stdout.write(`inventory: ${written.inventory}\n`);
      }
      return ExitCode.Ok;
    }
    case 'list': {
      const boards = await listBoards(stateDirectory);
      if (options.json) printJson(boards);
      else if (boards.length === 0) process.stdout.write('no boards\n');
      else
        process.stdout.write(
          `${formatTable([
            ['NAME', 'MODEL', 'TARGET', 'ADDRESS', 'STATE'],
            ...boards.map((b) => [b.name, b.model, b.target, `${b.address}:${b.port}`, b.running ? 'running' : 'dead']),
          ])}\n`,
        );
      return ExitCode.Ok;
    }
    case 'down': {
      if (names.length === 0 && !options.all)
        throw new UserError('board down: which boards? NAME... or --all', { hint: 'crossdock board list shows them' });
      const removed = await boardsDown(options.all ? 'all' : names, { stateDirectory, runner });
      await writeBoardInventory(join(stateDirectory, 'inventory.yaml'), await listBoards(stateDirectory)).catch(
        () => undefined,
      );
      if (options.json) printJson({ removed });
      else process.stdout.write(removed.length ? `removed ${removed.join(', ')}\n` : 'no boards\n');
      return ExitCode.Ok;
    }
    case 'power-cut': {
      if (names.length === 0)
        throw new UserError('board power-cut: which boards? NAME...', { hint: 'crossdock board list shows them' });
      const cycled = await boardsPowerCycle(names, { stateDirectory, runner, log });
      if (options.json) printJson({ powerCycled: cycled });
      else process.stdout.write(`power-cycled ${cycled.join(', ')}\n`);
      return ExitCode.Ok;
    }
    case 'models': {
      const models = await loadBoardModels(await loadTargets());
      if (options.json) printJson(models.map((model) => ({ ...model, targetDefinition: model.targetDefinition.name })));
      else
        process.stdout.write(
          `${formatTable([
            ['MODEL', 'TARGET', 'CPU', 'PLAYS'],
            ...models.map((m) => [m.id, m.target, m.cpu ?? 'native', m.deviceTreeModel ?? '—']),
          ])}\n`,
        );
      return ExitCode.Ok;
    }
    default:
      throw new UserError(`board ${action}: unknown action`, {
        hint: 'board up | list | down | power-cut | models | prepare',
      });
  }
}
