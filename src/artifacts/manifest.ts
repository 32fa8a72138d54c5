/**
 * manifest.json — the contract between stages — and the SPDX SBOM of each bundle. Pure, and
 * deterministic: nothing in them depends on the clock, the cache or the machine's paths.
 */
import type { GoModule } from '../platform/elf.js';
import semver from 'semver';
import * as v from 'valibot';
import { sha256 } from './checksums.js';

export const MANIFEST_FILE = 'manifest.json';
export const SUMS_FILE = 'SHA256SUMS';

export interface ManifestBinary {
  name: string;
  component: string;
  size: number;
  sha256: string;
  armArch: string | null;
  source: { spec: string; revision: string; version: string | null };
  flags: { env: Record<string, string>; args: string[] };
  smoke: { args: string[]; cpu: string | null; firstLine: string } | null;
  go: { version: string; main: GoModule | null; dependencies: GoModule[] } | null;
  /** GOPATH-mode builds (Debian sources) embed no module list: the golang-*-dev packages used. */
  debianGoLibraries?: Array<{ name: string; version: string }>;
  /**
   * A docker CLI plugin (`docker-<command>`): in the bundle under docker/cli-plugins/, on a
   * board linked into the CLI's plugin directory. `firstLine` is what `docker <command> version`
   * printed through the target's own CLI under QEMU (null when the bundle has no CLI).
   */
  plugin?: { command: string; firstLine: string | null };
}

/** Where the docker CLI looks for plugins after ~/.docker: the board's links go there. */
export const CLI_PLUGIN_DIRECTORY = '/usr/local/lib/docker/cli-plugins';

/** A binary's path in its bundle: `docker/dockerd`, or `docker/cli-plugins/docker-compose`. Pure. */
export function bundlePath(binary: Pick<ManifestBinary, 'name' | 'plugin'>): string {
  return binary.plugin ? `docker/cli-plugins/${binary.name}` : `docker/${binary.name}`;
}

export interface ManifestArtifact {
  /** image: the health-check container image (docker load format) for one target. */
  kind: 'bundle' | 'unit' | 'sbom' | 'image';
  file: string;
  target: string | null;
  size: number;
  sha256: string;
  binaries?: ManifestBinary[];
  /** For kind image: the tag `docker load` gives it and its image ID (the config's digest). */
  image?: { tag: string; id: string };
}

export interface Manifest {
  schemaVersion: 1;
  tool: string;
  version: string;
  sourceDateEpoch: number;
  targets: string[];
  sources: Array<{ recipe: string; spec: string; revision: string; version: string | null }>;
  toolchains: Record<string, string>;
  artifacts: ManifestArtifact[];
}

/**
 * A file name a manifest may list: `docker-29.7.2-armv6.tgz`, or one folder deep
 * (`systemd/docker.service`). Nothing that climbs (`..`), starts at the root or hides. Pure.
 */
export function isDistFileName(file: string): boolean {
  return /^(?:[A-Za-z0-9][A-Za-z0-9._+-]*\/)?[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(file);
}

/** A version that names a directory on a board (`/opt/crossdock/versions/<version>`). Pure. */
export function isDistVersion(version: string): boolean {
  return semver.valid(version) !== null && /^[0-9A-Za-z.+-]+$/.test(version);
}

/**
 * A binary's name in a bundle and on a board (`versions/<v>/<name>`, `/usr/local/bin/<name>`):
 * one plain path component, so no name climbs out of the version directory. Pure.
 */
export function isBinaryName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/.test(name);
}

/**
 * A smoke run's arguments reach a board as argv of the binary (quoted, never spliced into a
 * script), and only as words and flags without values: `--version`, `-v`, `version`, `--help`.
 * No path, no `=`, no space: nothing a hostile manifest could turn into a command. Pure.
 */
export function isSmokeArgument(argument: string): boolean {
  return /^-{0,2}[A-Za-z][A-Za-z0-9-]{0,31}$/.test(argument);
}

const SHA256 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'is not a lower-case hex SHA-256'));
const SIZE = v.pipe(v.number(), v.safeInteger('is not a whole number of bytes'), v.minValue(0, 'is negative'));
const TARGET_NAME = v.pipe(v.string(), v.regex(/^[a-z0-9_]{1,32}$/, 'is not a target name'));

