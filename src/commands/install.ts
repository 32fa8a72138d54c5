import { ExitCode, UserError } from '../errors.js';
import type { HostResult } from '../install/install-host.js';
import { install, isFailure } from '../install/install.js';
import { appendSummary, emit, hostsSummary, workflowCommand } from '../ui/github-actions.js';
import { formatTable, printJson } from '../ui/output.js';
import { countFlag, openFleet } from './shared.js';
import { fetchReleaseDist, parseReleaseSpec } from '../install/release-source.js';
import { packageVersion } from '../package-root.js';

export interface InstallCommandOptions {
  config?: string | undefined;
  inventory: string | undefined;
  from: string | undefined;
  release?: string | undefined;
  apiUrl?: string | undefined;
  fix?: boolean;
  limit?: string | undefined;
  canary?: string | undefined;
  batch?: string | undefined;
  maxFail?: string | undefined;
  keep?: string | undefined;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
  resume?: boolean;
  acceptNew?: boolean;
  stateFile?: string | undefined;
  sshConfig?: string | undefined;
  forks?: string | undefined;
}

export async function installCommand(options: InstallCommandOptions): Promise<number> {
  if (!options.from && !options.release)
    throw new UserError('install: which build? --from DIST or --release OWNER/NAME@TAG', {
      hint: 'e.g. --from dist/27.5.1 (what crossdock build wrote)',
    });
  if (options.from && options.release)
    throw new UserError('install: --from and --release both given', { hint: 'install one build: pass one of them' });
  const canary = countFlag('canary', options.canary);
  const keep = countFlag('keep', options.keep, 1);
  const { context, inventory, hosts, fleet } = await openFleet(options);
  const { log } = context;
  let dist = options.from ?? '';
  let downloadUrls: ReadonlyMap<string, string> | undefined;
  if (options.release) {
    const fetched = await fetchReleaseDist(parseReleaseSpec(options.release), {
      apiUrl: options.apiUrl ?? context.githubApiUrl,
      token: context.githubToken,
      cacheDirectory: context.cacheDirectory,
      userAgent: `crossdock/${packageVersion()}`,
      log,
    });
    dist = fetched.directory;
    downloadUrls = fetched.urls;
  }
  const { waves } = context.install;
  const maxFail = options.maxFail === undefined ? waves.maxFailPercent : Number(options.maxFail.replace(/%$/, ''));
  if (!Number.isFinite(maxFail) || maxFail < 0 || maxFail > 100)
    throw new UserError(`--max-fail ${options.maxFail ?? ''}: expected a percentage from 0 to 100`, {
      hint: 'e.g. --max-fail 10%',
    });
  const report = await install({
    inventory,
    hosts,
    dist,
    ...(downloadUrls ? { downloadUrls } : {}),
    fix: options.fix ?? false,
    registry: context.registry,
    canary: canary ?? waves.canary,
    batch: options.batch ?? waves.batchSize,
    maxFailPercent: maxFail,
    keep,
    healthTimeoutSeconds: context.install.healthTimeoutSeconds,
    dryRun: options.dryRun ?? false,
    resume: options.resume ?? false,
    acceptNew: fleet.acceptNew,
    ...(fleet.concurrency === undefined ? {} : { forks: fleet.concurrency }),
    stateFile: options.stateFile ?? context.install.stateFile,
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
