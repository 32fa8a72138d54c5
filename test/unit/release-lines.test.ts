import { describe, expect, it } from 'vitest';
import { dockerPins, mobyTag, newestDockerRelease, repositoryUrl } from '../../src/builder/docker-release.js';
import { debianArchive, parseAptSources, sourcesList, suitesOf } from '../../src/toolchain/private-apt.js';
import type { GoRecipe } from '../../src/builder/recipe-schema.js';
import { detectLayout, parseModuleFile, type SourceTree } from '../../src/builder/release-lines.js';
import { parseSourceSpec, pickRemoteRef } from '../../src/builder/sources.js';
import { dscFromSourcesStanza, sourceFiles } from '../../src/builder/debian-source.js';
import { chooseGoPackage, combineRequirements, goVersion, madisonVersions } from '../../src/toolchain/go-toolchain.js';
import { UserError } from '../../src/errors.js';

/** A tree of paths; a directory exists when some path lies below it. */
function tree(files: Record<string, string>): SourceTree {
  return {
    has: (path) => path in files || Object.keys(files).some((file) => file.startsWith(`${path}/`)),
    read: (path) => files[path] ?? null,
  };
}

const ldflagsOf = (recipe: unknown, binary: string) =>
  (recipe as GoRecipe).binaries.find((b) => b.name === binary)?.ldflags ?? [];

