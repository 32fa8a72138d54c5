/** What several commands share: the --target flag, the runner, the renderer policy. */
import { UserError } from '../errors.js';
import { LocalRunner } from '../exec/local-runner.js';
import { resolveTarget } from '../platform/resolve.js';
import type { Target, TargetRegistry } from '../platform/targets.js';
import { resolveContext } from '../context.js';
import { limitHosts, loadInventory } from '../remote/inventory.js';

/** `--target a,b --target c`; no flag means every stable target. */
export function targetsFromFlag(registry: TargetRegistry, names: readonly string[] | undefined): Target[] {
  if (!names || names.length === 0) return registry.targets.filter((t) => t.support === 'stable');
  const targets: Target[] = [];
  for (const name of names) {
    if (name === 'all') {
      targets.push(...registry.targets);
      continue;
    }
    try {
      targets.push(resolveTarget(registry, name));
    } catch (error) {
      if (error instanceof UserError) throw new UserError(`--target ${name}: ${error.message}`, { hint: error.hint });
      throw error;
    }
  }
  return [...new Set(targets)];
}

export function createRunner(options: { dryRun?: boolean }): LocalRunner {
  return new LocalRunner({
    dryRun: options.dryRun ?? false,
    log: (line) => process.stderr.write(`${line}\n`),
  });
}

/** What probe, install and fleet share: the context, the inventory it names, the hosts --limit picks. */
export async function openFleet(options: {
  config?: string | undefined;
  inventory?: string | undefined;
  limit?: string | undefined;
  acceptNew?: boolean;
  sshConfig?: string | undefined;
  forks?: string | undefined;
}) {
  const forks = countFlag('forks', options.forks, 1);
  const context = await resolveContext({ configFile: options.config, flags: { inventory: options.inventory } });
  const inventory = await loadInventory(context.install.inventory, {
    runner: context.runner(),
    sshConfig: options.sshConfig,
  });
  return {
    context,
    inventory,
    hosts: limitHosts(inventory.hosts, options.limit),
    fleet: {
      acceptNew: options.acceptNew === true || context.install.acceptNew,
      log: context.log,
      ...(forks === undefined ? {} : { concurrency: forks }),
    },
  };
}

/** A whole number flag such as --keep 3: anything else is refused, never read as NaN. Pure. */
export function countFlag(flag: string, value: string | undefined, minimum = 0): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const count = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(count) || count < minimum)
    throw new UserError(`--${flag} ${text}: expected a whole number of ${minimum} or more`, {
      hint: `e.g. --${flag} ${Math.max(minimum, 1)}`,
    });
  return count;
}
