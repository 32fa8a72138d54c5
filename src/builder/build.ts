/**
 * `crossdock build`: sources → per-target, per-recipe compiles (cached) → verification →
 * deterministic bundles, units, SBOMs, manifest.json and SHA256SUMS in dist/<version>/.
 * Everything is staged in a hidden directory and moved into place only when all of it verified,
 * so a failed build leaves nothing half-done in dist/.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { defaultCacheDirectory } from '../fs/cache-directory.js';
import { join } from 'node:path';
import type { ListrTask } from 'listr2';
import type { ResolvedConfig } from '../config/load.js';
import { CrossdockError, FailureError, MissingPrerequisiteError, UserError } from '../errors.js';
import { findExecutable } from '../exec/find-executable.js';
import type { Runner } from '../exec/runner.js';
import { readElfFile } from '../platform/elf-file.js';
import { hostTarget } from '../platform/host.js';
import type { Target, TargetRegistry } from '../platform/targets.js';
import { packageVersion } from '../package-root.js';
import { expandTemplate, type Toolchain } from '../platform/toolchains.js';
import { createTaskList, type RendererContext, stageRenderer } from '../ui/renderer.js';
import type { ProgressSink } from '../ui/progress-events.js';
import { cacheKey, readCache, writeCache } from './cache.js';
import { formatSha256Sums, parseSha256Sums, sha256, sha256File } from '../artifacts/checksums.js';
import { compile, modulesGoPath, targetCFlags } from './compile.js';
import {
  bundleName,
  bundlePath,
  type Manifest,
  type ManifestArtifact,
  type ManifestBinary,
  MANIFEST_FILE,
  sbomName,
  serializeManifest,
  spdxDocument,
  SUMS_FILE,
} from '../artifacts/manifest.js';
import type { BuildValues } from './placeholders.js';
import { fillPlaceholders } from './placeholders.js';
import type { Recipe } from './recipe-schema.js';
import { DEFAULT_SOURCES, describeBuild, expandComponents, type Part, partsWith } from './recipes.js';
import { type BuiltinSource, detectLayout, directoryTree, isBuiltinSource, type Layout } from './release-lines.js';
import { type DockerRelease, resolveDockerRelease, UPSTREAM_MIRROR } from './docker-release.js';
import {
  combineRequirements,
  goEnvironmentOf,
  type GoRequirement,
  type GoToolchain,
  resolveGo,
} from '../toolchain/go-toolchain.js';
import { fetchSource, type SourceCheckout } from './fetch-source.js';
import { buildProbeImage } from './health-image.js';
import { writeTarGz } from './tar.js';
import { unitsFor } from './units.js';
import { normalizeVersion, pseudoVersion } from './version.js';
import { verifyBinary } from './verify-binary.js';
import { checkPluginsThroughCli } from './verify-plugins.js';

export interface BuildOptions {
  config: ResolvedConfig;
  baseDirectory: string;
  registry: TargetRegistry;
  toolchains: readonly Toolchain[];
  runner: Runner;
  /** --version; else the config's; else a pseudo-version. */
  version?: string | undefined;
  renderer?: RendererContext;
  /** Progress as events (the CLI draws it instead, through `renderer`). */
  onProgress?: ProgressSink;
  /** Extra GOPATH entries for GOPATH-mode recipes (Debian's Go libraries). */
  gopath?: readonly string[];
}

export interface BuiltBinary {
  target: string;
  binary: string;
  cached: boolean;
}

export interface BuildResult {
  version: string;
  directory: string;
  manifest: Manifest;
  binaries: BuiltBinary[];
}

/** Every problem of a failed build; the message names the first. */
export class BuildFailedError extends FailureError {
  constructor(readonly problems: string[]) {
    super(`build failed: ${problems[0] ?? ''}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`, {
      hint: 'nothing was written to dist/; the lines above (or --json) list every problem',
    });
  }
}

export { defaultCacheDirectory };

