/**
 * The release stage: dist directories → one GitHub release. Find the release by tag (drafts
 * included: GitHub does not find drafts by tag) or create it as a draft, sync the assets by name,
 * size and SHA-256, check the result, and only then publish. Every step can be interrupted: a
 * run killed half-way leaves a draft that the next run completes, and a published release is
 * never missing an asset.
 */
import { readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Octokit } from '@octokit/rest';
import { sha256 } from '../artifacts/checksums.js';
import { SUMS_FILE } from '../artifacts/manifest.js';
import { FailureError, MissingPrerequisiteError, UserError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { createTaskList, type RendererContext, stageRenderer } from '../ui/renderer.js';
import type { ProgressSink } from '../ui/progress-events.js';
import { readDist } from '../artifacts/read-dist.js';
import { createGitHubClients, describeRequestError, hasErrorCode, parseRepository } from './github-client.js';
import { gitChanges, releaseNotes } from './notes.js';
import {
  type AssetAction,
  mergeDists,
  type MergedRelease,
  parseReleaseTag,
  decideAsset,
  planAssets,
  type ReleaseAsset,
  type ReleaseVersion,
  type RemoteAsset,
  shouldMakeLatest,
} from './plan.js';
import {
  deleteAsset,
  hashRemoteAsset,
  listAssets,
  sameContents,
  type TransferContext,
  uploadAsset,
} from './transfer.js';

export type NotesSource = { kind: 'none' } | { kind: 'file'; path: string } | { kind: 'generate' };

export interface PublishOptions {
  dists: readonly string[];
  repository: string | undefined;
  /** Default: the manifest's version with tagPrefix. */
  tag?: string | undefined;
  tagPrefix?: string;
  apiUrl: string;
  token: string | undefined;
  userAgent: string;
  /** Leave the release as a draft instead of publishing it. */
  draft?: boolean;
  notes?: NotesSource;
  replace?: boolean;
  dryRun?: boolean;
  concurrency?: number;
  /** Where GitHub creates the tag if it does not exist yet, e.g. GITHUB_SHA. */
  targetCommitish?: string | undefined;
  /** OpenSSH key: SHA256SUMS.sig is published beside SHA256SUMS. */
  signingKey?: string | undefined;
  runner: Runner;
  /** For --generate-notes: the git checkout the release is cut from. */
  cwd?: string;
  renderer?: RendererContext;
  /** Progress as events (the CLI draws it instead, through `renderer`). */
  onProgress?: ProgressSink;
  log?: (line: string) => void;
  retries?: number;
  backoffBaseMs?: number;
}

export type AssetOutcome = 'uploaded' | 'skipped' | 'replaced';

export interface ReleaseReport {
  repository: string;
  tag: string;
  version: string;
  url: string | null;
  releaseId: number | null;
  dryRun: boolean;
  draft: boolean;
  prerelease: boolean;
  latest: boolean;
  created: boolean;
  published: boolean;
  assets: Array<{ name: string; size: number; sha256: string; action: AssetOutcome; bytesSent: number }>;
  /** Assets on the release that no dist provides (left alone). */
  extraAssets: string[];
}

interface GitHubRelease {
  id: number;
  tag_name: string;
  draft: boolean;
  prerelease: boolean;
  immutable?: boolean;
  html_url: string;
  upload_url: string;
  body?: string | null;
}

/** What every step shares, fixed before the first one runs. */
interface Connection {
  options: PublishOptions;
  owner: string;
  repo: string;
  api: Octokit;
  transfer: Octokit;
  describe: (error: unknown, what: string) => Error;
}

/** The dists read and merged: the release's assets, its tag and notes. */
interface Prepared {
  release: ReleaseVersion;
  merged: MergedRelease;
  notes: string | undefined;
  /** Holds the signature while it is uploaded; removed when the run ends. */
  tempDirectory: string | null;
}

/** The release on GitHub, as the last step left it. */
interface Found {
  existing: GitHubRelease | null;
  latest: boolean;
  created: boolean;
}

/** What each asset needs, and what the release held when it was decided. */
interface Planned {
  remote: RemoteAsset[];
  actions: AssetAction[];
}

/** A step's result and the title its task shows afterwards. */
interface Step<T> {
  title: string;
  value: T;
}

export async function publishRelease(options: PublishOptions): Promise<ReleaseReport> {
  const { owner, repo } = parseRepository(options.repository);
  const dryRun = options.dryRun ?? false;
  if (!options.token && !dryRun)
    throw new MissingPrerequisiteError('no GitHub token: GITHUB_TOKEN and GH_TOKEN are both unset', {
      hint: 'export GITHUB_TOKEN=… (a token with contents: write), or in Actions pass ${{ secrets.GITHUB_TOKEN }}',
    });
  const log = options.log ?? (() => undefined);
  const clients = createGitHubClients({
    apiUrl: options.apiUrl,
    token: options.token,
    userAgent: options.userAgent,
    log,
    ...(options.retries === undefined ? {} : { retries: options.retries }),
  });
  const repository = `${owner}/${repo}`;
  const connection: Connection = {
    options,
    owner,
    repo,
    api: clients.api,
    transfer: clients.transfer,
    describe: (error: unknown, what: string) =>
      error instanceof Error && 'exitCode' in error
        ? error
        : describeRequestError(error, { what, repository, redactor: clients.redactor }),
  };

  // Each step's result, typed, set by the step that makes it; a later step reads it, never a bag.
  let prepared: Prepared | undefined;
  let found: Found | undefined;
  let planned: Planned | undefined;
  let remoteAfter: RemoteAsset[] | undefined;
  const sent = new Map<string, number>();
  const made = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`release: ${what} is needed before it was made`);
    return value;
  };
  const titled =
    <T>(work: () => Promise<Step<T>>, keep: (value: T) => void) =>
    async (_: unknown, task: { title: string }) => {
      const step = await work();
      keep(step.value);
      task.title = step.title;
    };

  const tasks = createTaskList<Record<string, never>>(
    [
      {
        title: 'Read the dist directories',
        task: titled(
          () => prepare(connection),
          (value) => (prepared = value),
        ),
      },
      {
        title: `Find the release on ${repository}`,
        task: titled(
          () => findOrCreate(connection, made(prepared, 'the dists')),
          (value) => (found = value),
        ),
      },
      {
        title: 'Plan the assets',
        task: titled(
          () => planSync(connection, made(prepared, 'the dists'), made(found, 'the release')),
          (value) => (planned = value),
        ),
      },
      {
        title: 'Upload',
        skip: () => dryRun || made(planned, 'the plan').actions.every((a) => a.kind === 'skip'),
        task: (_, task) =>
          task.newListr(
            made(planned, 'the plan')
              .actions.filter((action) => action.kind !== 'skip')
              .map((action) => ({
                title: action.asset.name,
                task: async (_ctx, sub) => {
                  await carryOut(connection, made(found, 'the release'), action, (bytes) => {
                    sent.set(action.asset.name, bytes);
                    sub.output = `${formatBytes(bytes)} / ${formatBytes(action.asset.size)}`;
                  });
                  sub.title = `${action.asset.name} ${action.kind === 'replace' ? 'replaced' : 'uploaded'} (${formatBytes(action.asset.size)})`;
                },
              })),
            { concurrent: options.concurrency ?? 4, exitOnError: true },
          ),
      },
      {
        title: 'Verify the release',
        skip: () => dryRun,
        task: titled(
          () => verify(connection, made(prepared, 'the dists'), made(found, 'the release')),
          (value) => {
            remoteAfter = value.remote;
            found = { ...made(found, 'the release'), existing: value.existing };
          },
        ),
      },
      {
        title: options.draft ? 'Leave as draft' : 'Publish',
        skip: () => dryRun || Boolean(options.draft),
        task: titled(
          () => publish(connection, made(prepared, 'the dists'), made(found, 'the release')),
          (existing) => (found = { ...made(found, 'the release'), existing }),
        ),
      },
    ],
    { ...stageRenderer(options.renderer, options.onProgress) },
  );
  try {
    await tasks.run();
  } finally {
    if (prepared?.tempDirectory) await rm(prepared.tempDirectory, { recursive: true, force: true });
  }
  return report(connection, {
    prepared: made(prepared, 'the dists'),
    found: made(found, 'the release'),
    planned: made(planned, 'the plan'),
    remote: remoteAfter ?? made(planned, 'the plan').remote,
    sent,
  });
}

