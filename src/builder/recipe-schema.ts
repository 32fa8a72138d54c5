/**
 * Recipes: how one source builds one or more binaries for any target. Built-in recipes
 * (recipes.ts) and users' own (crossdock.yaml `build.recipes`) are checked by this one schema.
 * Strings may hold placeholders filled per build: {version}, {revision}, {revisionShort},
 * {sourceDateEpoch}, {buildTime}, {target}.
 */
import * as v from 'valibot';
import { isSmokeArgument } from '../artifacts/manifest.js';

const name = (description: string) =>
  v.pipe(
    v.string(),
    v.regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected a lower-case name like runc'),
    v.description(description),
  );

const expectSchema = v.pipe(
  v.optional(v.array(v.string()), []),
  v.description('Strings the smoke run must print, e.g. {version}: proves the -X version variables took effect'),
);

// Boards run the smoke command too (the health check), so its arguments are what a manifest
// may carry: plain words and flags (isSmokeArgument).
const smokeSchema = v.pipe(
  v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), v.check(isSmokeArgument, 'expected a plain word or flag such as --version'))),
      v.maxLength(4),
    ),
    ['--version'],
  ),
  v.description('Arguments for the smoke run under QEMU and on the board, e.g. --version'),
);

export const GoBinarySchema = v.strictObject({
  name: name('Binary name in the bundle, e.g. dockerd'),
  package: v.pipe(
    v.string(),
    v.description('Go package to build, relative to the module or import path, e.g. ./cmd/dockerd'),
  ),
  cgo: v.pipe(
    v.optional(v.boolean(), false),
    v.description('Build with cgo (linked statically with the target C compiler)'),
  ),
  tags: v.pipe(v.optional(v.array(v.string()), []), v.description('Go build tags')),
  ldflags: v.pipe(v.optional(v.array(v.string()), []), v.description('Extra -ldflags, e.g. -X main.version={version}')),
  plugin: v.pipe(
    v.optional(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9]{0,31}$/, 'expected the CLI command, e.g. compose'))),
    v.description(
      'A docker CLI plugin for this command (the binary is docker-<command>): bundled under cli-plugins/, checked through the docker CLI',
    ),
  ),
  smoke: smokeSchema,
  expect: expectSchema,
});

export const CBinarySchema = v.strictObject({
  name: name('Binary name in the bundle, e.g. docker-init'),
  sources: v.pipe(v.array(v.string()), v.minLength(1), v.description('C files, relative to the source directory')),
  cflags: v.pipe(
    v.optional(v.array(v.string()), []),
    v.description("Extra C flags (the target's own come from targets/)"),
  ),
  libraries: v.pipe(v.optional(v.array(v.string()), []), v.description('Libraries to link, e.g. -lseccomp')),
  smoke: smokeSchema,
  expect: expectSchema,
});

export const GeneratedFileSchema = v.strictObject({
  path: v.pipe(v.string(), v.description('File to write before building, relative to the source directory')),
  content: v.pipe(v.string(), v.description('Its content; placeholders are filled')),
});

const common = {
  name: name('Recipe name; build.sources.<name> overrides its source'),
  source: v.pipe(
    v.string(),
    v.description(
      'Source: a key of build.sources, or git+https://…#ref, git+file://…#ref, a directory, debian:<package>[@suite]',
    ),
  ),
  directory: v.pipe(
    v.optional(v.string(), '.'),
    v.description("Subdirectory of the source that holds this recipe's code"),
  ),
  version: v.pipe(
    v.optional(v.string()),
    v.description("Version string given to the binaries; default: the source's own"),
  ),
  generate: v.pipe(
    v.optional(v.array(GeneratedFileSchema), []),
    v.description('Files to write into the source before building'),
  ),
};

export const RecipeSchema = v.variant('language', [
  v.strictObject({
    ...common,
    language: v.literal('go'),
    importPath: v.pipe(
      v.optional(v.string()),
      v.description(
        "Build in GOPATH mode under this import path (Debian's way); without it, module mode with vendored or no dependencies",
      ),
    ),
    siblings: v.pipe(
      v.optional(v.record(v.string(), v.string()), {}),
      v.description(
        'GOPATH mode: other import paths in the same source, by directory (docker.io holds engine, cli, libnetwork and swarmkit)',
      ),
    ),
    modFile: v.pipe(
      v.optional(v.string()),
      v.description('Module mode with -modfile=<this> -mod=vendor (moby 23–28 and docker/cli: vendor.mod)'),
    ),
    binaries: v.pipe(v.array(GoBinarySchema), v.minLength(1)),
  }),
  v.strictObject({
    ...common,
    language: v.literal('c'),
    binaries: v.pipe(v.array(CBinarySchema), v.minLength(1)),
  }),
]);

export type Recipe = v.InferOutput<typeof RecipeSchema>;
export type GoRecipe = Extract<Recipe, { language: 'go' }>;
export type CRecipe = Extract<Recipe, { language: 'c' }>;
export type GoBinary = v.InferOutput<typeof GoBinarySchema>;
export type CBinary = v.InferOutput<typeof CBinarySchema>;

export const TargetFlagsSchema = v.strictObject({
  cflags: v.pipe(v.optional(v.array(v.string())), v.description("Replaces the target's C flags from targets/")),
  tags: v.pipe(v.optional(v.array(v.string())), v.description('Extra Go build tags for this target')),
  ldflags: v.pipe(v.optional(v.array(v.string())), v.description('Extra Go -ldflags for this target')),
});
export type TargetFlags = v.InferOutput<typeof TargetFlagsSchema>;
