/**
 * The one parse of a manifest (#25): every field that can reach a board, a path or a shell is
 * checked before any code sees it, and a hostile manifest is refused whole, naming the field.
 */
import { describe, expect, it } from 'vitest';
import { isSmokeArgument, parseManifest, parseVersionRecord } from '../../src/artifacts/manifest.js';
import { isReleaseDownloadUrl } from '../../src/install/release-source.js';
import { tagMatchesVersion } from '../../src/release/plan.js';

const HASH = 'a'.repeat(64);

function binary(overrides: Record<string, unknown> = {}) {
  return {
    name: 'dockerd',
    component: 'moby',
    size: 1234,
    sha256: HASH,
    armArch: 'v6',
    source: { spec: 'debian:docker.io', revision: '26.1.5', version: '26.1.5' },
    flags: { env: {}, args: [] },
    smoke: { args: ['--version'], cpu: 'arm1176', firstLine: 'Docker version 26.1.5' },
    go: { version: 'go1.24.4', main: null, dependencies: [] },
    ...overrides,
  };
}

function manifest(overrides: Record<string, unknown> = {}, bundle: Record<string, unknown> = {}) {
  return {
    schemaVersion: 1,
    tool: 'crossdock 0.1.0',
    version: '26.1.5',
    sourceDateEpoch: 1767225600,
    targets: ['armv6'],
    sources: [{ recipe: 'moby', spec: 'debian:docker.io', revision: '26.1.5', version: '26.1.5' }],
    toolchains: { go: 'go1.24.4' },
    artifacts: [
      {
        kind: 'bundle',
        file: 'docker-26.1.5-armv6.tgz',
        target: 'armv6',
        size: 60_000_000,
        sha256: HASH,
        binaries: [binary()],
        ...bundle,
      },
      { kind: 'unit', file: 'systemd/docker.service', target: null, size: 10, sha256: 'b'.repeat(64) },
    ],
    ...overrides,
  };
}

function problem(value: unknown): string {
  const parsed = parseManifest(value);
  return parsed.ok ? 'ok' : parsed.problem;
}

describe('parseManifest', () => {
  it('takes a manifest as crossdock build writes it', () => {
    const parsed = parseManifest(manifest());
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && parsed.manifest.artifacts[0]?.binaries?.[0]?.name).toBe('dockerd');
  });

  it("refuses the audit's hostile manifest: a binary named out of its version directory with shell in its smoke run", () => {
    const hostile = manifest(
      {},
      {
        binaries: [
          binary({ name: '../../../../bin/sh', smoke: { args: ['-c', 'id > /tmp/pwned'], cpu: null, firstLine: '' } }),
        ],
      },
    );
    expect(problem(hostile)).toBe(
      'artifacts[0].binaries[0].name "../../../../bin/sh": is not a plain file name (one path component)',
    );
    // A plain name with the shell in its arguments is refused too.
    expect(
      problem(
        manifest({}, { binaries: [binary({ smoke: { args: ['-c', 'id > /tmp/pwned'], cpu: null, firstLine: '' } })] }),
      ),
    ).toBe(
      'artifacts[0].binaries[0].smoke.args[1] "id > /tmp/pwned": is not a plain word or flag (no values, paths or spaces)',
    );
  });

  it.each([
    ['a size that is not a safe integer', { size: '60000000; reboot' }, 'artifacts[0].size "60000000; reboot"'],
    ['a fractional size', { size: 1.5 }, 'artifacts[0].size 1.5: is not a whole number of bytes'],
    ['a huge size', { size: 2 ** 60 }, 'artifacts[0].size'],
    ['an upper-case hash', { sha256: 'A'.repeat(64) }, 'artifacts[0].sha256'],
    [
      'a file that climbs',
      { file: '../../etc/passwd' },
      'artifacts[0].file "../../etc/passwd": is not a dist file name',
    ],
    ['a target with a slash', { target: 'armv6/../x' }, 'artifacts[0].target'],
    ['binaries named twice', { binaries: [binary(), binary()] }, 'artifacts[0].binaries [{'],
    ['a binary size as a string', { binaries: [binary({ size: '1' })] }, 'artifacts[0].binaries[0].size "1"'],
    ['a hidden binary name', { binaries: [binary({ name: '.profile' })] }, 'artifacts[0].binaries[0].name ".profile"'],
    ['a name with a newline', { binaries: [binary({ name: 'dockerd\nrm' })] }, 'artifacts[0].binaries[0].name'],
    [
      'five smoke arguments',
      { binaries: [binary({ smoke: { args: ['a', 'b', 'c', 'd', 'e'], cpu: null, firstLine: '' } })] },
      'has more than 4 arguments',
    ],
    ['an image tag with a space', { image: { tag: 'x y:1', id: `sha256:${HASH}` } }, 'artifacts[0].image.tag "x y:1"'],
  ])('refuses %s', (_what, bundle, expected) => {
    expect(problem(manifest({}, bundle))).toContain(expected);
  });

  it.each([
    ['not an object', null, 'the manifest null'],
    ['another schema version', manifest({ schemaVersion: 2 }), 'schemaVersion 2: is not 1'],
    ['a version that climbs', manifest({ version: '../1.0.0' }), 'version "../1.0.0": is not a semver version'],
    ['a version with a shell word', manifest({ version: '1.0.0 $(id)' }), 'version "1.0.0 $(id)"'],
    ['no artifacts', manifest({ artifacts: undefined }), 'artifacts missing'],
    [
      'a file listed twice',
      manifest({ artifacts: [manifest().artifacts[1], manifest().artifacts[1]] }),
      'list the same file twice',
    ],
  ])('refuses %s', (_what, value, expected) => {
    expect(problem(value)).toContain(expected);
  });

  it('smoke arguments are words and flags only', () => {
    for (const good of ['--version', '-v', 'version', '--help', '-version']) expect(isSmokeArgument(good)).toBe(true);
    for (const bad of ['', '-', '--config=/x', '/bin/sh', 'a b', '$(id)', '--', 'x;y', '-c\n'])
      expect(isSmokeArgument(bad), bad).toBe(false);
  });
});