async function prepare(connection: Connection): Promise<Step<Prepared>> {
  const { options } = connection;
  if (options.dists.length === 0)
    throw new UserError('release: no dist directory given', {
      hint: 'crossdock release dist/<version> [dist2/<version> …]',
    });
  const dists = await Promise.all(options.dists.map((directory) => readDist(directory)));
  const first = dists[0];
  if (!first) throw new UserError('release: no dist directory given');
  const release = parseReleaseTag(options.tag ?? `${options.tagPrefix ?? 'v'}${first.manifest.version}`);
  const merged = mergeDists(dists, release, sha256);
  const tempDirectory = options.signingKey ? await sign(options, merged, options.signingKey) : null;
  const notes = await releaseNotesFor(options, release, merged);
  const targets = merged.manifest.targets.join(', ');
  return {
    title: `${merged.assets.length} assets for ${release.tag} (${targets})`,
    value: { release, merged, notes, tempDirectory },
  };
}

/** Signs the merged SHA256SUMS (adding the signature to the assets); the dists' own signatures cover their own lists. */
async function sign(options: PublishOptions, merged: MergedRelease, key: string): Promise<string | null> {
  const sums = merged.assets.find((a) => a.name === SUMS_FILE);
  if (!sums?.content) return null;
  const directory = await mkdtemp(join(tmpdir(), 'crossdock-release-'));
  const file = join(directory, SUMS_FILE);
  await writeFile(file, sums.content);
  await options.runner.run('ssh-keygen', ['-Y', 'sign', '-n', 'crossdock', '-f', key, file]);
  const signature = await readFile(`${file}.sig`, 'utf8');
  merged.assets.push({
    name: `${SUMS_FILE}.sig`,
    path: null,
    size: Buffer.byteLength(signature),
    sha256: sha256(signature),
    content: signature,
  });
  return directory;
}

