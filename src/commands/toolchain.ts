import { defaultBinfmtPaths } from '../binfmt/binfmt-misc.js';
import { ExitCode, UserError } from '../errors.js';
import { loadTargets } from '../platform/targets.js';
import { loadToolchains } from '../toolchain/definitions.js';
import { doctor } from '../toolchain/doctor.js';
import { isEmptyPlan, planSetup, setupTasks } from '../toolchain/setup.js';
import { type ProbeResult, verifyTarget } from '../toolchain/verify.js';
import { formatTable, printJson } from '../ui/output.js';
import { createTaskList } from '../ui/renderer.js';
import { createRunner, targetsFromFlag } from './shared.js';

interface ToolchainFlags {
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
  const before = await doctor({ registry, toolchains, targets, runner, binfmtPaths });
  const plan = planSetup(before);
  if (isEmptyPlan(plan) && plan.manual.length === 0) {
    if (flags.json) printJson({ plan, installed: false, ready: before.ready });
    else
      process.stderr.write(
        `Nothing to install for ${targets.map((t) => t.name).join(', ')}.${before.ready ? '' : ' Next: crossdock binfmt install'}\n`,
      );
    return ExitCode.Ok;
  }
  await createTaskList(setupTasks(plan, runner), { json: flags.json, verbose: flags.verbose }).run();
  if (runner.dryRun) {
    if (flags.json) printJson({ plan, installed: false });
    return ExitCode.Ok;
  }
  const after = planSetup(await doctor({ registry, toolchains, targets, runner, binfmtPaths }));
  if (flags.json) printJson({ plan, installed: true, remaining: after });
  if (!isEmptyPlan(after)) {
    throw new UserError(`still missing after apt-get: ${after.groups.flatMap((g) => g.packages).join(' ')}`, {
      hint: 'check the apt sources (foreign architectures need a mirror that carries them)',
    });
  }
  process.stderr.write('Toolchains installed. Next: crossdock binfmt install\n');
  return ExitCode.Ok;
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
