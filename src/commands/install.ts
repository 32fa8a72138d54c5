import { join } from 'node:path';
import { ExitCode, UserError } from '../errors.js';
import type { HostResult } from '../install/install-host.js';
import { install, isFailure } from '../install/install.js';
import { loadTargets } from '../platform/targets.js';
import { limitHosts, loadInventory } from '../remote/inventory.js';
import { appendSummary, emit, hostsSummary, workflowCommand } from '../ui/github-actions.js';
import { formatTable, printJson } from '../ui/output.js';
import { createRunner } from './shared.js';
import { defaultCacheDirectory } from '../boards/rootfs.js';
import { fetchReleaseDist, parseReleaseSpec } from '../install/release-source.js';
import { packageVersion } from '../package-root.js';

export interface InstallCommandOptions {
  inventory: string | undefined;
  from: string | undefined;
  release?: string | undefined;
  apiUrl?: string | undefined;
  fix?: boolean;
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
  if (!options.from && !options.release)
    throw new UserError('install: which build? --from DIST or --release OWNER/NAME@TAG', {
      hint: 'e.g. --from dist/27.5.1 (what crossdock build wrote)',
    });
  if (options.from && options.release)
    throw new UserError('install: --from and --release both given', { hint: 'install one build: pass one of them' });
  const log = (line: string) => process.stderr.write(`crossdock: ${line}\n`);
  let dist = options.from ?? '';
  let downloadUrls: ReadonlyMap<string, string> | undefined;
  if (options.release) {
    const fetched = await fetchReleaseDist(parseReleaseSpec(options.release), {
      apiUrl: options.apiUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com',
      token: process.env.GITHUB_TOKEN ?? process.env.GH_TOKEN,
      cacheDirectory: defaultCacheDirectory(),
      userAgent: `crossdock/${packageVersion()}`,
      log,
    });
    dist = fetched.directory;
    downloadUrls = fetched.urls;
  }
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
    dist,
    ...(downloadUrls ? { downloadUrls } : {}),
    fix: options.fix ?? false,
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
    log,
  });
  appendSummary(hostsSummary(report.version, report.hosts));
  for (const host of report.hosts)
    if (host.error)
      emit(
        workflowCommand(
          'error',
          { title: `crossdock install: ${host.name}` },
          `${host.error}${host.hint ? `\n${host.hint}` : ''}`,
        ),
      );
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
    ['HOST', 'TARGET', 'STATUS', 'ACTIVE', 'HEALTH', 'CONTAINERS', 'SENT', ...(options.steps ? ['STEPS'] : [])],
    ...hosts.map((h) => [
      h.name,
      h.target ?? '—',
      h.status,
      h.activeVersion ?? '—',
      h.health,
      h.containers,
      `${(h.bytesSent / 1024 / 1024).toFixed(1)} MiB`,
      ...(options.steps ? [h.steps.join(' › ')] : []),
    ]),
  ]);
}
