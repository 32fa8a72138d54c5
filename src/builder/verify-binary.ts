/**
 * Verification of one built binary against its target: ELF machine and class, static linking,
 * the ARM architecture level (an ARMv7 instruction set in an armv6 bundle fails, binary named),
 * and a smoke run under QEMU pinned to the oldest board's CPU, with a timeout because Go
 * binaries can hang under qemu-user.
 */
import { smokeFirstLine } from './smoke-line.js';
import { runUnderEmulation } from '../emulation/run-under-emulation.js';
import { CrossdockError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { type InspectReport, inspectFile } from '../platform/inspect.js';
import type { Target, TargetRegistry } from '../platform/targets.js';
import type { Toolchain } from '../platform/toolchains.js';

export interface BinaryVerification {
  binary: string;
  target: string;
  ok: boolean;
  problems: string[];
  report: InspectReport | null;
  smoke: { args: string[]; cpu: string | null; exitCode: number; firstLine: string } | null;
}

export interface VerifyBinaryOptions {
  binary: string;
  target: Target;
  registry: TargetRegistry;
  qemu: Toolchain;
  runner: Runner;
  /** null: no smoke run. */
  smokeArgs: readonly string[] | null;
  smokeTimeoutMs: number;
  /** Strings the smoke run must print: the version its -X variables were to set. */
  expect?: readonly string[];
}

export function describeArm(target: Target): string {
  const accepted = target.elf.armArchitectures ?? [];
  return accepted.length > 1 ? `${accepted[0] ?? ''}…${accepted.at(-1) ?? ''}` : (accepted[0] ?? 'none');
}

export async function verifyBinary(file: string, options: VerifyBinaryOptions): Promise<BinaryVerification> {
  const { target, binary } = options;
  const problems: string[] = [];
  let report: InspectReport | null = null;
  try {
    report = inspectFile(file, options.registry);
  } catch (error) {
    if (!(error instanceof CrossdockError)) throw error;
    return {
      binary,
      target: target.name,
      ok: false,
      problems: [`${binary}: ${error.message}`],
      report: null,
      smoke: null,
    };
  }
  if (report.machine !== target.elf.machine || report.class !== target.elf.class) {
    problems.push(
      `${binary} is a ${report.class}-bit ${report.machine} binary, not ${target.name} (${target.elf.class}-bit ${target.elf.machine})`,
    );
  } else if (report.target !== target.name) {
    problems.push(
      `${binary} is ARM ${report.armArchName ?? 'of unknown level'} code (${report.armArchSource ?? 'no attributes, no Go build info'}); ${target.name} allows ${describeArm(target)}`,
    );
  }
  if (!report.static)
    problems.push(`${binary} is dynamically linked (interpreter ${report.interpreter ?? '?'}); bundles must be static`);

  let smoke: BinaryVerification['smoke'] = null;
  if (options.smokeArgs && problems.length === 0) {
    const args = [...options.smokeArgs];
    try {
      const run = await runUnderEmulation(file, args, {
        target,
        registry: options.registry,
        qemu: options.qemu,
        runner: options.runner,
        timeoutMs: options.smokeTimeoutMs,
      });
      const firstLine = smokeFirstLine(run.stdout, run.stderr, binary);
      smoke = { args, cpu: run.cpu, exitCode: run.exitCode, firstLine };
      const printed = `${run.stdout}\n${run.stderr}`;
      const absent = run.exitCode === 0 ? (options.expect ?? []).filter((text) => text && !printed.includes(text)) : [];
      if (absent.length > 0) {
        problems.push(
          `${binary} ${args.join(' ')} printed "${firstLine}", without ${absent.join(' and ')}: its version variables (-X) did not take effect`,
        );
      }
      if (run.exitCode !== 0) {
        problems.push(
          `${binary} ${args.join(' ')} ${run.illegalInstruction ? `died of an illegal instruction on -cpu ${run.cpu ?? '?'}` : `exited ${run.exitCode}`}${run.cpu ? ` under QEMU -cpu ${run.cpu}` : ''}: ${run.stderr.trim().split('\n').at(-1) ?? ''}`,
        );
      }
    } catch (error) {
      if (!(error instanceof CrossdockError)) throw error;
      const hung = /timed out/.test(error.message);
      problems.push(
        hung
          ? `${binary} ${args.join(' ')} hung for ${options.smokeTimeoutMs / 1000} s under QEMU -cpu ${target.qemu.cpu}; treated as a failure`
          : `${binary} smoke run failed: ${error.message}`,
      );
    }
  }
  return { binary, target: target.name, ok: problems.length === 0, problems, report, smoke };
}
