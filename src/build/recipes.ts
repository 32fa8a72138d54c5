/**
 * The built-in recipes: the Docker engine and its runtime, with the build tags and version
 * variables their upstream static builds use (moby hack/make, runc's Makefile `static` target,
 * containerd's Makefile with STATIC=1, tini's CMake `tini-static`). The default sources are
 * Debian's source packages, which build offline from a Debian mirror in GOPATH mode.
 */
import type { Recipe } from './recipe-schema.js';

/** moby's static build: pure-Go DNS and user lookup, and no cgo-only graph drivers. */
const DOCKER_IO_TREE = {
  'github.com/docker/docker': 'engine',
  'github.com/docker/cli': 'cli',
  'github.com/docker/libnetwork': 'libnetwork',
  'github.com/docker/swarmkit': 'swarmkit',
};

const STATIC_TAGS = ['netgo', 'osusergo', 'static_build'];

export const BUILTIN_RECIPES: Recipe[] = [
  {
    name: 'runc',
    source: 'debian:runc',
    directory: '.',
    language: 'go',
    importPath: 'github.com/opencontainers/runc',
    siblings: {},
    generate: [],
    binaries: [
      {
        name: 'runc',
        package: '.',
        cgo: true,
        tags: ['seccomp', 'netgo', 'osusergo'],
        ldflags: ['-X main.version={version}', '-X main.gitCommit={revision}'],
        smoke: ['--version'],
      },
    ],
  },
  {
    name: 'containerd',
    source: 'debian:containerd',
    directory: '.',
    language: 'go',
    importPath: 'github.com/containerd/containerd',
    siblings: {},
    generate: [],
    binaries: ['containerd', 'containerd-shim-runc-v2', 'ctr'].map((binary) => ({
      name: binary,
      package: `./cmd/${binary}`,
      cgo: false,
      tags: [...STATIC_TAGS, 'no_btrfs'],
      ldflags: [
        '-X github.com/containerd/containerd/version.Version={version}',
        '-X github.com/containerd/containerd/version.Revision={revision}',
        '-X github.com/containerd/containerd/version.Package=github.com/containerd/containerd',
      ],
      smoke: binary === 'containerd-shim-runc-v2' ? ['-v'] : ['--version'],
    })),
  },
  {
    name: 'tini',
    source: 'debian:tini',
    directory: '.',
    language: 'c',
    // tini's CMake writes this header; writing it here spares a cmake run per target.
    generate: [{ path: 'src/tiniConfig.h', content: '#define TINI_VERSION "{version}"\n#define TINI_GIT ""\n' }],
    binaries: [
      {
        name: 'docker-init',
        sources: ['src/tini.c'],
        cflags: ['-std=gnu99', '-Os', '-DTINI_MINIMAL=0', '-D_FORTIFY_SOURCE=2'],
        libraries: [],
        smoke: ['--version'],
      },
    ],
  },
  {
    name: 'moby',
    source: 'debian:docker.io',
    directory: 'engine',
    language: 'go',
    importPath: 'github.com/docker/docker',
    // Debian's docker.io builds all four from one GOPATH (debian/rules).
    siblings: DOCKER_IO_TREE,
    generate: [],
    binaries: [
      {
        name: 'dockerd',
        package: './cmd/dockerd',
        cgo: false,
        tags: [...STATIC_TAGS, 'exclude_graphdriver_btrfs', 'exclude_graphdriver_devicemapper'],
        ldflags: [
          '-X github.com/docker/docker/dockerversion.Version={version}',
          '-X github.com/docker/docker/dockerversion.GitCommit={revisionShort}',
          '-X github.com/docker/docker/dockerversion.BuildTime={buildTime}',
          '-X github.com/docker/docker/dockerversion.PlatformName=crossdock',
        ],
        smoke: ['--version'],
      },
    ],
  },
  {
    name: 'libnetwork',
    source: 'debian:docker.io',
    directory: 'libnetwork',
    language: 'go',
    importPath: 'github.com/docker/libnetwork',
    // Debian's docker.io builds all four from one GOPATH (debian/rules).
    siblings: DOCKER_IO_TREE,
    generate: [],
    binaries: [
      { name: 'docker-proxy', package: './cmd/proxy', cgo: false, tags: STATIC_TAGS, ldflags: [], smoke: ['--help'] },
    ],
  },
  {
    name: 'cli',
    source: 'debian:docker.io',
    directory: 'cli',
    language: 'go',
    importPath: 'github.com/docker/cli',
    // Debian's docker.io builds all four from one GOPATH (debian/rules).
    siblings: DOCKER_IO_TREE,
    generate: [],
    binaries: [
      {
        name: 'docker',
        package: './cmd/docker',
        cgo: false,
        tags: STATIC_TAGS,
        ldflags: [
          '-X github.com/docker/cli/cli/version.Version={version}',
          '-X github.com/docker/cli/cli/version.GitCommit={revisionShort}',
          '-X github.com/docker/cli/cli/version.BuildTime={buildTime}',
        ],
        smoke: ['--version'],
      },
    ],
  },
];

/** Built-in recipes, with the user's own replacing any of the same name. */
export function recipesWith(userRecipes: readonly Recipe[]): Recipe[] {
  const byName = new Map(BUILTIN_RECIPES.map((recipe) => [recipe.name, recipe]));
  for (const recipe of userRecipes) byName.set(recipe.name, recipe);
  return [...byName.values()];
}
