/**
 * An upgrade that sends only what changed: the binaries the board's object store lacks leave
 * this machine as one small gzip'd tar, named by hash; the board hashes every binary of the new
 * version (sent or kept) against the manifest before the version directory takes its name.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManifestArtifact } from '../artifacts/manifest.js';
import { extractFromTarGz, writeTarGz } from '../builder/tar.js';
import { FailureError } from '../errors.js';
import type { SshRunner } from '../remote/ssh-runner.js';
import { assembleScript, layout } from './board-scripts.js';
import type { SendPlan } from './plan.js';

/** What the bundle holds beyond its binaries: an objects upgrade could not rebuild it. */
export class BundleHasOtherFiles extends Error {}

export async function sendObjects(
  runner: SshRunner,
  input: {
    bundle: ManifestArtifact;
    distDirectory: string;
    version: string;
    plan: Extract<SendPlan, { kind: 'objects' }>;
    onBytes?: ((sent: number) => void) | undefined;
  },
): Promise<{ bytesSent: number; unpacked: string[] }> {
  const { bundle, plan } = input;
  const binaries = bundle.binaries ?? [];
  const temp = await mkdtemp(join(tmpdir(), 'crossdock-objects-'));
  try {
    const wanted = new Map(plan.missing.map((b) => [`docker/${b.name}`, b.sha256]));
    const { files } = await extractFromTarGz(join(input.distDirectory, bundle.file), wanted, temp);
    const known = new Set(binaries.map((b) => `docker/${b.name}`));
    const other = files.filter((f) => !known.has(f));
    if (other.length > 0) throw new BundleHasOtherFiles(other.join(', '));
    let archive: string | null = null;
    if (plan.missing.length > 0) {
      archive = join(temp, 'objects.tgz');
      // One entry per hash: two binaries with the same bytes travel once.
      const unique = [...new Map(plan.missing.map((b) => [b.sha256, b])).values()];
      await writeTarGz(
        archive,
        unique.map((b) => ({ path: b.sha256, type: 'file' as const, mode: 0o755, source: join(temp, b.sha256) })),
        0,
      );
    }
    const received = await runner.run(
      'sh',
      [
        '-c',
        assembleScript({
          versionDirectory: `${layout.versions}/${input.version}`,
          binaries: binaries.map((b) => ({ name: b.name, sha256: b.sha256, size: b.size })),
          streamed: archive !== null,
        }),
      ],
      {
        privileged: true,
        allowFailure: true,
        timeoutMs: 60 * 60_000,
        ...(archive ? { inputFile: archive, ...(input.onBytes ? { onInputProgress: input.onBytes } : {}) } : {}),
      },
    );
    const verdict = /^assembled (.*)$/m.exec(received.stdout)?.[1] ?? '';
    if (received.exitCode !== 0 || verdict !== 'OK') {
      const bad = /^bad (\S+) (\S*)$/.exec(verdict);
      throw new FailureError(
        bad
          ? `${runner.host}: ${bad[1] ?? ''} is not the manifest's (sha256 ${bad[2] || 'none'} on the board)`
          : `${runner.host}: the changed binaries did not arrive whole: ${verdict || received.stderr.trim().split('\n').at(-1) || `exit ${String(received.exitCode)}`}`,
        { hint: "nothing was switched; run again (a bad copy in the board's store was dropped and is sent again)" },
      );
    }
    return {
      bytesSent: archive ? (await stat(archive)).size : 0,
      unpacked: received.stdout
        .split('\n')
        .filter((line) => line.startsWith('file '))
        .map((line) => line.slice('file '.length)),
    };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
