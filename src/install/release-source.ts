/**
 * `install --release OWNER/NAME@TAG`: a published release as a dist directory. manifest.json and
 * SHA256SUMS come first; every other asset is downloaded into a cache keyed by repository and tag,
 * hashed while it streams and kept only when it matches the manifest, so a re-run downloads
 * nothing and a tampered asset never reaches a board. Each asset's public URL is kept too: a
 * board that can reach it downloads the bundle itself instead of the operator sending it.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { sha256File } from '../artifacts/checksums.js';
import { MANIFEST_FILE, parseManifest, SUMS_FILE } from '../artifacts/manifest.js';
import { FailureError, UserError } from '../errors.js';
import { createGitHubClients, describeRequestError, isRequestError } from '../release/github-client.js';
import { assetName, tagMatchesVersion } from '../release/plan.js';

export interface ReleaseSpec {
  owner: string;
  repo: string;
  tag: string;
}

export function parseReleaseSpec(value: string): ReleaseSpec {
  // The tag names a directory of the cache: no slashes, nothing that climbs.
  const match = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)@([A-Za-z0-9][A-Za-z0-9_.+-]*)$/.exec(value);
  if (!match?.[1] || !match[2] || !match[3] || match[1].startsWith('.') || match[2].startsWith('.'))
    throw new UserError(`--release ${value}: expected OWNER/NAME@TAG`, {
      hint: 'e.g. --release acme/docker-arm@v27.5.1',
    });
  return { owner: match[1], repo: match[2], tag: match[3] };
}

/**
 * A download URL a board may fetch: http(s) only (no file:, no ftp:), no credentials, on the
 * API's own host (github.com for api.github.com), and https unless the API itself is plain http
 * (a local server). Pure.
 */
export function isReleaseDownloadUrl(url: string, apiUrl: string): boolean {
  let parsed: URL;
  let api: URL;
  try {
    parsed = new URL(url);
    api = new URL(apiUrl);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && api.protocol === 'http:')) return false;
  if (parsed.username || parsed.password) return false;
  const host = api.hostname === 'api.github.com' ? 'github.com' : api.hostname;
  return parsed.hostname === host;
}

export interface ReleaseDist {
  directory: string;
  /** Dist file → the URL anyone (a board) may download it from. */
  urls: Map<string, string>;
  downloadedBytes: number;
}

/** The published release of the tag (drafts are not found), or one line saying why not. */
async function publishedRelease(clients: ReturnType<typeof createGitHubClients>, spec: ReleaseSpec, where: string) {
  try {
    return (await clients.api.rest.repos.getReleaseByTag({ owner: spec.owner, repo: spec.repo, tag: spec.tag })).data;
  } catch (error) {
    if (isRequestError(error) && error.status === 404)
      throw new UserError(`--release ${where}: no published release with that tag`, {
        hint: `check the tag on https://github.com/${spec.owner}/${spec.repo}/releases (drafts cannot be installed); private repositories need GITHUB_TOKEN`,
      });
    throw describeRequestError(error, {
      what: `--release ${where}`,
      repository: `${spec.owner}/${spec.repo}`,
      redactor: clients.redactor,
    });
  }
}

export async function fetchReleaseDist(
  spec: ReleaseSpec,
  options: {
    apiUrl: string;
    token: string | undefined;
    cacheDirectory: string;
    userAgent: string;
    log: (line: string) => void;
  },
): Promise<ReleaseDist> {
  const clients = createGitHubClients({
    apiUrl: options.apiUrl,
    token: options.token,
    userAgent: options.userAgent,
    log: options.log,
  });
  const where = `${spec.owner}/${spec.repo}@${spec.tag}`;
  const release = await publishedRelease(clients, spec, where);
  const assets = new Map(release.assets.map((a) => [a.name, a]));
  const directory = join(options.cacheDirectory, 'releases', spec.owner, spec.repo, spec.tag);
  await mkdir(directory, { recursive: true });
  const fetch: AssetFetch = { clients, spec, where, assets, directory, downloadedBytes: 0, downloadedFiles: 0 };
  const download = (name: string, file: string, expected: Expected | null, limit = METADATA_LIMIT) =>
    downloadAsset(fetch, name, file, expected, limit);

  // SHA256SUMS vouches for manifest.json, the manifest for everything else.
  await download(SUMS_FILE, SUMS_FILE, null);
  const sums = await readFile(join(directory, SUMS_FILE), 'utf8');
  const manifestSum = new RegExp(`^([0-9a-f]{64})\\s+\\*?${MANIFEST_FILE.replace('.', '\\.')}$`, 'm').exec(sums)?.[1];
  if (!manifestSum)
    throw new FailureError(`--release ${where}: ${SUMS_FILE} does not list ${MANIFEST_FILE}`, {
      hint: 'not a crossdock release; publish it with crossdock release',
    });
  await download(MANIFEST_FILE, MANIFEST_FILE, { sha256: manifestSum, size: null }, MANIFEST_LIMIT);
  // Parsed (parseManifest) before any name it lists is joined to the cache directory.
  const parsed = parseManifest(await readJson(join(directory, MANIFEST_FILE), where));
  if (!parsed.ok)
    throw new FailureError(`--release ${where}: ${MANIFEST_FILE}: ${parsed.problem}`, {
      hint: 'not a release crossdock published; nothing was downloaded from it or installed',
    });
  const manifest = parsed.manifest;
  // A release's manifest names the version its tag does: a manifest moved to another tag (an
  // older, vulnerable build republished as the newest) is refused.
  if (!tagMatchesVersion(spec.tag, manifest.version))
    throw new FailureError(
      `--release ${where}: the release's ${MANIFEST_FILE} is version ${manifest.version}, not the tag's`,
      { hint: `install the release tagged v${manifest.version}, or publish this build under its own tag` },
    );
  if (assets.has(`${SUMS_FILE}.sig`)) await download(`${SUMS_FILE}.sig`, `${SUMS_FILE}.sig`, null);
  const urls = new Map<string, string>();
  for (const artifact of manifest.artifacts) {
    const name = assetName(artifact.file);
    await download(name, artifact.file, artifact, artifact.size);
    const url = assets.get(name)?.browser_download_url;
    // No signature covers the URL the API hands out, and the board runs curl on it as root:
    // only the release's own server, over its scheme, is passed on (else the bundle is sent).
    if (url && isReleaseDownloadUrl(url, options.apiUrl)) urls.set(artifact.file, url);
  }
  if (fetch.downloadedFiles > 0)
    options.log(
      `${where}: downloaded ${fetch.downloadedFiles} files (${(fetch.downloadedBytes / 1024 / 1024).toFixed(1)} MiB) into ${directory}`,
    );
  return { directory, urls, downloadedBytes: fetch.downloadedBytes };
}

