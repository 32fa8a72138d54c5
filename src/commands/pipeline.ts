import { existsSync } from 'node:fs';
import { ensureDefaultFleet } from '../boards/default-fleet.js';
import { resolveContext } from '../context.js';
import { ExitCode } from '../errors.js';
import { isFailure } from '../install/install.js';
import { packageVersion } from '../package-root.js';
import { pipeline } from '../pipeline.js';
import { loadToolchains } from '../platform/toolchains.js';
import { readManifest } from '../artifacts/read-dist.js';
import { appendSummary, buildSummary, hostsSummary, releaseSummary, setOutput } from '../ui/github-actions.js';
import { printJson } from '../ui/output.js';
import { hostTable } from './install.js';

export async function pipelineCommand(options: {
  config?: string | undefined;
  inventory?: string | undefined;
  version?: string | undefined;
  docker?: string | undefined;
  acceptNew?: boolean;
  json?: boolean;
  verbose?: boolean;
}): Promise<number> {
  const context = await resolveContext({
    configFile: options.config,
    flags: { inventory: options.inventory, docker: options.docker },
  });
  const { log } = context;
  // No inventory: rehearse on the emulated default fleet, started here (the library's pipeline
  // only reads an inventory).
  const inventoryFile = existsSync(context.install.inventory)
    ? context.install.inventory
    : await ensureDefaultFleet({
        registry: context.registry,
        runner: context.runner(),
        log,
        reason: `no inventory at ${context.install.inventory}`,
      });
  const report = await pipeline({
    loaded: { config: context.config, file: context.configFile, baseDirectory: context.baseDirectory },
    inventoryFile,
    registry: context.registry,
    toolchains: await loadToolchains(),
    runner: context.runner(),
    version: options.version,
    token: context.githubToken,
    apiUrl: context.githubApiUrl,
    userAgent: `crossdock/${packageVersion()}`,
    acceptNew: options.acceptNew === true || context.install.acceptNew,
    renderer: { json: options.json, verbose: options.verbose },
    log,
  });
  setOutput('dist', report.build.directory);
  appendSummary(buildSummary(await readManifest(report.build.directory)));
  if ('url' in report.release && report.release.url) {
    setOutput('release-url', report.release.url);
    appendSummary(releaseSummary(report.release));
  }
  appendSummary(hostsSummary(report.install.version, report.install.hosts));
  if (options.json) printJson(report);
  else {
    process.stdout.write(
      `built ${report.build.version} for ${report.targets.join(', ')} in ${report.build.directory} (${report.build.cached}/${report.build.binaries} binaries from the cache)\n`,
    );
    process.stdout.write(
      'skipped' in report.release
        ? `release: skipped (${report.release.skipped})\n`
        : `release: ${report.release.url ?? ''}\n`,
    );
    process.stdout.write(`${hostTable(report.install.hosts)}\n`);
    for (const host of report.install.hosts) if (host.error) log(host.error);
  }
  return report.install.hosts.some((h) => isFailure(h) || h.status === 'not-reached') ? ExitCode.Failure : ExitCode.Ok;
}
