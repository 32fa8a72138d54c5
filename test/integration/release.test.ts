/**
 * `crossdock release` against the local GitHub stand-in: the real CLI and the real Octokit over
 * loopback HTTP, every request and response checked against GitHub's OpenAPI description.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSha256Sums } from '../../src/artifacts/checksums.js';
import { LocalRunner } from '../../src/exec/local-runner.js';
import { publishRelease } from '../../src/release/publish.js';
import type { ProgressEvent } from '../../src/ui/progress-events.js';
import { crossdock } from '../helpers/cli.js';
import { makeDist } from '../helpers/dist.js';
import { FakeGitHub, type FakeGitHubOptions } from '../helpers/fake-github/server.js';
import { commitAll } from '../helpers/git.js';
import { tempTree } from '../helpers/temp.js';
import { requireTools } from '../helpers/tools.js';

const TOKEN = 'ghp_crossdockTestToken0123456789abcdefXYZ';
const REPO = 'acme/docker-arm';

let server: FakeGitHub;
const outputs: string[] = [];

async function startServer(options: FakeGitHubOptions = {}) {
  server = await new FakeGitHub({ token: TOKEN, ...options }).start();
  return server;
}

beforeEach(async () => {
  await startServer();
});

afterEach(async () => {
  await server.stop();
  // The fake never accepted or answered anything GitHub's description does not allow.
  expect(server.violations).toEqual([]);
  for (const output of outputs.splice(0)) expect(output).not.toContain(TOKEN);
});

async function release(args: string[], options: { token?: string; cwd?: string } = {}) {
  const cwd = options.cwd ?? (await tempTree());
  const result = await crossdock(['release', ...args, '--repo', REPO, '--api-url', server.apiUrl], {
    cwd,
    env: { GITHUB_TOKEN: options.token ?? TOKEN, GH_TOKEN: '' },
  });
  outputs.push(`${result.stdout}\n${result.stderr}`);
  return result;
}

function sha(data: Buffer) {
  return createHash('sha256').update(data).digest('hex');
}

function assetData(tag: string, name: string): Buffer {
  const found = server.release(tag)?.assets.find((a) => a.name === name);
  if (!found) throw new Error(`${tag} has no asset ${name}`);
  return found.data;
}

function uploads() {
  return server.requests.filter((r) => r.operation === 'repos/upload-release-asset');
}

describe('crossdock release', () => {
  it('publishes a fresh release: draft, every asset, SHA256SUMS over them, then published as latest', async () => {
    const dist = await makeDist(await tempTree(), { version: '1.2.3', targets: ['armv6', 'aarch64'] });
    const result = await release([dist, '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as {
      url: string;
      published: boolean;
      latest: boolean;
      created: boolean;
      assets: Array<{ name: string; action: string; bytesSent: number; size: number }>;
    };
    expect(report).toMatchObject({ published: true, latest: true, created: true });
    expect(report.url).toBe('https://github.example/acme/docker-arm/releases/tag/v1.2.3');
    expect(report.assets.map((a) => [a.name, a.action])).toEqual([
      ['docker-1.2.3-aarch64.tgz', 'uploaded'],
      ['docker-1.2.3-armv6.tgz', 'uploaded'],
      ['docker.service', 'uploaded'],
      ['manifest.json', 'uploaded'],
      ['SHA256SUMS', 'uploaded'],
    ]);
    for (const asset of report.assets) expect(asset.bytesSent).toBe(asset.size);

    const published = server.release('v1.2.3');
    expect(published).toMatchObject({ draft: false, prerelease: false });
    expect(server.latestId).toBe(published?.id);
    // The bundles on the release are the files on disk, byte for byte.
    expect(assetData('v1.2.3', 'docker-1.2.3-armv6.tgz')).toEqual(await readFile(join(dist, 'docker-1.2.3-armv6.tgz')));
    // SHA256SUMS covers every other asset, under its release name, and holds for the uploaded bytes.
    const sums = parseSha256Sums(assetData('v1.2.3', 'SHA256SUMS').toString('utf8'));
    expect(sums.map((s) => s.name)).toEqual([
      'docker-1.2.3-aarch64.tgz',
      'docker-1.2.3-armv6.tgz',
      'docker.service',
      'manifest.json',
    ]);
    for (const entry of sums) expect(sha(assetData('v1.2.3', entry.name))).toBe(entry.sha256);
    // Created as a draft, published last: the write order is create, uploads, publish.
    const writes = server.writes().map((r) => r.operation);
    expect(writes[0]).toBe('repos/create-release');
    expect(writes.at(-1)).toBe('repos/update-release');
    expect(writes.filter((w) => w === 'repos/upload-release-asset')).toHaveLength(5);
  });

  it('as a library call it draws nothing and reports each asset as a progress event', async () => {
    const dist = await makeDist(await tempTree(), { version: '1.2.4', targets: ['armv7'] });
    const events: ProgressEvent[] = [];
    const report = await publishRelease({
      dists: [dist],
      repository: REPO,
      apiUrl: server.apiUrl,
      token: TOKEN,
      userAgent: 'crossdock-test',
      runner: new LocalRunner(),
      onProgress: (event) => events.push(event),
    });
    expect(report.published).toBe(true);
    const uploaded = events.filter((e) => e.kind === 'completed' && e.path[0] === 'Upload' && e.path.length === 2);
    expect(uploaded.map((e) => e.text.split(' ')[0]).sort()).toEqual(report.assets.map((a) => a.name).sort());
    // The top-level steps in order, each started before it completed.
    const top = events
      .filter((e) => e.path.length === 1 && e.kind !== 'output')
      .map((e) => `${e.kind}:${e.path[0] ?? ''}`);
    expect(top.slice(0, 2)).toEqual(['started:Read the dist directories', 'completed:Read the dist directories']);
    expect(top.at(-1)).toMatch(/^completed:/);
  });

  it('re-run with every asset present makes no write request and uploads nothing', async () => {
    const dist = await makeDist(await tempTree(), { version: '1.2.3', targets: ['armv7'] });
    expect((await release([dist])).exitCode).toBe(0);
    const before = server.requests.length;
    const again = await release([dist, '--json']);
    expect(again.exitCode).toBe(0);
    const report = JSON.parse(again.stdout) as { assets: Array<{ action: string }>; created: boolean };
    expect(report.created).toBe(false);
    expect(report.assets.every((a) => a.action === 'skipped')).toBe(true);
    expect(server.requests.slice(before).filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('a run killed between two uploads leaves a draft; the next run completes and publishes it', async () => {
    const parent = await tempTree();
    const dist = await makeDist(parent, { version: '2.0.0', targets: ['armv6', 'armv7', 'aarch64'] });
    const child = execa(
      process.execPath,
      [
        join(import.meta.dirname, '../../dist/bin.js'),
        'release',
        dist,
        '--repo',
        REPO,
        '--api-url',
        server.apiUrl,
        '--concurrency',
        '1',
      ],
      { reject: false, cwd: parent, env: { GITHUB_TOKEN: TOKEN, CI: 'true' } },
    );
    let uploaded = 0;
    server.events.on('uploaded', () => {
      uploaded += 1;
      if (uploaded === 2) child.kill('SIGKILL');
    });
    const killed = await child;
    expect(killed.signal).toBe('SIGKILL');
    const draft = server.release('v2.0.0');
    expect(draft?.draft).toBe(true);
    expect(draft?.assets.filter((a) => a.state === 'uploaded').length).toBeGreaterThanOrEqual(2);
    expect(draft?.assets.filter((a) => a.state === 'uploaded').length).toBeLessThan(6);

    const result = await release([dist, '--json']);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as { created: boolean; assets: Array<{ action: string }> };
    expect(report.created).toBe(false);
    expect(report.assets.filter((a) => a.action === 'skipped').length).toBeGreaterThanOrEqual(2);
    expect(server.releases).toHaveLength(1);
    const done = server.release('v2.0.0');
    expect(done?.draft).toBe(false);
    expect(done?.assets.map((a) => [a.name, a.state]).sort()).toEqual(
      [
        'SHA256SUMS',
        'docker-2.0.0-aarch64.tgz',
        'docker-2.0.0-armv6.tgz',
        'docker-2.0.0-armv7.tgz',
        'docker.service',
        'manifest.json',
      ].map((name) => [name, 'uploaded']),
    );
  });

  it('refuses an asset whose contents differ, and replaces it with --replace', async () => {
    const parent = await tempTree();
    const first = await makeDist(join(parent, 'a'), { version: '1.0.0', targets: ['armv6'] });
    const rebuilt = await makeDist(join(parent, 'b'), { version: '1.0.0', targets: ['armv6'] });
    expect((await release([first])).exitCode).toBe(0);
    const original = assetData('v1.0.0', 'docker-1.0.0-armv6.tgz');

    const before = server.requests.length;
    const refused = await release([rebuilt]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('docker-1.0.0-armv6.tgz');
    expect(refused.stderr).toContain('--replace');
    expect(server.requests.slice(before).filter((r) => r.method !== 'GET')).toEqual([]);
    expect(assetData('v1.0.0', 'docker-1.0.0-armv6.tgz')).toEqual(original);

    const replaced = await release([rebuilt, '--replace', '--json']);
    expect(replaced.exitCode).toBe(0);
    const report = JSON.parse(replaced.stdout) as { assets: Array<{ name: string; action: string }> };
    expect(report.assets.find((a) => a.name === 'docker-1.0.0-armv6.tgz')?.action).toBe('replaced');
    expect(assetData('v1.0.0', 'docker-1.0.0-armv6.tgz')).toEqual(
      await readFile(join(rebuilt, 'docker-1.0.0-armv6.tgz')),
    );
    // The published release swapped names instead of deleting first; no staging name is left.
    expect(server.release('v1.0.0')?.assets.map((a) => a.name)).not.toContainEqual(
      expect.stringContaining('crossdock-new'),
    );
    const sums = parseSha256Sums(assetData('v1.0.0', 'SHA256SUMS').toString('utf8'));
    for (const entry of sums) expect(sha(assetData('v1.0.0', entry.name))).toBe(entry.sha256);
  });

  it("crossdock.yaml's release keys: repository, apiUrl, tagPrefix and replaceAssets, with no flag given", async () => {
    const parent = await tempTree();
    const first = await makeDist(join(parent, 'a'), { version: '4.0.0', targets: ['armv6'] });
    const rebuilt = await makeDist(join(parent, 'b'), { version: '4.0.0', targets: ['armv6'] });
    await writeFile(
      join(parent, 'crossdock.yaml'),
      `release:\n  repository: ${REPO}\n  apiUrl: ${server.apiUrl}\n  tagPrefix: ''\n  replaceAssets: true\n`,
    );
    const run = async (dist: string) => {
      const result = await crossdock(['release', dist, '--json'], {
        cwd: parent,
        env: { GITHUB_TOKEN: TOKEN, GH_TOKEN: '' },
      });
      outputs.push(`${result.stdout}\n${result.stderr}`);
      return result;
    };
    expect((await run(first)).exitCode).toBe(0);
    expect(server.release('4.0.0')).toMatchObject({ draft: false });
    const replaced = await run(rebuilt);
    expect(replaced.exitCode, replaced.stderr).toBe(0);
    const report = JSON.parse(replaced.stdout) as { tag: string; assets: Array<{ name: string; action: string }> };
    expect(report.tag).toBe('4.0.0');
    expect(report.assets.find((a) => a.name === 'docker-4.0.0-armv6.tgz')?.action).toBe('replaced');
  });

  it('merges the dists of a build matrix into one release with one SHA256SUMS', async () => {
    const parent = await tempTree();
    const armv6 = await makeDist(join(parent, 'job-armv6'), { version: '3.1.0', targets: ['armv6'] });
    const aarch64 = await makeDist(join(parent, 'job-aarch64'), { version: '3.1.0', targets: ['aarch64'] });
    const result = await release([armv6, aarch64, '--json']);
    expect(result.exitCode).toBe(0);
    const names = server
      .release('v3.1.0')
      ?.assets.map((a) => a.name)
      .sort();
    expect(names).toEqual([
      'SHA256SUMS',
      'docker-3.1.0-aarch64.tgz',
      'docker-3.1.0-armv6.tgz',
      'docker.service',
      'manifest.json',
    ]);
    const manifest = JSON.parse(assetData('v3.1.0', 'manifest.json').toString('utf8')) as { targets: string[] };
    expect(manifest.targets).toEqual(['armv6', 'aarch64']);
    const sums = parseSha256Sums(assetData('v3.1.0', 'SHA256SUMS').toString('utf8'));
    expect(sums).toHaveLength(4);
    for (const entry of sums) expect(sha(assetData('v3.1.0', entry.name))).toBe(entry.sha256);
  });

  it('refuses dists that disagree about a shared file, before any request', async () => {
    const parent = await tempTree();
    const one = await makeDist(join(parent, 'a'), { version: '3.1.0', targets: ['armv6'] });
    const two = await makeDist(join(parent, 'b'), { version: '3.1.0', targets: ['armv6'] });
    const result = await release([one, two]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/docker-3\.1\.0-armv6\.tgz differs between .*\/a\/3\.1\.0 and .*\/b\/3\.1\.0/);
    expect(server.requests).toEqual([]);
  });

  it('refuses a tag that does not match the manifests, naming both', async () => {
    const dist = await makeDist(await tempTree(), { version: '1.2.3', targets: ['armv6'] });
    const result = await release([dist, '--tag', 'v1.2.4']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('manifest version 1.2.3 does not match --tag v1.2.4');
    expect(server.requests).toEqual([]);
    const notSemver = await release([dist, '--tag', 'latest']);
    expect(notSemver.exitCode).toBe(2);
    expect(notSemver.stderr).toContain('--tag latest: not a semver tag');
  });

  it('a patch for an older line does not take "latest"; a prerelease is marked and never latest', async () => {
    const newer = server.seedRelease({ tag: 'v2.0.0' });
    server.latestId = newer.id;
    const parent = await tempTree();
    const patch = await makeDist(join(parent, 'a'), { version: '1.9.1', targets: ['armv6'] });
    const patchRun = await release([patch, '--json']);
    expect(patchRun.exitCode).toBe(0);
    expect(JSON.parse(patchRun.stdout)).toMatchObject({ latest: false, published: true });
    expect(server.latestId).toBe(newer.id);

    const rc = await makeDist(join(parent, 'b'), { version: '2.1.0-rc.1', targets: ['armv6'] });
    const rcRun = await release([rc, '--json']);
    expect(rcRun.exitCode).toBe(0);
    expect(server.release('v2.1.0-rc.1')).toMatchObject({ prerelease: true, draft: false });
    expect(server.latestId).toBe(newer.id);

    const next = await makeDist(join(parent, 'c'), { version: '2.0.1', targets: ['armv6'] });
    expect((await release([next])).exitCode).toBe(0);
    expect(server.latestId).toBe(server.release('v2.0.1')?.id);
  });

  it('--draft uploads everything and leaves the release unpublished', async () => {
    const dist = await makeDist(await tempTree(), { version: '1.0.0', targets: ['armv6'] });
    const result = await release([dist, '--draft']);
    expect(result.exitCode).toBe(0);
    expect(server.release('v1.0.0')).toMatchObject({ draft: true });
    expect(server.release('v1.0.0')?.assets).toHaveLength(4);
  });

  it('--dry-run makes no write request, with or without a release already there', async () => {
    const dist = await makeDist(await tempTree(), { version: '1.0.0', targets: ['armv6'] });
    const fresh = await release([dist, '--dry-run', '--json']);
    expect(fresh.exitCode).toBe(0);
    expect(JSON.parse(fresh.stdout)).toMatchObject({ dryRun: true, published: false, created: false });
    expect(server.writes()).toEqual([]);
    expect(server.releases).toEqual([]);

    expect((await release([dist, '--draft'])).exitCode).toBe(0);
    const writes = server.writes().length;
    const rerun = await release([dist, '--dry-run']);
    expect(rerun.exitCode).toBe(0);
    expect(rerun.stdout).toContain('dry run, nothing written');
    expect(server.writes()).toHaveLength(writes);
    expect(server.release('v1.0.0')?.draft).toBe(true);
  });

  it('needs a token to write, says which variables, and never shows a wrong one', async () => {
    const dist = await makeDist(await tempTree(), { version: '1.0.0', targets: ['armv6'] });
    const none = await release([dist], { token: '' });
    expect(none.exitCode).toBe(3);
    expect(none.stderr).toContain('GITHUB_TOKEN and GH_TOKEN are both unset');
    expect(server.requests).toEqual([]);

    const wrong = 'ghp_wrongTokenWrongToken0123456789abcdef';
    const refused = await release([dist], { token: wrong });
    expect(refused.exitCode).toBe(4);
    expect(refused.stderr).toContain('401 (Bad credentials)');
    expect(refused.stderr).not.toContain(wrong);
    expect(server.releases).toEqual([]);
  });
});

describe('crossdock release under faults', () => {
  async function publishedWithAllAssets(dist: string, tag: string) {
    const done = server.release(tag);
    expect(done?.draft).toBe(false);
    const manifest = JSON.parse(await readFile(join(dist, 'manifest.json'), 'utf8')) as {
      artifacts: Array<{ file: string; sha256: string }>;
    };
    for (const artifact of manifest.artifacts)
      expect(sha(assetData(tag, artifact.file.split('/').at(-1) ?? ''))).toBe(artifact.sha256);
    expect(done?.assets.every((a) => a.state === 'uploaded')).toBe(true);
  }

  it.each([
    ['repos/list-releases', { kind: 'status', status: 500 }],
    ['repos/create-release', { kind: 'status', status: 502 }],
    ['repos/upload-release-asset', { kind: 'status', status: 502 }],
    ['repos/upload-release-asset', { kind: 'status', status: 503 }],
    ['repos/list-release-assets', { kind: 'rate-limit', retryAfter: 1 }],
    ['repos/create-release', { kind: 'secondary-rate-limit', retryAfter: 1 }],
    ['repos/upload-release-asset', { kind: 'rate-limit', retryAfter: 1 }],
    ['repos/upload-release-asset', { kind: 'secondary-rate-limit', retryAfter: 1 }],
    ['repos/update-release', { kind: 'status', status: 500 }],
  ] as const)('%s answering %o is retried and the release completes', async (operation, fault) => {
    const dist = await makeDist(await tempTree(), { version: '1.0.0', targets: ['armv6'] });
    server.inject(operation, fault);
    const result = await release([dist]);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('crossdock:') && !/wait|retry/i.test(l))).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(server.requests.filter((r) => r.operation === operation && r.fault === fault.kind)).toHaveLength(1);
    await publishedWithAllAssets(dist, 'v1.0.0');
  });

  it('a connection reset in the middle of an upload restarts that asset from its first byte', async () => {
    const dist = await makeDist(await tempTree(), { version: '1.0.0', targets: ['armv6'], binaryBytes: 512 * 1024 });
    server.inject(
      'repos/upload-release-asset',
      { kind: 'reset', afterBytes: 64 * 1024 },
      { when: ({ query }) => query.get('name')?.endsWith('.tgz') ?? false },
    );
    const result = await release([dist]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/docker-1\.0\.0-armv6\.tgz: connection failed .*retrying from the start/);
    const bundleUploads = uploads().filter((r) => r.path.includes('/assets'));
    expect(bundleUploads.filter((r) => r.fault === 'reset')).toHaveLength(1);
    // The starter asset the cut upload left behind was deleted before the retry.
    expect(server.requests.some((r) => r.operation === 'repos/delete-release-asset')).toBe(true);
    await publishedWithAllAssets(dist, 'v1.0.0');
  });

  it('422 already_exists on upload (another job uploaded the same file) counts as done', async () => {
    const dist = await makeDist(await tempTree(), { version: '1.0.0', targets: ['armv6'] });
    server.inject(
      'repos/upload-release-asset',
      { kind: 'already-exists' },
      { when: ({ query }) => query.get('name') === 'docker.service' },
    );
    const result = await release([dist]);
    expect(result.exitCode).toBe(0);
    expect(uploads().filter((r) => r.fault === 'already-exists')).toHaveLength(1);
    expect(server.release('v1.0.0')?.assets.filter((a) => a.name === 'docker.service')).toHaveLength(1);
    await publishedWithAllAssets(dist, 'v1.0.0');
  });

  it('gives up after the retries with a one-line error, leaving a draft and no published release', async () => {
    const dist = await makeDist(await tempTree(), { version: '1.0.0', targets: ['armv6'] });
    server.inject(
      'repos/upload-release-asset',
      { kind: 'status', status: 502 },
      { times: 100, when: ({ query }) => query.get('name') === 'manifest.json' },
    );
    const result = await release([dist]);
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain('uploading manifest.json: GitHub answered 502');
    expect(server.release('v1.0.0')?.draft).toBe(true);
    server.inject('repos/upload-release-asset', { kind: 'status', status: 500 }, { times: 0 });
  }, 120_000);
});

describe('crossdock release on other servers and repositories', () => {
  it('works where the server gives no digest: the remote copy is downloaded and hashed', async () => {
    await server.stop();
    await startServer({ digests: false });
    const parent = await tempTree();
    const dist = await makeDist(join(parent, 'a'), { version: '1.0.0', targets: ['armv6'] });
    expect((await release([dist])).exitCode).toBe(0);
    const again = await release([dist, '--json']);
    expect(again.exitCode).toBe(0);
    expect((JSON.parse(again.stdout) as { assets: Array<{ action: string }> }).assets.map((a) => a.action)).toEqual(
      Array(4).fill('skipped'),
    );
    expect(server.requests.filter((r) => r.operation === 'repos/get-release-asset')).toHaveLength(4);
    const other = await makeDist(join(parent, 'b'), { version: '1.0.0', targets: ['armv6'] });
    const refused = await release([other]);
    expect(refused.exitCode).toBe(1);
    // Another build: the bundle, and so manifest.json and SHA256SUMS, differ.
    expect(refused.stderr).toContain('3 assets differ: docker-1.0.0-armv6.tgz, manifest.json, SHA256SUMS');
  });

  it('GitHub Enterprise Server URLs (/api/v3, /api/uploads) and an upload_url without a template', async () => {
    await server.stop();
    await startServer({ apiPrefix: '/api/v3', uploadsPrefix: '/api/uploads', uploadUrlTemplate: false });
    const dist = await makeDist(await tempTree(), { version: '1.0.0', targets: ['armv6'] });
    const result = await release([dist]);
    expect(result.exitCode).toBe(0);
    expect(server.release('v1.0.0')?.assets).toHaveLength(4);
    expect(uploads().every((r) => r.path.startsWith('/api/uploads/repos/acme/docker-arm/releases/'))).toBe(true);
  });

  it('finds its draft among many releases across pages instead of making a second one', async () => {
    await server.stop();
    await startServer({ pageSize: 30 });
    for (let minor = 0; minor < 130; minor += 1) server.seedRelease({ tag: `v0.${minor}.0` });
    const dist = await makeDist(await tempTree(), { version: '1.0.0', targets: ['armv6'] });
    const draft = server.seedRelease({ tag: 'v1.0.0', draft: true });
    // The draft is the newest; put an older one with the same tag last, as a stray from another job.
    for (let minor = 130; minor < 135; minor += 1) server.seedRelease({ tag: `v0.${minor}.0` });
    const result = await release([dist, '--json']);
    expect(result.exitCode).toBe(0);
    expect(server.releases.filter((r) => r.tag === 'v1.0.0')).toEqual([draft]);
    expect(draft.draft).toBe(false);
    const listings = server.requests.filter((r) => r.operation === 'repos/list-releases');
    expect(listings.length).toBeGreaterThanOrEqual(2);
  });

  it('refuses to change an immutable published release, and accepts a re-run that changes nothing', async () => {
    await server.stop();
    await startServer({ immutableReleases: true });
    const parent = await tempTree();
    const dist = await makeDist(join(parent, 'a'), { version: '1.0.0', targets: ['armv6'] });
    expect((await release([dist])).exitCode).toBe(0);
    expect(server.release('v1.0.0')?.immutable).toBe(true);
    expect((await release([dist])).exitCode).toBe(0);
    const other = await makeDist(join(parent, 'b'), { version: '1.0.0', targets: ['armv6'] });
    const writes = server.writes().length;
    const refused = await release([other, '--replace']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('v1.0.0 is published and immutable');
    expect(server.writes()).toHaveLength(writes);
  });

  it.runIf(requireTools('ssh-keygen'))(
    'signs the merged SHA256SUMS with build.signingKey; ssh-keygen -Y verify accepts it',
    async () => {
      const work = await tempTree();
      await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'release@acme', '-f', join(work, 'signing')]);
      await writeFile(join(work, 'crossdock.yaml'), 'build:\n  signingKey: signing\n');
      const dist = await makeDist(join(work, 'dist'), { version: '1.0.0', targets: ['armv6'] });
      const result = await release([dist], { cwd: work });
      expect(result.exitCode).toBe(0);
      await writeFile(join(work, 'SHA256SUMS'), assetData('v1.0.0', 'SHA256SUMS'));
      await writeFile(join(work, 'SHA256SUMS.sig'), assetData('v1.0.0', 'SHA256SUMS.sig'));
      const publicKey = (await readFile(join(work, 'signing.pub'), 'utf8')).trim();
      await writeFile(join(work, 'allowed_signers'), `release@acme ${publicKey}\n`);
      const verify = (file: string) =>
        execa(
          'ssh-keygen',
          ['-Y', 'verify', '-f', 'allowed_signers', '-I', 'release@acme', '-n', 'crossdock', '-s', 'SHA256SUMS.sig'],
          { cwd: work, inputFile: join(work, file), reject: false },
        );
      expect((await verify('SHA256SUMS')).exitCode).toBe(0);
      await writeFile(join(work, 'tampered'), `${assetData('v1.0.0', 'SHA256SUMS').toString()}# extra\n`);
      expect((await verify('tampered')).exitCode).not.toBe(0);
    },
  );

  it('--generate-notes writes components, bundles, checksums and the commits since the previous tag', async () => {
    const repository = await tempTree({ 'README.md': 'one\n' });
    await execa('git', ['init', '-q', '-b', 'main'], { cwd: repository });
    await commitAll(repository, 'First release', '2026-01-01T00:00:00Z');
    await execa('git', ['tag', 'v0.9.0'], { cwd: repository });
    await writeFile(join(repository, 'README.md'), 'two\n');
    await commitAll(repository, 'Build armv6 with -march=armv6', '2026-01-02T00:00:00Z');
    await writeFile(join(repository, 'README.md'), 'three\n');
    await commitAll(repository, 'Pin runc 1.1.12', '2026-01-03T00:00:00Z');
    const dist = await makeDist(await tempTree(), { version: '1.0.0', targets: ['armv6'] });
    const result = await release([dist, '--generate-notes'], { cwd: repository });
    expect(result.exitCode).toBe(0);
    const body = server.release('v1.0.0')?.body ?? '';
    expect(body).toContain('## Changes since v0.9.0');
    expect(body).toMatch(/- [0-9a-f]{7,} Pin runc 1\.1\.12/);
    expect(body).toMatch(/- [0-9a-f]{7,} Build armv6 with -march=armv6/);
    expect(body).toContain('| moby | 20.10.24 |');
    expect(body).toContain('| armv6 | docker-1.0.0-armv6.tgz |');
    const sums = parseSha256Sums(assetData('v1.0.0', 'SHA256SUMS').toString('utf8'));
    for (const entry of sums) expect(body).toContain(`${entry.sha256}  ${entry.name}`);
  });
});
