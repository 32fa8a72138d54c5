import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { build } from '../../src/builder/build.js';
import { resolveDockerRelease } from '../../src/builder/docker-release.js';
import { detectLayout, directoryTree, type BuiltinSource } from '../../src/builder/release-lines.js';
import { fetchGit } from '../../src/builder/sources.js';
import { loadConfig } from '../../src/config/load.js';
import { LocalRunner } from '../../src/exec/local-runner.js';
import { loadTargets } from '../../src/platform/targets.js';
import { loadToolchains } from '../../src/platform/toolchains.js';
import { resolveGo } from '../../src/toolchain/go-toolchain.js';
import { commitAll } from '../helpers/git.js';
import { tempTree } from '../helpers/temp.js';
import { requireTools } from '../helpers/tools.js';

const runner = new LocalRunner();

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

/** A real repository: one commit per file set, each tagged as given. */
async function repository(root: string, commits: Array<{ files: Record<string, string>; tag?: string }>) {
  await mkdir(root, { recursive: true });
  await execa('git', ['init', '-q', '-b', 'main'], { cwd: root });
  let day = 1;
  for (const commit of commits) {
    await writeTree(root, commit.files);
    await commitAll(root, `commit ${day}`, `2026-01-${String(day++).padStart(2, '0')}T00:00:00Z`);
    if (commit.tag) await execa('git', ['tag', '-a', '-m', commit.tag, commit.tag], { cwd: root });
  }
  return root;
}