/** The parts (built-in sources and the user's recipes) and binaries the components ask for. */
export function selectParts(config: ResolvedConfig): Array<{ part: Part; binaries: string[] }> {
  const parts = partsWith(config.build.recipes);
  const wanted = config.build.components
    ? expandComponents(config.build.components, parts)
    : parts.flatMap((part) => part.binaries);
  return parts
    .map((part) => ({ part, binaries: part.binaries.filter((name) => wanted.includes(name)) }))
    .filter((selection) => selection.binaries.length > 0);
}

/** Recipes and the binaries wanted of each, once every source's layout is known. */
export type Selection = Array<{ recipe: Recipe; binaries: string[] }>;

/**
 * A build with the engine also writes each target's health-check image: the board runs it
 * after an install to prove containers, the bridge and published ports work.
 */
export function wantsProbeImage(selection: ReadonlyArray<{ binaries: readonly string[] }>): boolean {
  return selection.some(({ binaries }) => binaries.includes('dockerd'));
}

/**
 * The spec each part builds from: the file's, else `build.docker`'s, else the recipe's or the
 * default; null for a built-in source the offline default has none of (buildx).
 */
export function sourceSpecOf(part: Part, config: ResolvedConfig, release: DockerRelease | null): string | null {
  const configured = config.build.sources[part.name];
  if (configured) return configured;
  // A user's recipe may build from a built-in source (source: moby) as they resolve here.
  const spec = part.recipe?.source ?? part.name;
  if (isBuiltinSource(spec)) return config.build.sources[spec] ?? release?.sources[spec] ?? DEFAULT_SOURCES[spec];
  return config.build.sources[spec] ?? spec;
}

interface Job {
  target: Target;
  recipe: Recipe;
  binaries: string[];
}

