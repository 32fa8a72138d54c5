/**
 * Release lines as data: which upstream layout a checkout has, read from the source itself
 * (go.mod / vendor.mod, paths, the Debian packaging), and the recipes that build it. Each line
 * follows its upstream's own static build: moby's hack/make/.binary (23–28 build in module mode
 * from vendor.mod through hack/with-go-mod.sh; 29+ is the module github.com/moby/moby/v2),
 * docker/cli's scripts/build/binary, containerd's `make STATIC=1`, runc's `make static`, tini's
 * `tini-static`. Debian's trees (no vendor/) build in GOPATH mode with Debian's Go libraries, as
 * dh-golang does. Pure: the tree is read through a small interface.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { GoRequirement } from '../toolchain/go-toolchain.js';
import type { CRecipe, GoBinary, GoRecipe, Recipe } from './recipe-schema.js';

/** The sources a Docker bundle is built from; `build.sources` takes these keys. */
export const BUILTIN_SOURCES = {
  moby: { binaries: ['dockerd', 'docker-proxy'] },
  cli: { binaries: ['docker'] },
  containerd: { binaries: ['containerd', 'containerd-shim-runc-v2', 'ctr'] },
  runc: { binaries: ['runc'] },
  tini: { binaries: ['docker-init'] },
  compose: { binaries: ['docker-compose'] },
  buildx: { binaries: ['docker-buildx'] },
} as const;
export type BuiltinSource = keyof typeof BUILTIN_SOURCES;
export const BUILTIN_SOURCE_NAMES = Object.keys(BUILTIN_SOURCES) as BuiltinSource[];

export function isBuiltinSource(name: string): name is BuiltinSource {
  return Object.hasOwn(BUILTIN_SOURCES, name);
}

/** A checkout as detection sees it: paths relative to its root. */
export interface SourceTree {
  has(path: string): boolean;
  /** A small text file, or null when absent. */
  read(path: string): string | null;
}

export function directoryTree(root: string): SourceTree {
  return {
    has: (path) => existsSync(join(root, path)),
    read: (path) => {
      try {
        return readFileSync(join(root, path), 'utf8');
      } catch {
        return null;
      }
    },
  };
}

export interface ModuleFile {
  module: string;
  go: string | null;
  toolchain: string | null;
}

/** The module, go and toolchain lines of a go.mod or vendor.mod. Pure. */
export function parseModuleFile(text: string): ModuleFile | null {
  const line = (keyword: string) =>
    new RegExp(`^${keyword}\\s+"?([^\\s"]+)"?\\s*(?://.*)?$`, 'm').exec(text)?.[1] ?? null;
  const module = line('module');
  if (!module) return null;
  return { module, go: line('go'), toolchain: line('toolchain')?.replace(/^go/, '') ?? null };
}

export interface Layout {
  source: string;
  /** The release line, for people: `moby 29+ (module github.com/moby/moby/v2)`. */
  line: string;
  recipes: Recipe[];
  go: GoRequirement;
  /** A Debian source tree: GOPATH mode with Debian's Go libraries. */
  debian: boolean;
  /** Neither vendored nor Debian's: its Go modules come through a GOPROXY. */
  modules?: boolean;
}

const STATIC_TAGS = ['netgo', 'osusergo', 'static_build'];
const MOBY_TAGS = [...STATIC_TAGS, 'exclude_graphdriver_btrfs', 'exclude_graphdriver_devicemapper'];

/**
 * Debian's docker.io: one GOPATH of the trees it ships (debian/rules): engine and cli, plus
 * libnetwork and swarmkit in 20.10, buildkit from 23 on.
 */
function dockerIoTree(tree: SourceTree): Record<string, string> {
  const all = {
    'github.com/docker/docker': 'engine',
    'github.com/docker/cli': 'cli',
    'github.com/docker/libnetwork': 'libnetwork',
    'github.com/docker/swarmkit': 'swarmkit',
    'github.com/moby/buildkit': 'buildkit',
  };
  return Object.fromEntries(Object.entries(all).filter(([, directory]) => tree.has(directory)));
}

