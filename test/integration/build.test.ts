import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { build, type BuildResult } from '../../src/builder/build.js';
import { sha256File } from '../../src/artifacts/checksums.js';
import { verifyBinary } from '../../src/builder/verify-binary.js';
import { loadConfig } from '../../src/config/load.js';
import { FailureError } from '../../src/errors.js';
import { LocalRunner } from '../../src/exec/local-runner.js';
import { loadTargets } from '../../src/platform/targets.js';
import { loadToolchains } from '../../src/platform/toolchains.js';
import { crossdock } from '../helpers/cli.js';
import { compileC } from '../helpers/compile.js';
import { commitAll, fixtureRepository } from '../helpers/git.js';
import { tempTree } from '../helpers/temp.js';
import { requireTools } from '../helpers/tools.js';

const registry = await loadTargets();
const toolchains = await loadToolchains();
const qemu = toolchains.find((t) => t.kind === 'emulator');
if (!qemu) throw new Error('toolchains/qemu.yaml missing');
const TARGETS = ['x86_64', 'aarch64', 'armv7', 'armv6'];
const ready = requireTools(
  'go',
  'git',
  'tar',
  'sha256sum',
  'qemu-arm-static',
  'qemu-aarch64-static',
  ...TARGETS.map((t) => `${registry.get(t).gnu.triple}-gcc`),
);
const COMMIT_EPOCH = Date.parse('2026-01-01T00:00:00Z') / 1000;

interface Project {
  directory: string;
  goRepository: string;
  cRepository: string;
}

async function project(): Promise<Project> {
  const directory = await tempTree();
  return {
    directory,
    goRepository: await fixtureRepository(directory, 'hello-go'),
    cRepository: await fixtureRepository(directory, 'hello-c'),
  };
}

function configText(
  p: Project,
  options: { targets?: string[]; cache?: string; out?: string; extra?: string; version?: string } = {},
): string {
  return `${options.version ? `version: ${options.version}\n` : ''}targets: [${(options.targets ?? TARGETS).join(', ')}]
build:
  outDir: ${options.out ?? 'dist'}
  cacheDir: ${options.cache ?? 'cache'}
  components: [hello, hello-c]
  recipes:
    - name: hello
      source: git+file://${p.goRepository}#main
      language: go
      binaries:
        - { name: hello, package: ./cmd/hello, cgo: true, ldflags: ['-X main.version={version}'] }
    - name: hello-c
      source: git+file://${p.cRepository}#main
      language: c
      binaries:
        - { name: hello-c, sources: [hello.c], cflags: ['-DHELLO_VERSION="{version}"'] }
${options.extra ?? ''}`;
}

async function buildWith(p: Project, text: string, file = 'crossdock.yaml', version?: string): Promise<BuildResult> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(p.directory, file), text);
  const loaded = await loadConfig({ cwd: p.directory, file });
  return build({
    config: loaded.config,
    baseDirectory: loaded.baseDirectory,
    registry,
    toolchains,
    runner: new LocalRunner(),
    version,
  });
}

async function hashes(directory: string): Promise<Record<string, string>> {
  const entries: Record<string, string> = {};
  for (const name of readdirSync(directory).sort()) entries[name] = await sha256File(join(directory, name));
  return entries;
}

