/**
 * What a build is made of: the five built-in sources (their recipes come from the release line
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
export const DEFAULT_SOURCES: Record<BuiltinSource, string> = {
  moby: 'debian:docker.io@trixie',
  cli: 'debian:docker.io@trixie',
  containerd: 'debian:containerd@trixie',
  runc: 'debian:runc@trixie',
  tini: 'debian:tini',
};

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
