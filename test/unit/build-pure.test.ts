import { describe, expect, it } from 'vitest';
import { cacheKey, stableStringify } from '../../src/builder/cache.js';
import { formatSha256Sums, parseSha256Sums } from '../../src/artifacts/checksums.js';
import { debSrcList, parseAptSources } from '../../src/toolchain/private-apt.js';
import {
  cleanExclusions,
  goBuildDependencies,
  debFileName,
  goLibrariesToInstall,
  sourceVersions,
} from '../../src/builder/debian-source.js';
import { fillPlaceholders } from '../../src/builder/placeholders.js';
import { parseSourceSpec } from '../../src/builder/sources.js';
import { tarHeader } from '../../src/builder/tar.js';
import {
  normalizeVersion,
  pseudoVersion,
  upstreamOfDebianVersion,
  versionFromDescribe,
} from '../../src/builder/version.js';

describe('versions', () => {
  it('makes Docker-style pseudo-versions from the commit time and revision', () => {
    expect(pseudoVersion(Date.parse('2026-01-02T03:04:05Z') / 1000, 'ABCDEF0123456789')).toBe(
      '0.0.0-20260102030405-abcdef0',
    );
  });

  it.each([
    ['20.10.24+dfsg1-1+deb12u1', '20.10.24'],
    ['1.6.20~ds1-1+deb12u3', '1.6.20'],
    ['1.1.5+ds1-1+deb12u1', '1.1.5'],
    ['0.19.0-1', '0.19.0'],
    ['1:2.5.4-1+b3', '2.5.4'],
  ])('reads upstream %s → %s', (debian, upstream) => {
    expect(upstreamOfDebianVersion(debian)).toBe(upstream);
  });

  it('takes a version from git describe only on an exact tag', () => {
    expect(versionFromDescribe('v1.1.5\n')).toBe('1.1.5');
    expect(versionFromDescribe('v1.1.5-3-gabcdef0')).toBeNull();
    expect(normalizeVersion('v27.5.1', '--version')).toBe('27.5.1');
    expect(() => normalizeVersion('27.5', '--version')).toThrow('--version: "27.5" is not a semver version');
  });
});

describe('source specs', () => {
  it.each([
    [
      'git+https://github.com/opencontainers/runc.git#v1.1.12',
      { kind: 'git', url: 'https://github.com/opencontainers/runc.git', ref: 'v1.1.12' },
    ],
    ['git+file:///srv/mirror/moby@v27.5.1', { kind: 'git', url: 'file:///srv/mirror/moby', ref: 'v27.5.1' }],
    ['git+ssh://git@example.com/x/y.git', { kind: 'git', url: 'ssh://git@example.com/x/y.git', ref: 'HEAD' }],
    ['debian:docker.io', { kind: 'debian', package: 'docker.io', suite: null, version: null }],
    ['debian:runc=1.1.5+ds1-1', { kind: 'debian', package: 'runc', suite: null, version: '1.1.5+ds1-1' }],
    ['./src/tini', { kind: 'directory', path: '/work/project/src/tini' }],
  ])('%s', (spec, expected) => {
    expect(parseSourceSpec(spec, 'build.sources.x', '/work/project')).toEqual(expected);
  });

  it('refuses what it cannot read, naming where it came from', () => {
    expect(() => parseSourceSpec('git+ftp://x/y', 'build.sources.runc', '/')).toThrow(
      'build.sources.runc: "git+ftp://x/y" is not a git source',
    );
  });
});

describe('Debian sources', () => {
  it("turns the machine's deb entries, one-line and deb822, into deb-src lines of its own", () => {
    const sources = parseAptSources([
      {
        name: 'sources.list',
        text: 'deb http://deb.debian.org/debian bookworm main contrib\n# deb http://old/ x main\ndeb-src http://x/ y main\n',
      },
      {
        name: 'debian.sources',
        text: 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\nEnabled: no\n',
      },
    ]);
    expect(debSrcList(sources)).toBe(
      'deb-src http://deb.debian.org/debian bookworm main contrib\n' +
        'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main\n' +
        'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main\n',
    );
  });

  it("reads the Go libraries from a .dsc's Build-Depends", () => {
    const dsc =
      'Source: runc\nBuild-Depends: debhelper-compat (= 13), dh-golang, golang-any, golang-dbus-dev,\n golang-github-urfave-cli-dev (>= 1.22.9~), golang-gocapability-dev [linux-any] | golang-x-dev,\n libseccomp-dev\nStandards-Version: 4.6.1\n';
    expect(goBuildDependencies(dsc)).toEqual([
      'golang-dbus-dev',
      'golang-github-urfave-cli-dev',
      'golang-gocapability-dev',
    ]);
  });

  it('takes the Go libraries from what apt would install', () => {
    const simulation =
      'NOTE: This is only a simulation!\nInst libc6 (2.36-9+deb12u9 Debian:12.9/stable [amd64])\nInst golang-github-golang-protobuf-1-3-dev (1.3.5-4 Debian:12.15/oldstable [all])\nInst golang-github-docker-spdystream-dev (0.2.0-1 Debian:12.15/oldstable [all])\nConf golang-github-docker-spdystream-dev (0.2.0-1 Debian:12.15/oldstable [all])\n';
    expect(goLibrariesToInstall(simulation)).toEqual([
      { name: 'golang-github-docker-spdystream-dev', version: '0.2.0-1' },
      { name: 'golang-github-golang-protobuf-1-3-dev', version: '1.3.5-4' },
    ]);
    expect(debFileName({ name: 'golang-x-dev', version: '1:0.1-2' }, 'all')).toBe('golang-x-dev_1%3a0.1-2_all.deb');
  });

  it('lists the versions apt-cache showsrc knows', () => {
    const showsrc =
      'Package: runc\nFormat: 3.0 (quilt)\nBinary: runc\nVersion: 1.1.5+ds1-1\n\nPackage: runc\nFormat: 3.0 (quilt)\nVersion: 1.1.5+ds1-1+deb12u1\n\nPackage: other\nVersion: 9\n';
    expect(sourceVersions(showsrc, 'runc')).toEqual(['1.1.5+ds1-1', '1.1.5+ds1-1+deb12u1']);
  });

  it("removes what the package's clean step removes: Files-Excluded, but not the ~kept entries", () => {
    const copyright =
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n' +
      'Files-Excluded:\n    .github\n    vendor/github.com/moby/buildkit\n   ~vendor/code.cloudfoundry.org\n' +
      ' ~B~vendor/github.com/armon/go-radix\n    ../escape\n\nFiles-Excluded-distribution:\n    */docs\n\n' +
      'Files: *\nCopyright: Docker\n';
    const rules =
      "override_dh_clean:\n\t$(RM) -rv `perl -0nE 'say grep { $$_=q{ */}.$$_ } split(/\\s+/,$$1) if m{^Files\\-Excluded:\\s*(.*?)(?:\\n\\n|^Files|^Comment:)}sm;' debian/copyright`\n";
    expect(cleanExclusions(rules, copyright)).toEqual(['.github', 'vendor/github.com/moby/buildkit']);
    // A package whose rules do not run that step keeps its tree as unpacked.
    expect(cleanExclusions('%:\n\tdh $@\n', copyright)).toEqual([]);
  });
});