async function readJson(file: string, where: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (error) {
    throw new FailureError(`--release ${where}: ${MANIFEST_FILE} is not JSON (${(error as Error).message})`, {
      hint: 'not a release crossdock published; nothing was installed',
    });
  }
}

/** SHA256SUMS and its signature: a few lines each. */
const METADATA_LIMIT = 1024 * 1024;
/** manifest.json: one entry per binary and Go module; a real one is well under a megabyte. */
const MANIFEST_LIMIT = 32 * 1024 * 1024;

interface Expected {
  sha256: string;
  /** Bytes the manifest says; null where only the hash is known (manifest.json). */
  size: number | null;
}

interface AssetFetch {
  clients: ReturnType<typeof createGitHubClients>;
  spec: ReleaseSpec;
  where: string;
  assets: ReadonlyMap<string, { id: number; size: number }>;
  directory: string;
  downloadedBytes: number;
  downloadedFiles: number;
}

/**
 * One asset into the cache: kept when already there with the expected hash; else streamed into a
 * partial file, hashed as it comes, cut off past `limit` bytes (a hostile server's endless
 * SHA256SUMS must not fill the disk or the memory), and renamed only when it is what was expected.
 */
async function downloadAsset(
  fetch: AssetFetch,
  name: string,
  file: string,
  expected: Expected | null,
  limit: number,
): Promise<void> {
  const { clients, spec, where, directory } = fetch;
  const asset = fetch.assets.get(name);
  if (!asset)
    throw new FailureError(`--release ${where}: the release has no asset ${name}`, {
      hint: 'publish it with crossdock release, which uploads every file of the dist',
    });
  const path = join(directory, file);
  if (expected && existsSync(path) && (await sha256File(path)) === expected.sha256) return;
  const tooBig = () =>
    new FailureError(`--release ${where}: ${name} is larger than the ${limit} bytes it may be`, {
      hint: 'not a release crossdock published, or an asset was replaced; nothing was installed',
    });
  if (asset.size > limit) throw tooBig();
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  const response = await clients.transfer.rest.repos
    .getReleaseAsset({
      owner: spec.owner,
      repo: spec.repo,
      asset_id: asset.id,
      headers: { accept: 'application/octet-stream' },
      request: { parseSuccessResponseBody: false },
    })
    .catch((error: unknown) => {
      throw describeRequestError(error, {
        what: `--release ${where}: downloading ${name}`,
        repository: `${spec.owner}/${spec.repo}`,
        redactor: clients.redactor,
      });
    });
  const hash = createHash('sha256');
  let received = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > limit) {
        callback(tooBig());
        return;
      }
      hash.update(chunk);
      fetch.downloadedBytes += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.data as unknown as WebReadableStream), count, createWriteStream(partial));
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  const got = hash.digest('hex');
  if (expected && got !== expected.sha256) {
    await rm(partial, { force: true });
    throw new FailureError(
      `--release ${where}: ${name} downloaded with sha256 ${got}, the manifest says ${expected.sha256}`,
      { hint: 'the release asset was changed after it was published; nothing was installed' },
    );
  }
  await rename(partial, path);
  // SHA256SUMS is fetched every time (it vouches for the rest); the others only when new.
  if (expected) fetch.downloadedFiles += 1;
}
