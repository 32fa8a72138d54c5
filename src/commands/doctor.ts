import { defaultBinfmtPaths } from '../binfmt/binfmt-misc.js';
import { ExitCode } from '../errors.js';
import { loadTargets } from '../platform/targets.js';
import { loadToolchains } from '../platform/toolchains.js';
import { type Check, type DoctorReport, doctor } from '../toolchain/doctor.js';
import { printJson } from '../ui/output.js';
import { createRunner, targetsFromFlag } from './shared.js';

export async function runDoctor(targetNames: readonly string[] | undefined): Promise<DoctorReport> {
  const registry = await loadTargets();
  return doctor({
    registry,
    toolchains: await loadToolchains(),
    targets: targetsFromFlag(registry, targetNames),
    runner: createRunner({}),
    binfmtPaths: defaultBinfmtPaths(),
  });
}

export function formatChecks(checks: readonly Check[]): string[] {
  const width = Math.max(...checks.map((c) => c.title.length));
  return checks.flatMap((check) => [
    `  ${check.ok ? '✓' : check.required ? '✗' : '!'} ${check.title.padEnd(width)}  ${check.detail}`,
    ...(check.ok || !check.fix ? [] : [`      fix: ${check.fix}`]),
  ]);
}

export function formatDoctor(report: DoctorReport): string {
  const lines = [
    `host: ${report.host.target}${report.host.distribution ? ` (${report.host.distribution})` : ''}`,
    ...formatChecks(report.host.checks),
  ];
  for (const target of report.targets) {
    lines.push(
      '',
      `${target.target}${target.native ? ' (native)' : ''}: ${target.ready ? 'ready' : 'NOT READY'}`,
      ...formatChecks(target.checks),
    );
  }
  lines.push(
    '',
    report.ready
      ? 'All requested targets are ready.'
      : 'Some targets are not ready: run the fixes above, or `crossdock toolchain setup && crossdock binfmt install`.',
  );
  return lines.join('\n');
}

export async function doctorCommand(options: { targets?: string[] | undefined; json?: boolean }): Promise<number> {
  const report = await runDoctor(options.targets);
  if (options.json) printJson(report);
  else process.stdout.write(`${formatDoctor(report)}\n`);
  return report.ready ? ExitCode.Ok : ExitCode.MissingPrerequisite;
}