/** `ARG GO_VERSION=1.26.5` in an upstream Dockerfile. Pure. */
export function dockerfileArgument(dockerfile: string, name: string): string | null {
  return new RegExp(`^ARG\\s+${name}=["']?([^\\s"']+)`, 'm').exec(dockerfile)?.[1] ?? null;
}

function goRequirement(tree: SourceTree, moduleFile: string | null): GoRequirement {
  const from: string[] = [];
  const parsed = moduleFile ? parseModuleFile(tree.read(moduleFile) ?? '') : null;
  const minimum = parsed?.toolchain ?? parsed?.go ?? null;
  if (parsed?.go) from.push(`${moduleFile} go ${parsed.go}`);
  if (parsed?.toolchain) from.push(`${moduleFile} toolchain go${parsed.toolchain}`);
  const pinned = dockerfileArgument(tree.read('Dockerfile') ?? '', 'GO_VERSION');
  if (pinned) from.push(`Dockerfile GO_VERSION=${pinned}`);
  return { minimum, preferred: pinned, from };
}

const NO_GO: GoRequirement = { minimum: null, preferred: null, from: [] };

function goRecipe(
  fields: Omit<GoRecipe, 'language' | 'generate' | 'siblings' | 'directory'> & Partial<GoRecipe>,
): GoRecipe {
  return { language: 'go', directory: '.', siblings: {}, generate: [], ...fields };
}

function goBinary(fields: Partial<GoBinary> & Pick<GoBinary, 'name' | 'package'>): GoBinary {
  return { cgo: false, tags: STATIC_TAGS, ldflags: [], smoke: ['--version'], expect: [], ...fields };
}

/**
 * A vendor.mod without go.mod (moby 23–28, docker/cli): upstream builds in module mode with
 * `-modfile=vendor.mod -mod=vendor` after writing a stub go.mod (moby's hack/with-go-mod.sh).
 */
function vendorModStub(module: ModuleFile): Pick<GoRecipe, 'generate' | 'modFile'> {
  return {
    generate: [{ path: 'go.mod', content: `module ${module.module}\n\ngo ${module.go ?? '1.21'}\n` }],
    modFile: 'vendor.mod',
  };
}

function mobyLayout(tree: SourceTree): Layout {
  const dockerversion = 'github.com/docker/docker/dockerversion';
  const engine = (binaries: GoBinary[]) =>
    goRecipe({
      name: 'moby',
      source: 'debian:docker.io',
      directory: 'engine',
      importPath: 'github.com/docker/docker',
      siblings: dockerIoTree(tree),
      binaries,
    });
  if (tree.has('engine/cmd/dockerd') && tree.has('libnetwork/cmd/proxy')) {
    return {
      source: 'moby',
      line: "moby 20.10 (Debian's docker.io tree: engine/, cli/, libnetwork/)",
      debian: true,
      go: NO_GO,
      recipes: [
        engine([dockerdBinary(dockerversion, './cmd/dockerd')]),
        goRecipe({
          name: 'libnetwork',
          source: 'debian:docker.io',
          directory: 'libnetwork',
          importPath: 'github.com/docker/libnetwork',
          siblings: dockerIoTree(tree),
          binaries: [goBinary({ name: 'docker-proxy', package: './cmd/proxy', smoke: ['--help'] })],
        }),
      ],
    };
  }
  if (tree.has('engine/cmd/dockerd') && tree.has('engine/cmd/docker-proxy') && tree.has('debian/control')) {
    return {
      source: 'moby',
      line: "moby 23+ (Debian's docker.io tree: engine/, cli/, buildkit/)",
      debian: true,
      go: NO_GO,
      recipes: [engine([dockerdBinary(dockerversion, './cmd/dockerd'), dockerProxyBinary(dockerversion)])],
    };
  }
  const goMod = parseModuleFile(tree.read('go.mod') ?? '');
  if (goMod && /^github\.com\/moby\/moby\/v\d+$/.test(goMod.module) && tree.has('vendor/modules.txt')) {
    return {
      source: 'moby',
      line: `moby 29+ (module ${goMod.module})`,
      debian: false,
      go: goRequirement(tree, 'go.mod'),
      recipes: [mobyModuleRecipe(goMod.module, {})],
    };
  }
  const vendorMod = parseModuleFile(tree.read('vendor.mod') ?? '');
  if (vendorMod?.module === 'github.com/docker/docker' && tree.has('cmd/docker-proxy') && tree.has('vendor')) {
    return {
      source: 'moby',
      line: 'moby 23–28 (vendor.mod, github.com/docker/docker)',
      debian: false,
      go: goRequirement(tree, 'vendor.mod'),
      recipes: [mobyModuleRecipe(vendorMod.module, vendorModStub(vendorMod))],
    };
  }
  throw unknownLayout(
    'moby',
    "Debian's docker.io tree (engine/cmd/dockerd), vendor.mod of github.com/docker/docker with cmd/docker-proxy (23–28), or go.mod of github.com/moby/moby/v2 with vendor/ (29+)",
  );
}

