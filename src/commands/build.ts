import { BuildFailedError, build } from '../builder/build.js';
import { verifyDist } from '../builder/verify-dist.js';
import type { ConfigOverrides } from '../config/load.js';
import { resolveContext } from '../context.js';
import { ExitCode } from '../errors.js';
import { loadToolchains } from '../platform/toolchains.js';
import { appendSummary, buildSummary, setOutput } from '../ui/github-actions.js';
import { printJson } from '../ui/output.js';

export async function buildCommand(options: {
  config?: string | undefined;
  version?: string | undefined;
  json?: boolean;
  verbose?: boolean;
  overrides: ConfigOverrides;
}): Promise<number> {
  const context = await resolveContext({ configFile: options.config, flags: options.overrides });
  let result: Awaited<ReturnType<typeof build>>;
  try {
    result = await build({
      config: context.config,
      baseDirectory: context.baseDirectory,
      registry: context.registry,
      toolchains: await loadToolchains(),
      runner: context.runner(),
      version: options.version,
      renderer: { json: options.json, verbose: options.verbose },
    });
  } catch (error) {
    // The one-line error names the first problem; the others go out here.
    if (error instanceof BuildFailedError) {
      if (options.json) printJson({ ok: false, problems: error.problems });
      else for (const problem of error.problems.slice(1)) process.stderr.write(`crossdock: ${problem}\n`);
    }
    throw error;
  }
  setOutput('dist', result.directory);
  appendSummary(buildSummary(result.manifest));
  if (options.json)
    printJson({
      version: result.version,
      directory: result.directory,
      binaries: result.binaries,
      manifest: result.manifest,
    });
  else {
    const cached = result.binaries.filter((b) => b.cached).length;
    process.stdout.write(
      `${result.directory}: ${result.manifest.artifacts.filter((a) => a.kind === 'bundle').length} bundles, ${result.binaries.length} binaries verified (${cached} from the cache)\n`,
    );
  }
  return ExitCode.Ok;
}

export async function verifyCommand(
  directory: string,
  options: { json?: boolean; smoke?: boolean; config?: string | undefined },
): Promise<number> {
  const context = await resolveContext({ configFile: options.config });
  const qemu = (await loadToolchains()).find((t) => t.kind === 'emulator');
  if (!qemu) throw new Error('toolchains/ defines no emulator');
  const result = await verifyDist(directory, {
    registry: context.registry,
    qemu,
    runner: context.runner(),
    smoke: options.smoke ?? context.config.build.smoke,
    smokeTimeoutMs: context.config.build.smokeTimeoutSeconds * 1000,
  });
  if (options.json) printJson(result);
  else {
    for (const binary of result.binaries) {
      process.stdout.write(
        `${binary.ok ? '✓' : '✗'} ${binary.target} ${binary.binary}${binary.report?.armArchName ? ` ARM ${binary.report.armArchName}` : ''}${binary.smoke ? ` — ${binary.smoke.firstLine}` : ''}\n`,
      );
    }
    for (const problem of result.problems) process.stderr.write(`crossdock: ${problem}\n`);
    process.stdout.write(result.ok ? `${directory}: verified\n` : `${directory}: ${result.problems.length} problems\n`);
  }
  return result.ok ? ExitCode.Ok : ExitCode.Failure;
}
