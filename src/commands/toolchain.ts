import { existsSync } from 'node:fs';
import { type BinfmtPaths, defaultBinfmtPaths } from '../binfmt/binfmt-misc.js';
import { binfmtInstall, type InstallResult } from '../binfmt/binfmt.js';
import { prepareSources } from '../builder/build.js';
import type { GoToolchain } from '../toolchain/go-toolchain.js';
import { resolveContext } from '../context.js';
import type { Runner } from '../exec/runner.js';
import { ExitCode, UserError } from '../errors.js';
import { loadTargets, type Target, type TargetRegistry } from '../platform/targets.js';
import { loadToolchains, type Toolchain } from '../platform/toolchains.js';
import { doctor } from '../toolchain/doctor.js';
import { isEmptyPlan, planSetup, setupTasks } from '../toolchain/setup.js';
import { type ProbeResult, verifyTarget } from '../toolchain/verify.js';
import { formatTable, printJson } from '../ui/output.js';
import { createTaskList } from '../ui/renderer.js';
import { createRunner, targetsFromFlag } from './shared.js';

interface ToolchainFlags {
  config?: string | undefined;
  targets?: string[] | undefined;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export async function toolchainCommand(action: string, flags: ToolchainFlags): Promise<number> {
  if (action === 'setup') return setupCommand(flags);
  if (action === 'verify') return verifyCommand(flags);
  throw new UserError(`toolchain ${action}: unknown action`, {
    hint: 'use crossdock toolchain setup or crossdock toolchain verify',
  });
}

async function setupCommand(flags: ToolchainFlags): Promise<number> {
  const registry = await loadTargets();
  const toolchains = await loadToolchains();
  const targets = targetsFromFlag(registry, flags.targets);
  const runner = createRunner({ dryRun: flags.dryRun ?? false });
  const binfmtPaths = defaultBinfmtPaths();
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const before = await doctor({ registry, toolchains, targets, runner, binfmtPaths });
  const plan = planSetup(before);
  const aptNeeded = !isEmptyPlan(plan) || plan.manual.length > 0;
  if (aptNeeded) await createTaskList(setupTasks(plan, runner), { json: flags.json, verbose: flags.verbose }).run();
  if (runner.dryRun) {
    if (flags.json) printJson({ plan, installed: false });
    return ExitCode.Ok;
  }
  const after = planSetup(await doctor({ registry, toolchains, targets, runner, binfmtPaths }));
  if (!isEmptyPlan(after)) {
    if (flags.json) printJson({ plan, installed: true, remaining: after });
    throw new UserError(`still missing after apt-get: ${after.groups.flatMap((g) => g.packages).join(' ')}`, {
      hint: 'check the apt sources (foreign architectures need a mirror that carries them)',
    });
  }
  // The main job runs foreign binaries (verification, emulated boards): register QEMU for them
  // where this process may, leaving handlers registered differently as they are.
  const handlers = await registerHandlers(registry, toolchains, targets, runner, binfmtPaths);
  // The sources the main job builds, and the Go they need, so the first build starts at once.
  const sources = await prepareConfiguredSources(runner, flags.config);
  if (flags.json) printJson({ plan, installed: aptNeeded, remaining: after, handlers, go: sources.go });
  else {
    say(aptNeeded ? 'Toolchains installed.' : `Nothing to install for ${targets.map((t) => t.name).join(', ')}.`);
    for (const handler of handlers) say(`binfmt ${handler.name}: ${handler.action}`);
    for (const { go, lines } of sources.byGo) say(`Go ${go.version} (${go.origin}) for ${lines.join('; ')}`);
  }
  return ExitCode.Ok;
}

async function registerHandlers(
  registry: TargetRegistry,
  toolchains: readonly Toolchain[],
  targets: readonly Target[],
  runner: Runner,
  paths: BinfmtPaths,
): Promise<InstallResult[]> {
  const qemu = toolchains.find((t) => t.kind === 'emulator');
  // binfmt_misc is mounted by binfmtInstall where it is not; only root may do either.
  if (!qemu || process.getuid?.() !== 0 || !existsSync(paths.miscDirectory)) return [];
  try {
    const results = await binfmtInstall({ registry, qemu, paths, runner }, targets);
    return results.filter((result) => result.action !== 'kept');
  } catch (error) {
    // A container without the right to mount binfmt_misc still gets its toolchains.
    process.stderr.write(
      `binfmt handlers not registered (${(error as Error).message}); crossdock binfmt install does it where allowed\n`,
    );
    return [];
  }
}

async function prepareConfiguredSources(runner: Runner, configFile: string | undefined) {
  const context = await resolveContext({ configFile });
  const prepared = await prepareSources({
    config: context.config,
    runner,
    cacheDirectory: context.cacheDirectory,
    baseDirectory: context.baseDirectory,
  });
  // One line per Go: a Debian suite's sources build with that suite's own.
  const byGo = new Map<string, { go: GoToolchain; lines: string[] }>();
  for (const layout of prepared.layouts) {
    const go = layout.recipes.map((r) => prepared.goByRecipe.get(r.name)).find((g) => g !== undefined);
    if (!go) continue;
    const entry = byGo.get(go.version) ?? { go, lines: [] };
    entry.lines.push(layout.line);
    byGo.set(go.version, entry);
  }
  return { go: prepared.go, byGo: [...byGo.values()] };
}

async function verifyCommand(flags: ToolchainFlags): Promise<number> {
  const registry = await loadTargets();
  const toolchains = await loadToolchains();
  const targets = targetsFromFlag(registry, flags.targets);
  const runner = createRunner({});
  const results: ProbeResult[] = [];
  await createTaskList(
    targets.map((target) => ({
      title: `${target.name}: compile and run C, Go and cgo probes`,
      task: async () => {
        results.push(...(await verifyTarget(target, { registry, toolchains, runner })));
      },
    })),
    { json: flags.json, verbose: flags.verbose, concurrent: 2, exitOnError: false },
  ).run();
  const ordered = targets.flatMap((t) => results.filter((r) => r.target === t.name));
  if (flags.json) printJson(ordered);
  else {
    process.stdout.write(
      `${formatTable([['TARGET', 'PROBE', 'RESULT', 'DETAIL'], ...ordered.map((r) => [r.target, r.probe, r.ok ? 'ok' : 'FAILED', r.detail])])}\n`,
    );
  }
  return ordered.every((r) => r.ok) ? ExitCode.Ok : ExitCode.Failure;
}