describe('release lines are read from the source itself', () => {
  it("recognises Debian's docker.io 20.10 tree: engine and libnetwork in one GOPATH", () => {
    const layout = detectLayout(
      'moby',
      tree({ 'engine/cmd/dockerd/docker.go': '', 'libnetwork/cmd/proxy/main.go': '', 'cli/cmd/docker/docker.go': '' }),
    );
    expect(layout.debian).toBe(true);
    expect(layout.recipes.map((r) => [r.name, r.directory, (r as GoRecipe).importPath])).toEqual([
      ['moby', 'engine', 'github.com/docker/docker'],
      ['libnetwork', 'libnetwork', 'github.com/docker/libnetwork'],
    ]);
    expect(ldflagsOf(layout.recipes[0], 'dockerd')).toContain(
      '-X github.com/docker/docker/dockerversion.Version={version}',
    );
  });

  it('builds moby 23–28 in module mode from vendor.mod, with a stub go.mod, as hack/with-go-mod.sh does', () => {
    const layout = detectLayout(
      'moby',
      tree({
        'vendor.mod': 'module github.com/docker/docker\n\ngo 1.24.0\n',
        'vendor/modules.txt': '',
        'cmd/dockerd/docker.go': '',
        'cmd/docker-proxy/main.go': '',
        Dockerfile: 'ARG GO_VERSION=1.24.9\nARG CONTAINERD_VERSION=v1.7.28\n',
      }),
    );
    const [recipe] = layout.recipes as GoRecipe[];
    expect(layout.line).toMatch(/23–28/);
    expect(recipe?.modFile).toBe('vendor.mod');
    expect(recipe?.importPath).toBeUndefined();
    expect(recipe?.generate).toEqual([{ path: 'go.mod', content: 'module github.com/docker/docker\n\ngo 1.24.0\n' }]);
    expect(recipe?.binaries.map((b) => [b.name, b.package])).toEqual([
      ['dockerd', './cmd/dockerd'],
      ['docker-proxy', './cmd/docker-proxy'],
    ]);
    expect(layout.go).toEqual({
      minimum: '1.24.0',
      preferred: '1.24.9',
      from: ['vendor.mod go 1.24.0', 'Dockerfile GO_VERSION=1.24.9'],
    });
  });

  it('builds moby 29+ as the module github.com/moby/moby/v2, its version variables under /v2', () => {
    const layout = detectLayout(
      'moby',
      tree({
        'go.mod': 'module github.com/moby/moby/v2\n\ngo 1.26.3\n\ntool (\n\tgithub.com/x/y\n)\n',
        'vendor/modules.txt': '',
        'cmd/dockerd/docker.go': '',
        'cmd/docker-proxy/main.go': '',
      }),
    );
    expect(layout.line).toBe('moby 29+ (module github.com/moby/moby/v2)');
    expect(ldflagsOf(layout.recipes[0], 'dockerd')).toEqual([
      '-X github.com/moby/moby/v2/dockerversion.Version={version}',
      '-X github.com/moby/moby/v2/dockerversion.GitCommit={revisionShort}',
      '-X github.com/moby/moby/v2/dockerversion.BuildTime={buildTime}',
      '-X github.com/moby/moby/v2/dockerversion.PlatformName=crossdock',
    ]);
    // docker-proxy --version prints the same variables: without them, `version library-import` (#25).
    expect(ldflagsOf(layout.recipes[0], 'docker-proxy')).toEqual([
      '-X github.com/moby/moby/v2/dockerversion.Version={version}',
      '-X github.com/moby/moby/v2/dockerversion.GitCommit={revisionShort}',
    ]);
    expect(layout.go.minimum).toBe('1.26.3');
  });

  it('refuses a moby tree of no known line, naming what it looked for', () => {
    expect(() => detectLayout('moby', tree({ 'README.md': '' }))).toThrow(UserError);
    expect(() => detectLayout('moby', tree({ 'README.md': '' }))).toThrow(/build\.sources\.moby/);
  });

  it('tells containerd 1.x from 2.x by its module path', () => {
    const one = detectLayout(
      'containerd',
      tree({ 'go.mod': 'module github.com/containerd/containerd\ngo 1.23.0\n', 'vendor/modules.txt': '' }),
    );
    const two = detectLayout(
      'containerd',
      tree({ 'go.mod': 'module github.com/containerd/containerd/v2\ngo 1.26.3\n', 'vendor/modules.txt': '' }),
    );
    expect(one.line).toMatch(/^containerd 1\.x/);
    expect(two.line).toMatch(/^containerd 2\.x/);
    expect(ldflagsOf(two.recipes[0], 'ctr')).toEqual([
      '-X github.com/containerd/containerd/v2/version.Version={version}',
      '-X github.com/containerd/containerd/v2/version.Revision={revision}',
      '-X github.com/containerd/containerd/v2/version.Package=github.com/containerd/containerd/v2',
    ]);
  });

  it("builds Debian's containerd (no vendor/) in GOPATH mode, and refuses an upstream tree without vendor/", () => {
    const debian = detectLayout(
      'containerd',
      tree({ 'go.mod': 'module github.com/containerd/containerd\n', 'debian/control': '' }),
    );
    expect(debian.debian).toBe(true);
    expect((debian.recipes[0] as GoRecipe).importPath).toBe('github.com/containerd/containerd');
    expect(() => detectLayout('containerd', tree({ 'go.mod': 'module github.com/containerd/containerd\n' }))).toThrow(
      /no vendor\/ directory/,
    );
  });

  it('sets runc 1.1 version with -X but leaves runc 1.2+ (VERSION embedded) to its file', () => {
    const files = { 'go.mod': 'module github.com/opencontainers/runc\ngo 1.24.0\n', 'vendor/modules.txt': '' };
    const old = detectLayout('runc', tree({ ...files, 'main.go': 'var version = "unknown"\n' }));
    const embedded = detectLayout('runc', tree({ ...files, 'main.go': '//go:embed VERSION\nvar version string\n' }));
    expect(ldflagsOf(old.recipes[0], 'runc')).toEqual(['-X main.version={version}', '-X main.gitCommit={revision}']);
    expect(ldflagsOf(embedded.recipes[0], 'runc')).toEqual(['-X main.gitCommit={revision}']);
    expect((embedded.recipes[0] as GoRecipe).binaries[0]?.expect).toEqual(['{version}', '{revision}']);
  });

  it('builds the docker/cli of vendor.mod in module mode, and the Debian cli/ in GOPATH mode', () => {
    const upstream = detectLayout(
      'cli',
      tree({
        'vendor.mod': 'module github.com/docker/cli\n\ngo 1.25.0\n',
        'vendor/modules.txt': '',
        'cmd/docker/docker.go': '',
      }),
    );
    expect((upstream.recipes[0] as GoRecipe).modFile).toBe('vendor.mod');
    const debian = detectLayout('cli', tree({ 'cli/cmd/docker/docker.go': '', 'engine/cmd/dockerd/x.go': '' }));
    expect(debian.recipes[0]?.directory).toBe('cli');
  });

  it("gives upstream tini its git revision and Debian's tini none", () => {
    const upstream = detectLayout('tini', tree({ 'src/tini.c': '' }));
    const debian = detectLayout('tini', tree({ 'src/tini.c': '', 'debian/control': '' }));
    expect(upstream.recipes[0]?.generate[0]?.content).toContain('" - git.{revisionShort}"');
    expect(debian.recipes[0]?.generate[0]?.content).toContain('#define TINI_GIT ""');
  });

  it('reads go.mod lines, quoted or commented', () => {
    expect(parseModuleFile('module "github.com/a/b" // x\n\ngo 1.22\ntoolchain go1.22.4\n')).toEqual({
      module: 'github.com/a/b',
      go: '1.22',
      toolchain: '1.22.4',
    });
    expect(parseModuleFile('// nothing\n')).toBeNull();
  });

  it("builds compose as a CLI plugin: Debian's tree in GOPATH mode, upstream vendored or from GOPROXY", () => {
    const goMod = 'module github.com/docker/compose/v2\n\ngo 1.24.9\n';
    const debian = detectLayout('compose', tree({ 'go.mod': goMod, 'cmd/main.go': '', 'debian/control': '' }));
    const debianRecipe = debian.recipes[0] as GoRecipe;
    // Go's minimal module compatibility finds the /v2 imports under the plain path, as Debian builds it.
    expect(debianRecipe.importPath).toBe('github.com/docker/compose');
    expect(debianRecipe.binaries[0]).toMatchObject({
      name: 'docker-compose',
      plugin: 'compose',
      package: './cmd',
      smoke: ['version'],
      ldflags: ['-X github.com/docker/compose/internal.Version=v{version}'],
      expect: ['{version}'],
    });
    expect(debian.modules).toBe(false);
    const vendored = detectLayout('compose', tree({ 'go.mod': goMod, 'cmd/main.go': '', 'vendor/modules.txt': '' }));
    expect((vendored.recipes[0] as GoRecipe).importPath).toBeUndefined();
    expect((vendored.recipes[0] as GoRecipe).binaries[0]?.ldflags).toEqual([
      '-X github.com/docker/compose/v2/internal.Version=v{version}',
    ]);
    expect(vendored.modules).toBe(false);
    const moduleOnly = detectLayout(
      'compose',
      tree({ 'go.mod': 'module github.com/docker/compose/v5\n\ngo 1.25.0\n', 'cmd/main.go': '' }),
    );
    expect(moduleOnly.modules).toBe(true);
    expect(moduleOnly.line).toBe('compose 5.x (github.com/docker/compose/v5, modules from GOPROXY)');
    expect(moduleOnly.go.minimum).toBe('1.25.0');
    expect(() => detectLayout('compose', tree({ 'go.mod': 'module github.com/other/x\n' }))).toThrow(
      /build\.sources\.compose: the source has no layout/,
    );
  });

  it('builds buildx as a CLI plugin with its version package set', () => {
    const layout = detectLayout(
      'buildx',
      tree({
        'go.mod': 'module github.com/docker/buildx\n\ngo 1.24.0\n',
        'cmd/buildx/main.go': '',
        'vendor/modules.txt': '',
      }),
    );
    expect(layout.modules).toBe(false);
    expect((layout.recipes[0] as GoRecipe).binaries[0]).toMatchObject({
      name: 'docker-buildx',
      plugin: 'buildx',
      package: './cmd/buildx',
      ldflags: [
        '-X github.com/docker/buildx/version.Version=v{version}',
        '-X github.com/docker/buildx/version.Revision={revision}',
        '-X github.com/docker/buildx/version.Package=github.com/docker/buildx',
      ],
    });
  });
});

