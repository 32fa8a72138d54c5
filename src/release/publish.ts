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

interface Session {
  options: PublishOptions;
  owner: string;
  repo: string;
  api: Octokit;
  transfer: Octokit;
  describe: (error: unknown, what: string) => Error;
  release: ReleaseVersion;
  merged: MergedRelease;
  notes: string | undefined;
  existing: GitHubRelease | null;
  latest: boolean;
  created: boolean;
  remote: RemoteAsset[];
  actions: AssetAction[];
  sent: Map<string, number>;
  tempDirectory: string | null;
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
  const session = {
    options,
    owner,
    repo,
    api: clients.api,
    transfer: clients.transfer,
    describe: (error: unknown, what: string) =>
      error instanceof Error && 'exitCode' in error
        ? error
        : describeRequestError(error, { what, repository, redactor: clients.redactor }),
    sent: new Map<string, number>(),
    tempDirectory: null,
    created: false,
  } as Partial<Session> as Session;

  const tasks = createTaskList<Record<string, never>>(
    [
      { title: 'Read the dist directories', task: async (_, task) => void (task.title = await prepare(session)) },
      {
        title: `Find the release on ${repository}`,
        task: async (_, task) => void (task.title = await findOrCreate(session)),
      },
      {
        title: 'Plan the assets',
        task: async (_, task) => void (task.title = await planSync(session)),
      },
      {
        title: 'Upload',
        skip: () => dryRun || session.actions.every((a) => a.kind === 'skip'),
        task: (_, task) =>
          task.newListr(
            session.actions
              .filter((action) => action.kind !== 'skip')
              .map((action) => ({
                title: action.asset.name,
                task: async (_ctx, sub) => {
                  await carryOut(session, action, (sent) => {
                    session.sent.set(action.asset.name, sent);
                    sub.output = `${formatBytes(sent)} / ${formatBytes(action.asset.size)}`;
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
        task: async (_, task) => void (task.title = await verify(session)),
      },
      {
        title: options.draft ? 'Leave as draft' : 'Publish',
        skip: () => dryRun || Boolean(options.draft),
        task: async (_, task) => void (task.title = await publish(session)),
      },
    ],
    { ...stageRenderer(options.renderer, options.onProgress) },
  );
  try {
    await tasks.run();
  } finally {
    if (session.tempDirectory) await rm(session.tempDirectory, { recursive: true, force: true });
  }
  return report(session);
}

async function prepare(session: Session): Promise<string> {
  const { options } = session;
  if (options.dists.length === 0)
    throw new UserError('release: no dist directory given', {
      hint: 'crossdock release dist/<version> [dist2/<version> …]',
    });
  const dists = await Promise.all(options.dists.map((directory) => readDist(directory)));
  const first = dists[0];
  if (!first) throw new UserError('release: no dist directory given');
  session.release = parseReleaseTag(options.tag ?? `${options.tagPrefix ?? 'v'}${first.manifest.version}`);
  session.merged = mergeDists(dists, session.release, sha256);
  if (options.signingKey) await sign(session, options.signingKey);
  session.notes = await notes(session);
  const targets = session.merged.manifest.targets.join(', ');
  return `${session.merged.assets.length} assets for ${session.release.tag} (${targets})`;
}

/** Signs the merged SHA256SUMS; the dists' own signatures cover their own (unmerged) lists. */
async function sign(session: Session, key: string) {
  const sums = session.merged.assets.find((a) => a.name === SUMS_FILE);
  if (!sums?.content) return;
  session.tempDirectory = await mkdtemp(join(tmpdir(), 'crossdock-release-'));
  const file = join(session.tempDirectory, SUMS_FILE);
  await writeFile(file, sums.content);
  await session.options.runner.run('ssh-keygen', ['-Y', 'sign', '-n', 'crossdock', '-f', key, file]);
  const signature = await readFile(`${file}.sig`, 'utf8');
  session.merged.assets.push({
    name: `${SUMS_FILE}.sig`,
    path: null,
    size: Buffer.byteLength(signature),
    sha256: sha256(signature),
    content: signature,
  });
}

async function notes(session: Session): Promise<string | undefined> {
  const source = session.options.notes ?? { kind: 'none' };
  if (source.kind === 'none') return undefined;
  if (source.kind === 'file') {
    try {
      return await readFile(source.path, 'utf8');
    } catch {
      throw new UserError(`--notes ${source.path}: cannot read the file`, { hint: 'give a Markdown file' });
    }
  }
  const changes = await gitChanges(session.options.runner, session.options.cwd ?? process.cwd(), session.release);
  return releaseNotes({
    release: session.release,
    manifest: session.merged.manifest,
    assets: session.merged.assets,
    changes,
  });
}

async function findOrCreate(session: Session): Promise<string> {
  const { api, owner, repo, release, options } = session;
  let releases: GitHubRelease[];
  try {
    releases = await api.paginate(api.rest.repos.listReleases, { owner, repo, per_page: 100 });
  } catch (error) {
    throw session.describe(error, `listing the releases of ${owner}/${repo}`);
  }
  session.existing = pickRelease(releases, release.tag);
  session.latest = shouldMakeLatest(
    release,
    releases.filter((r) => !r.draft && r.tag_name !== release.tag).map((r) => r.tag_name),
  );
  if (session.existing)
    return `${release.tag}: ${session.existing.draft ? 'draft' : 'published'} release ${session.existing.id} found`;
  if (options.dryRun) return `${release.tag}: would create a draft release`;
  try {
    const { data } = await api.rest.repos.createRelease({
      owner,
      repo,
      tag_name: release.tag,
      name: release.tag,
      draft: true,
      prerelease: release.prerelease,
      ...(session.notes === undefined ? {} : { body: session.notes }),
      ...(options.targetCommitish ? { target_commitish: options.targetCommitish } : {}),
    });
    session.existing = data;
    session.created = true;
  } catch (error) {
    // Only a published release conflicts by tag: another job published it meanwhile.
    if (!hasErrorCode(error, 'already_exists')) throw session.describe(error, `creating release ${release.tag}`);
    const again = (await api.paginate(api.rest.repos.listReleases, { owner, repo, per_page: 100 })) as GitHubRelease[];
    session.existing = pickRelease(again, release.tag);
    if (!session.existing) throw session.describe(error, `creating release ${release.tag}`);
    return `${release.tag}: published meanwhile by another run (release ${session.existing.id})`;
  }
  return `${release.tag}: draft release ${session.existing.id} created`;
}

/** The published release with this tag, else the oldest draft with it (drafts may share a tag). */
function pickRelease(releases: readonly GitHubRelease[], tag: string): GitHubRelease | null {
  const withTag = releases.filter((r) => r.tag_name === tag);
  return withTag.find((r) => !r.draft) ?? withTag.sort((a, b) => a.id - b.id)[0] ?? null;
}

function transferContext(session: Session): TransferContext {
  const existing = session.existing;
  if (!existing) throw new Error('no release to transfer to');
  return {
    api: session.api,
    transfer: session.transfer,
    owner: session.owner,
    repo: session.repo,
    releaseId: existing.id,
    uploadUrl: existing.upload_url,
    retries: session.options.retries ?? 4,
    backoffBaseMs: session.options.backoffBaseMs ?? 1000,
    log: session.options.log ?? (() => undefined),
  };
}

async function planSync(session: Session): Promise<string> {
  const { options, merged, existing } = session;
  session.remote = [];
  if (existing) {
    try {
      session.remote = await listAssets(transferContext(session));
    } catch (error) {
      throw session.describe(error, `listing the assets of ${session.release.tag}`);
    }
  }
  const planned = planAssets(merged.assets, session.remote, { replace: options.replace ?? false });
  // Servers without digests: hash the remote copy before deciding.
  session.actions = await Promise.all(
    planned.map(async (action): Promise<AssetAction> => {
      if (action.kind !== 'compare') return action;
      const remote = await hashRemoteAsset(transferContext(session), action.remote.id).catch((error: unknown) => {
        throw session.describe(error, `downloading ${action.asset.name} to compare it`);
      });
      return decideAsset(action.asset, action.remote, {
        replace: options.replace ?? false,
        remoteSha256: remote.sha256,
      });
    }),
  );
  const refused = session.actions.filter((a) => a.kind === 'refuse');
  const changing = session.actions.filter((a) => a.kind !== 'skip');
  if (existing && !existing.draft && existing.immutable && changing.length > 0)
    throw new FailureError(
      `${session.release.tag} is published and immutable: its assets cannot change (${changing.map((a) => a.asset.name).join(', ')})`,
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
  const count = (kind: AssetAction['kind']) => session.actions.filter((a) => a.kind === kind).length;
  const verb = options.dryRun ? 'would upload' : 'to upload';
  return `${count('upload')} ${verb}, ${count('replace')} to replace, ${count('skip')} already there`;
}

async function carryOut(session: Session, action: AssetAction, onProgress: (sent: number) => void): Promise<void> {
  const context = transferContext(session);
  const what = `uploading ${action.asset.name}`;
  try {
    if (action.kind === 'upload') {
      await uploadAsset(context, action.asset, { onProgress });
      return;
    }
    if (action.kind !== 'replace') return;
    if (session.existing?.draft || action.remote.state !== 'uploaded') {
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
    await session.api.rest.repos.updateReleaseAsset({
      owner: session.owner,
      repo: session.repo,
      asset_id: staged.id,
      name: action.asset.name,
    });
  } catch (error) {
    throw session.describe(error, what);
  }
}

async function verify(session: Session): Promise<string> {
  const context = transferContext(session);
  let remote: RemoteAsset[];
  try {
    remote = await listAssets(context);
  } catch (error) {
    throw session.describe(error, `listing the assets of ${session.release.tag}`);
  }
  const byName = new Map(remote.map((a) => [a.name, a]));
  const problems = session.merged.assets.flatMap((asset) => {
    const found = byName.get(asset.name);
    if (!found) return [`${asset.name} is missing`];
    return sameContents(found, asset) ? [] : [`${asset.name} is not the file that was uploaded`];
  });
  if (problems.length > 0)
    throw new FailureError(`${session.release.tag}: ${problems.join('; ')}`, {
      hint: `the release stays a draft; run crossdock release again to complete it`,
    });
  session.remote = remote;
  const notes = session.notes;
  if (notes !== undefined && session.existing && session.existing.body !== notes && !session.created) {
    const { data } = await session.api.rest.repos
      .updateRelease({ owner: session.owner, repo: session.repo, release_id: context.releaseId, body: notes })
      .catch((error: unknown) => {
        throw session.describe(error, `updating the notes of ${session.release.tag}`);
      });
    session.existing = data;
  }
  return `${session.merged.assets.length} assets present with the right size and SHA-256`;
}

async function publish(session: Session): Promise<string> {
  const existing = session.existing;
  if (!existing) throw new Error('nothing to publish');
  if (!existing.draft) return `${session.release.tag} was already published`;
  try {
    const { data } = await session.api.rest.repos.updateRelease({
      owner: session.owner,
      repo: session.repo,
      release_id: existing.id,
      draft: false,
      prerelease: session.release.prerelease,
      make_latest: session.latest ? 'true' : 'false',
    });
    session.existing = data;
  } catch (error) {
    throw session.describe(error, `publishing ${session.release.tag}`);
  }
  return `${session.release.tag} published${session.latest ? ' as latest' : ''}: ${session.existing.html_url}`;
}

function report(session: Session): ReleaseReport {
  const names = new Set(session.merged.assets.map((a) => a.name));
  const outcome = (action: AssetAction): AssetOutcome =>
    action.kind === 'skip' ? 'skipped' : action.kind === 'replace' ? 'replaced' : 'uploaded';
  return {
    repository: `${session.owner}/${session.repo}`,
    tag: session.release.tag,
    version: session.release.version,
    url: session.existing?.html_url ?? null,
    releaseId: session.existing?.id ?? null,
    dryRun: session.options.dryRun ?? false,
    draft: session.existing?.draft ?? true,
    prerelease: session.release.prerelease,
    latest: session.latest,
    created: session.created,
    published: session.existing ? !session.existing.draft : false,
    assets: session.actions.map((action) => ({
      name: action.asset.name,
      size: action.asset.size,
      sha256: action.asset.sha256,
      action: outcome(action),
      bytesSent: session.sent.get(action.asset.name) ?? 0,
    })),
    extraAssets: session.remote.filter((a) => !names.has(a.name)).map((a) => a.name),
  };
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export type { ReleaseAsset };