describe('checksums, cache keys, placeholders, tar headers', () => {
  it('writes SHA256SUMS sorted, in the format sha256sum -c reads, and reads it back', () => {
    const text = formatSha256Sums([
      { name: 'b.tgz', sha256: 'b'.repeat(64) },
      { name: 'a.tgz', sha256: 'a'.repeat(64) },
    ]);
    expect(text).toBe(`${'a'.repeat(64)}  a.tgz\n${'b'.repeat(64)}  b.tgz\n`);
    expect(parseSha256Sums(text).map((e) => e.name)).toEqual(['a.tgz', 'b.tgz']);
  });

  it('keys the cache on values, not on key order', () => {
    expect(stableStringify({ b: 1, a: { d: [2, { f: 1, e: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"e":2,"f":1}]},"b":1}',
    );
    expect(cacheKey({ x: 1, y: { a: 1, b: 2 } })).toBe(cacheKey({ y: { b: 2, a: 1 }, x: 1 }));
    expect(cacheKey({ x: 1 })).not.toBe(cacheKey({ x: 2 }));
  });

  it('fills placeholders from SOURCE_DATE_EPOCH, never the clock', () => {
    const values = {
      version: '1.2.3',
      revision: 'abcdef0123',
      revisionShort: 'abcdef0',
      sourceDateEpoch: 1767225600,
      target: 'armv6',
    };
    expect(fillPlaceholders('-X v={version} -X c={revisionShort} -X t={buildTime} {unknown}', values)).toBe(
      '-X v=1.2.3 -X c=abcdef0 -X t=2026-01-01T00:00:00Z {unknown}',
    );
  });

  it('writes ustar headers with root ownership and a valid checksum', () => {
    const header = tarHeader('docker/runc', 1234, 0o755, 'file', 1767225600);
    expect(header.length).toBe(512);
    expect(header.toString('ascii', 0, 11)).toBe('docker/runc');
    expect(header.toString('ascii', 257, 262)).toBe('ustar');
    const stored = parseInt(header.toString('ascii', 148, 154), 8);
    const check = Buffer.from(header);
    check.fill(0x20, 148, 156);
    expect(stored).toBe([...check].reduce((sum, byte) => sum + byte, 0));
    expect(() => tarHeader('x'.repeat(101), 0, 0o644, 'file', 0)).toThrow(/longer than 100 bytes/);
  });
});

describe('smoke lines', () => {
  it('write a usage line’s program path as the bare binary name, on the build machine and on the board alike', async () => {
    const { normalizeSmokeLine, smokeFirstLine } = await import('../../src/builder/smoke-line.js');
    expect(normalizeSmokeLine('Usage of /root/.cache/crossdock/tmp/1c4118c9-docker-proxy:', 'docker-proxy')).toBe(
      'Usage of docker-proxy:',
    );
    expect(
      normalizeSmokeLine(
        '3bb4ad89d9ff4105eabf41c04d920f51d26a4d17ff20354bb2f0ca8f8470cbaa-containerd-shim-runc-v2:',
        'containerd-shim-runc-v2',
      ),
    ).toBe('containerd-shim-runc-v2:');
    expect(normalizeSmokeLine('Usage of /opt/crossdock/versions/20.10.24/docker-proxy:', 'docker-proxy')).toBe(
      'Usage of docker-proxy:',
    );
    expect(
      smokeFirstLine('', 'flag provided but not defined: -version\nUsage of /x/docker-proxy:\n', 'docker-proxy'),
    ).toBe('flag provided but not defined: -version');
    expect(smokeFirstLine('Docker version 20.10.24, build 02df7fa\n', '', 'dockerd')).toBe(
      'Docker version 20.10.24, build 02df7fa',
    );
  });
});
