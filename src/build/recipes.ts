/**
 * What a build is made of: the five built-in sources (their recipes come from the release line
 * each checkout has, release-lines.ts) and the user's own recipes from crossdock.yaml. The
 * embedded default sources are Debian's source packages, which build offline from a Debian mirror.
 */
import type { Recipe } from './recipe-schema.js';
import { BUILTIN_SOURCE_NAMES, BUILTIN_SOURCES, type BuiltinSource } from './release-lines.js';

/** The embedded default: Debian bookworm's source packages (docker.io holds moby and the cli). */
export const DEFAULT_SOURCES: Record<BuiltinSource, string> = {
  moby: 'debian:docker.io',
  cli: 'debian:docker.io',
  containerd: 'debian:containerd',
  runc: 'debian:runc',
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