describe('one Docker version in, the matching set out', () => {
  const dockerfile = [
    'ARG GO_VERSION=1.26.5',
    'ARG DOCKERCLI_VERSION=v29.7.1',
    'ARG CONTAINERD_VERSION=v2.3.3',
    'ARG RUNC_VERSION=v1.4.3',
    'ARG TINI_VERSION=v0.19.0',
    'ARG BUILDX_VERSION=0.36.0',
    'ARG COMPOSE_VERSION=v5.4.0',
  ].join('\n');

  it("reads containerd, runc, tini, the plugins and Go from moby's Dockerfile", () => {
    expect(dockerPins(dockerfile, 'moby')).toEqual({
      containerd: 'v2.3.3',
      runc: 'v1.4.3',
      tini: 'v0.19.0',
      go: '1.26.5',
      buildx: '0.36.0',
      compose: 'v5.4.0',
    });
    // Releases before moby pinned its plugins keep the default's compose and no buildx.
    expect(dockerPins(dockerfile.replace(/ARG (BUILDX|COMPOSE)_VERSION=\S+\n?/g, ''), 'moby')).toMatchObject({
      buildx: null,
      compose: null,
    });
    expect(() => dockerPins('ARG GO_VERSION=1.26.5\n', 'moby docker-v29.7.2')).toThrow(/ARG CONTAINERD_VERSION/);
  });

  it('tags moby 29+ docker-vX.Y.Z and earlier releases vX.Y.Z', () => {
    expect(mobyTag('29.7.2')).toBe('docker-v29.7.2');
    expect(mobyTag('28.5.2')).toBe('v28.5.2');
  });

  it('finds the newest stable release among both tag styles', () => {
    const tags = [
      'a\trefs/tags/v28.5.2',
      'b\trefs/tags/docker-v29.7.2',
      'c\trefs/tags/docker-v29.8.0-rc.1',
      'd\trefs/tags/docker-v29.10.0',
      'e\trefs/tags/api/v1.52.0',
      'f\trefs/tags/docker-v29.10.0^{}',
    ].join('\n');
    expect(newestDockerRelease(tags)).toBe('29.10.0');
    expect(newestDockerRelease('')).toBeNull();
  });

  it('places repositories under a mirror base or a template', () => {
    expect(repositoryUrl('https://github.com/{owner}/{repo}.git', 'runc')).toBe(
      'https://github.com/opencontainers/runc.git',
    );
    expect(repositoryUrl('https://git.example.internal/mirrors/', 'cli')).toBe(
      'https://git.example.internal/mirrors/docker/cli.git',
    );
    expect(repositoryUrl('file:///srv/{owner}+{repo}/repo', 'tini')).toBe('file:///srv/krallin+tini/repo');
  });
});

