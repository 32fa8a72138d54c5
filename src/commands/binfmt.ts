import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBinfmtPaths } from '../binfmt/binfmt-misc.js';
import {
  type BinfmtContext,
  binfmtInstall,
  binfmtStatus,
  binfmtUninstall,
  type HandlerStatus,
} from '../binfmt/binfmt.js';
import { type BinfmtFlag, DEFAULT_FLAGS, parseFlags } from '../binfmt/entry.js';
import { probeMessage, probeProgram } from '../emulation/test-programs.js';
import { runUnderEmulation } from '../emulation/run-under-emulation.js';
import { ExitCode, UserError } from '../errors.js';
import { loadTargets, type TargetRegistry } from '../platform/targets.js';
import { loadToolchains, type Toolchain } from '../platform/toolchains.js';
import { formatTable, printJson } from '../ui/output.js';
import { createRunner, targetsFromFlag } from './shared.js';

interface BinfmtFlags {
  targets?: string[] | undefined;
  persist?: boolean;
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
  flags?: string | undefined;
}

export interface ProbeRun {
  target: string;
  handler: string;
  cpu: string | null;
  ok: boolean;
  detail: string;
}

export async function binfmtCommand(action: string, flags: BinfmtFlags): Promise<number> {
  const registry = await loadTargets();
  const qemu = (await loadToolchains()).find((t) => t.kind === 'emulator');
  if (!qemu) throw new Error('toolchains/ defines no emulator');
  const targets = targetsFromFlag(registry, flags.targets);
  const context: BinfmtContext = {
    registry,
    qemu,
    paths: defaultBinfmtPaths(),
    runner: createRunner({ dryRun: flags.dryRun ?? false }),
    flags: flagsFromOption(flags.flags),
  };
  if (action === 'status') {
    const status = binfmtStatus(context, targets);
    if (flags.json) printJson(status);
    else process.stdout.write(`${formatStatus(status)}\n`);
    return status.every((h) => h.state === 'ok' || h.state === 'compatible')
      ? ExitCode.Ok
      : ExitCode.MissingPrerequisite;
  }
  if (action === 'install') {
    const results = await binfmtInstall(context, targets, {
      force: flags.force ?? false,
      persist: flags.persist ?? false,
    });
    const probes = context.runner.dryRun ? [] : await probeHandlers(registry, qemu, results);
    if (flags.json) printJson({ handlers: results, probes });
    else {
      for (const result of results) {
        process.stdout.write(
          `${result.name} (${result.targets.join(', ')}): ${result.action}${result.action === 'kept-compatible' ? ` (${result.problems.join('; ')}; --force replaces it)` : ''}${result.persistedNow ? ', persisted' : ''}\n`,
        );
      }
      for (const probe of probes)
        process.stdout.write(
          `probe ${probe.target} via ${probe.handler}${probe.cpu ? ` -cpu ${probe.cpu}` : ''}: ${probe.ok ? 'ok' : `FAILED: ${probe.detail}`}\n`,
        );
    }
    return probes.every((p) => p.ok) ? ExitCode.Ok : ExitCode.Failure;
  }
  if (action === 'uninstall') {
    const results = await binfmtUninstall(context, targets);
    if (flags.json) printJson(results);
    else
      for (const result of results)
        process.stdout.write(
          `${result.name} (${result.targets.join(', ')}): ${result.reason}${result.unpersisted ? ', binfmt.d file removed' : ''}\n`,
        );
    return ExitCode.Ok;
  }
  throw new UserError(`binfmt ${action}: unknown action`, {
    hint: 'use crossdock binfmt status, install or uninstall',
  });
}

function flagsFromOption(option: string | undefined): readonly BinfmtFlag[] {
  if (option === undefined) return DEFAULT_FLAGS;
  const flags = parseFlags(option);
  if (flags.length !== option.replace(/[\s,]/g, '').length || !flags.includes('F')) {
    throw new UserError(`--flags ${option}: expected letters from F, C, P, O including F`, {
      hint: 'F is what lets the handler work in chroots and containers; add C or P to it, e.g. --flags FC',
    });
  }
  return flags;
}

/** Runs a generated probe for every target through its handler, with its oldest board's CPU. */
export async function probeHandlers(
  registry: TargetRegistry,
  qemu: Toolchain,
  handlers: ReadonlyArray<HandlerStatus>,
): Promise<ProbeRun[]> {
  const directory = await mkdtemp(join(tmpdir(), 'crossdock-binfmt-probe-'));
  const runs: ProbeRun[] = [];
  try {
    for (const handler of handlers) {
      for (const name of handler.targets) {
        const target = registry.get(name);
        const file = join(directory, `probe-${name}`);
        await writeFile(file, probeProgram(target));
        await chmod(file, 0o755);
        const run = await runUnderEmulation(file, [], { target, registry, qemu, via: 'binfmt' });
        const ok = run.exitCode === 0 && run.stdout === probeMessage(target);
        runs.push({
          target: name,
          handler: handler.name,
          cpu: run.cpu,
          ok,
          detail: ok ? run.stdout.trim() : `exit ${run.exitCode}: ${run.stderr.trim()}`,
        });
      }
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
  return runs;
}

function formatStatus(status: readonly HandlerStatus[]): string {
  const rows = [
    ['HANDLER', 'TARGETS', 'STATE', 'INTERPRETER', 'FLAGS', 'PERSISTED'],
    ...status.map((h) => [
      h.name,
      h.targets.join(','),
      h.state,
      h.interpreter.path,
      h.actual?.flags.join('') ?? '-',
      h.persisted ? 'yes' : 'no',
    ]),
  ];
  const problems = status.filter((h) => h.state !== 'ok').map((h) => `${h.name}: ${h.problems.join('; ')}`);
  return [formatTable(rows), ...problems].join('\n');
}
