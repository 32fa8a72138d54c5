/**
 * Moving asset bytes: uploads streamed from disk with their own retry loop (each attempt reopens
 * the file, so a connection reset half-way restarts that asset from its first byte), and
 * downloads hashed as they stream, for servers that give no digest.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Octokit } from '@octokit/rest';
import { FailureError } from '../errors.js';
import { hasErrorCode, isRequestError } from './github-client.js';
import type { ReleaseAsset, RemoteAsset } from './plan.js';

export interface TransferContext {
  api: Octokit;
  transfer: Octokit;
  owner: string;
  repo: string;
  releaseId: number;
  uploadUrl: string;
  retries: number;
  /** Waits are seconds × this; tests and benchmarks never change it, it exists for the API. */
  backoffBaseMs: number;
  log: (line: string) => void;
}

export function toRemoteAsset(data: {
  id: number;
  name: string;
  size: number;
  digest?: string | null;
  state: string;
}): RemoteAsset {
  return { id: data.id, name: data.name, size: data.size, digest: data.digest ?? null, state: data.state };
}

export async function listAssets(context: TransferContext): Promise<RemoteAsset[]> {
  const assets = await context.api.paginate(context.api.rest.repos.listReleaseAssets, {
    owner: context.owner,
    repo: context.repo,
    release_id: context.releaseId,
    per_page: 100,
  });
  return assets.map(toRemoteAsset);
}

export async function deleteAsset(context: TransferContext, id: number): Promise<void> {
  await context.api.rest.repos.deleteReleaseAsset({ owner: context.owner, repo: context.repo, asset_id: id });
}

export function sameContents(remote: RemoteAsset, asset: ReleaseAsset): boolean {
  return (
    remote.state === 'uploaded' &&
    remote.size === asset.size &&
    (remote.digest === null || remote.digest === `sha256:${asset.sha256}`)
  );
}

/**
 * Uploads one asset under `name`. Returns the asset as the server holds it. Retries 5xx, 429,
 * secondary rate limits and cut connections; a starter asset left by a cut upload is removed
 * before the next attempt; an identical asset that appears meanwhile (another job) counts as done.
 */
export async function uploadAsset(
  context: TransferContext,
  asset: ReleaseAsset,
  options: { name?: string; onProgress?: (sent: number) => void } = {},
): Promise<RemoteAsset> {
  const name = options.name ?? asset.name;
  // Gitea and Forgejo give upload_url without the RFC 6570 query template.
  const url = context.uploadUrl.includes('{') ? context.uploadUrl : `${context.uploadUrl}{?name,label}`;
  for (let attempt = 1; ; attempt += 1) {
    let sent = 0;
    const progress = (bytes: number) => {
      sent += bytes;
      options.onProgress?.(sent);
    };
    options.onProgress?.(0);
    try {
      const response = await context.transfer.rest.repos.uploadReleaseAsset({
        owner: context.owner,
        repo: context.repo,
        release_id: context.releaseId,
        url,
        name,
        // A stream, typed as Octokit's string: the request is sent as it is read.
        data: body(asset, progress) as unknown as string,
        headers: { 'content-type': contentType(asset.name), 'content-length': asset.size },
      });
      const remote = toRemoteAsset(response.data);
      if (sameContents(remote, asset)) return remote;
      context.log(`${name}: the server holds ${remote.size} bytes (${remote.digest ?? 'no digest'}); uploading again`);
      await deleteAsset(context, remote.id);
      if (attempt > context.retries) throw new FailureError(`${name}: arrived corrupted ${attempt} times`);
      continue;
    } catch (error) {
      if (error instanceof FailureError) throw error;
      if (hasErrorCode(error, 'already_exists')) {
        const existing = (await listAssets(context)).find((a) => a.name === name);
        if (existing?.state === 'uploaded') {
          if (await holds(context, existing, asset)) return existing;
          throw new FailureError(`${name}: another upload put different contents there meanwhile`, {
            hint: 'two jobs publish this release with different files; run again with --replace if this one is right',
          });
        }
        if (existing) await deleteAsset(context, existing.id);
        if (attempt > context.retries) throw error;
        continue;
      }
      const wait = retryDelay(error, attempt);
      if (wait === null || attempt > context.retries) throw error;
      context.log(`${name}: ${describeRetry(error)}; retrying from the start in ${wait} s`);
      await sleep(wait * context.backoffBaseMs);
      await removeStarter(context, name);
    }
  }
}

/** Whether a remote asset holds exactly these bytes: by digest where given, else by hashing it. */
export async function holds(context: TransferContext, remote: RemoteAsset, asset: ReleaseAsset): Promise<boolean> {
  if (!sameContents(remote, asset)) return false;
  if (remote.digest !== null) return true;
  const downloaded = await hashRemoteAsset(context, remote.id);
  return downloaded.size === asset.size && downloaded.sha256 === asset.sha256;
}

/** GitHub keeps an empty "starter" asset after a failed upload; it blocks the name until deleted. */
async function removeStarter(context: TransferContext, name: string): Promise<void> {
  const starter = (await listAssets(context)).find((a) => a.name === name && a.state !== 'uploaded');
  if (starter) await deleteAsset(context, starter.id);
}

/** Seconds to wait before retrying, or null when the error is not worth a retry. */
export function retryDelay(error: unknown, attempt: number): number | null {
  if (!isRequestError(error)) return null;
  const retryAfter = Number(error.response?.headers?.['retry-after']);
  const backoff = Math.min(2 ** (attempt - 1), 30);
  const secondary = error.status === 403 && /secondary rate limit/i.test(error.message);
  if (error.status === 429 || secondary) return Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 60;
  if (error.status >= 500) return Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : backoff;
  return null;
}

function describeRetry(error: unknown): string {
  if (!isRequestError(error)) return String(error);
  if (!error.response) return `connection failed (${error.message})`;
  return `GitHub answered ${error.status}`;
}

async function* body(asset: ReleaseAsset, progress: (bytes: number) => void): AsyncGenerator<Buffer> {
  if (asset.content !== undefined) {
    const buffer = Buffer.from(asset.content);
    progress(buffer.length);
    yield buffer;
    return;
  }
  if (asset.path === null) throw new Error(`${asset.name}: neither a file nor contents`);
  for await (const chunk of createReadStream(asset.path, { highWaterMark: 1 << 20 })) {
    progress((chunk as Buffer).length);
    yield chunk as Buffer;
  }
}

function contentType(name: string): string {
  if (name.endsWith('.tgz') || name.endsWith('.tar.gz')) return 'application/gzip';
  if (name.endsWith('.json')) return 'application/json';
  if (name === 'SHA256SUMS' || name.endsWith('.service') || name.endsWith('.socket') || name.endsWith('.sig'))
    return 'text/plain';
  return 'application/octet-stream';
}

/** SHA-256 of a release asset as the server serves it, hashed while it streams. */
export async function hashRemoteAsset(context: TransferContext, id: number): Promise<{ sha256: string; size: number }> {
  const response = await context.transfer.rest.repos.getReleaseAsset({
    owner: context.owner,
    repo: context.repo,
    asset_id: id,
    headers: { accept: 'application/octet-stream' },
    request: { parseSuccessResponseBody: false },
  });
  const stream = response.data as unknown as ReadableStream<Uint8Array>;
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}
