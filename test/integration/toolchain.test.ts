import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBinfmtPaths } from '../../src/binfmt/binfmt-misc.js';
import { findExecutable } from '../../src/exec/find-executable.js';
import { LocalRunner } from '../../src/exec/local-runner.js';
import type { RunOptions, RunResult, Runner } from '../../src/exec/runner.js';
import { loadTargets } from '../../src/platform/targets.js';
import { loadToolchains } from '../../src/platform/toolchains.js';
import { doctor } from '../../src/toolchain/doctor.js';
import { isEmptyPlan, planSetup, setupTasks } from '../../src/toolchain/setup.js';
import { verifyTarget } from '../../src/toolchain/verify.js';
import { createTaskList } from '../../src/ui/renderer.js';
import { crossdock } from '../helpers/cli.js';
import { tempTree } from '../helpers/temp.js';
import { requireTools } from '../helpers/tools.js';

const registry = await loadTargets();
const toolchains = await loadToolchains();
const armv6 = registry.get('armv6');
const armv7 = registry.get('armv7');
const TOOLS = [
  'gcc',
  `${registry.get('x86_64').gnu.triple}-gcc`,
  `${armv7.gnu.triple}-gcc`,
  `${armv6.gnu.triple}-gcc`,
  `${registry.get('aarch64').gnu.triple}-gcc`,
  'go',
  'qemu-arm-static',
  'qemu-aarch64-static',
  'dpkg',
  'git',
  'tar',
  'gzip',
  'pkg-config',
  'dpkg-source',
];
const haveTools = requireTools(...TOOLS);

/** A PATH holding the host's real tools except the ones named: a host without them. */
async function pathWithout(...missing: string[]): Promise<string> {
  const directory = await tempTree();
  for (const tool of TOOLS) {
    const real = findExecutable(tool);
    if (real && !missing.includes(tool)) await symlink(real, join(directory, tool));
  }
  return directory;
}

/** Runs everything for real and remembers what ran, to prove what did not. */
class RecordingRunner implements Runner {
  readonly host = 'local';
  readonly remote = false;
  readonly dryRun = false;
  readonly commands: string[] = [];
  private readonly inner = new LocalRunner();
  run(command: string, args: readonly string[] = [], options?: RunOptions): Promise<RunResult> {
    this.commands.push([command, ...args].join(' '));
    return this.inner.run(command, args, options);
  }
}

interface Report {
  ready: boolean;
  targets: Array<{
    target: string;
    ready: boolean;
    checks: Array<{ id: string; ok: boolean; fix: string | null; detail: string }>;
  }>;
}

describe.runIf(haveTools)('doctor', () => {
  it('names the package that brings back a missing cross compiler (PATH without it)', async () => {
    const path = await pathWithout(`${armv6.gnu.triple}-gcc`);
    const result = await crossdock(['doctor', '--target', 'armv6,armv7', '--json'], { env: { PATH: path } });
    expect(result.exitCode).toBe(3);
    const report = JSON.parse(result.stdout) as Report;
    const [v6, v7] = report.targets;
    const compiler = v6?.checks.find((c) => c.id === 'c-compiler');
    expect(compiler).toMatchObject({ ok: false, detail: 'arm-linux-gnueabi-gcc not found' });
    expect(compiler?.fix).toMatch(/^(sudo )?apt-get install -y crossbuild-essential-armel$/);
    expect(v6?.checks.find((c) => c.id === 'cgo')?.ok).toBe(false);
    expect(v7?.checks.find((c) => c.id === 'c-compiler')).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^arm-linux-gnueabihf-gcc \d+\.\d+\.\d+$/),
    });
    expect(report.ready).toBe(false);
  });

  it('prints the fix under the failing check for people', async () => {
    const path = await pathWithout(`${armv6.gnu.triple}-gcc`, 'qemu-arm-static');
    const result = await crossdock(['doctor', '--target', 'armv6'], { env: { PATH: path } });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toMatch(
      /✗ GNU C cross compiler .*arm-linux-gnueabi-gcc not found\n\s+fix: (sudo )?apt-get install -y crossbuild-essential-armel/,
    );
    expect(result.stdout).toMatch(
      /✗ QEMU user-mode emulator \(static\)\s+qemu-arm-static not found\n\s+fix: (sudo )?apt-get install -y qemu-user-static/,
    );
    expect(result.stdout).toContain('armv6: NOT READY');
  });

  it('plans apt for what is missing and shows it under --dry-run without running apt', async () => {
    const path = await pathWithout(`${armv6.gnu.triple}-gcc`);
    const result = await crossdock(['toolchain', 'setup', '--target', 'armv6', '--dry-run'], { env: { PATH: path } });
    expect(result.exitCode).toBe(0);
    const output = `${result.stdout}\n${result.stderr}`;
    expect(output).toContain('would run: apt-get update');
    expect(output).toContain('would run: apt-get install -y --no-install-recommends crossbuild-essential-armel');
    expect(output).not.toContain('qemu-user-static');
  });

  it('setup on a ready host makes no apt call at all', async (context) => {
    const runner = new RecordingRunner();
    const targets = registry.targets.filter((t) => t.support === 'stable');
    const report = await doctor({ registry, toolchains, targets, runner, binfmtPaths: defaultBinfmtPaths() });
    const plan = planSetup(report);
    // CI installs everything first (.ci/run runs `crossdock toolchain setup`); elsewhere this
    // needs a host that setup has already prepared.
    if (!isEmptyPlan(plan) && !process.env.CI) context.skip();
    expect(plan.groups).toEqual([]);
    await createTaskList(setupTasks(plan, runner)).run();
    expect(runner.commands.filter((c) => /^(apt-get|dpkg --add-architecture)/.test(c))).toEqual([]);
    // Doctor itself only looks.
    expect(
      runner.commands.every((c) => /(-dumpfullversion|env GOVERSION|--version|--print-foreign-architectures)$/.test(c)),
    ).toBe(true);
  });
});

describe.runIf(haveTools)('toolchain verify', () => {
  it.each(['armv6', 'aarch64'])('builds and runs C, Go and cgo probes for %s on its oldest CPU', async (name) => {
    const target = registry.get(name);
    const results = await verifyTarget(target, { registry, toolchains, runner: new LocalRunner() });
    expect(results.map((r) => [r.probe, r.ok, r.cpu])).toEqual([
      ['c', true, target.qemu.cpu],
      ['go', true, target.qemu.cpu],
      ['cgo', true, target.qemu.cpu],
    ]);
  });

  it('reports a probe that cannot build instead of throwing', async () => {
    const path = await pathWithout(`${armv6.gnu.triple}-gcc`);
    const results = await verifyTarget(armv6, { registry, toolchains, runner: new LocalRunner(), path }, ['c']);
    expect(results).toEqual([
      {
        target: 'armv6',
        probe: 'c',
        ok: false,
        detail: 'arm-linux-gnueabi-gcc: command not found on this host',
        cpu: null,
        via: null,
      },
    ]);
  });
});