export async function build(options: BuildOptions): Promise<BuildResult> {
  const { config, registry, runner } = options;
  const cacheDirectory = config.build.cacheDir ?? defaultCacheDirectory();
  const targets = config.targets.map((name) => registry.get(name));
  const parts = selectParts(config);
  if (parts.length === 0)
    throw new UserError('build: no components selected', {
      hint: 'list components in build.components or --component',
    });
  const qemu = options.toolchains.find((t) => t.kind === 'emulator');
  if (!qemu) throw new Error('toolchains/ defines no emulator');
  preflight(options, targets, parts, qemu);
  // A bad --version is bad input: refuse it before fetching anything.
  const explicitVersion = options.version
    ? normalizeVersion(options.version, '--version')
    : config.version
      ? normalizeVersion(config.version, 'version')
      : undefined;

  // The first line says what this builds: a newcomer's first build is the offline default.
  let prepared: PreparedSources | undefined;
  await createTaskList(
    [
      {
        title: describeBuild(config.build),
        task: async () => {
          prepared = await prepareSources({ config, runner, cacheDirectory, baseDirectory: options.baseDirectory });
        },
      },
    ],
    stageRenderer(options.renderer, options.onProgress),
  ).run();
  if (!prepared) throw new Error('sources were not prepared');
  const { release, sources, selection, go, goByRecipe } = prepared;

  const fixedEpoch =
    config.build.sourceDateEpoch ?? (process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) : undefined);
  const epoch = fixedEpoch ?? Math.max(...[...sources.values()].map((s) => s.epoch));
  // Bundles are named for the Docker they hold: build.docker's, else moby's own version.
  const version =
    explicitVersion ??
    release?.version ??
    sources.get('moby')?.version ??
    pseudoVersion(epoch, sha256([...sources.values()].map((s) => s.revision).join('\n')));

  const toolchainVersions = await collectToolchainVersions(options, targets, go, goByRecipe);
  const outDirectory = config.build.outDir;
  const finalDirectory = join(outDirectory, version);
  const staging = join(outDirectory, `.${version}.partial-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });

  try {
    const jobs: Job[] = targets.flatMap((target) =>
      selection.map(({ recipe, binaries }) => ({ target, recipe, binaries })),
    );
    const built = new Map<string, ManifestBinary[]>();
    const results: BuiltBinary[] = [];
    const failures: string[] = [];
    const task = (job: Job): ListrTask => ({
      title: `${job.target.name}: ${job.binaries.join(', ')}`,
      task: async (_, listrTask) => {
        const source = sources.get(job.recipe.name);
        if (!source) throw new Error(`no source for ${job.recipe.name}`);
        const failuresBefore = failures.length;
        for (const name of job.binaries) {
          let outcome: Awaited<ReturnType<typeof buildOne>>;
          try {
            outcome = await buildOne(
              options,
              {
                ...job,
                name,
                source,
                fixedEpoch,
                version,
                cacheDirectory,
                toolchainVersions,
                qemu,
                staging,
                go: goByRecipe.get(job.recipe.name) ?? go,
              },
              (line) => {
                listrTask.output = line;
              },
            );
          } catch (error) {
            // A compiler error fails this binary, and the build, but not the other jobs.
            if (!(error instanceof CrossdockError)) throw error;
            failures.push(`${job.target.name}: ${name}: ${error.message}`);
            continue;
          }
          results.push({ target: job.target.name, binary: name, cached: outcome.cached });
          if (outcome.problems.length > 0) failures.push(...outcome.problems.map((p) => `${job.target.name}: ${p}`));
          else built.set(job.target.name, [...(built.get(job.target.name) ?? []), outcome.binary]);
        }
        if (failures.length > failuresBefore) throw new FailureError(failures.at(-1) ?? '');
      },
    });
    await createTaskList(jobs.map(task), {
      ...stageRenderer(options.renderer, options.onProgress),
      concurrent: config.build.jobs ?? availableParallelism(),
      exitOnError: false,
    })
      .run()
      // Every job's failures are collected above; listr's summary error adds nothing.
      .catch((error: unknown) => {
        if (!(error instanceof CrossdockError) && failures.length === 0) throw error;
      });
    if (failures.length > 0) throw new BuildFailedError(failures);

    const manifest = await assemble({
      options,
      cacheDirectory,
      staging,
      version,
      epoch,
      targets,
      built,
      sources,
      selection,
      toolchainVersions,
    });
    await rm(finalDirectory, { recursive: true, force: true });
    await rename(staging, finalDirectory);
    return { version, directory: finalDirectory, manifest, binaries: results };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/** Which built-in sources compile C (tini) or link C with cgo (runc). */
const C_SOURCES = new Set(['tini', 'runc']);

export interface PreparedSources {
  release: DockerRelease | null;
  /** The checkout of each recipe, by recipe name. */
  sources: Map<string, SourceCheckout>;
  layouts: Layout[];
  selection: Selection;
  /** The Go of the first Go recipe (most builds have one); null when nothing is Go. */
  go: GoToolchain | null;
  /** The Go each Go recipe builds with, by recipe name. */
  goByRecipe: Map<string, GoToolchain>;
}

/**
 * Everything a build needs before it compiles: `build.docker` resolved, each source fetched and
 * its release line detected, the Go they need found or provisioned. `toolchain setup` runs this
 * too, so the main job finds its sources and its Go in place.
 */
export async function prepareSources(options: {
  config: ResolvedConfig;
  runner: Runner;
  cacheDirectory: string;
  baseDirectory: string;
}): Promise<PreparedSources> {
  const { config, runner, cacheDirectory } = options;
  const parts = selectParts(config);
  const sourceContext = { runner, cacheDirectory, baseDirectory: options.baseDirectory };
  const release = config.build.docker
    ? await resolveDockerRelease(config.build.docker, config.build.mirror ?? UPSTREAM_MIRROR, sourceContext)
    : null;
  // Sources, once per spec (Debian's docker.io holds moby and the cli).
  const checkouts = new Map<string, Promise<SourceCheckout>>();
  if (release) checkouts.set(release.sources.moby, Promise.resolve(release.moby));
  const checkoutOf = (spec: string, name: string) => {
    let checkout = checkouts.get(spec);
    if (!checkout) {
      checkout = fetchSource(spec, `build.sources.${name}`, sourceContext);
      checkouts.set(spec, checkout);
    }
    return checkout;
  };
  const sources = new Map<string, SourceCheckout>();
  const layouts: Layout[] = [];
  // One Go per group: each Debian suite's sources build with the Go Debian builds that suite with
  // (trixie's docker.io with 1.24 while forky's compose needs forky's newer one); all other
  // sources share one, the newest they ask for, at moby's pin when that is new enough.
  const UPSTREAM = 'upstream';
  const goNeeds = new Map<string, GoRequirement[]>([
    [UPSTREAM, release?.pins.go ? [{ minimum: null, preferred: release.pins.go, from: [] }] : []],
  ]);
  const groupOf = new Map<string, string>();
  const selection: Selection = [];
  for (const { part, binaries } of parts) {
    const spec = sourceSpecOf(part, config, release);
    if (spec === null) {
      // Left out of the default quietly (its first progress line says so); asked for, it is bad input.
      if (config.build.components)
        throw new UserError(`build.sources.${part.name}: the offline default has no ${part.name} source`, {
          hint: `give one (build.sources.${part.name}: git+https://github.com/docker/${part.name}.git#v0.36.0, a directory or debian:…), or build.docker: latest`,
        });
      continue;
    }
    const checkout = await checkoutOf(spec, part.name);
    // Debian's Go libraries compile with the Go that Debian builds that suite with.
    const group = checkout.debianGo ? `debian ${checkout.debianGo}` : UPSTREAM;
    if (checkout.debianGo)
      goNeeds.set(group, [
        ...(goNeeds.get(group) ?? []),
        {
          minimum: checkout.debianGo,
          preferred: checkout.debianGo,
          from: [`${spec}: Debian builds it with Go ${checkout.debianGo}`],
        },
      ]);
    const recipes = part.recipe
      ? [part.recipe]
      : isBuiltinSource(part.name)
        ? detectLayoutOf(part.name, checkout, layouts)
        : [];
    for (const recipe of recipes) {
      const wanted = recipe.binaries.map((b) => b.name).filter((name) => binaries.includes(name));
      if (wanted.length === 0) continue;
      sources.set(recipe.name, checkout);
      groupOf.set(recipe.name, group);
      selection.push({ recipe, binaries: wanted });
    }
  }
  goNeeds.set(UPSTREAM, [...(goNeeds.get(UPSTREAM) ?? []), ...layouts.map((layout) => layout.go)]);
  const goOfGroup = new Map<string, GoToolchain>();
  const goByRecipe = new Map<string, GoToolchain>();
  for (const { recipe } of selection) {
    if (recipe.language !== 'go') continue;
    const group = groupOf.get(recipe.name) ?? UPSTREAM;
    let chosen = goOfGroup.get(group);
    if (!chosen) {
      chosen = await resolveGo(combineRequirements(goNeeds.get(group) ?? []), { runner, cacheDirectory });
      goOfGroup.set(group, chosen);
    }
    goByRecipe.set(recipe.name, chosen);
  }
  for (const layout of layouts.filter((l) => l.modules)) {
    const checkout = sources.get(layout.source);
    const go = goByRecipe.get(layout.source);
    if (checkout && go) await downloadModules(layout.source, checkout, go, config, runner, cacheDirectory);
  }
  const go = [...goByRecipe.values()][0] ?? null;
  return { release, sources, layouts, selection, go, goByRecipe };
}