describe.runIf(ready)('crossdock build on a fixture recipe (Go with cgo, and C) from local git repositories', () => {
  it('builds, verifies and packages four reproducible bundles; a no-op rebuild compiles nothing', async () => {
    const p = await project();
    const first = await buildWith(p, configText(p));
    expect(first.version).toMatch(/^0\.0\.0-20260101000000-[0-9a-f]{7}$/);
    expect(first.binaries.every((b) => !b.cached)).toBe(true);
    const files = readdirSync(first.directory).sort();
    expect(files).toEqual(
      [
        'SHA256SUMS',
        'manifest.json',
        ...TARGETS.flatMap((t) => [`docker-${first.version}-${t}.spdx.json`, `docker-${first.version}-${t}.tgz`]),
      ].sort(),
    );
    // Real tools read what crossdock wrote.
    await execa('sha256sum', ['-c', 'SHA256SUMS'], { cwd: first.directory });
    const listing = (
      await execa('tar', ['-tvzf', join(first.directory, `docker-${first.version}-armv6.tgz`), '--numeric-owner'])
    ).stdout.split('\n');
    expect(listing.map((line) => line.split(/\s+/).slice(0, 2).concat(line.split(/\s+/).slice(-1)))).toEqual([
      ['drwxr-xr-x', '0/0', 'docker/'],
      ['-rwxr-xr-x', '0/0', 'docker/hello'],
      ['-rwxr-xr-x', '0/0', 'docker/hello-c'],
    ]);
    expect(listing[0]).toContain('2026-01-01 00:00');
    const manifest = first.manifest;
    expect(manifest.sourceDateEpoch).toBe(COMMIT_EPOCH);
    const bundles = manifest.artifacts.filter((a) => a.kind === 'bundle');
    expect(bundles.map((b) => [b.target, b.binaries?.map((x) => [x.name, x.armArch])])).toEqual([
      [
        'x86_64',
        [
          ['hello', null],
          ['hello-c', null],
        ],
      ],
      [
        'aarch64',
        [
          ['hello', 'v8'],
          ['hello-c', 'v8'],
        ],
      ],
      [
        'armv7',
        [
          ['hello', 'v7'],
          ['hello-c', 'v7'],
        ],
      ],
      [
        'armv6',
        [
          ['hello', 'v6'],
          ['hello-c', 'v6'],
        ],
      ],
    ]);
    const armv6Hello = bundles.find((b) => b.target === 'armv6')?.binaries?.find((b) => b.name === 'hello');
    expect(armv6Hello?.smoke).toEqual({
      args: ['--version'],
      cpu: 'arm1176',
      firstLine: `hello version ${first.version} (linux/arm, cgo says 42)`,
    });
    expect(armv6Hello?.flags.env).toMatchObject({
      GOARCH: 'arm',
      GOARM: '6',
      CGO_ENABLED: '1',
      CC: 'arm-linux-gnueabi-gcc',
    });
    const sbom = JSON.parse(readFileSync(join(first.directory, `docker-${first.version}-armv6.spdx.json`), 'utf8')) as {
      spdxVersion: string;
      packages: Array<{ name: string }>;
    };
    expect(sbom.spdxVersion).toBe('SPDX-2.3');
    expect(sbom.packages.map((pkg) => pkg.name)).toEqual([`docker-${first.version}-armv6.tgz`, 'hello', 'hello-c']);

    // The same sources with an empty cache elsewhere: the same bytes.
    const second = await buildWith(p, configText(p, { cache: 'cache-2', out: 'dist-2' }), 'second.yaml');
    expect(await hashes(second.directory)).toEqual(await hashes(first.directory));

    // The first cache again: nothing compiles, nothing runs under QEMU.
    const third = await buildWith(p, configText(p));
    expect(third.binaries.every((b) => b.cached)).toBe(true);
    expect(await hashes(third.directory)).toEqual(await hashes(first.directory));
  });

  it("rebuilds only what changed: one source, or one target's flags", async () => {
    const p = await project();
    // A fixed release version: a pseudo-version follows every source, and binaries embed it.
    const base = { targets: ['armv7', 'armv6'], version: '1.0.0' };
    await buildWith(p, configText(p, base));
    await appendFile(join(p.cRepository, 'hello.c'), '/* a change */\n');
    await commitAll(p.cRepository, 'change', '2026-02-01T00:00:00Z');
    const afterSource = await buildWith(p, configText(p, base));
    expect(afterSource.binaries.map((b) => [b.target, b.binary, b.cached]).sort()).toEqual([
      ['armv6', 'hello', true],
      ['armv6', 'hello-c', false],
      ['armv7', 'hello', true],
      ['armv7', 'hello-c', false],
    ]);
    expect(afterSource.manifest.sourceDateEpoch).toBe(Date.parse('2026-02-01T00:00:00Z') / 1000);
    const afterFlags = await buildWith(
      p,
      configText(p, { ...base, extra: '  targetFlags:\n    armv6: { tags: [extra_tag] }\n' }),
    );
    expect(afterFlags.binaries.map((b) => [b.target, b.binary, b.cached]).sort()).toEqual([
      ['armv6', 'hello', false],
      ['armv6', 'hello-c', true],
      ['armv7', 'hello', true],
      ['armv7', 'hello-c', true],
    ]);
    // One target of the two (what a pipeline builds for its boards): from the cache.
    const subset = await buildWith(
      p,
      configText(p, { ...base, targets: ['armv7'], extra: '  targetFlags:\n    armv6: { tags: [extra_tag] }\n' }),
    );
    expect(subset.binaries.map((b) => [b.target, b.binary, b.cached]).sort()).toEqual([
      ['armv7', 'hello', true],
      ['armv7', 'hello-c', true],
    ]);
  });

  it('fails the build when an ARMv7 binary lands in the armv6 bundle, and leaves nothing in dist/', async () => {
    const p = await project();
    const text = configText(p, {
      targets: ['armv6'],
      extra: '  targetFlags:\n    armv6: { cflags: [-march=armv7-a, -marm] }\n',
    });
    const attempt = buildWith(p, text);
    await expect(attempt).rejects.toBeInstanceOf(FailureError);
    await expect(attempt).rejects.toThrow(/armv6: hello-c is ARM v7 code \(attributes\); armv6 allows v4…v6K/);
    expect(existsSync(join(p.directory, 'dist')) ? readdirSync(join(p.directory, 'dist')) : []).toEqual([]);
    const cli = await crossdock(['build'], { cwd: p.directory });
    expect(cli.exitCode).toBe(1);
    expect(cli.stderr).toContain('crossdock: build failed: armv6: hello-c is ARM v7 code');
    expect(cli.stderr).toContain('hint: nothing was written to dist/');
  });

  it('fails the build when a compiler fails, keeps building the rest, and writes nothing', async () => {
    const p = await project();
    const text = configText(p, { targets: ['armv7'] }).replace('sources: [hello.c]', 'sources: [missing.c]');
    const attempt = buildWith(p, text);
    await expect(attempt).rejects.toBeInstanceOf(FailureError);
    await expect(attempt).rejects.toThrow(
      /^build failed: armv7: hello-c: local: `arm-linux-gnueabihf-gcc .*` exited with 1: .*missing\.c: No such file or directory/,
    );
    expect(existsSync(join(p.directory, 'dist')) ? readdirSync(join(p.directory, 'dist')) : []).toEqual([]);
  });

  it('signs SHA256SUMS with an OpenSSH key that boards can check with ssh-keygen alone', async () => {
    const p = await project();
    const key = join(p.directory, 'signing-key');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'release@crossdock', '-f', key]);
    const result = await buildWith(p, configText(p, { targets: ['armv7'], extra: `  signingKey: ${key}\n` }));
    const sums = join(result.directory, 'SHA256SUMS');
    expect(existsSync(`${sums}.sig`)).toBe(true);
    const publicKey = readFileSync(`${key}.pub`, 'utf8').trim().split(' ');
    const signers = join(p.directory, 'allowed_signers');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(signers, `release@crossdock ${publicKey[0] ?? ''} ${publicKey[1] ?? ''}\n`);
    const check = (file: string) =>
      execa(
        'ssh-keygen',
        ['-Y', 'verify', '-f', signers, '-I', 'release@crossdock', '-n', 'crossdock', '-s', `${sums}.sig`],
        { inputFile: file, reject: false },
      );
    expect((await check(sums)).exitCode).toBe(0);
    // One hex digit changed (to a different one: a hash may well start with 0).
    await appendFile(
      join(p.directory, 'forged'),
      readFileSync(sums, 'utf8').replace(/^./, (c) => (c === '0' ? '1' : '0')),
    );
    expect((await check(join(p.directory, 'forged'))).exitCode).not.toBe(0);
  });

  it('verify re-checks a dist directory and catches a tampered bundle', async () => {
    const p = await project();
    const result = await buildWith(p, configText(p, { targets: ['aarch64'] }), 'crossdock.yaml', 'v1.2.3');
    expect(result.version).toBe('1.2.3');
    const good = await crossdock(['verify', result.directory, '--json'], { cwd: p.directory });
    expect(good.exitCode).toBe(0);
    expect((JSON.parse(good.stdout) as { binaries: Array<{ ok: boolean }> }).binaries.map((b) => b.ok)).toEqual([
      true,
      true,
    ]);
    await appendFile(join(result.directory, 'docker-1.2.3-aarch64.tgz'), 'tampered');
    const bad = await crossdock(['verify', result.directory], { cwd: p.directory });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('docker-1.2.3-aarch64.tgz: SHA-256 does not match SHA256SUMS');
  });
});

