/**
 * crossdock.yaml: one valibot schema with a description and default per key. The JSON Schema
 * committed as crossdock.schema.json is generated from it (`crossdock schema --write`).
 */
import * as v from 'valibot';
import { RecipeSchema, TargetFlagsSchema } from '../builder/recipe-schema.js';

const positiveInteger = (description: string) =>
  v.pipe(
    v.number(),
    v.integer('expected a whole number'),
    v.minValue(1, 'expected 1 or more'),
    v.description(description),
  );

export const COMPONENTS = [
  'dockerd',
  'docker-proxy',
  'docker',
  'containerd',
  'containerd-shim-runc-v2',
  'ctr',
  'runc',
  'docker-init',
  'docker-compose',
  'docker-buildx',
] as const;
export type Component = (typeof COMPONENTS)[number];

const SourceSchema = v.pipe(
  v.string(),
  v.regex(
    /^(?:git\+(?:https|file|ssh):\/\/\S+|debian:[a-z0-9][a-z0-9+.-]+(?:@[a-z][a-z0-9-]*)?(?:=\S+)?|\.{0,2}\/\S*|[A-Za-z0-9_.-][^\s:]*)$/,
    'expected git+https://…#ref, git+file://…#ref, debian:<source-package>[@suite][=<version>] or a directory',
  ),
);

export const BuildSchema = v.strictObject({
  outDir: v.pipe(
    v.optional(v.string(), 'dist'),
    v.description('Where dist/<version>/ goes, relative to the config file'),
  ),
  components: v.pipe(
    v.optional(v.array(v.pipe(v.string(), v.minLength(1)))),
    v.description(
      `Binaries to build, or a source for all of its binaries (compose, buildx); default: every binary of every recipe (${COMPONENTS.join(', ')})`,
    ),
  ),
  docker: v.pipe(
    v.optional(
      v.pipe(
        v.string(),
        v.regex(/^(latest|v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?)$/, 'expected a Docker release such as 29.7.2, or latest'),
      ),
    ),
    v.description(
      "Docker release to build (29.7.2, or latest): moby, cli, containerd, runc, tini, buildx and compose at the versions moby's Dockerfile pins, from upstream git or build.mirror",
    ),
  ),
  mirror: v.pipe(
    v.optional(v.string()),
    v.description(
      'Where build.docker fetches upstream git from: a base URL holding owner/repo.git, or a template with {owner} and {repo}; default https://github.com/{owner}/{repo}.git',
    ),
  ),
  sources: v.pipe(
    v.optional(v.record(v.string(), SourceSchema), {}),
    v.description(
      "Source per part (moby, cli, containerd, runc, tini, compose, buildx, or your own recipe's name), overriding build.docker's and the default: git+https://…#ref, git+file://…#ref, a directory, or debian:<package>[@suite]",
    ),
  ),
  goproxy: v.pipe(
    v.optional(v.string()),
    v.description(
      "GOPROXY for sources that vendor no modules (upstream compose): default $GOPROXY, else Go's own; modules are checked against go.sum and the checksum database as the go command does",
    ),
  ),
  recipes: v.pipe(
    v.optional(v.array(RecipeSchema), []),
    v.description('Your own recipes; one with a built-in name replaces it'),
  ),
  targetFlags: v.pipe(
    v.optional(v.record(v.string(), TargetFlagsSchema), {}),
    v.description('Per target (by name): C flags that replace those from targets/, extra Go tags and ldflags'),
  ),
  jobs: v.optional(positiveInteger('How many builds run at once; default: the number of CPU cores')),
  sourceDateEpoch: v.pipe(
    v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
    v.description(
      'Timestamp for reproducible archives; defaults to SOURCE_DATE_EPOCH or the newest source commit time',
    ),
  ),
  smoke: v.pipe(
    v.optional(v.boolean(), true),
    v.description("Run every binary under QEMU with the oldest board's CPU"),
  ),
  smokeTimeoutSeconds: v.optional(positiveInteger('How long a smoke run may take before it counts as hung'), 120),
  cacheDir: v.pipe(
    v.optional(v.string()),
    v.description('Build cache; default $XDG_CACHE_HOME/crossdock or ~/.cache/crossdock'),
  ),
  signingKey: v.pipe(
    v.optional(v.string()),
    v.description('OpenSSH private key: SHA256SUMS.sig is made with ssh-keygen -Y sign -n crossdock'),
  ),
});

export const ReleaseSchema = v.strictObject({
  repository: v.pipe(
    v.optional(v.pipe(v.string(), v.regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/name, e.g. acme/docker-arm'))),
    v.description('GitHub repository that receives the releases'),
  ),
  apiUrl: v.pipe(
    v.optional(v.pipe(v.string(), v.url('expected a URL such as https://api.github.com')), 'https://api.github.com'),
    v.description('REST API base URL; set it for GitHub Enterprise Server or Gitea'),
  ),
  tagPrefix: v.pipe(v.optional(v.picklist(['v', '']), 'v'), v.description('Tag prefix before the semver version')),
  replaceAssets: v.pipe(
    v.optional(v.boolean(), false),
    v.description('Replace a release asset whose contents differ instead of refusing'),
  ),
});

export const InstallSchema = v.strictObject({
  inventory: v.pipe(
    v.optional(v.string(), 'inventory.yaml'),
    v.description('Inventory of boards, relative to the config file'),
  ),
  hostKeys: v.pipe(
    v.optional(v.picklist(['strict', 'accept-new']), 'strict'),
    v.description('strict: the board must be in known_hosts; accept-new: trust a board seen for the first time'),
  ),
  waves: v.optional(
    v.strictObject({
      canary: v.pipe(
        v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 0),
        v.description('Boards in the first wave (install --canary)'),
      ),
      batchSize: v.optional(positiveInteger('Boards per later wave (install --batch); default: all at once')),
      maxFailPercent: v.pipe(
        v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(100, 'expected a percentage 0–100')), 0),
        v.description('Stop the rollout when more than this share of boards fail (install --max-fail)'),
      ),
    }),
    {},
  ),
  healthTimeoutSeconds: v.optional(
    positiveInteger('How long dockerd and containerd have to answer after the restart, in seconds'),
    90,
  ),
});

export const ConfigSchema = v.strictObject({
  $schema: v.optional(v.string()),
  version: v.pipe(
    v.optional(v.string()),
    v.description('Release version (semver); defaults to the version of the built sources'),
  ),
  targets: v.pipe(
    v.optional(v.pipe(v.array(v.string()), v.minLength(1, 'list at least one target'))),
    v.description('Targets to build and install, by any name `crossdock targets` lists; default: every stable target'),
  ),
  build: v.optional(BuildSchema, {}),
  release: v.optional(ReleaseSchema, {}),
  install: v.optional(InstallSchema, {}),
});

export type ConfigInput = v.InferInput<typeof ConfigSchema>;
export type Config = v.InferOutput<typeof ConfigSchema>;