/**
 * A source that vendors no modules (upstream compose) gets them once, before any compile, through
 * the user's GOPROXY into crossdock's module cache, checked against go.sum and the checksum
 * database as the go command does by default; the compiles then run with GOPROXY=off.
 */
async function downloadModules(
  name: string,
  checkout: SourceCheckout,
  go: GoToolchain,
  config: ResolvedConfig,
  runner: Runner,
  cacheDirectory: string,
): Promise<void> {
  const proxy = config.build.goproxy ?? process.env.GOPROXY ?? 'https://proxy.golang.org,direct';
  const downloaded = await runner.run(go.command, ['mod', 'download'], {
    cwd: checkout.directory,
    env: {
      ...goEnvironmentOf(go),
      GOPROXY: proxy,
      GOPATH: modulesGoPath(cacheDirectory),
      GOFLAGS: '-mod=readonly -modcacherw',
      GOTOOLCHAIN: 'local',
      GO111MODULE: 'on',
    },
    allowFailure: true,
  });
  if (downloaded.exitCode !== 0) {
    // go ends a checksum mismatch with a pointer to `go help module-auth`: the line that says
    // what went wrong comes first.
    const lines = downloaded.stderr.trim().split('\n');
    const why = (lines.find((line) => /mismatch|SECURITY ERROR|^go: /.test(line)) ?? lines.at(-1) ?? '').trim();
    throw new MissingPrerequisiteError(
      `build.sources.${name}: its Go modules could not be fetched through GOPROXY=${proxy}: ${why}`,
      {
        hint: `set GOPROXY (or build.goproxy) to a proxy this machine reaches, give a source with vendor/ (go mod vendor), or a Debian source (build.sources.${name}: debian:docker-${name}@forky)`,
      },
    );
  }
}

