/**
 * The Debian root filesystem a board boots from, made once per architecture with debootstrap
 * and cached outside the checkout, keyed by everything that decides its contents. Foreign
 * architectures run debootstrap's second stage under QEMU in a private user namespace with its
 * own binfmt_misc, so the host needs no handler registered.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { desiredEntry, registrationLine } from '../binfmt/entry.js';
import { stableStringify } from '../builder/cache.js';
import { sha256 } from '../artifacts/checksums.js';
import { FailureError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { Target } from '../platform/targets.js';
import { spawnNamespaced } from './namespaces.js';
import { testbedScript } from './testbed-scripts.js';

export interface RootfsSpec {
  debianArch: string;
  suite: string;
  mirror: string;
  packages: string[];
}

// What Raspberry Pi OS Lite has that crossdock's peers rely on: curl (`install --release` lets a
// board download its bundle with it) and python3 (Ansible's modules run with it, for the benchmarks).
export const BOARD_PACKAGES = ['openssh-server', 'sudo', 'iproute2', 'curl', 'ca-certificates', 'python3'];

export function defaultCacheDirectory(env: Record<string, string | undefined> = process.env): string {
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'crossdock');
}

export function rootfsKey(spec: RootfsSpec): string {
  return sha256(stableStringify({ layout: 1, ...spec })).slice(0, 16);
}

export interface RootfsOptions {
  target: Target;
  native: boolean;
  qemuInterpreter: string;
  cacheDirectory: string;
  runner: Runner;
  log: (line: string) => void;
}

export async function ensureRootfs(spec: RootfsSpec, options: RootfsOptions): Promise<string> {
  const directory = join(options.cacheDirectory, 'rootfs', `${spec.debianArch}-${rootfsKey(spec)}`);
  const marker = join(directory, '.crossdock-rootfs.json');
  if (existsSync(marker)) return directory;
  const lock = `${directory}.lock`;
  await mkdir(join(options.cacheDirectory, 'rootfs'), { recursive: true });
  // One builder per rootfs; the others wait for its marker.
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (existsSync(marker)) return directory;
      await sleep(2000);
    }
  }
  try {
    if (existsSync(marker)) return directory;
    const partial = `${directory}.partial`;
    await rm(partial, { recursive: true, force: true });
    options.log(`making the ${spec.debianArch} rootfs with debootstrap (once; a few minutes)`);
    await options.runner.run(
      'debootstrap',
      [
        ...(options.native ? [] : ['--foreign']),
        '--variant=minbase',
        `--include=${spec.packages.join(',')}`,
        `--arch=${spec.debianArch}`,
        spec.suite,
        partial,
        spec.mirror,
      ],
      { mutates: true, timeoutMs: 30 * 60_000 },
    );
    if (!options.native) await secondStage(partial, options.target, options.qemuInterpreter);
    await rm(join(partial, 'var/cache/apt/archives'), { recursive: true, force: true });
    await mkdir(join(partial, 'var/cache/apt/archives/partial'), { recursive: true });
    await writeFile(join(partial, '.crossdock-rootfs.json'), `${JSON.stringify(spec, null, 2)}\n`);
    await rm(directory, { recursive: true, force: true });
    await rename(partial, directory);
    return directory;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function secondStage(root: string, target: Target, interpreter: string): Promise<void> {
  const line = registrationLine(desiredEntry(target, interpreter, ['F']));
  const logFile = `${root}.second-stage.log`;
  const { child } = await spawnNamespaced(
    testbedScript('second-stage'),
    { BINFMT: line, ROOT: root },
    { logFile, detached: false, network: false },
  );
  const code = await new Promise<number | null>((resolve) =>
    child.on('exit', (exitCode) => {
      resolve(exitCode);
    }),
  );
  if (code === 0) {
    await rm(logFile, { force: true });
    return;
  }
  throw new FailureError(`debootstrap second stage for ${target.debian} failed (exit ${String(code)})`, {
    hint: `see ${logFile} and ${root}/debootstrap/debootstrap.log`,
  });
}