async function releaseNotesFor(
  options: PublishOptions,
  release: ReleaseVersion,
  merged: MergedRelease,
): Promise<string | undefined> {
  const source = options.notes ?? { kind: 'none' };
  if (source.kind === 'none') return undefined;
  if (source.kind === 'file') {
    try {
      return await readFile(source.path, 'utf8');
    } catch {
      throw new UserError(`--notes ${source.path}: cannot read the file`, { hint: 'give a Markdown file' });
    }
  }
  const changes = await gitChanges(options.runner, options.cwd ?? process.cwd(), release);
  return releaseNotes({ release, manifest: merged.manifest, assets: merged.assets, changes });
}

async function findOrCreate(connection: Connection, prepared: Prepared): Promise<Step<Found>> {
  const { api, owner, repo, options } = connection;
  const { release } = prepared;
  let releases: GitHubRelease[];
  try {
    releases = await api.paginate(api.rest.repos.listReleases, { owner, repo, per_page: 100 });
  } catch (error) {
    throw connection.describe(error, `listing the releases of ${owner}/${repo}`);
  }
  const existing = pickRelease(releases, release.tag);
  const latest = shouldMakeLatest(
    release,
    releases.filter((r) => !r.draft && r.tag_name !== release.tag).map((r) => r.tag_name),
  );
  if (existing)
    return {
      title: `${release.tag}: ${existing.draft ? 'draft' : 'published'} release ${existing.id} found`,
      value: { existing, latest, created: false },
    };
  if (options.dryRun)
    return { title: `${release.tag}: would create a draft release`, value: { existing: null, latest, created: false } };
  try {
    const { data } = await api.rest.repos.createRelease({
      owner,
      repo,
      tag_name: release.tag,
      name: release.tag,
      draft: true,
      prerelease: release.prerelease,
      ...(prepared.notes === undefined ? {} : { body: prepared.notes }),
      ...(options.targetCommitish ? { target_commitish: options.targetCommitish } : {}),
    });
    return {
      title: `${release.tag}: draft release ${data.id} created`,
      value: { existing: data, latest, created: true },
    };
  } catch (error) {
    // Only a published release conflicts by tag: another job published it meanwhile.
    if (!hasErrorCode(error, 'already_exists')) throw connection.describe(error, `creating release ${release.tag}`);
    const again = (await api.paginate(api.rest.repos.listReleases, { owner, repo, per_page: 100 })) as GitHubRelease[];
    const published = pickRelease(again, release.tag);
    if (!published) throw connection.describe(error, `creating release ${release.tag}`);
    return {
      title: `${release.tag}: published meanwhile by another run (release ${published.id})`,
      value: { existing: published, latest, created: false },
    };
  }
}