const LAYOUTS: Array<[BuiltinSource, string, Record<string, string>, RegExp]> = [
  [
    'moby',
    'v20.10.24',
    { 'engine/cmd/dockerd/docker.go': '', 'libnetwork/cmd/proxy/main.go': '', 'debian/control': '' },
    /^moby 20\.10 \(Debian/,
  ],
  [
    'moby',
    'v28.5.2',
    {
      'vendor.mod': 'module github.com/docker/docker\n\ngo 1.24.0\n',
      'vendor/modules.txt': '',
      'cmd/dockerd/docker.go': '',
      'cmd/docker-proxy/main.go': '',
    },
    /^moby 23–28/,
  ],
  [
    'moby',
    'docker-v29.7.2',
    {
      'go.mod': 'module github.com/moby/moby/v2\n\ngo 1.26.3\n',
      'vendor/modules.txt': '',
      'cmd/dockerd/docker.go': '',
      'cmd/docker-proxy/main.go': '',
    },
    /^moby 29\+/,
  ],
  [
    'cli',
    'v29.7.2',
    {
      'vendor.mod': 'module github.com/docker/cli\n\ngo 1.25.0\n',
      'vendor/modules.txt': '',
      'cmd/docker/docker.go': '',
    },
    /^docker\/cli \(vendor\.mod\)/,
  ],
  [
    'containerd',
    'v1.7.28',
    { 'go.mod': 'module github.com/containerd/containerd\n\ngo 1.23.0\n', 'vendor/modules.txt': '' },
    /^containerd 1\.x/,
  ],
  [
    'containerd',
    'v2.3.3',
    { 'go.mod': 'module github.com/containerd/containerd/v2\n\ngo 1.26.3\n', 'vendor/modules.txt': '' },
    /^containerd 2\.x/,
  ],
  [
    'runc',
    'v1.1.15',
    { 'go.mod': 'module github.com/opencontainers/runc\n\ngo 1.20\n', 'vendor/modules.txt': '', 'main.go': '' },
    /^runc 1\.1/,
  ],
  [
    'runc',
    'v1.4.3',
    {
      'go.mod': 'module github.com/opencontainers/runc\n\ngo 1.24.0\n',
      'vendor/modules.txt': '',
      'main.go': '//go:embed VERSION\nvar version string\n',
      VERSION: '1.4.3\n',
    },
    /^runc 1\.2\+/,
  ],
  ['tini', 'v0.19.0', { 'src/tini.c': 'int main(void) { return 0; }\n' }, /^tini$/],
];

describe.runIf(requireTools('git', 'tar'))('release lines from real git checkouts', () => {
  it.each(LAYOUTS)(
    '%s %s is recognised from the tree a shallow fetch of its tag gives',
    async (source, tag, files, line) => {
      const root = await tempTree();
      // Older history first, so a full clone would bring more than the tag needs.
      const upstream = await repository(join(root, 'upstream'), [
        { files: { 'OLD.md': 'history\n' } },
        { files, tag },
        { files: { 'NEXT.md': 'after the release\n' } },
      ]);
      const checkout = await fetchGit(
        { kind: 'git', url: `file://${upstream}`, ref: tag },
        `git+file://${upstream}#${tag}`,
        { runner, cacheDirectory: join(root, 'cache') },
      );
      expect(detectLayout(source, directoryTree(checkout.directory)).line).toMatch(line);
      expect(checkout.version).toBe(tag.replace(/^(docker-)?v/, ''));
      const mirror = join(root, 'cache', 'git', (await execa('ls', [join(root, 'cache', 'git')])).stdout.trim());
      expect((await execa('git', ['-C', mirror, 'rev-list', '--all', '--count'])).stdout).toBe('1');
      expect((await execa('git', ['-C', mirror, 'rev-parse', '--is-shallow-repository'])).stdout).toBe('true');
    },
  );

  it('fetches from a mirror that holds only part of the history', async () => {
    const root = await tempTree();
    const upstream = await repository(join(root, 'upstream'), [
      { files: { 'a.txt': '1\n' } },
      { files: { 'a.txt': '2\n' } },
      { files: { 'src/tini.c': 'int main(void) { return 0; }\n' }, tag: 'v0.19.0' },
    ]);
    const mirror = join(root, 'mirror.git');
    await execa('git', ['clone', '-q', '--bare', '--depth', '1', '--branch', 'v0.19.0', `file://${upstream}`, mirror]);
    expect((await execa('git', ['-C', mirror, 'rev-parse', '--is-shallow-repository'])).stdout).toBe('true');
    const checkout = await fetchGit({ kind: 'git', url: `file://${mirror}`, ref: 'v0.19.0' }, 'tini', {
      runner,
      cacheDirectory: join(root, 'cache'),
    });
    expect(checkout.version).toBe('0.19.0');
    expect(detectLayout('tini', directoryTree(checkout.directory)).line).toBe('tini');
  });

  it('names the ref a repository lacks', async () => {
    const root = await tempTree();
    const upstream = await repository(join(root, 'upstream'), [{ files: { 'a.txt': '1\n' }, tag: 'v1.0.0' }]);
    await expect(
      fetchGit({ kind: 'git', url: `file://${upstream}`, ref: 'v9.9.9' }, `git+file://${upstream}#v9.9.9`, {
        runner,
        cacheDirectory: join(root, 'cache'),
      }),
    ).rejects.toThrow(/ref "v9\.9\.9" not found/);
  });

  it("resolves build.docker to the versions moby's Dockerfile pins, and latest to the newest stable tag", async () => {
    const root = await tempTree();
    const dockerfile = (containerd: string) =>
      `ARG GO_VERSION=1.26.5\nARG CONTAINERD_VERSION=${containerd}\nARG RUNC_VERSION=v1.4.3\nARG TINI_VERSION=v0.19.0\n`;
    await repository(join(root, 'moby+moby'), [
      { files: { Dockerfile: dockerfile('v2.3.2') }, tag: 'docker-v29.7.1' },
      { files: { Dockerfile: dockerfile('v2.3.3') }, tag: 'docker-v29.7.2' },
      { files: { Dockerfile: dockerfile('v2.4.0-rc.1') }, tag: 'docker-v29.8.0-rc.1' },
    ]);
    const mirror = `file://${root}/{owner}+{repo}`;
    const context = { runner, cacheDirectory: join(root, 'cache') };
    const pinned = await resolveDockerRelease('v29.7.1', mirror, context);
    expect(pinned.version).toBe('29.7.1');
    expect(pinned.sources).toEqual({
      moby: `git+file://${root}/moby+moby#docker-v29.7.1`,
      cli: `git+file://${root}/docker+cli#v29.7.1`,
      containerd: `git+file://${root}/containerd+containerd#v2.3.2`,
      runc: `git+file://${root}/opencontainers+runc#v1.4.3`,
      tini: `git+file://${root}/krallin+tini#v0.19.0`,
    });
    expect(pinned.pins.go).toBe('1.26.5');
    const latest = await resolveDockerRelease('latest', mirror, context);
    expect(latest.version).toBe('29.7.2');
    expect(latest.sources.containerd).toMatch(/#v2\.3\.3$/);
    await expect(resolveDockerRelease('latest', `file://${root}/none/{repo}`, context)).rejects.toThrow(
      /no release tags found/,
    );
  });

  it('takes a Go already unpacked into the cache when the one on PATH is too old', async () => {
    const root = await tempTree();
    const goroot = join(root, 'go', 'golang-1.99_1.99.1-1', 'usr', 'lib', 'go-1.99');
    await writeTree(goroot, { 'bin/go': '#!/bin/sh\necho go1.99.1\n' });
    await chmod(join(goroot, 'bin', 'go'), 0o755);
    await writeFile(join(root, 'go', 'golang-1.99_1.99.1-1', '.crossdock-complete'), '');
    const go = await resolveGo(
      { minimum: '1.99.0', preferred: null, from: ['go.mod go 1.99.0'] },
      {
        runner,
        cacheDirectory: root,
        offline: true,
      },
    );
    expect(go).toMatchObject({ version: '1.99.1', origin: 'golang-1.99 1.99.1-1', goroot });
    await expect(
      resolveGo(
        { minimum: '1.999.0', preferred: null, from: ['go.mod go 1.999.0'] },
        {
          runner,
          cacheDirectory: root,
          offline: true,
        },
      ),
    ).rejects.toThrow(/need Go 1\.999\.0 \(go\.mod go 1\.999\.0\)/);
  });
});

const registry = await loadTargets();
const toolchains = await loadToolchains();

/** A moby 29 in miniature: the module path, vendor/, dockerversion variables and both commands. */
function miniMoby(versionPackage: string): Record<string, string> {
  return {
    'go.mod': 'module github.com/moby/moby/v2\n\ngo 1.19\n',
    'vendor/modules.txt': '',
    'dockerversion/version.go':
      'package dockerversion\n\nvar (\n\tVersion = "dev"\n\tGitCommit = "none"\n\tBuildTime = ""\n\tPlatformName = ""\n)\n',
    'other/version.go': 'package other\n\nvar (\n\tVersion = "dev"\n\tGitCommit = "none"\n)\n',
    'cmd/dockerd/main.go': `package main\n\nimport (\n\t"fmt"\n\tv "github.com/moby/moby/v2/${versionPackage}"\n)\n\nfunc main() { fmt.Printf("Docker version %s, build %s\\n", v.Version, v.GitCommit) }\n`,
    // As moby's own does for --version: the variables the -X flags set (#25: it said library-import).
    'cmd/docker-proxy/main.go':
      'package main\n\nimport (\n\t"fmt"\n\tv "github.com/moby/moby/v2/dockerversion"\n)\n\nfunc main() { fmt.Printf("docker-proxy (commit %s) version %s\\n", v.GitCommit, v.Version) }\n',
  };
}

describe.runIf(requireTools('git', 'tar', 'go', 'gcc'))('a build from an upstream moby tag', () => {
  async function buildMoby(versionPackage: string) {
    const root = await tempTree();
    const moby = await repository(join(root, 'moby'), [{ files: miniMoby(versionPackage), tag: 'docker-v29.0.1' }]);
    await writeFile(
      join(root, 'crossdock.yaml'),
      `targets: [x86_64]\nbuild:\n  components: [dockerd, docker-proxy]\n  sources:\n    moby: git+file://${moby}#docker-v29.0.1\n`,
    );
    const loaded = await loadConfig({ cwd: root, file: 'crossdock.yaml' });
    loaded.config.build.cacheDir = join(root, 'cache');
    return build({ config: loaded.config, baseDirectory: root, registry, toolchains, runner });
  }

  it("names the bundle for moby's tag and proves the version variables took effect", async () => {
    const result = await buildMoby('dockerversion');
    expect(result.version).toBe('29.0.1');
    const dockerd = result.manifest.artifacts
      .find((a) => a.file === 'docker-29.0.1-x86_64.tgz')
      ?.binaries?.find((b) => b.name === 'dockerd');
    expect(dockerd?.smoke?.firstLine).toMatch(/^Docker version 29\.0\.1, build [0-9a-f]{7}$/);
    expect(dockerd?.component).toBe('moby');
  });

  it('fails the build when a version variable does not reach the binary', async () => {
    // dockerd reads another package's variables: the -X flags name a package it never prints.
    await expect(buildMoby('other')).rejects.toThrow(/without 29\.0\.1 .*did not take effect/);
  });
});