const BinarySchema = v.looseObject({
  name: v.pipe(v.string(), v.check(isBinaryName, 'is not a plain file name (one path component)')),
  component: v.string(),
  size: SIZE,
  sha256: SHA256,
  armArch: v.nullable(v.string()),
  source: v.looseObject({ spec: v.string(), revision: v.string(), version: v.nullable(v.string()) }),
  flags: v.looseObject({ env: v.record(v.string(), v.string()), args: v.array(v.string()) }),
  smoke: v.nullable(
    v.looseObject({
      args: v.pipe(
        v.array(
          v.pipe(v.string(), v.check(isSmokeArgument, 'is not a plain word or flag (no values, paths or spaces)')),
        ),
        v.maxLength(4, 'has more than 4 arguments'),
      ),
      cpu: v.nullable(v.string()),
      firstLine: v.string(),
    }),
  ),
  go: v.nullable(v.looseObject({ version: v.string() })),
  // The command reaches a board as an argument of `docker`: a plain lower-case word.
  plugin: v.optional(
    v.looseObject({
      command: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9]{0,31}$/, 'is not a plain CLI command such as compose')),
      firstLine: v.nullable(v.string()),
    }),
  ),
});

const BinariesSchema = v.pipe(
  v.array(
    v.pipe(
      BinarySchema,
      v.check((b) => !b.plugin || b.name === `docker-${b.plugin.command}`, 'is a plugin not named docker-<command>'),
    ),
  ),
  v.check((list) => new Set(list.map((b) => b.name)).size === list.length, 'name the same binary twice'),
);

const ArtifactSchema = v.looseObject({
  kind: v.picklist(['bundle', 'unit', 'sbom', 'image'], 'is not bundle, unit, sbom or image'),
  file: v.pipe(v.string(), v.check(isDistFileName, 'is not a dist file name')),
  target: v.nullable(TARGET_NAME),
  size: SIZE,
  sha256: SHA256,
  binaries: v.optional(BinariesSchema),
  image: v.optional(
    v.looseObject({
      tag: v.pipe(
        v.string(),
        v.regex(/^[a-z0-9][a-z0-9._/-]{0,127}:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/, 'is not an image tag'),
      ),
      id: v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/, 'is not an image ID')),
    }),
  ),
});

const ManifestSchema = v.looseObject({
  schemaVersion: v.literal(1, 'is not 1 (not a crossdock manifest)'),
  tool: v.string(),
  version: v.pipe(v.string(), v.check(isDistVersion, 'is not a semver version')),
  sourceDateEpoch: SIZE,
  targets: v.array(TARGET_NAME),
  sources: v.array(
    v.looseObject({ recipe: v.string(), spec: v.string(), revision: v.string(), version: v.nullable(v.string()) }),
  ),
  toolchains: v.record(v.string(), v.string()),
  artifacts: v.pipe(
    v.array(ArtifactSchema),
    v.check((list) => new Set(list.map((a) => a.file)).size === list.length, 'list the same file twice'),
  ),
});

/** The first problem valibot found, as `where: what`, e.g. `artifacts[0].binaries[1].name "../sh": is not …`. */
function firstProblem(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (!issue) return 'not valid';
  const path = (issue.path ?? [])
    .map((item) => (typeof item.key === 'number' ? `[${item.key}]` : `.${String(item.key)}`))
    .join('')
    .replace(/^\./, '');
  const value = issue.input === undefined ? 'missing' : JSON.stringify(issue.input).slice(0, 80);
  return `${path || 'the manifest'} ${value}: ${issue.message}`;
}

/**
 * The one parse of a manifest read from anywhere (a dist, a release, a cache): every field that
 * can reach a board, a path or a shell is checked before any code sees it (file and binary names
 * as one plain component, lower-case hex, safe integers, smoke arguments as plain words), so a
 * hostile manifest is refused whole rather than trusted field by field. Pure.
 */
export function parseManifest(value: unknown): { ok: true; manifest: Manifest } | { ok: false; problem: string } {
  const result = v.safeParse(ManifestSchema, value);
  if (!result.success) return { ok: false, problem: firstProblem(result.issues) };
  return { ok: true, manifest: result.output as Manifest };
}

/** One binary's entry (the build cache keeps one per binary), through the manifest's checks. Pure. */
export function parseManifestBinary(value: unknown): ManifestBinary | null {
  const result = v.safeParse(BinarySchema, value);
  return result.success ? (result.output as ManifestBinary) : null;
}

/**
 * What a board says one of its versions is (`versions/<v>.json`, written at the switch): the same
 * checks as a manifest's binaries, since its names and smoke arguments run on the board. Pure.
 */
export function parseVersionRecord(value: unknown): {
  version: string;
  target: string;
  binaries: ManifestBinary[];
  image?: { file: string; tag: string; id: string };
} | null {
  const result = v.safeParse(
    v.looseObject({
      version: v.pipe(v.string(), v.check(isDistVersion)),
      target: TARGET_NAME,
      binaries: BinariesSchema,
      image: v.optional(
        v.looseObject({
          file: v.string(),
          tag: ArtifactSchema.entries.image.wrapped.entries.tag,
          id: ArtifactSchema.entries.image.wrapped.entries.id,
        }),
      ),
    }),
    value,
  );
  if (!result.success) return null;
  const { version, target, binaries, image } = result.output;
  return {
    version,
    target,
    binaries: binaries as ManifestBinary[],
    ...(image ? { image: { file: image.file, tag: image.tag, id: image.id } } : {}),
  };
}

