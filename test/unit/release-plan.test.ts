import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/artifacts/checksums.js';
import type { Manifest } from '../../src/artifacts/manifest.js';
import {
  mergeDists,
  parseReleaseTag,
  decideAsset,
  planAssets,
  type ReleaseAsset,
  shouldMakeLatest,
} from '../../src/release/plan.js';

function manifest(version: string, target: string, files: Array<[string, string]>): Manifest {
  return {
    schemaVersion: 1,
    tool: 'crossdock-0.1.0',
    version,
    sourceDateEpoch: 1767225600,
    targets: [target],
    sources: [{ recipe: 'runc', spec: 'debian:runc', revision: '1.1.5+ds1-1', version: '1.1.5' }],
    toolchains: { go: 'go1.19.8' },
    artifacts: files.map(([file, hash]) => ({
      kind: file.endsWith('.tgz') ? 'bundle' : 'unit',
      file,
      target: file.endsWith('.tgz') ? target : null,
      size: 10,
      sha256: hash,
    })),
  };
}

describe('release tags', () => {
  it.each([
    ['v27.5.1', '27.5.1', false],
    ['27.5.1', '27.5.1', false],
    ['v28.0.0-rc.1', '28.0.0-rc.1', true],
  ])('%s → %s (prerelease %s)', (tag, version, prerelease) => {
    expect(parseReleaseTag(tag)).toEqual({ tag, version, prerelease });
  });

  it('refuses a tag that is not semver, naming the flag', () => {
    expect(() => parseReleaseTag('release-27')).toThrow('--tag release-27: not a semver tag');
  });

  it.each([
    ['v27.5.1', ['v27.5.0', 'v26.1.4', 'v28.0.0-rc.1'], true],
    ['v26.1.5', ['v27.5.1', 'v26.1.4'], false],
    ['v28.0.0-rc.2', ['v27.5.1'], false],
    ['v27.5.1', [], true],
    ['v27.5.1', ['v27.5.1', 'nightly'], true],
  ] as const)('makes %s latest among %o: %s', (tag, existing, expected) => {
    expect(shouldMakeLatest(parseReleaseTag(tag), existing)).toBe(expected);
  });
});

describe('merging dists from a build matrix', () => {
  const release = parseReleaseTag('v1.2.3');
  const unit = 'u'.repeat(64);

  it('merges targets, keeps shared files once and writes SHA256SUMS over everything', () => {
    const merged = mergeDists(
      [
        {
          directory: 'a',
          manifest: manifest('1.2.3', 'armv6', [
            ['docker-1.2.3-armv6.tgz', 'a'.repeat(64)],
            ['systemd/docker.service', unit],
          ]),
        },
        {
          directory: 'b',
          manifest: manifest('1.2.3', 'armv7', [
            ['docker-1.2.3-armv7.tgz', 'b'.repeat(64)],
            ['systemd/docker.service', unit],
          ]),
        },
      ],
      release,
      sha256,
    );
    expect(merged.manifest.targets).toEqual(['armv6', 'armv7']);
    expect(merged.assets.map((a) => [a.name, a.path])).toEqual([
      ['docker-1.2.3-armv6.tgz', 'a/docker-1.2.3-armv6.tgz'],
      ['docker-1.2.3-armv7.tgz', 'b/docker-1.2.3-armv7.tgz'],
      ['docker.service', 'a/systemd/docker.service'],
      ['manifest.json', null],
      ['SHA256SUMS', null],
    ]);
    const sums = merged.assets.at(-1)?.content ?? '';
    expect(
      sums
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('  ')[1]),
    ).toEqual(['docker-1.2.3-armv6.tgz', 'docker-1.2.3-armv7.tgz', 'docker.service', 'manifest.json']);
  });

  it('refuses the same file with different contents in two dists', () => {
    expect(() =>
      mergeDists(
        [
          { directory: 'a', manifest: manifest('1.2.3', 'armv6', [['docker-1.2.3-armv6.tgz', 'a'.repeat(64)]]) },
          { directory: 'b', manifest: manifest('1.2.3', 'armv6', [['docker-1.2.3-armv6.tgz', 'c'.repeat(64)]]) },
        ],
        release,
        sha256,
      ),
    ).toThrow('docker-1.2.3-armv6.tgz differs between a and b');
  });

  it("refuses a dist whose version is not the tag's", () => {
    expect(() =>
      mergeDists([{ directory: 'dist/1.2.2', manifest: manifest('1.2.2', 'armv6', []) }], release, sha256),
    ).toThrow('dist/1.2.2: manifest version 1.2.2 does not match --tag v1.2.3');
  });
});