describe('git sources fetch one ref', () => {
  const listing = ['1\tHEAD', '2\trefs/heads/v1.2.3', '3\trefs/tags/v1.2.3', '4\trefs/tags/v1.2.3^{}'].join('\n');
  it('prefers the tag of a name that is also a branch', () => {
    expect(pickRemoteRef(listing, 'v1.2.3')).toBe('refs/tags/v1.2.3');
    expect(pickRemoteRef(listing, 'HEAD')).toBe('HEAD');
    expect(pickRemoteRef(listing, 'refs/heads/v1.2.3')).toBe('refs/heads/v1.2.3');
    expect(pickRemoteRef(listing, 'main')).toBeNull();
  });

  it('reads debian:<package>@<suite>=<version>', () => {
    expect(parseSourceSpec('debian:docker.io@trixie', 'x', '/')).toEqual({
      kind: 'debian',
      package: 'docker.io',
      suite: 'trixie',
      version: null,
    });
    expect(parseSourceSpec('debian:runc@forky=1.3.6+ds1-1', 'x', '/')).toMatchObject({
      suite: 'forky',
      version: '1.3.6+ds1-1',
    });
    expect(() => parseSourceSpec('debian:@forky', 'build.sources.runc', '/')).toThrow(/build\.sources\.runc/);
  });
});

describe('the Go each build needs', () => {
  it('reads Go versions in every spelling', () => {
    expect(goVersion('go1.26.10')).toBe('1.26.10');
    expect(goVersion('go version go1.19.8 linux/amd64')).toBe('1.19.8');
    expect(goVersion('1.24.4-1~bpo12+1')).toBe('1.24.4');
    expect(goVersion('1.22')).toBe('1.22.0');
  });

  it('needs the highest minimum of all sources, at moby’s pinned minor', () => {
    const combined = combineRequirements([
      { minimum: null, preferred: '1.26.5', from: [] },
      { minimum: '1.24.0', preferred: null, from: ['runc go.mod go 1.24.0'] },
      { minimum: '1.26.3', preferred: null, from: ['containerd go.mod go 1.26.3'] },
    ]);
    expect(combined.minimum).toBe('1.26.3');
    expect(combined.preferred).toBe('1.26.5');
  });

  it("picks Debian's golang package: the preferred minor if new enough, else the oldest that is", () => {
    const available = madisonVersions(
      [
        'golang-1.22-go | 1.22.12-1~bpo12+1 | http://deb.debian.org/debian bookworm-backports/main amd64 Packages',
        'golang-1.23-go | 1.23.5-1~bpo12+1 | http://deb.debian.org/debian bookworm-backports/main amd64 Packages',
        'golang-1.24-go | 1.24.4-1 | http://deb.debian.org/debian trixie/main amd64 Packages',
        'golang-1.24-go | 1.24.9-1 | http://deb.debian.org/debian forky/main amd64 Packages',
        'golang-1.26-go | 1.26.10-1 | http://deb.debian.org/debian forky/main amd64 Packages',
      ].join('\n'),
    );
    expect(available.get('1.24')).toBe('1.24.9-1');
    expect(chooseGoPackage(available, { minimum: '1.24.0', preferred: '1.24.9', from: [] })).toEqual({
      minor: '1.24',
      version: '1.24.9-1',
    });
    // moby pins 1.25, which Debian lacks: the oldest newer minor that satisfies the minimum.
    expect(chooseGoPackage(available, { minimum: '1.25.0', preferred: '1.25.3', from: [] })).toEqual({
      minor: '1.26',
      version: '1.26.10-1',
    });
    expect(chooseGoPackage(available, { minimum: '1.27.0', preferred: null, from: [] })).toBeNull();
  });
});

