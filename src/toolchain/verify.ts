/**
 * `crossdock toolchain verify`: compiles a probe program per target (C, Go, and cgo, which runc
 * needs) and runs it, under QEMU pinned to the oldest board's CPU for foreign targets. A probe
 * that builds for the wrong architecture level fails here, not on a board.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runUnderEmulation } from '../emulation/run-under-emulation.js';
import { CrossdockError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { inspectFile } from '../platform/inspect.js';
import type { Target, TargetRegistry } from '../platform/targets.js';
import { goEnvironment } from '../platform/vocabulary.js';
import { expandTemplate, type Toolchain } from '../platform/toolchains.js';

export type ProbeKind = 'c' | 'go' | 'cgo';

export interface ProbeResult {
  target: string;
  probe: ProbeKind;
  ok: boolean;
  detail: string;
  cpu: string | null;
  via: string | null;
}

const EXPECTED = 'crossdock toolchain probe';
const C_PROBE = `#include <stdio.h>\nint main(void) { printf("${EXPECTED} c\\n"); return 0; }\n`;
const GO_PROBE = `package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("${EXPECTED} go") }\n`;
const CGO_PROBE = `package main\n\n/*\n#include <stdio.h>\nstatic void hello(void) { printf("${EXPECTED} cgo\\n"); fflush(stdout); }\n*/\nimport "C"\n\nfunc main() { C.hello() }\n`;

export interface VerifyOptions {
  registry: TargetRegistry;
  toolchains: readonly Toolchain[];
  runner: Runner;
  path?: string;
}

export async function verifyTarget(
  target: Target,
  options: VerifyOptions,
  kinds: readonly ProbeKind[] = ['c', 'go', 'cgo'],
): Promise<ProbeResult[]> {
  const compiler = options.toolchains.find((t) => t.kind === 'c-compiler');
  const qemu = options.toolchains.find((t) => t.kind === 'emulator');
  if (!compiler || !qemu) throw new Error('toolchains/ must define a c-compiler and an emulator');
  const cc = expandTemplate(compiler.command, target);
  const directory = await mkdtemp(join(tmpdir(), `crossdock-verify-${target.name}-`));
  const env = { ...(options.path ? { PATH: options.path } : {}) };
  const goEnv = { ...env, ...goEnvironment(target), GO111MODULE: 'off', GOFLAGS: '' };
  const results: ProbeResult[] = [];
  try {
    for (const kind of kinds) {
      const output = join(directory, `probe-${kind}`);
      try {
        if (kind === 'c') {
          const source = join(directory, 'probe.c');
          await writeFile(source, C_PROBE);
          await options.runner.run(cc, [...target.gnu.cflags, '-static', '-O2', '-o', output, source], { env });
        } else {
          const source = join(directory, `probe-${kind}.go`);
          await writeFile(source, kind === 'go' ? GO_PROBE : CGO_PROBE);
          const cgoEnv =
            kind === 'cgo'
              ? { CGO_ENABLED: '1', CC: cc, CGO_CFLAGS: target.gnu.cflags.join(' ') }
              : { CGO_ENABLED: '0' };
          const ldflags = kind === 'cgo' ? ['-ldflags', '-extldflags -static'] : [];
          await options.runner.run('go', ['build', '-trimpath', ...ldflags, '-o', output, source], {
            cwd: directory,
            env: { ...goEnv, ...cgoEnv },
          });
        }
        const report = inspectFile(output, options.registry);
        if (report.target !== target.name) {
          results.push({
            target: target.name,
            probe: kind,
            ok: false,
            detail: `built for ${report.target ?? 'no target'} (ARM ${report.armArchName ?? '-'}), not ${target.name}`,
            cpu: null,
            via: null,
          });
          continue;
        }
        const run = await runUnderEmulation(output, [], {
          target,
          registry: options.registry,
          qemu,
          runner: options.runner,
          env,
          ...(options.path ? { path: options.path } : {}),
        });
        const ok = run.exitCode === 0 && run.stdout.includes(`${EXPECTED} ${kind}`);
        results.push({
          target: target.name,
          probe: kind,
          ok,
          detail: ok
            ? `built ${report.static ? 'static' : 'dynamic'}${report.armArchName ? ` ARM ${report.armArchName}` : ''}, ran${run.cpu ? ` on -cpu ${run.cpu}` : ' natively'}`
            : run.illegalInstruction
              ? `Illegal instruction on -cpu ${run.cpu ?? '?'}`
              : `exited ${run.exitCode}: ${run.stderr.trim().split('\n').at(-1) ?? ''}`,
          cpu: run.cpu,
          via: run.via,
        });
      } catch (error) {
        if (!(error instanceof CrossdockError)) throw error;
        results.push({ target: target.name, probe: kind, ok: false, detail: error.message, cpu: null, via: null });
      }
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
  return results;
}