function preflight(
  options: BuildOptions,
  targets: readonly Target[],
  parts: ReturnType<typeof selectParts>,
  qemu: Toolchain,
): void {
  const host = hostTarget(options.registry);
  const needsC =
    wantsProbeImage(parts) ||
    parts.some(({ part }) =>
      part.recipe
        ? part.recipe.language === 'c' || part.recipe.binaries.some((b) => 'cgo' in b && b.cgo)
        : C_SOURCES.has(part.name),
    );
  const missing: string[] = [];
  for (const target of targets) {
    if (needsC && !findExecutable(`${target.gnu.triple}-gcc`)) missing.push(`${target.gnu.triple}-gcc`);
    if (
      options.config.build.smoke &&
      target.name !== host.name &&
      !findExecutable(expandTemplate(qemu.command, target))
    ) {
      missing.push(expandTemplate(qemu.command, target));
    }
  }
  if (missing.length > 0) {
    throw new MissingPrerequisiteError(`build: ${[...new Set(missing)].join(', ')} not found on this host`, {
      hint: `crossdock toolchain setup --target ${targets.map((t) => t.name).join(',')}`,
    });
  }
}

/** A built-in source's recipes from its release line; the layout is kept for its Go needs. */
function detectLayoutOf(name: BuiltinSource, checkout: SourceCheckout, layouts: Layout[]): Recipe[] {
  const layout = detectLayout(name, directoryTree(checkout.directory));
  layouts.push(layout);
  return layout.recipes;
}

async function collectToolchainVersions(
  options: BuildOptions,
  targets: readonly Target[],
  go: GoToolchain | null,
  goByRecipe: ReadonlyMap<string, GoToolchain>,
) {
  const versions: Record<string, string> = {};
  if (go) versions.go = `go${go.version}`;
  // A recipe whose Go is another (a Debian suite's own) says so: `go:compose`.
  for (const [recipe, own] of goByRecipe)
    if (own.version !== go?.version) versions[`go:${recipe}`] = `go${own.version}`;
  for (const target of targets) {
    const cc = `${target.gnu.triple}-gcc`;
    const found = findExecutable(cc);
    if (found) versions[cc] = (await options.runner.run(found, ['-dumpfullversion'])).stdout.trim();
  }
  return versions;
}

interface OneBuild extends Job {
  name: string;
  source: SourceCheckout;
  /** SOURCE_DATE_EPOCH set by the config or the environment, which wins over each source's. */
  fixedEpoch: number | undefined;
  version: string;
  cacheDirectory: string;
  toolchainVersions: Record<string, string>;
  qemu: Toolchain;
  staging: string;
  go: GoToolchain | null;
}