/** The published release with this tag, else the oldest draft with it (drafts may share a tag). */
function pickRelease(releases: readonly GitHubRelease[], tag: string): GitHubRelease | null {
  const withTag = releases.filter((r) => r.tag_name === tag);
  return withTag.find((r) => !r.draft) ?? withTag.sort((a, b) => a.id - b.id)[0] ?? null;
}

function transferContext(connection: Connection, existing: GitHubRelease | null): TransferContext {
  if (!existing) throw new Error('no release to transfer to');
  return {
    api: connection.api,
    transfer: connection.transfer,
    owner: connection.owner,
    repo: connection.repo,
    releaseId: existing.id,
    uploadUrl: existing.upload_url,
    retries: connection.options.retries ?? 4,
    backoffBaseMs: connection.options.backoffBaseMs ?? 1000,
    log: connection.options.log ?? (() => undefined),
  };
}

async function planSync(connection: Connection, prepared: Prepared, found: Found): Promise<Step<Planned>> {
  const { options } = connection;
  const { merged, release } = prepared;
  const { existing } = found;
  let remote: RemoteAsset[] = [];
  if (existing) {
    try {
      remote = await listAssets(transferContext(connection, existing));
    } catch (error) {
      throw connection.describe(error, `listing the assets of ${release.tag}`);
    }
  }
  const planned = planAssets(merged.assets, remote, { replace: options.replace ?? false });
  // Servers without digests: hash the remote copy before deciding.
  const actions = await Promise.all(
    planned.map(async (action): Promise<AssetAction> => {
      if (action.kind !== 'compare') return action;
      const hashed = await hashRemoteAsset(transferContext(connection, existing), action.remote.id).catch(
        (error: unknown) => {
          throw connection.describe(error, `downloading ${action.asset.name} to compare it`);
        },
      );
      return decideAsset(action.asset, action.remote, {
        replace: options.replace ?? false,
        remoteSha256: hashed.sha256,
      });
    }),
  );
  const refused = actions.filter((a) => a.kind === 'refuse');
  const changing = actions.filter((a) => a.kind !== 'skip');
  if (existing && !existing.draft && existing.immutable && changing.length > 0)
    throw new FailureError(
      `${release.tag} is published and immutable: its assets cannot change (${changing.map((a) => a.asset.name).join(', ')})`,
      { hint: 'publish a new version instead; immutable releases cannot be edited, even with --replace' },
    );
  const [firstRefused] = refused;
  if (firstRefused?.kind === 'refuse')
    throw new FailureError(
      refused.length === 1
        ? firstRefused.reason
        : `${refused.length} assets differ: ${refused.map((a) => a.asset.name).join(', ')}`,
      { hint: 'the release holds other builds of these files; --replace replaces them, or publish a new version' },
    );
  const count = (kind: AssetAction['kind']) => actions.filter((a) => a.kind === kind).length;
  const verb = options.dryRun ? 'would upload' : 'to upload';
  return {
    title: `${count('upload')} ${verb}, ${count('replace')} to replace, ${count('skip')} already there`,
    value: { remote, actions },
  };
}

async function carryOut(
  connection: Connection,
  found: Found,
  action: AssetAction,
  onProgress: (sent: number) => void,
): Promise<void> {
  const context = transferContext(connection, found.existing);
  const what = `uploading ${action.asset.name}`;
  try {
    if (action.kind === 'upload') {
      await uploadAsset(context, action.asset, { onProgress });
      return;
    }
    if (action.kind !== 'replace') return;
    if (found.existing?.draft || action.remote.state !== 'uploaded') {
      await deleteAsset(context, action.remote.id);
      await uploadAsset(context, action.asset, { onProgress });
      return;
    }
    // A published release: upload beside the old asset, then swap names, so the asset is
    // missing for one request instead of for a whole upload.
    const staged = await uploadAsset(context, action.asset, {
      name: `${action.asset.name}.crossdock-new`,
      onProgress,
    });
    await deleteAsset(context, action.remote.id);
    await connection.api.rest.repos.updateReleaseAsset({
      owner: connection.owner,
      repo: connection.repo,
      asset_id: staged.id,
      name: action.asset.name,
    });
  } catch (error) {
    throw connection.describe(error, what);
  }
}

