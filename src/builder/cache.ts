/**
 * The build cache: one entry per (source revision, recipe, binary, target, toolchain versions,
 * flags, version, SOURCE_DATE_EPOCH, smoke settings). An entry holds the binary and its
 * verification, so a no-op rebuild neither compiles nor re-runs QEMU.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../artifacts/checksums.js';
import { type ManifestBinary, parseManifestBinary } from '../artifacts/manifest.js';

export function cacheKey(parts: Record<string, unknown>): string {
  return sha256(stableStringify(parts));
}

/** JSON with object keys sorted at every depth, so equal values give equal keys. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableStringify(item)}`).join(',')}}`;
  }
  // Top-level undefined (never passed here) would make JSON.stringify return undefined.
  return value === undefined ? 'null' : JSON.stringify(value);
}

export interface CacheEntry {
  file: string;
  binary: ManifestBinary;
}

function entryDirectory(cacheDirectory: string, key: string): string {
  return join(cacheDirectory, 'artifacts', key.slice(0, 2), key);
}

export async function readCache(cacheDirectory: string, key: string): Promise<CacheEntry | null> {
  const directory = entryDirectory(cacheDirectory, key);
  const metaFile = join(directory, 'meta.json');
  if (!existsSync(metaFile)) return null;
  // An entry that does not parse (an older crossdock's, or damaged) is a miss: built again.
  let binary: ManifestBinary | null;
  try {
    binary = parseManifestBinary(JSON.parse(await readFile(metaFile, 'utf8')));
  } catch {
    return null;
  }
  if (!binary) return null;
  const file = join(directory, binary.name);
  return existsSync(file) ? { file, binary } : null;
}

/** Written to a temporary directory and renamed, so a crash never leaves half an entry. */
export async function writeCache(
  cacheDirectory: string,
  key: string,
  file: string,
  binary: ManifestBinary,
): Promise<void> {
  const directory = entryDirectory(cacheDirectory, key);
  const partial = `${directory}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await copyFile(file, join(partial, binary.name));
  await writeFile(join(partial, 'meta.json'), `${JSON.stringify(binary, null, 2)}\n`);
  await rm(directory, { recursive: true, force: true });
  await rename(partial, directory);
}