async function buildOne(
  options: BuildOptions,
  job: OneBuild,
  onOutput: (line: string) => void,
): Promise<{ binary: ManifestBinary; cached: boolean; problems: string[] }> {
  const { recipe, target, name, source } = job;
  const binary = recipe.binaries.find((candidate) => candidate.name === name);
  if (!binary) throw new Error(`recipe ${recipe.name} has no binary ${name}`);
  const values: BuildValues = {
    version: recipe.version ?? source.version ?? job.version,
    revision: source.revision,
    revisionShort: source.revisionShort,
    // The binary's own source time, not the bundle's: a change elsewhere must not rebuild it.
    sourceDateEpoch: job.fixedEpoch ?? source.epoch,
    target: target.name,
  };
  const targetFlags = options.config.build.targetFlags[target.name];
  const smokeArgs = options.config.build.smoke ? binary.smoke : null;
  const key = cacheKey({
    recipe,
    binary: name,
    target: {
      name: target.name,
      go: target.go,
      triple: target.gnu.triple,
      cflags: targetCFlags(target, targetFlags),
      cpu: target.qemu.cpu,
    },
    // Only the overrides that reach this compiler: Go tags do not change a C binary.
    overrides: recipe.language === 'go' ? { tags: targetFlags?.tags, ldflags: targetFlags?.ldflags } : null,
    revision: source.revision,
    values,
    // Only the compilers this binary meets: building fewer targets (a pipeline building what its
    // boards need) must hit the binaries a build of every target cached.
    toolchains: Object.fromEntries(
      Object.entries({ ...job.toolchainVersions, ...(job.go ? { go: `go${job.go.version}` } : {}) }).filter(
        ([tool]) => tool === 'go' || tool === `${target.gnu.triple}-gcc`,
      ),
    ),
    smokeArgs,
    smokeTimeout: options.config.build.smokeTimeoutSeconds,
  });
  const destination = join(job.staging, target.name, 'docker', name);
  await mkdir(join(job.staging, target.name, 'docker'), { recursive: true });
  const hit = await readCache(job.cacheDirectory, key);
  if (hit) {
    await copyFile(hit.file, destination);
    return { binary: hit.binary, cached: true, problems: [] };
  }

  const sourceDirectory = join(source.directory, recipe.directory);
  for (const generated of recipe.generate) {
    const path = join(sourceDirectory, generated.path);
    const content = fillPlaceholders(generated.content, values);
    if (!existsSync(path) || (await readFile(path, 'utf8')) !== content) {
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, content);
    }
  }
  const workFile = join(job.cacheDirectory, 'tmp', `${key}-${name}`);
  await mkdir(join(job.cacheDirectory, 'tmp'), { recursive: true });
  try {
    const flags = await compile({
      recipe,
      binary,
      target,
      sourceDirectory,
      checkoutDirectory: source.directory,
      output: workFile,
      values,
      targetFlags,
      cacheDirectory: job.cacheDirectory,
      gopath: [...(source.goPath ?? []), ...(options.gopath ?? [])],
      go: job.go ? { command: job.go.command, env: goEnvironmentOf(job.go) } : null,
      runner: options.runner,
      onOutput,
    });
    const verification = await verifyBinary(workFile, {
      binary: name,
      target,
      registry: options.registry,
      qemu: job.qemu,
      runner: options.runner,
      smokeArgs,
      smokeTimeoutMs: options.config.build.smokeTimeoutSeconds * 1000,
      expect: binary.expect.map((text) => fillPlaceholders(text, values)),
    });
    const elf = readElfFile(workFile);
    const manifestBinary: ManifestBinary = {
      name,
      component: recipe.name,
      size: (await stat(workFile)).size,
      sha256: await sha256File(workFile),
      armArch: verification.report?.armArchName ?? null,
      source: { spec: source.spec, revision: source.revision, version: source.version },
      flags,
      smoke: verification.smoke
        ? { args: verification.smoke.args, cpu: verification.smoke.cpu, firstLine: verification.smoke.firstLine }
        : null,
      go: elf.goBuildInfo
        ? { version: elf.goBuildInfo.goVersion, main: elf.goBuildInfo.main, dependencies: elf.goBuildInfo.dependencies }
        : null,
      ...(recipe.language === 'go' && recipe.importPath && source.goLibraries
        ? { debianGoLibraries: source.goLibraries }
        : {}),
      // What the CLI printed for it is the bundle's to say (assemble): it needs the target's CLI.
      ...('plugin' in binary && binary.plugin ? { plugin: { command: binary.plugin, firstLine: null } } : {}),
    };
    if (!verification.ok) return { binary: manifestBinary, cached: false, problems: verification.problems };
    await writeCache(job.cacheDirectory, key, workFile, manifestBinary);
    await copyFile(workFile, destination);
    return { binary: manifestBinary, cached: false, problems: [] };
  } finally {
    await rm(workFile, { force: true });
  }
}