describe('planning asset uploads', () => {
  const asset = (name: string, hash: string, size = 10): ReleaseAsset => ({
    name,
    path: `dist/${name}`,
    size,
    sha256: hash,
  });
  const remote = (name: string, digest: string | null, size = 10, state = 'uploaded') => ({
    id: name.length,
    name,
    size,
    digest,
    state,
  });

  it('uploads what is missing, skips what is identical, compares what has no digest', () => {
    const actions = planAssets(
      [
        asset('a.tgz', 'a'.repeat(64)),
        asset('b.tgz', 'b'.repeat(64)),
        asset('c.tgz', 'c'.repeat(64)),
        asset('d.tgz', 'd'.repeat(64)),
      ],
      [remote('a.tgz', `sha256:${'a'.repeat(64)}`), remote('c.tgz', null), remote('d.tgz', null, 10, 'starter')],
      { replace: false },
    );
    expect(actions.map((a) => [a.asset.name, a.kind])).toEqual([
      ['a.tgz', 'skip'],
      ['b.tgz', 'upload'],
      ['c.tgz', 'compare'],
      ['d.tgz', 'replace'],
    ]);
  });

  it('refuses a changed asset unless told to replace it', () => {
    const local = [asset('a.tgz', 'a'.repeat(64))];
    const changed = [remote('a.tgz', `sha256:${'f'.repeat(64)}`)];
    const [refused] = planAssets(local, changed, { replace: false });
    expect(refused).toMatchObject({ kind: 'refuse', reason: expect.stringContaining('--replace replaces it') });
    expect(planAssets(local, changed, { replace: true })[0]?.kind).toBe('replace');
    expect(planAssets(local, [remote('a.tgz', null, 11)], { replace: false })[0]?.kind).toBe('refuse');
  });

  it('decides a compared asset with the same rule once its remote copy is hashed', () => {
    const local = asset('c.tgz', 'c'.repeat(64));
    const undigested = remote('c.tgz', null);
    expect(decideAsset(local, undigested, { replace: false }).kind).toBe('compare');
    expect(decideAsset(local, undigested, { replace: false, remoteSha256: 'c'.repeat(64) }).kind).toBe('skip');
    expect(decideAsset(local, undigested, { replace: true, remoteSha256: 'd'.repeat(64) }).kind).toBe('replace');
    expect(decideAsset(local, undigested, { replace: false, remoteSha256: 'd'.repeat(64) })).toMatchObject({
      kind: 'refuse',
      reason: `c.tgz is already in the release with other contents (sha256 ${'d'.repeat(12)}…); --replace replaces it`,
    });
  });
});

describe('release notes and retry policy', () => {
  it('writes components, bundles, checksums and changes from the manifest', async () => {
    const { releaseNotes } = await import('../../src/release/notes.js');
    const release = parseReleaseTag('v1.2.3');
    const notes = releaseNotes({
      release,
      manifest: manifest('1.2.3', 'armv6', [['docker-1.2.3-armv6.tgz', 'a'.repeat(64)]]),
      assets: [
        { name: 'docker-1.2.3-armv6.tgz', path: 'x', size: 10, sha256: 'a'.repeat(64) },
        { name: 'SHA256SUMS', path: null, size: 10, sha256: 'b'.repeat(64) },
      ],
      changes: { since: 'v1.2.2', commits: ['abc1234 Fix armv6 flags'] },
    });
    expect(notes).toContain('| runc | 1.1.5 | `debian:runc` | `1.1.5+ds1-1` |');
    expect(notes).toContain('| armv6 | docker-1.2.3-armv6.tgz | 0.0 KiB |');
    expect(notes).toContain('## Changes since v1.2.2\n\n- abc1234 Fix armv6 flags');
    expect(notes).toContain(`${'a'.repeat(64)}  docker-1.2.3-armv6.tgz`);
    // SHA256SUMS does not list itself.
    expect(notes).not.toContain('b'.repeat(64));
  });

  it('retries 5xx with backoff, rate limits after Retry-After, and nothing else', async () => {
    const { retryDelay } = await import('../../src/release/transfer.js');
    const failure = (status: number, message = 'x', headers: Record<string, string> = {}) =>
      Object.assign(new Error(message), { status, response: { headers } });
    expect(retryDelay(failure(502), 1)).toBe(1);
    expect(retryDelay(failure(502), 4)).toBe(8);
    expect(retryDelay(failure(502), 10)).toBe(30);
    expect(retryDelay(failure(429, 'x', { 'retry-after': '7' }), 1)).toBe(7);
    expect(retryDelay(failure(403, 'You have exceeded a secondary rate limit', { 'retry-after': '3' }), 1)).toBe(3);
    expect(retryDelay(failure(403, 'Resource not accessible by integration'), 1)).toBeNull();
    expect(retryDelay(failure(422), 1)).toBeNull();
    expect(retryDelay(new Error('not a request'), 1)).toBeNull();
  });
});