function dockerdBinary(dockerversion: string, pkg: string): GoBinary {
  return goBinary({
    name: 'dockerd',
    package: pkg,
    tags: MOBY_TAGS,
    ldflags: [
      `-X ${dockerversion}.Version={version}`,
      `-X ${dockerversion}.GitCommit={revisionShort}`,
      `-X ${dockerversion}.BuildTime={buildTime}`,
      `-X ${dockerversion}.PlatformName=crossdock`,
    ],
    expect: ['{version}', '{revisionShort}'],
  });
}

/**
 * docker-proxy 23+ prints dockerversion's Version and GitCommit for --version, as dockerd does;
 * without the -X flags it says `version library-import` (#25). 20.10's has no such flag.
 */
function dockerProxyBinary(dockerversion: string): GoBinary {
  return goBinary({
    name: 'docker-proxy',
    package: './cmd/docker-proxy',
    ldflags: [`-X ${dockerversion}.Version={version}`, `-X ${dockerversion}.GitCommit={revisionShort}`],
    expect: ['{version}', '{revisionShort}'],
  });
}

function mobyModuleRecipe(module: string, vendor: Partial<GoRecipe>): GoRecipe {
  return goRecipe({
    name: 'moby',
    source: 'moby',
    binaries: [dockerdBinary(`${module}/dockerversion`, './cmd/dockerd'), dockerProxyBinary(`${module}/dockerversion`)],
    ...vendor,
  });
}

function cliLayout(tree: SourceTree): Layout {
  const versionPackage = 'github.com/docker/cli/cli/version';
  const docker = goBinary({
    name: 'docker',
    package: './cmd/docker',
    ldflags: [
      `-X ${versionPackage}.Version={version}`,
      `-X ${versionPackage}.GitCommit={revisionShort}`,
      `-X ${versionPackage}.BuildTime={buildTime}`,
    ],
    expect: ['{version}', '{revisionShort}'],
  });
  if (tree.has('cli/cmd/docker') && tree.has('engine')) {
    return {
      source: 'cli',
      line: "docker/cli from Debian's docker.io tree (cli/)",
      debian: true,
      go: NO_GO,
      recipes: [
        goRecipe({
          name: 'cli',
          source: 'debian:docker.io',
          directory: 'cli',
          importPath: 'github.com/docker/cli',
          siblings: dockerIoTree(tree),
          binaries: [docker],
        }),
      ],
    };
  }
  const vendorMod = parseModuleFile(tree.read('vendor.mod') ?? '');
  if (vendorMod?.module === 'github.com/docker/cli' && tree.has('cmd/docker') && tree.has('vendor')) {
    return {
      source: 'cli',
      line: 'docker/cli (vendor.mod)',
      debian: false,
      go: goRequirement(tree, 'vendor.mod'),
      recipes: [goRecipe({ name: 'cli', source: 'cli', binaries: [docker], ...vendorModStub(vendorMod) })],
    };
  }
  throw unknownLayout('cli', "Debian's docker.io tree (cli/cmd/docker) or docker/cli with vendor.mod and vendor/");
}

/** containerd, runc: a go.mod; upstream vendors, Debian strips vendor/ and builds in GOPATH mode. */
function moduleOrDebian(
  source: string,
  tree: SourceTree,
  expected: RegExp,
  describe: string,
): { module: ModuleFile; debian: boolean } {
  const module = parseModuleFile(tree.read('go.mod') ?? '');
  if (!module || !expected.test(module.module)) throw unknownLayout(source, describe);
  const debian = !tree.has('vendor/modules.txt');
  if (debian && !tree.has('debian/control')) {
    throw new UserError(`build.sources.${source}: ${module.module} has no vendor/ directory`, {
      hint: 'use an upstream release tag (it vendors its dependencies) or a debian: source',
    });
  }
  return { module, debian };
}

