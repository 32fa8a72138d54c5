/**
 * `crossdock verify DIST`: re-checks a dist/<version>/ directory the way a release job or a
 * board would trust it: SHA256SUMS against the files, the manifest against the bundles, and
 * every binary in every bundle against its target (ELF, static, ARM level, smoke run).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { TargetRegistry } from '../platform/targets.js';
import type { Toolchain } from '../platform/toolchains.js';
import { parseSha256Sums, sha256File } from '../artifacts/checksums.js';
import { bundlePath, MANIFEST_FILE, SUMS_FILE } from '../artifacts/manifest.js';
import { readManifest } from '../artifacts/read-dist.js';
import { type BinaryVerification, verifyBinary } from './verify-binary.js';
import { checkPluginsThroughCli } from './verify-plugins.js';

export interface DistVerification {
  directory: string;
  ok: boolean;
  problems: string[];
  binaries: BinaryVerification[];
}

export interface VerifyDistOptions {
  registry: TargetRegistry;
  qemu: Toolchain;
  runner: Runner;
  smoke: boolean;
  smokeTimeoutMs: number;
}

export async function verifyDist(directory: string, options: VerifyDistOptions): Promise<DistVerification> {
  const problems: string[] = [];
  const sumsFile = join(directory, SUMS_FILE);
  const manifestFile = join(directory, MANIFEST_FILE);
  if (!existsSync(sumsFile) || !existsSync(manifestFile)) {
    throw new UserError(`${directory}: no ${SUMS_FILE} or ${MANIFEST_FILE}`, {
      hint: 'give a dist/<version>/ directory that crossdock build wrote',
    });
  }
  const sums = parseSha256Sums(await readFile(sumsFile, 'utf8'));
  const damaged = new Set<string>();
  for (const entry of sums) {
    const path = join(directory, entry.name);
    if (!existsSync(path)) problems.push(`${entry.name}: listed in ${SUMS_FILE} but missing`);
    else if ((await sha256File(path)) !== entry.sha256)
      problems.push(`${entry.name}: SHA-256 does not match ${SUMS_FILE}`);
    else continue;
    damaged.add(entry.name);
  }
  const manifest = await readManifest(directory);
  const binaries: BinaryVerification[] = [];
  for (const artifact of manifest.artifacts.filter((a) => a.kind === 'bundle' || a.kind === 'image')) {
    // A bundle that failed its checksum is not unpacked: what is in it cannot be trusted.
    if (damaged.has(artifact.file)) continue;
    if (!artifact.target || !options.registry.has(artifact.target)) {
      problems.push(`${artifact.file}: unknown target ${artifact.target ?? '(none)'}`);
      continue;
    }
    const target = options.registry.get(artifact.target);
    const extracted = await mkdtemp(join(tmpdir(), 'crossdock-verify-'));
    try {
      // The health-check image: its one layer's files stand where a bundle's docker/ would.
      const root =
        artifact.kind === 'image'
          ? await unpackImageLayer(directory, artifact.file, extracted, options.runner)
          : join(extracted, 'docker');
      if (artifact.kind === 'bundle')
        await options.runner.run('tar', ['-xzf', join(directory, artifact.file), '-C', extracted]);
      // Plugins sit one folder down (docker/cli-plugins/), where the manifest's bundlePath puts them.
      const top = (await readdir(root)).filter((name) => name !== 'cli-plugins');
      const plugins = existsSync(join(root, 'cli-plugins')) ? await readdir(join(root, 'cli-plugins')) : [];
      const pathOf = new Map([
        ...top.map((name): [string, string] => [name, join(root, name)]),
        ...plugins.map((name): [string, string] => [`cli-plugins/${name}`, join(root, 'cli-plugins', name)]),
      ]);
      const found = [...pathOf.keys()].sort();
      const listed = (artifact.binaries ?? [])
        .map((b) => (artifact.kind === 'image' ? b.name : bundlePath(b).slice('docker/'.length)))
        .sort();
      if (found.join(',') !== listed.join(','))
        problems.push(`${artifact.file}: holds ${found.join(', ')} but the manifest lists ${listed.join(', ')}`);
      for (const [entry, path] of pathOf) {
        const name = entry.replace(/^cli-plugins\//, '');
        const result = await verifyBinary(path, {
          binary: name,
          target,
          registry: options.registry,
          qemu: options.qemu,
          runner: options.runner,
          smokeArgs: options.smoke
            ? ((artifact.binaries ?? []).find((b) => b.name === name)?.smoke?.args ??
              (artifact.kind === 'image' ? [] : ['--version']))
            : null,
          smokeTimeoutMs: options.smokeTimeoutMs,
        });
        binaries.push(result);
        problems.push(...result.problems.map((p) => `${artifact.file}: ${p}`));
        const expected = (artifact.binaries ?? []).find((b) => b.name === name)?.sha256;
        if (expected && (await sha256File(path)) !== expected)
          problems.push(`${artifact.file}: ${name} differs from the manifest`);
      }
      const withPlugins = (artifact.binaries ?? []).filter((b) => b.plugin && pathOf.has(`cli-plugins/${b.name}`));
      if (options.smoke && artifact.kind === 'bundle' && withPlugins.length > 0 && pathOf.has('docker')) {
        const checks = await checkPluginsThroughCli({
          target,
          registry: options.registry,
          qemu: options.qemu,
          runner: options.runner,
          docker: join(root, 'docker'),
          binaries: withPlugins,
          fileOf: (name) => join(root, 'cli-plugins', name),
          timeoutMs: options.smokeTimeoutMs,
        });
        problems.push(...checks.flatMap((c) => (c.problem ? [`${artifact.file}: ${c.problem}`] : [])));
      }
    } finally {
      await rm(extracted, { recursive: true, force: true });
    }
  }
  return { directory, ok: problems.length === 0, problems, binaries };
}

/** The one layer of a `docker load` archive, unpacked; returns the directory of its files. */
async function unpackImageLayer(directory: string, file: string, into: string, runner: Runner): Promise<string> {
  const archive = join(into, 'archive');
  const layer = join(into, 'layer');
  await mkdir(archive, { recursive: true });
  await mkdir(layer, { recursive: true });
  await runner.run('tar', ['-xf', join(directory, file), '-C', archive]);
  const [entry] = JSON.parse(await readFile(join(archive, 'manifest.json'), 'utf8')) as Array<{ Layers?: string[] }>;
  const layers = entry?.Layers ?? [];
  if (layers.length !== 1 || !layers[0])
    throw new UserError(`${file}: expected an image of one layer, found ${String(layers.length)}`);
  await runner.run('tar', ['-xf', join(archive, layers[0]), '-C', layer]);
  return layer;
}
