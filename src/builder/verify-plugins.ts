/**
 * CLI plugins checked the way people run them: `docker <command> version` through the target's
 * own docker CLI, under QEMU with the target's oldest CPU, the plugins in a plugin directory.
 * The CLI first asks each plugin for its metadata (`docker-cli-plugin-metadata`), the call that
 * broke `docker` on Pi Zeros when a plugin held ARMv7 code. The CLI starts the plugin itself:
 * on a foreign target that exec goes through binfmt_misc, and QEMU_CPU pins that QEMU too.
 */
import { mkdtemp, rm, symlink, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManifestBinary } from '../artifacts/manifest.js';
import { MissingPrerequisiteError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { runUnderEmulation } from '../emulation/run-under-emulation.js';
import type { Target, TargetRegistry } from '../platform/targets.js';
import type { Toolchain } from '../platform/toolchains.js';

export interface PluginCheck {
  name: string;
  firstLine: string;
  problem: string | null;
}

/** The CLI's line for a plugin it could not run: `'compose' is not a docker command.` and the like. */
function cliRefused(output: string): boolean {
  return /is not a docker command|failed to fetch metadata|exec format error|invalid plugin/i.test(output);
}

export async function checkPluginsThroughCli(options: {
  target: Target;
  registry: TargetRegistry;
  qemu: Toolchain;
  runner: Runner;
  docker: string;
  /** The bundle's binaries: those that are plugins are checked, each expected to print its source's version. */
  binaries: readonly ManifestBinary[];
  /** Where a plugin's file is on this machine. */
  fileOf: (name: string) => string;
  timeoutMs: number;
}): Promise<PluginCheck[]> {
  const plugins = options.binaries.flatMap((b) =>
    b.plugin
      ? [{ name: b.name, command: b.plugin.command, file: options.fileOf(b.name), expect: b.source.version }]
      : [],
  );
  const config = await mkdtemp(join(tmpdir(), 'crossdock-plugins-'));
  try {
    await mkdir(join(config, 'cli-plugins'));
    for (const plugin of plugins) await symlink(plugin.file, join(config, 'cli-plugins', plugin.name));
    const checks: PluginCheck[] = [];
    for (const plugin of plugins) {
      const run = await runUnderEmulation(options.docker, [plugin.command, 'version'], {
        target: options.target,
        registry: options.registry,
        qemu: options.qemu,
        runner: options.runner,
        timeoutMs: options.timeoutMs,
        env: {
          DOCKER_CONFIG: config,
          HOME: config,
          QEMU_CPU: options.target.qemu.cpu,
          DOCKER_CLI_HINTS: 'false',
        },
      });
      const output = `${run.stdout}\n${run.stderr}`;
      const firstLine = (run.stdout.trim() || run.stderr.trim()).split('\n')[0]?.trim() ?? '';
      if (run.emulated && /exec format error/i.test(output))
        throw new MissingPrerequisiteError(
          `${options.target.name}: docker ${plugin.command} version: this machine cannot run a ${options.target.name} plugin started by the CLI (no binfmt_misc handler)`,
          { hint: `crossdock binfmt install --target ${options.target.name}, or build with smoke: false` },
        );
      let problem: string | null = null;
      if (run.exitCode !== 0 || cliRefused(output))
        problem = `docker ${plugin.command} version through the ${options.target.name} CLI ${
          run.illegalInstruction || /illegal instruction|signal 4/i.test(output)
            ? `died of an illegal instruction on -cpu ${run.cpu ?? '?'}`
            : `failed (exit ${String(run.exitCode)})`
        }: ${output.trim().split('\n').at(-1) ?? ''}`;
      else if (plugin.expect && !output.includes(plugin.expect))
        problem = `docker ${plugin.command} version printed "${firstLine}", without ${plugin.expect}`;
      checks.push({ name: plugin.name, firstLine, problem });
    }
    return checks;
  } finally {
    await rm(config, { recursive: true, force: true });
  }
}