interface AssembleInput {
  options: BuildOptions;
  cacheDirectory: string;
  staging: string;
  version: string;
  epoch: number;
  targets: readonly Target[];
  built: Map<string, ManifestBinary[]>;
  sources: Map<string, SourceCheckout>;
  selection: Selection;
  toolchainVersions: Record<string, string>;
}

/**
 * The target's plugins through its own docker CLI under QEMU (verify-plugins.ts), when the
 * bundle has the CLI and smoke runs are on: each plugin's binary gets the line the CLI printed.
 */
async function checkPlugins(
  input: AssembleInput,
  target: Target,
  binaries: ManifestBinary[],
): Promise<ManifestBinary[]> {
  const { config } = input.options;
  const plugins = binaries.filter((b) => b.plugin);
  if (!config.build.smoke || plugins.length === 0 || !binaries.some((b) => b.name === 'docker')) return binaries;
  const qemu = input.options.toolchains.find((t) => t.kind === 'emulator');
  if (!qemu) throw new Error('toolchains/ defines no emulator');
  const file = (name: string) => join(input.staging, target.name, 'docker', name);
  const checks = await checkPluginsThroughCli({
    target,
    registry: input.options.registry,
    qemu,
    runner: input.options.runner,
    docker: file('docker'),
    binaries,
    fileOf: file,
    timeoutMs: config.build.smokeTimeoutSeconds * 1000,
  });
  const problems = checks.flatMap((c) => (c.problem ? [`${target.name}: ${c.problem}`] : []));
  if (problems.length > 0) throw new BuildFailedError(problems);
  return binaries.map((b) => {
    const check = checks.find((c) => c.name === b.name);
    return check && b.plugin ? { ...b, plugin: { ...b.plugin, firstLine: check.firstLine } } : b;
  });
}

