/**
 * Release planning, pure: the tag and what it means (prerelease, "latest"), several dist
 * directories merged into one set of assets, and what to do with each asset given what the
 * release already holds. The publisher (Octokit) only carries these decisions out.
 */
import semver from 'semver';
import { FailureError, UserError } from '../errors.js';
import { formatSha256Sums } from '../artifacts/checksums.js';
import type { Manifest, ManifestArtifact } from '../artifacts/manifest.js';

export interface ReleaseVersion {
  tag: string;
  version: string;
  prerelease: boolean;
}

/** `v27.5.1`, `27.5.1`, `v28.0.0-rc.1`; anything else is refused with the flag named. */
export function parseReleaseTag(tag: string): ReleaseVersion {
  const version = tag.trim().replace(/^v(?=\d)/, '');
  if (!semver.valid(version)) {
    throw new UserError(`--tag ${tag}: not a semver tag`, {
      hint: 'use v<MAJOR>.<MINOR>.<PATCH>, e.g. v27.5.1 or v28.0.0-rc.1',
    });
  }
  return { tag: tag.trim(), version, prerelease: semver.prerelease(version) !== null };
}

/** The release a tag names holds that version: `v27.5.1` and `27.5.1` hold 27.5.1, nothing else. Pure. */
export function tagMatchesVersion(tag: string, version: string): boolean {
  return tag.trim().replace(/^v(?=\d)/, '') === version;
}

/**
 * GitHub's "latest" goes to the highest stable version only: publishing 26.1.5 after 27.0.0
 * must not move "latest" back to the older line.
 */
export function shouldMakeLatest(release: ReleaseVersion, existingTags: readonly string[]): boolean {
  if (release.prerelease) return false;
  const stable = existingTags
    .map((tag) => tag.replace(/^v(?=\d)/, ''))
    .filter((version) => semver.valid(version) && semver.prerelease(version) === null);
  return stable.every((version) => semver.gte(release.version, version));
}

export interface DistInput {
  directory: string;
  manifest: Manifest;
}

export interface ReleaseAsset {
  name: string;
  /** Where the file is on disk; null for files the release stage writes itself. */
  path: string | null;
  size: number;
  sha256: string;
  content?: string;
}

export interface MergedRelease {
  version: string;
  manifest: Manifest;
  assets: ReleaseAsset[];
}

/**
 * Merges the dist directories of one version (a CI matrix builds each target in its own job):
 * the same asset name must have the same SHA-256 everywhere; manifest.json and SHA256SUMS are
 * written anew over everything.
 */
export function mergeDists(
  dists: readonly DistInput[],
  release: ReleaseVersion,
  sha256: (text: string) => string,
): MergedRelease {
  const [first] = dists;
  if (!first)
    throw new UserError('release: no dist directory given', {
      hint: 'crossdock release dist/<version> --tag v<version>',
    });
  for (const dist of dists) {
    if (dist.manifest.version !== release.version) {
      throw new UserError(
        `${dist.directory}: manifest version ${dist.manifest.version} does not match --tag ${release.tag}`,
        {
          hint: `tag v${dist.manifest.version}, or rebuild with --version ${release.version}`,
        },
      );
    }
  }
  const artifacts = new Map<string, { artifact: ManifestArtifact; directory: string }>();
  for (const dist of dists) {
    for (const artifact of dist.manifest.artifacts) {
      const seen = artifacts.get(artifact.file);
      if (seen && seen.artifact.sha256 !== artifact.sha256) {
        throw new FailureError(`${artifact.file} differs between ${seen.directory} and ${dist.directory}`, {
          hint: 'each target must be built once; rebuild the dists from the same sources',
        });
      }
      if (!seen) artifacts.set(artifact.file, { artifact, directory: dist.directory });
    }
  }
  const sorted = [...artifacts.values()].sort((a, b) => (a.artifact.file < b.artifact.file ? -1 : 1));
  const manifest: Manifest = {
    ...first.manifest,
    targets: [...new Set(dists.flatMap((d) => d.manifest.targets))],
    sources: uniqueBy(
      dists.flatMap((d) => d.manifest.sources),
      (s) => `${s.recipe}\0${s.revision}`,
    ),
    toolchains: Object.assign({}, ...dists.map((d) => d.manifest.toolchains)) as Record<string, string>,
    sourceDateEpoch: Math.max(...dists.map((d) => d.manifest.sourceDateEpoch)),
    artifacts: sorted.map((entry) => entry.artifact),
  };
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  // Release assets are flat: systemd/docker.service is published as docker.service.
  const assets: ReleaseAsset[] = sorted.map(({ artifact, directory }) => ({
    name: assetName(artifact.file),
    path: `${directory}/${artifact.file}`,
    size: artifact.size,
    sha256: artifact.sha256,
  }));
  const names = new Set<string>();
  for (const asset of assets) {
    if (names.has(asset.name)) throw new FailureError(`two files would both be published as ${asset.name}`);
    names.add(asset.name);
  }
  const manifestAsset: ReleaseAsset = {
    name: 'manifest.json',
    path: null,
    size: Buffer.byteLength(manifestText),
    sha256: sha256(manifestText),
    content: manifestText,
  };
  const sumsText = formatSha256Sums(
    [...assets, manifestAsset].map((asset) => ({ name: asset.name, sha256: asset.sha256 })),
  );
  const sumsAsset: ReleaseAsset = {
    name: 'SHA256SUMS',
    path: null,
    size: Buffer.byteLength(sumsText),
    sha256: sha256(sumsText),
    content: sumsText,
  };
  return { version: release.version, manifest, assets: [...assets, manifestAsset, sumsAsset] };
}