function containerdLayout(tree: SourceTree): Layout {
  const { module, debian } = moduleOrDebian(
    'containerd',
    tree,
    /^github\.com\/containerd\/containerd(\/v\d+)?$/,
    'go.mod of github.com/containerd/containerd (1.x) or github.com/containerd/containerd/v2 (2.x)',
  );
  const major = /\/v(\d+)$/.exec(module.module)?.[1] ?? '1';
  const versionPackage = `${module.module}/version`;
  return {
    source: 'containerd',
    line: `containerd ${major}.x (${module.module}${debian ? ", Debian's tree" : ''})`,
    debian,
    go: debian ? NO_GO : goRequirement(tree, 'go.mod'),
    recipes: [
      goRecipe({
        name: 'containerd',
        source: 'containerd',
        ...(debian ? { importPath: module.module } : {}),
        binaries: ['containerd', 'containerd-shim-runc-v2', 'ctr'].map((binary) =>
          goBinary({
            name: binary,
            package: `./cmd/${binary}`,
            tags: [...STATIC_TAGS, 'no_btrfs'],
            ldflags: [
              `-X ${versionPackage}.Version={version}`,
              `-X ${versionPackage}.Revision={revision}`,
              `-X ${versionPackage}.Package=${module.module}`,
            ],
            smoke: binary === 'containerd-shim-runc-v2' ? ['-v'] : ['--version'],
            expect: ['{version}'],
          }),
        ),
      }),
    ],
  };
}

function runcLayout(tree: SourceTree): Layout {
  const { module, debian } = moduleOrDebian(
    'runc',
    tree,
    /^github\.com\/opencontainers\/runc$/,
    'go.mod of github.com/opencontainers/runc',
  );
  // runc 1.2+ embeds its VERSION file; -X on an embedded variable would be ignored.
  const embedded = /go:embed\s+VERSION/.test(tree.read('main.go') ?? '');
  return {
    source: 'runc',
    line: `runc ${embedded ? '1.2+ (VERSION embedded)' : '1.1 (version from -X)'}${debian ? ", Debian's tree" : ''}`,
    debian,
    go: debian ? NO_GO : goRequirement(tree, 'go.mod'),
    recipes: [
      goRecipe({
        name: 'runc',
        source: 'runc',
        ...(debian ? { importPath: module.module } : {}),
        binaries: [
          goBinary({
            name: 'runc',
            package: '.',
            cgo: true,
            tags: ['seccomp', 'urfave_cli_no_docs', 'netgo', 'osusergo'],
            ldflags: [...(embedded ? [] : ['-X main.version={version}']), '-X main.gitCommit={revision}'],
            expect: ['{version}', '{revision}'],
          }),
        ],
      }),
    ],
  };
}

function tiniLayout(tree: SourceTree): Layout {
  if (!tree.has('src/tini.c')) throw unknownLayout('tini', 'src/tini.c');
  const debian = tree.has('debian/control');
  const recipe: CRecipe = {
    name: 'tini',
    source: 'tini',
    directory: '.',
    language: 'c',
    // tini's CMake writes this header; writing it here spares a cmake run per target.
    generate: [
      {
        path: 'src/tiniConfig.h',
        content: `#define TINI_VERSION "{version}"\n#define TINI_GIT "${debian ? '' : ' - git.{revisionShort}'}"\n`,
      },
    ],
    binaries: [
      {
        name: 'docker-init',
        sources: ['src/tini.c'],
        cflags: ['-std=gnu99', '-Os', '-DTINI_MINIMAL=0', '-D_FORTIFY_SOURCE=2'],
        libraries: [],
        smoke: ['--version'],
        expect: ['{version}'],
      },
    ],
  };
  return { source: 'tini', line: `tini${debian ? " (Debian's tree)" : ''}`, debian, go: NO_GO, recipes: [recipe] };
}

