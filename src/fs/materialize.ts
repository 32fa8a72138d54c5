import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Fills a cache directory once: into a private partial directory first, renamed into place when
 * complete, so an interrupted fetch never leaves a tree that looks whole.
 */
export async function materialize(directory: string, fill: (partial: string) => Promise<void>): Promise<void> {
  if (existsSync(join(directory, '.crossdock-complete'))) return;
  const partial = `${directory}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(dirname(partial), { recursive: true });
  await fill(partial);
  await writeFile(join(partial, '.crossdock-complete'), '');
  await rm(directory, { recursive: true, force: true });
  await rename(partial, directory);
}
