/**
 * The binfmt_misc filesystem and /etc/binfmt.d, through the Runner for every write (so dry-run
 * and logging apply) and plain reads for looking.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runner } from '../exec/runner.js';
import { type BinfmtEntry, parseEntry } from './entry.js';

export interface BinfmtPaths {
  /** Where binfmt_misc is mounted. */
  miscDirectory: string;
  /** Where systemd-binfmt (and binfmt-support) read registrations at boot. */
  persistDirectory: string;
}

/** The kernel's and systemd's paths; tests point them elsewhere with CROSSDOCK_BINFMT_* variables. */
export function defaultBinfmtPaths(env: Record<string, string | undefined> = process.env): BinfmtPaths {
  return {
    miscDirectory: env.CROSSDOCK_BINFMT_MISC_DIR ?? '/proc/sys/fs/binfmt_misc',
    persistDirectory: env.CROSSDOCK_BINFMT_D_DIR ?? '/etc/binfmt.d',
  };
}

/** crossdock's own files in binfmt.d carry this prefix; uninstall removes only those. */
export const PERSIST_PREFIX = 'crossdock-';

export function persistFile(paths: BinfmtPaths, name: string): string {
  return join(paths.persistDirectory, `${PERSIST_PREFIX}${name}.conf`);
}

export function isMounted(paths: BinfmtPaths): boolean {
  return existsSync(join(paths.miscDirectory, 'register'));
}

export async function ensureMounted(runner: Runner, paths: BinfmtPaths): Promise<boolean> {
  if (isMounted(paths)) return false;
  await runner.run('mount', ['-t', 'binfmt_misc', 'binfmt_misc', paths.miscDirectory], { mutates: true });
  return true;
}

export function readEntry(paths: BinfmtPaths, name: string): BinfmtEntry | null {
  try {
    return parseEntry(name, readFileSync(join(paths.miscDirectory, name), 'utf8'));
  } catch {
    return null;
  }
}

export function listEntries(paths: BinfmtPaths): string[] {
  try {
    return readdirSync(paths.miscDirectory)
      .filter((name) => name !== 'register' && name !== 'status')
      .sort();
  } catch {
    return [];
  }
}

/** One write of the whole line: the kernel parses each write(2) to `register` on its own. */
export async function register(runner: Runner, paths: BinfmtPaths, line: string): Promise<void> {
  await runner.run('tee', [join(paths.miscDirectory, 'register')], { input: line, mutates: true });
}

/** Writing -1 to an entry removes it; 0 disables and 1 enables it. */
export async function writeEntryControl(
  runner: Runner,
  paths: BinfmtPaths,
  name: string,
  value: '-1' | '0' | '1',
): Promise<void> {
  await runner.run('tee', [join(paths.miscDirectory, name)], { input: value, mutates: true });
}

export function readPersisted(paths: BinfmtPaths, name: string): string | null {
  try {
    return readFileSync(persistFile(paths, name), 'utf8');
  } catch {
    return null;
  }
}

export function persistContent(line: string): string {
  return `# Written by crossdock (binfmt install --persist); removed by crossdock binfmt uninstall.\n${line}\n`;
}

export async function persist(runner: Runner, paths: BinfmtPaths, name: string, line: string): Promise<void> {
  await runner.run('mkdir', ['-p', paths.persistDirectory], { mutates: true });
  await runner.run('tee', [persistFile(paths, name)], { input: persistContent(line), mutates: true });
}

export async function unpersist(runner: Runner, paths: BinfmtPaths, name: string): Promise<boolean> {
  if (readPersisted(paths, name) === null) return false;
  await runner.run('rm', ['-f', persistFile(paths, name)], { mutates: true });
  return true;
}