/**
 * A docker CLI plugin (compose, buildx): a static Go binary the CLI runs as `docker-<command>`.
 * Its own smoke run is the standalone `version`, whose line names it; the build and the board
 * also run `docker <command> version` through the target's CLI (verify-plugins.ts), which asks
 * the plugin for its metadata first: the call that died of an illegal instruction on Pi Zeros
 * and took `docker` itself down with it.
 */
function pluginBinary(command: string, pkg: string, ldflags: string[]): GoBinary {
  return goBinary({
    name: `docker-${command}`,
    package: pkg,
    plugin: command,
    ldflags,
    smoke: ['version'],
    expect: ['{version}'],
  });
}

/**
 * docker/compose: upstream's Makefile builds ./cmd with `-X <module>/internal.Version=v…`.
 * Debian's tree (no vendor/) builds in GOPATH mode under github.com/docker/compose, where Go's
 * minimal module compatibility resolves the /v2 imports; upstream without vendor/ takes its
 * modules through a GOPROXY (module-only).
 */
function composeLayout(tree: SourceTree): Layout {
  const module = parseModuleFile(tree.read('go.mod') ?? '');
  if (!module || !/^github\.com\/docker\/compose(\/v\d+)?$/.test(module.module) || !tree.has('cmd/main.go'))
    throw unknownLayout('compose', 'go.mod of github.com/docker/compose/v2 (or later) with cmd/main.go');
  const vendored = tree.has('vendor/modules.txt');
  const debian = !vendored && tree.has('debian/control');
  const importPath = module.module.replace(/\/v\d+$/, '');
  const versionVariable = `${debian ? importPath : module.module}/internal.Version`;
  return {
    source: 'compose',
    line: `compose ${/\/v(\d+)$/.exec(module.module)?.[1] ?? '1'}.x (${module.module}${debian ? ", Debian's tree" : vendored ? '' : ', modules from GOPROXY'})`,
    debian,
    modules: !vendored && !debian,
    go: debian ? NO_GO : goRequirement(tree, 'go.mod'),
    recipes: [
      goRecipe({
        name: 'compose',
        source: 'compose',
        ...(debian ? { importPath } : {}),
        binaries: [pluginBinary('compose', './cmd', [`-X ${versionVariable}=v{version}`])],
      }),
    ],
  };
}

/** docker/buildx: vendored upstream (its Dockerfile's `-X version.Version/Revision/Package`), or Debian's tree. */
function buildxLayout(tree: SourceTree): Layout {
  const module = parseModuleFile(tree.read('go.mod') ?? '');
  if (module?.module !== 'github.com/docker/buildx' || !tree.has('cmd/buildx'))
    throw unknownLayout('buildx', 'go.mod of github.com/docker/buildx with cmd/buildx');
  const vendored = tree.has('vendor/modules.txt');
  const debian = !vendored && tree.has('debian/control');
  const versionPackage = `${module.module}/version`;
  return {
    source: 'buildx',
    line: `buildx (${module.module}${debian ? ", Debian's tree" : vendored ? '' : ', modules from GOPROXY'})`,
    debian,
    modules: !vendored && !debian,
    go: debian ? NO_GO : goRequirement(tree, 'go.mod'),
    recipes: [
      goRecipe({
        name: 'buildx',
        source: 'buildx',
        ...(debian ? { importPath: module.module } : {}),
        binaries: [
          pluginBinary('buildx', './cmd/buildx', [
            `-X ${versionPackage}.Version=v{version}`,
            `-X ${versionPackage}.Revision={revision}`,
            `-X ${versionPackage}.Package=${module.module}`,
          ]),
        ],
      }),
    ],
  };
}

function unknownLayout(source: string, expected: string): UserError {
  return new UserError(`build.sources.${source}: the source has no layout crossdock knows`, {
    hint: `expected ${expected}; or give your own recipe in build.recipes`,
  });
}

const DETECTORS: Record<BuiltinSource, (tree: SourceTree) => Layout> = {
  moby: mobyLayout,
  cli: cliLayout,
  containerd: containerdLayout,
  runc: runcLayout,
  tini: tiniLayout,
  compose: composeLayout,
  buildx: buildxLayout,
};

/** The release line of a checkout of one of the built-in sources, and the recipes that build it. */
export function detectLayout(source: BuiltinSource, tree: SourceTree): Layout {
  return DETECTORS[source](tree);
}
