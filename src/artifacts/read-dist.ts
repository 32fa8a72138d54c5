/**
 * Reads the dist directories a release publishes. manifest.json is the contract with the build
 * stage; every file it lists is checked on disk (size and SHA-256) before anything is sent, so a
 * dist changed or truncated after the build never reaches a release.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from './checksums.js';
import { type Manifest, MANIFEST_FILE, parseManifest } from './manifest.js';
import { FailureError, UserError } from '../errors.js';
import type { DistInput } from '../release/plan.js';

/**
 * DIRECTORY/manifest.json through the one parse (parseManifest): a file that is missing, not
 * JSON, or not a valid manifest is one line naming it.
 */
export async function readManifest(directory: string): Promise<Manifest> {
  const file = join(directory, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UserError(`${file}: not found; ${directory} is not a dist directory`, {
      hint: 'pass the directory crossdock build wrote, e.g. dist/27.5.1',
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${file}: not JSON (${(error as Error).message})`, { hint: 'rebuild the dist' });
  }
  const parsed = parseManifest(value);
  if (!parsed.ok)
    throw new UserError(`${file}: ${parsed.problem}`, {
      hint: 'rebuild the dist with this version of crossdock; nothing was read from it',
    });
  return parsed.manifest;
}

export async function readDist(directory: string): Promise<DistInput> {
  const valid = await readManifest(directory);
  for (const artifact of valid.artifacts) {
    const path = join(directory, artifact.file);
    const size = await stat(path).then(
      (s) => s.size,
      () => null,
    );
    if (size === null)
      throw new FailureError(`${path}: listed in ${MANIFEST_FILE} but missing`, { hint: 'rebuild the dist' });
    if (size !== artifact.size || (await sha256File(path)) !== artifact.sha256)
      throw new FailureError(`${path}: differs from ${MANIFEST_FILE} (changed after the build)`, {
        hint: 'rebuild the dist; a release publishes exactly what was built and verified',
      });
  }
  return { directory, manifest: valid };
}
