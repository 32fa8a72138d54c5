/**
 * `build.docker: 29.7.2` (or `latest`): the built-in sources at the versions moby pins for that
 * release in its own Dockerfile (CONTAINERD_VERSION, RUNC_VERSION, TINI_VERSION, BUILDX_VERSION,
 * COMPOSE_VERSION, GO_VERSION), the
 * set docker-ce-packaging builds Docker's static tarballs from, fetched from upstream git or from
 * a mirror of it (`build.mirror`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { UserError } from '../errors.js';
import { dockerfileArgument, type BuiltinSource } from './release-lines.js';
import { fetchGit, type SourceCheckout, type SourceContext } from './sources.js';

export const UPSTREAM_MIRROR = 'https://github.com/{owner}/{repo}.git';

export const UPSTREAM_REPOSITORIES: Record<BuiltinSource, { owner: string; repo: string }> = {
  moby: { owner: 'moby', repo: 'moby' },
  cli: { owner: 'docker', repo: 'cli' },
  containerd: { owner: 'containerd', repo: 'containerd' },
  runc: { owner: 'opencontainers', repo: 'runc' },
  tini: { owner: 'krallin', repo: 'tini' },
  compose: { owner: 'docker', repo: 'compose' },
  buildx: { owner: 'docker', repo: 'buildx' },
};

/**
 * A repository's address under a mirror: a template with {owner} and {repo}, or a base URL
 * below which they sit as `owner/repo.git`. Pure.
 */
export function repositoryUrl(mirror: string, source: BuiltinSource): string {
  const { owner, repo } = UPSTREAM_REPOSITORIES[source];
  const template = /\{(owner|repo)\}/.test(mirror) ? mirror : `${mirror.replace(/\/+$/, '')}/{owner}/{repo}.git`;
  return template.replace(/\{owner\}/g, owner).replace(/\{repo\}/g, repo);
}

/** moby tags releases `docker-vX.Y.Z` since 29 (the repository's module is github.com/moby/moby/v2). Pure. */
export function mobyTag(version: string): string {
  return semver.major(version) >= 29 ? `docker-v${version}` : `v${version}`;
}

/** The newest stable Docker among moby's tags (`git ls-remote --tags` output). Pure. */
export function newestDockerRelease(lsRemote: string): string | null {
  const versions = lsRemote
    .split('\n')
    .map((line) => /refs\/tags\/(?:docker-)?v(\d+\.\d+\.\d+)$/.exec(line.trim())?.[1])
    .filter((version): version is string => !!version && semver.valid(version) !== null);
  return versions.sort(semver.rcompare)[0] ?? null;
}

export interface DockerPins {
  containerd: string;
  runc: string;
  tini: string;
  go: string | null;
  /** The CLI plugins moby's Dockerfile pins (BUILDX_VERSION, COMPOSE_VERSION); older releases pin none. */
  buildx: string | null;
  compose: string | null;
}

/** The pins of moby's Dockerfile; names the missing one. Pure. */
export function dockerPins(dockerfile: string, where: string): DockerPins {
  const pin = (name: string) => {
    const value = dockerfileArgument(dockerfile, name);
    if (!value)
      throw new UserError(`${where}: its Dockerfile has no ARG ${name}`, {
        hint: 'give that source yourself under build.sources',
      });
    return value;
  };
  return {
    containerd: pin('CONTAINERD_VERSION'),
    runc: pin('RUNC_VERSION'),
    tini: pin('TINI_VERSION'),
    go: dockerfileArgument(dockerfile, 'GO_VERSION'),
    buildx: dockerfileArgument(dockerfile, 'BUILDX_VERSION'),
    compose: dockerfileArgument(dockerfile, 'COMPOSE_VERSION'),
  };
}

export interface DockerRelease {
  version: string;
  /** A source spec for each built-in source; the plugins a release pins none of keep the default's. */
  sources: Record<Exclude<BuiltinSource, 'compose' | 'buildx'>, string> & Partial<Record<'compose' | 'buildx', string>>;
  pins: DockerPins;
  moby: SourceCheckout;
}

const tagged = (v: string) => (v.startsWith('v') ? v : `v${v}`);

export async function resolveDockerRelease(
  requested: string,
  mirror: string,
  context: SourceContext,
): Promise<DockerRelease> {
  const mobyUrl = repositoryUrl(mirror, 'moby');
  let version = requested.trim().replace(/^(?:docker-)?v(?=\d)/, '');
  if (version === 'latest') {
    const listed = await context.runner.run('git', ['ls-remote', '--tags', mobyUrl], { allowFailure: true });
    const newest = listed.exitCode === 0 ? newestDockerRelease(listed.stdout) : null;
    if (!newest)
      throw new UserError(`build.docker: latest: no release tags found at ${mobyUrl}`, {
        hint:
          listed.exitCode === 0
            ? 'name the version, e.g. build.docker: 29.7.2'
            : 'this machine cannot reach it: set build.mirror to a mirror it reaches',
      });
    version = newest;
  }
  if (!semver.valid(version))
    throw new UserError(`build.docker: "${requested}" is not a Docker version`, {
      hint: 'write a release such as 29.7.2, or latest',
    });
  const spec = `git+${mobyUrl}#${mobyTag(version)}`;
  const moby = await fetchGit({ kind: 'git', url: mobyUrl, ref: mobyTag(version) }, spec, context);
  const dockerfile = await readFile(join(moby.directory, 'Dockerfile'), 'utf8').catch(() => '');
  const pins = dockerPins(dockerfile, `moby ${mobyTag(version)}`);
  const at = (source: BuiltinSource, ref: string) => `git+${repositoryUrl(mirror, source)}#${ref}`;
  return {
    version,
    moby,
    pins,
    sources: {
      moby: spec,
      cli: at('cli', `v${version}`),
      containerd: at('containerd', tagged(pins.containerd)),
      runc: at('runc', tagged(pins.runc)),
      tini: at('tini', tagged(pins.tini)),
      ...(pins.buildx ? { buildx: at('buildx', tagged(pins.buildx)) } : {}),
      ...(pins.compose ? { compose: at('compose', tagged(pins.compose)) } : {}),
    },
  };
}
