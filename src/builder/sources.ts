/**
 * Sources: a spec from a recipe or crossdock.yaml → a directory with the code, its exact
 * revision and its commit time (SOURCE_DATE_EPOCH). Git sources are shallow fetches of one ref into
 * a bare repository in the cache; each revision is extracted once and reused.
 */
import { cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { UserError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { sha256 } from '../artifacts/checksums.js';
import { materialize } from '../fs/materialize.js';

export { materialize };
import { versionFromDescribe } from './version.js';

export type SourceSpec =
  | { kind: 'git'; url: string; ref: string }
  | { kind: 'directory'; path: string }
  | { kind: 'debian'; package: string; version: string | null; suite: string | null };

export interface SourceCheckout {
  spec: string;
  kind: SourceSpec['kind'];
  /** The extracted source tree; crossdock may write generated files into it. */
  directory: string;
  /** Commit id, Debian version, or content hash. */
  revision: string;
  revisionShort: string;
  /** Seconds since the epoch: commit time, changelog date, or newest file. */
  epoch: number;
  /** The version the source says it is, if it says. */
  version: string | null;
  /** One line for people: `git+file:///repo#main at 1a2b3c4`. */
  description: string;
  /** GOPATH entries with the Go libraries this source builds with (Debian sources). */
  goPath?: string[];
  /** The Debian packages those Go libraries came from, for the SBOM. */
  goLibraries?: Array<{ name: string; version: string }>;
  /** The Go minor Debian builds this suite with (`1.24`): what its Go libraries compile with. */
  debianGo?: string;
}

export function parseSourceSpec(spec: string, where: string, baseDirectory: string): SourceSpec {
  const trimmed = spec.trim();
  if (trimmed.startsWith('git+')) {
    const withoutPrefix = trimmed.slice(4);
    const hash = withoutPrefix.lastIndexOf('#');
    const at = withoutPrefix.lastIndexOf('@');
    // `#ref` always; `@ref` only after the last slash, so `ssh://git@host/x` stays a URL.
    const split = hash !== -1 ? hash : at > withoutPrefix.lastIndexOf('/') ? at : -1;
    const url = split === -1 ? withoutPrefix : withoutPrefix.slice(0, split);
    const ref = split === -1 ? 'HEAD' : withoutPrefix.slice(split + 1);
    if (!/^(https?|file|ssh):\/\//.test(url) || !ref) {
      throw new UserError(`${where}: "${spec}" is not a git source`, {
        hint: 'write git+https://host/repo.git#v1.2.3 or git+file:///path/repo#main',
      });
    }
    return { kind: 'git', url, ref };
  }
  if (trimmed.startsWith('debian:')) {
    const match = /^debian:([a-z0-9][a-z0-9+.-]+)(?:@([a-z][a-z0-9-]*))?(?:=(\S+))?$/.exec(trimmed);
    if (!match?.[1]) {
      throw new UserError(`${where}: "${spec}" names no Debian source package`, {
        hint: 'write debian:runc, debian:docker.io@trixie or debian:docker.io=20.10.24+dfsg1-1',
      });
    }
    return { kind: 'debian', package: match[1], suite: match[2] ?? null, version: match[3] ?? null };
  }
  return { kind: 'directory', path: resolve(baseDirectory, trimmed) };
}

export interface SourceContext {
  runner: Runner;
  cacheDirectory: string;
}

/**
 * The ref's full name on the remote, tags before branches (`v1.2.3` may be both), from one
 * `git ls-remote`; null when the remote has no such ref (it may still be a commit id). Pure.
 */
export function pickRemoteRef(lsRemote: string, ref: string): string | null {
  const names = lsRemote
    .split('\n')
    .map((line) => line.split('\t')[1]?.trim() ?? '')
    .filter((name) => name && !name.endsWith('^{}'));
  if (ref.startsWith('refs/')) return names.includes(ref) ? ref : null;
  for (const candidate of [`refs/tags/${ref}`, `refs/heads/${ref}`, ref])
    if (names.includes(candidate)) return candidate;
  return null;
}

/**
 * A shallow fetch of exactly the ref asked for, into a bare repository in the cache: moby's
 * whole history is hundreds of megabytes, one tag's tree a tenth of that, and a mirror that
 * holds only part of the history serves it as well as the original.
 */
export async function fetchGit(
  spec: Extract<SourceSpec, { kind: 'git' }>,
  raw: string,
  context: SourceContext,
): Promise<SourceCheckout> {
  const { runner } = context;
  const mirror = join(context.cacheDirectory, 'git', `${sha256(spec.url).slice(0, 16)}.git`);
  const git = (args: string[], options: { allowFailure?: boolean } = {}) =>
    runner.run('git', ['-C', mirror, ...args], options);
  if (!existsSync(join(mirror, 'HEAD'))) {
    await mkdir(join(context.cacheDirectory, 'git'), { recursive: true });
    const partial = `${mirror}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await runner.run('git', ['init', '--bare', '--quiet', partial]);
    await rename(partial, mirror);
  }
  const isCommitId = /^[0-9a-f]{40}$/.test(spec.ref);
  // A full commit id that is already here needs no network.
  const known =
    isCommitId && (await git(['cat-file', '-e', `${spec.ref}^{commit}`], { allowFailure: true })).exitCode === 0;
  let local = spec.ref;
  if (!known) {
    const listed = await git(['ls-remote', spec.url, spec.ref], { allowFailure: true });
    if (listed.exitCode !== 0) {
      throw new UserError(`${raw}: cannot reach ${spec.url}: ${listed.stderr.trim().split('\n').at(-1) ?? ''}`, {
        hint: 'check the address, or point build.mirror (or the source) at a mirror this machine reaches',
      });
    }
    const remote = pickRemoteRef(listed.stdout, spec.ref);
    if (!remote && !isCommitId) {
      throw new UserError(`${raw}: ref "${spec.ref}" not found in ${spec.url}`, {
        hint: 'use a branch, a tag or a commit id that the repository has',
      });
    }
    local = remote ?? spec.ref;
    const refspec = remote ? `+${remote}:${remote}` : spec.ref;
    const fetched = await git(['fetch', '--quiet', '--depth', '1', '--no-tags', spec.url, refspec], {
      allowFailure: true,
    });
    if (fetched.exitCode !== 0) {
      throw new UserError(`${raw}: fetching ${spec.ref} failed: ${fetched.stderr.trim().split('\n').at(-1) ?? ''}`, {
        hint: remote ? 'try again; the remote may be busy' : 'the server may refuse fetches by commit id: use a tag',
      });
    }
  }
  const resolved = await git(['rev-parse', '--verify', '--quiet', `${local}^{commit}`], { allowFailure: true });
  if (resolved.exitCode !== 0) {
    throw new UserError(`${raw}: ref "${spec.ref}" not found in ${spec.url}`, {
      hint: 'use a branch, a tag or a commit id that the repository has',
    });
  }
  const commit = resolved.stdout.trim();
  const epoch = Number((await git(['show', '-s', '--format=%ct', commit])).stdout.trim());
  const tag = local.startsWith('refs/tags/') ? local.slice('refs/tags/'.length) : null;
  const directory = join(context.cacheDirectory, 'work', `git-${commit}`);
  await materialize(directory, async (partial) => {
    await mkdir(partial, { recursive: true });
    const archive = `${partial}.tar`;
    await git(['archive', '--format=tar', '-o', archive, commit]);
    await runner.run('tar', ['-xf', archive, '-C', partial]);
    await rm(archive, { force: true });
  });
  return {
    spec: raw,
    kind: 'git',
    directory,
    revision: commit,
    revisionShort: commit.slice(0, 7),
    epoch,
    version: tag ? versionFromDescribe(tag) : null,
    description: `${raw} at ${commit.slice(0, 12)}`,
  };
}

/** Every file below a directory, sorted, with what decides its content; .git is left out. */
async function contentHash(root: string): Promise<{ hash: string; newest: number }> {
  const lines: string[] = [];
  let newest = 0;
  const walk = async (directory: string): Promise<void> => {
    const entries = (await readdir(directory, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      if (entry.name === '.git') continue;
      const path = join(directory, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const info = await stat(path);
        newest = Math.max(newest, Math.floor(info.mtimeMs / 1000));
        lines.push(
          `${relative(root, path)}\0${(info.mode & 0o111) !== 0 ? 'x' : '-'}\0${sha256(await readFile(path))}`,
        );
      }
    }
  };
  await walk(root);
  return { hash: sha256(lines.join('\n')), newest };
}

export async function fetchDirectory(
  spec: Extract<SourceSpec, { kind: 'directory' }>,
  raw: string,
  context: SourceContext,
): Promise<SourceCheckout> {
  if (!existsSync(spec.path))
    throw new UserError(`${raw}: no such directory`, {
      hint: 'give a directory with the source, or a git+… or debian: source',
    });
  const { hash, newest } = await contentHash(spec.path);
  // A git work tree gives its commit time, which a copy of the files keeps and mtimes do not.
  const head = await context.runner.run('git', ['-C', spec.path, 'log', '-1', '--format=%ct'], { allowFailure: true });
  const epoch = head.exitCode === 0 && head.stdout.trim() ? Number(head.stdout.trim()) : newest;
  const directory = join(context.cacheDirectory, 'work', `dir-${hash}`);
  await materialize(directory, async (partial) => {
    await cp(spec.path, partial, { recursive: true, filter: (source) => !source.split('/').includes('.git') });
  });
  return {
    spec: raw,
    kind: 'directory',
    directory,
    revision: `sha256:${hash}`,
    revisionShort: hash.slice(0, 7),
    epoch,
    version: null,
    description: `${spec.path} (content ${hash.slice(0, 12)})`,
  };
}