describe.runIf(ready)('verifyBinary', () => {
  const runner = new LocalRunner();
  const armv7 = registry.get('armv7');

  it('catches a dynamically linked binary', async () => {
    const directory = await tempTree();
    const binary = await compileC(directory, armv7, 'dynamic', { static: false });
    const result = await verifyBinary(binary, {
      binary: 'dynamic',
      target: armv7,
      registry,
      qemu,
      runner,
      smokeArgs: null,
      smokeTimeoutMs: 10_000,
    });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      'dynamic is dynamically linked (interpreter /lib/ld-linux-armhf.so.3); bundles must be static',
    ]);
  });

  it('catches a binary for the wrong machine', async () => {
    const directory = await tempTree();
    const binary = await compileC(directory, registry.get('aarch64'), 'wrong', { static: true });
    const result = await verifyBinary(binary, {
      binary: 'wrong',
      target: armv7,
      registry,
      qemu,
      runner,
      smokeArgs: null,
      smokeTimeoutMs: 10_000,
    });
    expect(result.problems).toEqual(['wrong is a 64-bit aarch64 binary, not armv7 (32-bit arm)']);
  });

  it('treats a smoke run that hangs under QEMU as a failure, not a stuck build', async () => {
    const directory = await tempTree();
    const source = readFileSync(new URL('../fixtures/recipes/hello-c/hello.c', import.meta.url), 'utf8');
    const binary = await compileC(directory, armv7, 'hangs', { static: true, source });
    const result = await verifyBinary(binary, {
      binary: 'hangs',
      target: armv7,
      registry,
      qemu,
      runner,
      smokeArgs: ['--hang'],
      smokeTimeoutMs: 2_000,
    });
    expect(result.problems).toEqual(['hangs --hang hung for 2 s under QEMU -cpu cortex-a7; treated as a failure']);
  });
});
