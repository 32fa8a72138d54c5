/**
 * A release is input from elsewhere: nothing in its manifest may steer a write outside the cache
 * (issue #17, finding 1), checked against the OpenAPI-checked GitHub stand-in.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchReleaseDist, parseReleaseSpec } from '../../src/install/release-source.js';
import { FakeGitHub, type FakeAsset } from '../helpers/fake-github/server.js';
import { tempTree } from '../helpers/temp.js';

const servers: FakeGitHub[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

function asset(id: number, name: string, data: Buffer): FakeAsset {
  const now = new Date(0).toISOString();
  return {
    id,
    name,
    label: null,
    contentType: 'application/octet-stream',
    data,
    state: 'uploaded',
    createdAt: now,
    updatedAt: now,
  };
}

/** A published release whose manifest lists `file` (and whose version is `version`). */
async function hostileRelease(file: string, version = '1.0.0') {
  const github = await new FakeGitHub().start();
  servers.push(github);
  const payload = Buffer.from('not a bundle\n');
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 1,
      tool: 'crossdock-0.1.0',
      version,
      sourceDateEpoch: 0,
      targets: ['armv6'],
      sources: [],
      toolchains: {},
      artifacts: [{ kind: 'bundle', file, target: 'armv6', size: payload.length, sha256: sha256(payload) }],
    }),
  );
  const sums = Buffer.from(`${sha256(manifest)}  manifest.json\n${sha256(payload)}  ${file}\n`);
  github.releases.push({
    id: 1,
    tag: 'v1.0.0',
    name: 'v1.0.0',
    body: null,
    draft: false,
    prerelease: false,
    immutable: false,
    targetCommitish: 'main',
    createdAt: new Date(0).toISOString(),
    publishedAt: new Date(0).toISOString(),
    assets: [
      asset(11, 'SHA256SUMS', sums),
      asset(12, 'manifest.json', manifest),
      asset(13, file.split('/').at(-1) ?? file, payload),
    ],
  });
  return github;
}

async function fetchFrom(github: FakeGitHub, cacheDirectory: string) {
  return fetchReleaseDist(parseReleaseSpec(`${github.owner}/${github.repo}@v1.0.0`), {
    apiUrl: github.apiUrl,
    token: undefined,
    cacheDirectory,
    userAgent: 'crossdock-test',
    log: () => undefined,
  });
}

describe('install --release reads a release as untrusted input', () => {
  it('refuses a manifest whose artifact climbs out of the cache, and writes nothing outside it', async () => {
    const root = await tempTree();
    const cache = join(root, 'deep', 'er', 'cache');
    const github = await hostileRelease('../../../../../../escaped.tgz');
    await expect(fetchFrom(github, cache)).rejects.toThrow(/is not a dist file name/);
    expect(existsSync(join(root, 'escaped.tgz'))).toBe(false);
    expect(existsSync(join(root, 'deep', 'escaped.tgz'))).toBe(false);
  });

  it('refuses a version that would name a directory outside the install root on a board', async () => {
    const github = await hostileRelease('docker-1.0.0-armv6.tgz', '../../../victim');
    await expect(fetchFrom(github, await tempTree())).rejects.toThrow(
      /version "\.\.\/\.\.\/\.\.\/victim": is not a semver/,
    );
  });

  it("refuses a release whose manifest is another version than its tag's (an old build republished as new, #25)", async () => {
    const github = await hostileRelease('docker-0.9.0-armv6.tgz', '0.9.0');
    await expect(fetchFrom(github, await tempTree())).rejects.toThrow("manifest.json is version 0.9.0, not the tag's");
  });

  it('refuses a SHA256SUMS larger than any a dist has, before it fills the cache (#25)', async () => {
    const cache = await tempTree();
    const github = await hostileRelease('docker-1.0.0-armv6.tgz');
    const sums = github.releases[0]?.assets.find((a) => a.name === 'SHA256SUMS');
    if (!sums) throw new Error('no SHA256SUMS');
    sums.data = Buffer.alloc(2 * 1024 * 1024, 'a');
    await expect(fetchFrom(github, cache)).rejects.toThrow('SHA256SUMS is larger than the 1048576 bytes it may be');
    expect(existsSync(join(cache, 'releases', github.owner, github.repo, 'v1.0.0', 'SHA256SUMS.partial'))).toBe(false);
  });

  it('still fetches a well-formed release', async () => {
    const cache = await tempTree();
    const github = await hostileRelease('docker-1.0.0-armv6.tgz');
    const dist = await fetchFrom(github, cache);
    expect(existsSync(join(dist.directory, 'docker-1.0.0-armv6.tgz'))).toBe(true);
    expect(dist.directory.startsWith(cache)).toBe(true);
    // Its own server's download URLs are passed on for boards to fetch.
    expect(
      [...dist.urls.values()].every((url) => url.startsWith(new URL(github.apiUrl).origin.replace(/:\d+$/, ''))),
    ).toBe(true);
    expect(dist.urls.size).toBe(1);
  });

  it('refuses a tag that would climb out of the cache', () => {
    expect(() => parseReleaseSpec('acme/docker-arm@../../etc')).toThrow(/expected OWNER\/NAME@TAG/);
    expect(() => parseReleaseSpec('../x@v1.0.0')).toThrow(/expected OWNER\/NAME@TAG/);
    expect(parseReleaseSpec('acme/docker-arm@v29.7.2')).toEqual({ owner: 'acme', repo: 'docker-arm', tag: 'v29.7.2' });
  });
});