/** Every asset present with its size and SHA-256; the notes brought up to date on a release found. */
async function verify(
  connection: Connection,
  prepared: Prepared,
  found: Found,
): Promise<Step<{ remote: RemoteAsset[]; existing: GitHubRelease | null }>> {
  const { release, merged, notes } = prepared;
  const context = transferContext(connection, found.existing);
  let remote: RemoteAsset[];
  try {
    remote = await listAssets(context);
  } catch (error) {
    throw connection.describe(error, `listing the assets of ${release.tag}`);
  }
  const byName = new Map(remote.map((a) => [a.name, a]));
  const problems = merged.assets.flatMap((asset) => {
    const present = byName.get(asset.name);
    if (!present) return [`${asset.name} is missing`];
    return sameContents(present, asset) ? [] : [`${asset.name} is not the file that was uploaded`];
  });
  if (problems.length > 0)
    throw new FailureError(`${release.tag}: ${problems.join('; ')}`, {
      hint: `the release stays a draft; run crossdock release again to complete it`,
    });
  let existing = found.existing;
  if (notes !== undefined && existing && existing.body !== notes && !found.created) {
    const { data } = await connection.api.rest.repos
      .updateRelease({ owner: connection.owner, repo: connection.repo, release_id: context.releaseId, body: notes })
      .catch((error: unknown) => {
        throw connection.describe(error, `updating the notes of ${release.tag}`);
      });
    existing = data;
  }
  return {
    title: `${merged.assets.length} assets present with the right size and SHA-256`,
    value: { remote, existing },
  };
}

async function publish(connection: Connection, prepared: Prepared, found: Found): Promise<Step<GitHubRelease>> {
  const { release } = prepared;
  const existing = found.existing;
  if (!existing) throw new Error('nothing to publish');
  if (!existing.draft) return { title: `${release.tag} was already published`, value: existing };
  try {
    const { data } = await connection.api.rest.repos.updateRelease({
      owner: connection.owner,
      repo: connection.repo,
      release_id: existing.id,
      draft: false,
      prerelease: release.prerelease,
      make_latest: found.latest ? 'true' : 'false',
    });
    return { title: `${release.tag} published${found.latest ? ' as latest' : ''}: ${data.html_url}`, value: data };
  } catch (error) {
    throw connection.describe(error, `publishing ${release.tag}`);
  }
}

function report(
  connection: Connection,
  run: { prepared: Prepared; found: Found; planned: Planned; remote: RemoteAsset[]; sent: ReadonlyMap<string, number> },
): ReleaseReport {
  const { prepared, found, planned } = run;
  const names = new Set(prepared.merged.assets.map((a) => a.name));
  const outcome = (action: AssetAction): AssetOutcome =>
    action.kind === 'skip' ? 'skipped' : action.kind === 'replace' ? 'replaced' : 'uploaded';
  return {
    repository: `${connection.owner}/${connection.repo}`,
    tag: prepared.release.tag,
    version: prepared.release.version,
    url: found.existing?.html_url ?? null,
    releaseId: found.existing?.id ?? null,
    dryRun: connection.options.dryRun ?? false,
    draft: found.existing?.draft ?? true,
    prerelease: prepared.release.prerelease,
    latest: found.latest,
    created: found.created,
    published: found.existing ? !found.existing.draft : false,
    assets: planned.actions.map((action) => ({
      name: action.asset.name,
      size: action.asset.size,
      sha256: action.asset.sha256,
      action: outcome(action),
      bytesSent: run.sent.get(action.asset.name) ?? 0,
    })),
    extraAssets: run.remote.filter((a) => !names.has(a.name)).map((a) => a.name),
  };
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export type { ReleaseAsset };