describe("Debian's other suites, from the machine's own mirror", () => {
  it("finds the machine's Debian archive and writes lists for other suites of it", () => {
    const machine = parseAptSources([
      {
        name: 'debian.sources',
        text: [
          'Types: deb',
          'URIs: http://deb.debian.org/debian-security',
          'Suites: bookworm-security',
          'Components: main',
          '',
          'Types: deb',
          'URIs: http://deb.debian.org/debian',
          'Suites: bookworm bookworm-updates',
          'Components: main contrib',
          'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
        ].join('\n'),
      },
    ]);
    const archive = debianArchive(machine);
    if (!archive) throw new Error('no archive found');
    expect(archive.uri).toBe('http://deb.debian.org/debian');
    expect(sourcesList(suitesOf(archive, ['forky']), ['deb', 'deb-src'])).toBe(
      'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian forky main\n' +
        'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian forky main\n',
    );
  });
});

describe('a Debian source whose .dsc the mirror lacks', () => {
  const stanza = [
    'Package: docker.io',
    'Binary: docker.io, docker-cli',
    'Version: 26.1.5+dfsg1-9+deb13u1',
    'Maintainer: Debian Go Packaging Team <team+pkg-go@tracker.debian.org>',
    'Build-Depends: debhelper-compat (= 13),',
    ' golang-any',
    'Architecture: linux-any all',
    'Format: 3.0 (quilt)',
    'Files:',
    ' 0a 7997 docker.io_26.1.5+dfsg1-9+deb13u1.dsc',
    ' 0b 4443500 docker.io_26.1.5+dfsg1.orig.tar.xz',
    'Checksums-Sha256:',
    ' 7c 7997 docker.io_26.1.5+dfsg1-9+deb13u1.dsc',
    ' e0 4443500 docker.io_26.1.5+dfsg1.orig.tar.xz',
    ' a5 71544 docker.io_26.1.5+dfsg1-9+deb13u1.debian.tar.xz',
    'Directory: pool/main/d/docker.io',
    'Priority: optional',
  ].join('\n');

  it('lists the files of the version from the Sources index', () => {
    expect(sourceFiles(stanza)).toEqual([
      'docker.io_26.1.5+dfsg1-9+deb13u1.dsc',
      'docker.io_26.1.5+dfsg1.orig.tar.xz',
      'docker.io_26.1.5+dfsg1-9+deb13u1.debian.tar.xz',
    ]);
  });

  it('writes the .dsc from the signed index: Source for Package, no index-only fields, no line for itself', () => {
    const dsc = dscFromSourcesStanza(stanza);
    expect(dsc).toMatch(/^Source: docker.io\nBinary: docker.io, docker-cli\n/);
    expect(dsc).toContain('Build-Depends: debhelper-compat (= 13),\n golang-any\n');
    expect(dsc).not.toMatch(/Directory|Priority|\.dsc/);
    expect(dsc).toContain('Checksums-Sha256:\n e0 4443500 docker.io_26.1.5+dfsg1.orig.tar.xz\n a5 71544');
  });

  it("recognises Debian's docker.io 23+ tree (engine/, cli/, buildkit/), docker-proxy in engine/cmd", () => {
    const layout = detectLayout(
      'moby',
      tree({
        'engine/cmd/dockerd/docker.go': '',
        'engine/cmd/docker-proxy/main.go': '',
        'cli/cmd/docker/docker.go': '',
        'buildkit/go.mod': '',
        'debian/control': '',
      }),
    );
    const [recipe] = layout.recipes as GoRecipe[];
    expect(layout.line).toMatch(/^moby 23\+ \(Debian/);
    expect(recipe?.siblings).toEqual({
      'github.com/docker/docker': 'engine',
      'github.com/docker/cli': 'cli',
      'github.com/moby/buildkit': 'buildkit',
    });
    expect(recipe?.binaries.map((b) => b.package)).toEqual(['./cmd/dockerd', './cmd/docker-proxy']);
  });
});
