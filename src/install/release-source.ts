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
import { type Manifest, MANIFEST_FILE, manifestProblem, SUMS_FILE } from '../artifacts/manifest.js';
import { FailureError, UserError } from '../errors.js';
import { createGitHubClients, describeRequestError, isRequestError } from '../release/github-client.js';
import { assetName } from '../release/plan.js';

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
  let downloadedBytes = 0;
  let downloadedFiles = 0;
  const download = async (name: string, file: string, expected: string | null): Promise<void> => {
    const asset = assets.get(name);
    if (!asset)
      throw new FailureError(`--release ${where}: the release has no asset ${name}`, {
        hint: 'publish it with crossdock release, which uploads every file of the dist',
      });
    const path = join(directory, file);
    if (expected && existsSync(path) && (await sha256File(path)) === expected) return;
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
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        downloadedBytes += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(response.data as unknown as WebReadableStream), count, createWriteStream(partial));
    const got = hash.digest('hex');
    if (expected && got !== expected) {
      await rm(partial, { force: true });
      throw new FailureError(
        `--release ${where}: ${name} downloaded with sha256 ${got}, the manifest says ${expected}`,
        {
          hint: 'the release asset was changed after it was published; nothing was installed',
        },
      );
    }
    await rename(partial, path);
    // SHA256SUMS is fetched every time (it vouches for the rest); the others only when new.
    if (expected) downloadedFiles += 1;
  };

  // SHA256SUMS vouches for manifest.json, the manifest for everything else.
  await download(SUMS_FILE, SUMS_FILE, null);
  const sums = await readFile(join(directory, SUMS_FILE), 'utf8');
  const manifestSum = new RegExp(`^([0-9a-f]{64})\\s+\\*?${MANIFEST_FILE.replace('.', '\\.')}$`, 'm').exec(sums)?.[1];
  if (!manifestSum)
    throw new FailureError(`--release ${where}: ${SUMS_FILE} does not list ${MANIFEST_FILE}`, {
      hint: 'not a crossdock release; publish it with crossdock release',
    });
  await download(MANIFEST_FILE, MANIFEST_FILE, manifestSum);
  const manifest = JSON.parse(await readFile(join(directory, MANIFEST_FILE), 'utf8')) as Manifest;
  // Checked before any name it lists is joined to the cache directory.
  const problem = manifestProblem(manifest);
  if (problem)
    throw new FailureError(`--release ${where}: ${MANIFEST_FILE}: ${problem}`, {
      hint: 'not a release crossdock published; nothing was downloaded from it or installed',
    });
  if (assets.has(`${SUMS_FILE}.sig`)) await download(`${SUMS_FILE}.sig`, `${SUMS_FILE}.sig`, null);
  const urls = new Map<string, string>();
  for (const artifact of manifest.artifacts) {
    const name = assetName(artifact.file);
    await download(name, artifact.file, artifact.sha256);
    const url = assets.get(name)?.browser_download_url;
    if (url) urls.set(artifact.file, url);
  }
  if (downloadedFiles > 0)
    options.log(
      `${where}: downloaded ${downloadedFiles} files (${(downloadedBytes / 1024 / 1024).toFixed(1)} MiB) into ${directory}`,
    );
  return { directory, urls, downloadedBytes };
}
