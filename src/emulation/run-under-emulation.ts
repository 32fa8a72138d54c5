/**
 * Runs a foreign binary under QEMU pinned to a CPU model, so an ARMv7 instruction in an armv6
 * build fails here the way it fails on a Pi Zero: SIGILL, "Illegal instruction".
 */
import { MissingPrerequisiteError } from '../errors.js';
import { findExecutable } from '../exec/find-executable.js';
import { LocalRunner } from '../exec/local-runner.js';
import type { RunResult, Runner } from '../exec/runner.js';
import { hostTarget } from '../platform/host.js';
import type { Target, TargetRegistry } from '../platform/targets.js';
import { expandTemplate, type Toolchain } from '../platform/toolchains.js';

export interface EmulationOptions {
  target: Target;
  registry: TargetRegistry;
  qemu: Toolchain;
  /** QEMU -cpu model; defaults to the target's oldest board. */
  cpu?: string;
  /**
   * `qemu`: call qemu-<arch>-static directly (no binfmt needed); `binfmt`: exec the file and let
   * the kernel's handler start QEMU, with QEMU_CPU in the environment.
   */
  via?: 'qemu' | 'binfmt';
  runner?: Runner;
  env?: Record<string, string>;
  path?: string;
  /** A run longer than this fails as timed out (Go binaries can hang under qemu-user). */
  timeoutMs?: number;
}

export interface EmulationResult extends RunResult {
  cpu: string | null;
  emulated: boolean;
  via: 'native' | 'qemu' | 'binfmt';
  /** The program died of SIGILL: it used an instruction this CPU model does not have. */
  illegalInstruction: boolean;
}

/** Shells report death by signal N as exit 128+N; SIGILL is 4. */
const SIGILL_EXIT = 128 + 4;

export async function runUnderEmulation(
  file: string,
  args: readonly string[],
  options: EmulationOptions,
): Promise<EmulationResult> {
  const runner = options.runner ?? new LocalRunner();
  const native = hostTarget(options.registry).name === options.target.name;
  const cpu = native ? null : (options.cpu ?? options.target.qemu.cpu);
  let result: RunResult;
  let via: EmulationResult['via'];
  if (native) {
    via = 'native';
    result = await runner.run(file, args, { allowFailure: true, env: options.env, timeoutMs: options.timeoutMs });
  } else if (options.via === 'binfmt') {
    via = 'binfmt';
    result = await runner.run(file, args, {
      allowFailure: true,
      env: { ...options.env, QEMU_CPU: cpu ?? '' },
      timeoutMs: options.timeoutMs,
    });
  } else {
    via = 'qemu';
    const command = expandTemplate(options.qemu.command, options.target);
    const qemu = findExecutable(command, options.path);
    if (!qemu) {
      throw new MissingPrerequisiteError(`${command}: not installed`, {
        hint: `apt-get install -y ${options.qemu.packages.debian.join(' ')} (or: crossdock toolchain setup --target ${options.target.name})`,
      });
    }
    result = await runner.run(qemu, ['-cpu', cpu ?? options.target.qemu.cpu, file, ...args], {
      allowFailure: true,
      env: options.env,
      timeoutMs: options.timeoutMs,
    });
  }
  const illegalInstruction =
    result.exitCode === SIGILL_EXIT || /Illegal instruction|target signal 4\b/.test(result.stderr);
  return { ...result, cpu, emulated: !native, via, illegalInstruction };
}