/** The first problem of a manifest, or null; see parseManifest. Pure. */
export function manifestProblem(value: unknown): string | null {
  const parsed = parseManifest(value);
  return parsed.ok ? null : parsed.problem;
}

export function bundleName(version: string, target: string): string {
  return `docker-${version}-${target}.tgz`;
}

export function probeImageName(version: string, target: string): string {
  return `crossdock-probe-${version}-${target}.tar`;
}

export function sbomName(version: string, target: string): string {
  return `docker-${version}-${target}.spdx.json`;
}

export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** SPDX 2.3 JSON: the bundle, each binary in it, and each Go module each binary embeds. */
export function spdxDocument(options: {
  tool: string;
  version: string;
  target: string;
  sourceDateEpoch: number;
  bundle: { file: string; sha256: string };
  binaries: readonly ManifestBinary[];
}): object {
  const spdxId = (text: string) => `SPDXRef-${text.replace(/[^A-Za-z0-9.-]/g, '-')}`;
  const bundleId = spdxId(`Bundle-${options.target}`);
  const modules = new Map<string, GoModule>();
  for (const binary of options.binaries)
    for (const module of binary.go?.dependencies ?? []) modules.set(`${module.path}@${module.version}`, module);
  const debianLibraries = new Map<string, { name: string; version: string }>();
  for (const binary of options.binaries)
    for (const pkg of binary.debianGoLibraries ?? []) debianLibraries.set(`${pkg.name}@${pkg.version}`, pkg);
  const sortedDebian = [...debianLibraries.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const sortedModules = [...modules.values()].sort((a, b) =>
    a.path === b.path ? (a.version < b.version ? -1 : 1) : a.path < b.path ? -1 : 1,
  );
  const packages = [
    {
      SPDXID: bundleId,
      name: options.bundle.file,
      versionInfo: options.version,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: options.bundle.sha256 }],
    },
    ...options.binaries.map((binary) => ({
      SPDXID: spdxId(`Binary-${binary.name}`),
      name: binary.name,
      versionInfo: binary.source.version ?? options.version,
      downloadLocation: binary.source.spec.startsWith('git+') ? binary.source.spec : 'NOASSERTION',
      filesAnalyzed: false,
      sourceInfo: `built from ${binary.source.spec} at ${binary.source.revision}`,
      checksums: [{ algorithm: 'SHA256', checksumValue: binary.sha256 }],
    })),
    ...sortedModules.map((module) =>
      dependencyPackage(
        `Go-${module.path}-${module.version}`,
        module.path,
        module.version,
        `pkg:golang/${module.path}@${module.version}`,
      ),
    ),
    ...sortedDebian.map((pkg) =>
      dependencyPackage(
        `Deb-${pkg.name}-${pkg.version}`,
        pkg.name,
        pkg.version,
        `pkg:deb/debian/${pkg.name}@${encodeURIComponent(pkg.version)}`,
      ),
    ),
  ];
  // A library compiled into the binaries, known by its package URL.
  function dependencyPackage(id: string, name: string, version: string, purl: string) {
    return {
      SPDXID: spdxId(id),
      name,
      versionInfo: version,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }],
    };
  }
  const relationships = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: bundleId },
    ...options.binaries.flatMap((binary) => [
      { spdxElementId: bundleId, relationshipType: 'CONTAINS', relatedSpdxElement: spdxId(`Binary-${binary.name}`) },
      ...(binary.go?.dependencies ?? []).map((module) => ({
        spdxElementId: spdxId(`Binary-${binary.name}`),
        relationshipType: 'DEPENDS_ON',
        relatedSpdxElement: spdxId(`Go-${module.path}-${module.version}`),
      })),
      ...(binary.debianGoLibraries ?? []).map((pkg) => ({
        spdxElementId: spdxId(`Binary-${binary.name}`),
        relationshipType: 'DEPENDS_ON',
        relatedSpdxElement: spdxId(`Deb-${pkg.name}-${pkg.version}`),
      })),
    ]),
  ];
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: options.bundle.file.replace(/\.tgz$/, ''),
    // Derived from the content, so two identical builds write identical documents.
    documentNamespace: `https://spdx.crossdock.invalid/${options.bundle.file}-${sha256(options.bundle.sha256).slice(0, 16)}`,
    creationInfo: {
      created: new Date(options.sourceDateEpoch * 1000).toISOString().replace('.000Z', 'Z'),
      creators: [`Tool: ${options.tool}`],
    },
    packages,
    relationships,
  };
}