async function assemble(input: AssembleInput): Promise<Manifest> {
  const { staging, version, epoch } = input;
  const tool = `crossdock-${packageVersion()}`;
  const artifacts: ManifestArtifact[] = [];
  const describe = async (file: string) => ({
    size: (await stat(join(staging, file))).size,
    sha256: await sha256File(join(staging, file)),
  });
  for (const target of input.targets) {
    const binaries = await checkPlugins(input, target, [...(input.built.get(target.name) ?? [])]);
    binaries.sort((a, b) => (a.name < b.name ? -1 : 1));
    const bundle = bundleName(version, target.name);
    // The archive depends only on the binaries and the epoch: a no-op rebuild copies it
    // instead of compressing a few hundred megabytes again.
    const archiveKey = cacheKey({ archive: 1, epoch, binaries: binaries.map((b) => [b.name, b.sha256]) });
    const cachedArchive = join(input.cacheDirectory, 'bundles', `${archiveKey}.tgz`);
    if (existsSync(cachedArchive)) {
      await copyFile(cachedArchive, join(staging, bundle));
    } else {
      await writeTarGz(
        join(staging, bundle),
        [
          { path: 'docker', type: 'directory', mode: 0o755 },
          ...(binaries.some((b) => b.plugin)
            ? [{ path: 'docker/cli-plugins', type: 'directory' as const, mode: 0o755 }]
            : []),
          ...binaries.map((binary) => ({
            path: bundlePath(binary),
            type: 'file' as const,
            mode: 0o755,
            source: join(staging, target.name, 'docker', binary.name),
          })),
        ],
        epoch,
      );
      await mkdir(join(input.cacheDirectory, 'bundles'), { recursive: true });
      await copyFile(join(staging, bundle), `${cachedArchive}.partial-${process.pid}`);
      await rename(`${cachedArchive}.partial-${process.pid}`, cachedArchive);
    }
    await rm(join(staging, target.name), { recursive: true, force: true });
    const bundleFacts = await describe(bundle);
    artifacts.push({ kind: 'bundle', file: bundle, target: target.name, ...bundleFacts, binaries });
    const sbom = sbomName(version, target.name);
    await writeFile(
      join(staging, sbom),
      `${JSON.stringify(spdxDocument({ tool, version, target: target.name, sourceDateEpoch: epoch, bundle: { file: bundle, sha256: bundleFacts.sha256 }, binaries }), null, 2)}\n`,
    );
    artifacts.push({ kind: 'sbom', file: sbom, target: target.name, ...(await describe(sbom)) });
    if (wantsProbeImage(input.selection)) {
      const { config } = input.options;
      const qemu = input.options.toolchains.find((t) => t.kind === 'emulator');
      if (!qemu) throw new Error('toolchains/ defines no emulator');
      const probe = await buildProbeImage({
        target,
        registry: input.options.registry,
        runner: input.options.runner,
        qemu,
        targetFlags: config.build.targetFlags[target.name],
        cacheDirectory: input.cacheDirectory,
        compilerVersion: input.toolchainVersions[`${target.gnu.triple}-gcc`],
        smoke: config.build.smoke,
        smokeTimeoutMs: config.build.smokeTimeoutSeconds * 1000,
        version,
        epoch,
        directory: staging,
      });
      if (!probe.ok) throw new BuildFailedError(probe.problems.map((p) => `${target.name}: ${p}`));
      artifacts.push(probe.artifact);
    }
  }
  const units = unitsFor(input.selection.flatMap((s) => s.binaries));
  if (units.length > 0) await mkdir(join(staging, 'systemd'), { recursive: true });
  for (const unit of units) {
    const file = `systemd/${unit.file}`;
    await writeFile(join(staging, file), unit.content);
    artifacts.push({ kind: 'unit', file, target: null, ...(await describe(file)) });
  }
  const manifest: Manifest = {
    schemaVersion: 1,
    tool,
    version,
    sourceDateEpoch: epoch,
    targets: input.targets.map((t) => t.name),
    sources: [...input.sources].map(([recipe, source]) => ({
      recipe,
      spec: source.spec,
      revision: source.revision,
      version: source.version,
    })),
    toolchains: input.toolchainVersions,
    artifacts,
  };
  await writeFile(join(staging, MANIFEST_FILE), serializeManifest(manifest));
  const sums = [
    ...artifacts.map((a) => ({ name: a.file, sha256: a.sha256 })),
    { name: MANIFEST_FILE, sha256: await sha256File(join(staging, MANIFEST_FILE)) },
  ];
  await writeFile(join(staging, SUMS_FILE), formatSha256Sums(sums));
  // Re-read what was written: SHA256SUMS must hold for the files as they are on disk.
  for (const entry of parseSha256Sums(await readFile(join(staging, SUMS_FILE), 'utf8'))) {
    if ((await sha256File(join(staging, entry.name))) !== entry.sha256)
      throw new FailureError(`${entry.name}: checksum changed after writing`);
  }
  if (input.options.config.build.signingKey) {
    await input.options.runner.run('ssh-keygen', [
      '-Y',
      'sign',
      '-n',
      'crossdock',
      '-f',
      input.options.config.build.signingKey,
      join(staging, SUMS_FILE),
    ]);
  }
  return manifest;
}
