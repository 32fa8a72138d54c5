/**
 * Compiles one binary of a recipe for one target: Go (module or GOPATH mode, cgo linked
 * statically with the target's C cross compiler) or C. Flags follow upstream static builds:
 * -trimpath, -ldflags "-s -w -buildid=", -extldflags -static for cgo, the ARM variant's C flags.
 */
import { mkdir, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Runner } from '../exec/runner.js';
import type { Target } from '../platform/targets.js';
import { goEnvironment } from '../platform/vocabulary.js';
import { type BuildValues, fillPlaceholders } from './placeholders.js';
import type { CBinary, GoBinary, Recipe, TargetFlags } from './recipe-schema.js';

export interface CompileRequest {
  recipe: Recipe;
  binary: GoBinary | CBinary;
  target: Target;
  /** The recipe's code: the source checkout plus the recipe's directory. */
  sourceDirectory: string;
  /** The whole source checkout, for GOPATH siblings. */
  checkoutDirectory: string;
  output: string;
  values: BuildValues;
  targetFlags: TargetFlags | undefined;
  cacheDirectory: string;
  /** Extra GOPATH entries (Debian's Go libraries), after the recipe's own. */
  gopath: readonly string[];
  /** The Go to build with (go-toolchain.ts); null for C recipes. */
  go: { command: string; env: Record<string, string> } | null;
  runner: Runner;
  onOutput?: (line: string) => void;
}

/** What the compile did, for the manifest. */
export interface CompileFlags {
  env: Record<string, string>;
  args: string[];
}

/** Where module-mode builds keep GOPATH, and with it the module cache (GOPATH/pkg/mod). */
export function modulesGoPath(cacheDirectory: string): string {
  return join(cacheDirectory, 'gopath-modules');
}

export function targetCFlags(target: Target, overrides: TargetFlags | undefined): string[] {
  return overrides?.cflags ?? target.gnu.cflags;
}

export async function compile(request: CompileRequest): Promise<CompileFlags> {
  await mkdir(dirname(request.output), { recursive: true });
  return request.recipe.language === 'go' ? compileGo(request) : compileC(request);
}

async function compileGo(request: CompileRequest): Promise<CompileFlags> {
  const { recipe, target, values } = request;
  if (recipe.language !== 'go') throw new Error('not a Go recipe');
  const binary = request.binary as GoBinary;
  const cflags = targetCFlags(target, request.targetFlags);
  const tags = [...binary.tags, ...(request.targetFlags?.tags ?? [])];
  const ldflags = [
    '-s',
    '-w',
    '-buildid=',
    ...binary.ldflags.map((flag) => fillPlaceholders(flag, values)),
    ...(request.targetFlags?.ldflags ?? []),
    ...(binary.cgo ? ['-extldflags', '-static'] : []),
  ];
  const env: Record<string, string> = {
    ...request.go?.env,
    ...goEnvironment(target),
    CGO_ENABLED: binary.cgo ? '1' : '0',
    GOCACHE: join(request.cacheDirectory, 'go-build'),
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-buildvcs=false',
    SOURCE_DATE_EPOCH: String(values.sourceDateEpoch),
  };
  if (binary.cgo) {
    env.CC = `${target.gnu.triple}-gcc`;
    env.CGO_CFLAGS = [...cflags, '-O2'].join(' ');
    // cgo's `#cgo pkg-config:` (libseccomp for runc) must find the target's .pc files.
    env.PKG_CONFIG_LIBDIR = `/usr/lib/${target.gnu.triple}/pkgconfig:/usr/share/pkgconfig`;
  }
  let cwd: string;
  let packagePath: string;
  if (recipe.importPath) {
    // GOPATH mode, as Debian builds Go: the code under its import path, dependencies from
    // Debian's golang-*-dev packages on the rest of GOPATH.
    const gopath = join(request.cacheDirectory, 'gopath', `${recipe.name}-${values.revisionShort}`);
    const link = join(gopath, 'src', recipe.importPath);
    const links: Array<[string, string]> = [
      [link, request.sourceDirectory],
      ...Object.entries(recipe.siblings)
        .filter(([importPath]) => importPath !== recipe.importPath)
        .map(([importPath, directory]): [string, string] => [
          join(gopath, 'src', importPath),
          join(request.checkoutDirectory, directory),
        ]),
    ];
    for (const [path, target] of links) {
      if (existsSync(path)) continue;
      await mkdir(dirname(path), { recursive: true });
      try {
        await symlink(target, path);
      } catch (error) {
        // Another target's build of the same recipe made it first.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    env.GOPATH = [gopath, ...request.gopath].join(':');
    env.GO111MODULE = 'off';
    cwd = link;
    packagePath =
      binary.package === '.' ? recipe.importPath : `${recipe.importPath}/${binary.package.replace(/^\.\//, '')}`;
  } else {
    env.GO111MODULE = 'on';
    // Shared with build.ts's module download: a source without vendor/ finds its modules here,
    // fetched before any compile, so the compile itself stays offline (GOPROXY=off).
    env.GOPATH = modulesGoPath(request.cacheDirectory);
    const vendored = existsSync(join(request.sourceDirectory, 'vendor'));
    env.GOFLAGS = `${env.GOFLAGS} ${vendored ? '-mod=vendor' : '-mod=readonly'}${recipe.modFile ? ` -modfile=${recipe.modFile}` : ''}`;
    cwd = request.sourceDirectory;
    packagePath = binary.package;
  }
  const args = [
    'build',
    '-trimpath',
    '-o',
    request.output,
    ...(tags.length ? ['-tags', tags.join(' ')] : []),
    '-ldflags',
    ldflags.join(' '),
    packagePath,
  ];
  await request.runner.run(request.go?.command ?? 'go', args, {
    cwd,
    env,
    onOutput: request.onOutput ? (line) => request.onOutput?.(line) : undefined,
  });
  return { env: withoutPaths(env), args: args.filter((arg) => arg !== request.output) };
}

async function compileC(request: CompileRequest): Promise<CompileFlags> {
  const { target } = request;
  const binary = request.binary as CBinary;
  const cc = `${target.gnu.triple}-gcc`;
  const args = [
    ...targetCFlags(target, request.targetFlags),
    ...binary.cflags.map((flag) => fillPlaceholders(flag, request.values)),
    // Paths of this machine must not reach the binary: two hosts, one result.
    `-ffile-prefix-map=${request.sourceDirectory}=.`,
    '-static',
    '-s',
    '-o',
    request.output,
    ...binary.sources.map((file) => join(request.sourceDirectory, file)),
    ...binary.libraries,
  ];
  const env = { SOURCE_DATE_EPOCH: String(request.values.sourceDateEpoch) };
  await request.runner.run(cc, args, {
    cwd: request.sourceDirectory,
    env,
    onOutput: request.onOutput ? (line) => request.onOutput?.(line) : undefined,
  });
  return {
    env: { CC: cc, ...env },
    args: args.filter((arg) => arg !== request.output).map((arg) => arg.replace(request.sourceDirectory, '.')),
  };
}

/** The manifest records flags, not this machine's cache paths. */
function withoutPaths(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(([name]) => name !== 'GOCACHE' && name !== 'GOPATH' && name !== 'GOROOT'),
  );
}
