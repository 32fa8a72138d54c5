import { join } from 'node:path';
import { ExitCode, UserError } from '../errors.js';
import type { HostResult } from '../install/install-host.js';
import { install, isFailure } from '../install/install.js';
import { loadTargets } from '../platform/targets.js';
import { limitHosts, loadInventory } from '../remote/inventory.js';
import { formatTable, printJson } from '../ui/output.js';
import { createRunner } from './shared.js';

export interface InstallCommandOptions {
  inventory: string | undefined;
  from: string | undefined;
  limit?: string | undefined;
  canary?: number | undefined;
  batch?: string | undefined;
  maxFail?: string | undefined;
  keep?: number | undefined;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
  resume?: boolean;
  acceptNew?: boolean;
  stateFile?: string | undefined;
  sshConfig?: string | undefined;
}

export async function installCommand(options: InstallCommandOptions): Promise<number> {
  if (!options.from)
    throw new UserError('install: which build? --from DIST', {
      hint: 'e.g. --from dist/27.5.1 (what crossdock build wrote)',
    });
  const inventoryFile = options.inventory ?? 'inventory.yaml';
  const inventory = await loadInventory(inventoryFile, { runner: createRunner({}), sshConfig: options.sshConfig });
  const maxFail = options.maxFail === undefined ? 0 : Number(options.maxFail.replace(/%$/, ''));
  if (!Number.isFinite(maxFail) || maxFail < 0 || maxFail > 100)
    throw new UserError(`--max-fail ${options.maxFail ?? ''}: expected a percentage from 0 to 100`, {
      hint: 'e.g. --max-fail 10%',
    });
  const report = await install({
    inventory,
    hosts: limitHosts(inventory.hosts, options.limit),
    dist: options.from,
    registry: await loadTargets(),
    canary: options.canary,
    batch: options.batch,
    maxFailPercent: maxFail,
    keep: options.keep,
    dryRun: options.dryRun ?? false,
    resume: options.resume ?? false,
    acceptNew: options.acceptNew ?? false,
    stateFile: options.stateFile ?? join(inventoryFile, '..', '.crossdock-install-state.json'),
    renderer: { json: options.json, verbose: options.verbose },
    log: (line) => process.stderr.write(`crossdock: ${line}\n`),
  });
  if (options.json) printJson(report);
  else {
    process.stdout.write(`${hostTable(report.hosts, { steps: true })}\n`);
    for (const host of report.hosts) {
      for (const warning of host.warnings) process.stderr.write(`crossdock: ${host.name}: warning: ${warning}\n`);
      if (host.error) process.stderr.write(`crossdock: ${host.error}\n${host.hint ? `  hint: ${host.hint}\n` : ''}`);
    }
    if (report.stopped)
      process.stderr.write(
        `crossdock: ${report.stopped}\n  hint: crossdock install --resume retries the failed and the not-reached\n`,
      );
  }
  return report.hosts.some((h) => isFailure(h) || h.status === 'not-reached') ? ExitCode.Failure : ExitCode.Ok;
}

/** The per-host table install and pipeline print. */
export function hostTable(hosts: readonly HostResult[], options: { steps?: boolean } = {}): string {
  return formatTable([
    ['HOST', 'TARGET', 'STATUS', 'ACTIVE', 'HEALTH', 'SENT', ...(options.steps ? ['STEPS'] : [])],
    ...hosts.map((h) => [
      h.name,
      h.target ?? '—',
      h.status,
      h.activeVersion ?? '—',
      h.health,
      `${(h.bytesSent / 1024 / 1024).toFixed(1)} MiB`,
      ...(options.steps ? [h.steps.join(' › ')] : []),
    ]),
  ]);
}