export function assetName(file: string): string {
  return file.split('/').at(-1) ?? file;
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}

export interface RemoteAsset {
  id: number;
  name: string;
  size: number;
  /** `sha256:<hex>` where the server gives it (GitHub does since 2025); else null. */
  digest: string | null;
  state: string;
}

export type AssetAction =
  | { kind: 'upload'; asset: ReleaseAsset }
  | { kind: 'skip'; asset: ReleaseAsset; remote: RemoteAsset }
  | { kind: 'replace'; asset: ReleaseAsset; remote: RemoteAsset }
  /** The server gives no digest: download it and compare before deciding. */
  | { kind: 'compare'; asset: ReleaseAsset; remote: RemoteAsset }
  | { kind: 'refuse'; asset: ReleaseAsset; remote: RemoteAsset; reason: string };

/** What to do with each asset, given what the release already holds. */
export function planAssets(
  assets: readonly ReleaseAsset[],
  remote: readonly RemoteAsset[],
  options: { replace: boolean },
): AssetAction[] {
  const byName = new Map(remote.map((asset) => [asset.name, asset]));
  return assets.map((asset) => decideAsset(asset, byName.get(asset.name), options));
}

/**
 * The one decision per asset: upload, skip, replace, refuse, or compare (the server gave no
 * digest: hash its copy, then decide again with `remoteSha256`). Pure.
 */
export function decideAsset(
  asset: ReleaseAsset,
  existing: RemoteAsset | undefined,
  options: { replace: boolean; remoteSha256?: string },
): AssetAction {
  if (!existing) return { kind: 'upload', asset };
  // An upload that died half-way leaves a "starter" asset: it holds nothing and is replaced.
  if (existing.state !== 'uploaded') return { kind: 'replace', asset, remote: existing };
  const digest = options.remoteSha256 !== undefined ? `sha256:${options.remoteSha256}` : existing.digest;
  const sameSize = existing.size === asset.size;
  if (sameSize && digest === `sha256:${asset.sha256}`) return { kind: 'skip', asset, remote: existing };
  if (sameSize && digest === null) return { kind: 'compare', asset, remote: existing };
  if (options.replace) return { kind: 'replace', asset, remote: existing };
  const held =
    options.remoteSha256 !== undefined
      ? `sha256 ${options.remoteSha256.slice(0, 12)}…`
      : (existing.digest ?? `${existing.size} bytes`);
  return {
    kind: 'refuse',
    asset,
    remote: existing,
    reason: `${asset.name} is already in the release with other contents (${held}); --replace replaces it`,
  };
}