describe("a board's record of a version", () => {
  it('is read through the same checks as a manifest', () => {
    expect(parseVersionRecord({ version: '1.0.0', target: 'armv6', binaries: [binary()] })).toMatchObject({
      binaries: [{ name: 'dockerd' }],
    });
    expect(parseVersionRecord({ version: '1.0.0', target: 'armv6', binaries: [binary({ name: '../sh' })] })).toBeNull();
    expect(parseVersionRecord({ version: '1.0.0', target: 'armv6' })).toBeNull();
  });
});

describe('a release and its manifest', () => {
  it("a tag holds its own version and no other's", () => {
    expect(tagMatchesVersion('v29.7.2', '29.7.2')).toBe(true);
    expect(tagMatchesVersion('29.7.2', '29.7.2')).toBe(true);
    expect(tagMatchesVersion('v29.7.2', '26.1.5')).toBe(false);
    expect(tagMatchesVersion('v29.7.2-rc.1', '29.7.2')).toBe(false);
  });

  it('a board downloads only from the release server, over its scheme', () => {
    const api = 'https://api.github.com';
    expect(isReleaseDownloadUrl('https://github.com/acme/docker-arm/releases/download/v1/x.tgz', api)).toBe(true);
    expect(isReleaseDownloadUrl('http://github.com/acme/x.tgz', api)).toBe(false);
    expect(isReleaseDownloadUrl('file:///etc/shadow', api)).toBe(false);
    expect(isReleaseDownloadUrl('https://evil.example/x.tgz', api)).toBe(false);
    expect(isReleaseDownloadUrl('https://user:pw@github.com/x.tgz', api)).toBe(false);
    expect(isReleaseDownloadUrl('http://192.168.1.1/admin', api)).toBe(false);
    expect(isReleaseDownloadUrl('https://ghe.corp/acme/x.tgz', 'https://ghe.corp/api/v3')).toBe(true);
    // A local server over plain http (the tests' own) may hand out http URLs on its own host.
    expect(isReleaseDownloadUrl('http://127.0.0.1:4000/download/1/x.tgz', 'http://127.0.0.1:3999')).toBe(true);
    expect(isReleaseDownloadUrl('not a url', api)).toBe(false);
  });
});
