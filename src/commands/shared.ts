/** What several commands share: the --target flag, the runner, the renderer policy. */
import { UserError } from '../errors.js';
import { LocalRunner } from '../exec/local-runner.js';
import { resolveTarget } from '../platform/resolve.js';
import type { Target, TargetRegistry } from '../platform/targets.js';

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
