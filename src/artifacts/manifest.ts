/**
 * manifest.json — the contract between stages — and the SPDX SBOM of each bundle. Pure, and
 * deterministic: nothing in them depends on the clock, the cache or the machine's paths.
 */
import type { GoModule } from '../platform/elf.js';
import semver from 'semver';
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
 * What a manifest read from anywhere (a dist, a release) must be before any of its names is
 * joined to a path: a hostile release must not write outside the cache or name a version that
 * climbs out of the install root. Names the first problem. Pure.
 */
export function manifestProblem(value: unknown): string | null {
  const manifest = value as Partial<Manifest> | null;
  if (!manifest || manifest.schemaVersion !== 1 || !Array.isArray(manifest.artifacts))
    return 'not a crossdock manifest (schemaVersion 1 with version and artifacts)';
  if (typeof manifest.version !== 'string' || !isDistVersion(manifest.version))
    return `version ${JSON.stringify(manifest.version)} is not a semver version`;
  for (const artifact of manifest.artifacts as unknown[]) {
    const { file, sha256: sum } = (artifact ?? {}) as Partial<ManifestArtifact>;
    if (typeof file !== 'string' || !isDistFileName(file))
      return `artifact file ${JSON.stringify(file)} is not a dist file name`;
    if (typeof sum !== 'string' || !/^[0-9a-f]{64}$/.test(sum))
      return `${file}: sha256 ${JSON.stringify(sum)} is not a SHA-256`;
  }
  return null;
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
