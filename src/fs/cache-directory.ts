import { homedir } from 'node:os';
import { join } from 'node:path';

/** $XDG_CACHE_HOME/crossdock, else ~/.cache/crossdock: sources, Go, build results, board images. */
export function defaultCacheDirectory(env: Record<string, string | undefined> = process.env): string {
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'crossdock');
}
