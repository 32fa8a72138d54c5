/**
 * What a build is made of: the built-in sources (their recipes come from the release line
 * each checkout has, release-lines.ts) and the user's own recipes from crossdock.yaml. The
 * embedded default sources are Debian's source packages, which build offline from a Debian mirror.
 */
import type { Recipe } from './recipe-schema.js';
import { BUILTIN_SOURCE_NAMES, BUILTIN_SOURCES, type BuiltinSource } from './release-lines.js';

/**
 * The embedded default: the newest Docker this machine's Debian mirror can build offline, Debian
 * trixie's docker.io 26.1.5 (moby and the cli, with Debian's security fixes) and the containerd and
 * runc trixie ships beside it. forky's 28.5.2 would be newer, but the mirror lacks its .dsc and
 * its buildkit tarball; trixie's tini lacks its debian tarball, so tini (0.19.0 either way) is
 * bookworm's.
 */
export const DEFAULT_SOURCES: Record<BuiltinSource, string | null> = {
  moby: 'debian:docker.io@trixie',
  cli: 'debian:docker.io@trixie',
  containerd: 'debian:containerd@trixie',
  runc: 'debian:runc@trixie',
  tini: 'debian:tini',
  // forky's is the one Debian compose this mirror serves whole (trixie's 2.26.1 lacks its .dsc and
  // debian tarball).
  compose: 'debian:docker-compose@forky',
  // No Debian buildx builds offline here: the mirror lacks the debian tarball of trixie's and of
  // forky's. The default leaves it out and says so; build.docker and build.sources.buildx bring it.
  buildx: null,
};

/**
 * What a build builds, for its first progress line: the offline default says so and how to get
 * the newest. Pure.
 */
export function describeBuild(build: { docker?: string | undefined; sources: Record<string, string> }): string {
  if (build.docker)
    return `Docker ${build.docker} with the containerd, runc, tini, compose and buildx its Dockerfile pins, from upstream git`;
  if (Object.keys(build.sources).length > 0) return 'Docker from the sources in build.sources';
  return "Docker 26.1.5 from Debian trixie and compose 2.40.3 from Debian forky, the offline default (no Debian buildx builds offline here); `--docker latest` builds Docker's newest release with its compose and buildx";
}

/** One part of a build: a built-in source (recipes detected later) or a user's recipe. */
export interface Part {
  /** The build.sources key. */
  name: string;
  binaries: string[];
  /** A user's recipe; undefined for a built-in source, whose recipes come from its layout. */
  recipe?: Recipe;
}

/** Built-in sources, with the user's recipes replacing any of the same name. */
export function partsWith(userRecipes: readonly Recipe[]): Part[] {
  const parts = new Map<string, Part>(
    BUILTIN_SOURCE_NAMES.map((name) => [name, { name, binaries: [...BUILTIN_SOURCES[name].binaries] }]),
  );
  for (const recipe of userRecipes)
    parts.set(recipe.name, { name: recipe.name, binaries: recipe.binaries.map((b) => b.name), recipe });
  return [...parts.values()];
}

/**
 * The binaries a component list asks for: binary names as they are, and the name of a source
 * that is no binary's (compose, buildx, moby, cli, tini) for all of that source's binaries.
 * `containerd` stays the one binary. Pure.
 */
export function expandComponents(components: readonly string[], parts: readonly Part[]): string[] {
  const binaries = new Set(parts.flatMap((part) => part.binaries));
  return [
    ...new Set(
      components.flatMap((name) =>
        binaries.has(name) ? [name] : (parts.find((part) => part.name === name)?.binaries ?? [name]),
      ),
    ),
  ];
}
