import { ExitCode, UserError } from '../errors.js';
import { hostStatus, rollbackHost } from '../install/fleet-ops.js';
import { forEachHost } from '../remote/fleet.js';
import { limitHosts, loadInventory } from '../remote/inventory.js';
import { formatTable, printJson } from '../ui/output.js';
import { createRunner } from './shared.js';

export async function fleetCommand(
  action: string,
  options: {
    inventory: string | undefined;
    limit?: string | undefined;
    json?: boolean;
    dryRun?: boolean;
    deep?: boolean;
    acceptNew?: boolean;
    sshConfig?: string | undefined;
  },
): Promise<number> {
  if (action !== 'status' && action !== 'rollback')
    throw new UserError(`fleet ${action}: unknown action`, { hint: 'fleet status | rollback' });
  const inventory = await loadInventory(options.inventory ?? 'inventory.yaml', {
    runner: createRunner({}),
    sshConfig: options.sshConfig,
  });
  const hosts = limitHosts(inventory.hosts, options.limit);
  const fleet = {
    acceptNew: options.acceptNew ?? false,
    log: (line: string) => process.stderr.write(`crossdock: ${line}\n`),
  };
  if (action === 'status') {
    const outcomes = await forEachHost(
      inventory,
      hosts,
      (runner) => hostStatus(runner, { deep: options.deep ?? false }),
      fleet,
    );
    if (options.json)
      printJson(
        outcomes.map((o) => (o.ok ? { ...o.value, ok: true } : { name: o.host.name, ok: false, error: o.error })),
      );
    else {
      process.stdout.write(
        `${formatTable([
          ['HOST', 'TARGET', 'ACTIVE', 'PREVIOUS', 'HEALTH', ...(options.deep ? ['CONTAINERS'] : []), 'INSTALLED'],
          ...outcomes.map((o) =>
            o.ok
              ? [
                  o.host.name,
                  o.value.target ?? '—',
                  o.value.active ?? '—',
                  o.value.previous ?? '—',
                  o.value.health,
                  ...(options.deep ? [o.value.containers] : []),
                  o.value.installed.join(' '),
                ]
              : [o.host.name, '—', '—', '—', 'unreachable', ...(options.deep ? ['—'] : []), ''],
          ),
        ])}\n`,
      );
      for (const o of outcomes) {
        if (!o.ok) process.stderr.write(`crossdock: ${o.error}\n`);
        else if (o.value.problem) process.stderr.write(`crossdock: ${o.host.name}: ${o.value.problem}\n`);
      }
    }
    return outcomes.every((o) => o.ok && o.value.health !== 'failed') ? ExitCode.Ok : ExitCode.Failure;
  }
  const outcomes = await forEachHost(
    inventory,
    hosts,
    (runner) => rollbackHost(runner, { dryRun: options.dryRun ?? false }),
    {
      ...fleet,
      dryRun: options.dryRun ?? false,
    },
  );
  if (options.json)
    printJson(outcomes.map((o) => (o.ok ? o.value : { name: o.host.name, status: 'failed', error: o.error })));
  else
    for (const o of outcomes) {
      if (!o.ok) process.stderr.write(`crossdock: ${o.error}\n`);
      else if (o.value.error) process.stderr.write(`crossdock: ${o.value.error}\n`);
      else
        process.stdout.write(
          `${o.host.name}: ${options.dryRun ? 'would roll back' : 'rolled back'} ${o.value.from ?? '—'} → ${o.value.to ?? '—'}\n`,
        );
    }
  return outcomes.every((o) => o.ok && o.value.status !== 'failed') ? ExitCode.Ok : ExitCode.Failure;
}
