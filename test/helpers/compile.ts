import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Target } from '../../src/platform/targets.js';

/** Shared across tests so the standard library is compiled once per target, not per test. */
export const GO_CACHE = join(tmpdir(), 'crossdock-test-gocache');

export const HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello from crossdock"); return 0; }\n';
export const HELLO_GO = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from crossdock") }\n';

/** Compiles C with the target's own cross compiler and flags, as the build stage will. */
export async function compileC(
  directory: string,
  target: Target,
  output: string,
  options: {
    static?: boolean;
    extraFlags?: string[];
    source?: string;
    compiler?: string;
    flags?: string[];
  } = {},
): Promise<string> {
  const source = join(directory, `${output}.c`);
  await writeFile(source, options.source ?? HELLO_C);
  const path = join(directory, output);
  const compiler = options.compiler ?? `${target.gnu.triple}-gcc`;
  const flags = options.flags ?? target.gnu.cflags;
  await execa(compiler, [
    ...flags,
    ...(options.extraFlags ?? []),
    ...(options.static ? ['-static'] : []),
    '-O2',
    '-o',
    path,
    source,
  ]);
  return path;
}

/** Builds a Go program for the target with the Go environment from targets/. */
export async function compileGo(
  directory: string,
  env: Record<string, string>,
  output: string,
  source = HELLO_GO,
): Promise<string> {
  const file = join(directory, `${output}.go`);
  await writeFile(file, source);
  const path = join(directory, output);
  await execa('go', ['build', '-trimpath', '-ldflags', '-s -w -buildid=', '-o', path, file], {
    cwd: directory,
    env: { CGO_ENABLED: '0', GOFLAGS: '-mod=mod', GO111MODULE: 'off', GOCACHE: GO_CACHE, ...env },
  });
  return path;
}
