/**
 * A dist's signature, checked on this machine: SHA256SUMS.sig is an OpenSSH signature
 * (`ssh-keygen -Y sign -n crossdock`) by one of the inventory's allowed signers, and the signed
 * SHA256SUMS lists this manifest.json and every file the manifest names with the manifest's hash.
 * The install runs it before it connects to any board, so nothing a manifest names reaches a
 * board unless a trusted key vouched for it; each board checks the same signature again.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSha256Sums, sha256File } from './checksums.js';
import { type Manifest, MANIFEST_FILE, SUMS_FILE } from './manifest.js';
import { FailureError } from '../errors.js';
import type { Runner } from '../exec/runner.js';

export const SIGNATURE_FILE = `${SUMS_FILE}.sig`;
/** The namespace crossdock signs SHA256SUMS in, so no signature made for another purpose passes. */
export const SIGNATURE_NAMESPACE = 'crossdock';

export async function verifyDistSignature(
  runner: Runner,
  options: { directory: string; manifest: Manifest; allowedSigners: string },
): Promise<{ principal: string }> {
  const { directory, manifest, allowedSigners } = options;
  const sums = join(directory, SUMS_FILE);
  const signature = join(directory, SIGNATURE_FILE);
  const refuse = (problem: string, hint: string) =>
    new FailureError(`${directory}: ${problem}`, { hint: `nothing was installed; ${hint}` });
  if (!existsSync(sums) || !existsSync(signature))
    throw refuse(
      `the inventory asks for signed builds and there is no ${SIGNATURE_FILE}`,
      'set build.signingKey in crossdock.yaml and build again',
    );
  if (!existsSync(allowedSigners))
    throw new FailureError(`allowedSigners ${allowedSigners}: not found`, {
      hint: "fix allowedSigners in the inventory: an allowed_signers file (ssh-keygen(1) 'ALLOWED SIGNERS')",
    });
  const found = await runner.run('ssh-keygen', ['-Y', 'find-principals', '-s', signature, '-f', allowedSigners], {
    allowFailure: true,
  });
  const principal = found.stdout.split('\n')[0]?.trim() ?? '';
  if (found.exitCode !== 0 || !principal)
    throw refuse(
      `${SIGNATURE_FILE} is signed by no key in ${allowedSigners}`,
      "publish builds signed by a key in the inventory's allowedSigners",
    );
  const text = await readFile(sums, 'utf8');
  const verified = await runner.run(
    'ssh-keygen',
    ['-Y', 'verify', '-f', allowedSigners, '-I', principal, '-n', SIGNATURE_NAMESPACE, '-s', signature],
    { allowFailure: true, input: text },
  );
  if (verified.exitCode !== 0)
    throw refuse(
      `${SIGNATURE_FILE} does not verify against ${SUMS_FILE}`,
      `${SUMS_FILE} was changed after it was signed`,
    );
  let listed: Map<string, string>;
  try {
    listed = new Map(parseSha256Sums(text).map((entry) => [entry.name, entry.sha256]));
  } catch (error) {
    throw refuse(`${SUMS_FILE}: ${(error as Error).message}`, 'rebuild the dist');
  }
  // The manifest as it is on disk (what every later step reads) is the one that was signed.
  const manifestSum = await sha256File(join(directory, MANIFEST_FILE));
  if (listed.get(MANIFEST_FILE) !== manifestSum)
    throw refuse(
      `${MANIFEST_FILE} is not the one the signed ${SUMS_FILE} lists (changed after signing)`,
      'rebuild and sign the dist',
    );
  for (const artifact of manifest.artifacts)
    if (listed.get(artifact.file) !== artifact.sha256)
      throw refuse(
        `the signed ${SUMS_FILE} does not list ${artifact.file} with sha256 ${artifact.sha256}`,
        'rebuild and sign the dist',
      );
  return { principal };
}
