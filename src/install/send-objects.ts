/**
 * An upgrade that sends only what changed: the binaries the board's object store lacks leave
 * this machine as one small gzip'd tar, named by hash; the board hashes every binary of the new
 * version (sent or kept) against the manifest before the version directory takes its name.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundlePath as pathInBundle, type ManifestArtifact, type ManifestBinary } from '../artifacts/manifest.js';
import { extractFromTarGz, writeTarGz } from '../builder/tar.js';
import { FailureError } from '../errors.js';
import type { SshRunner } from '../remote/ssh-runner.js';
import { assembleScript, layout } from './board-scripts.js';
import type { SendPlan } from './plan.js';

/** What the bundle holds beyond its binaries: an objects upgrade could not rebuild it. */
export class BundleHasOtherFiles extends Error {}

/**
 * The archives of changed binaries made during one rollout, one per bundle and set of missing
 * binaries: a hundred boards one upgrade behind get the same archive, made once (unpacking and
 * packing it for each board cost two cores more than the sending did).
 */
export class ObjectArchives {
  private directory: Promise<string> | null = null;
  private readonly made = new Map<string, Promise<{ file: string | null; size: number }>>();

  archive(
    bundlePath: string,
    bundle: ManifestArtifact,
    missing: readonly ManifestBinary[],
  ): Promise<{ file: string | null; size: number }> {
    const key = `${bundle.sha256}:${[...new Set(missing.map((b) => b.sha256))].sort().join(',')}`;
    let made = this.made.get(key);
    if (!made) {
      made = this.make(bundlePath, bundle, missing, String(this.made.size));
      // A failure is not kept: the next board tries again.
      made.catch(() => this.made.delete(key));
      this.made.set(key, made);
    }
    return made;
  }

  private async make(
    bundlePath: string,
    bundle: ManifestArtifact,
    missing: readonly ManifestBinary[],
    name: string,
  ): Promise<{ file: string | null; size: number }> {
    if (this.directory === null) {
      // Made and registered for removal in one synchronous step: removed even when the process
      // exits without unwinding (a second Ctrl-C). With an asynchronous mkdtemp a second Ctrl-C
      // between the folder's creation and its callback left it behind (the fault campaign).
      const directory = mkdtempSync(join(tmpdir(), 'crossdock-objects-'));
      this.removeAtExit = () => {
        rmSync(directory, { recursive: true, force: true });
      };
      process.once('exit', this.removeAtExit);
      this.directory = Promise.resolve(directory);
    }
    const root = join(await this.directory, name);
    await mkdir(root);
    const wanted = new Map(missing.map((b) => [pathInBundle(b), b.sha256]));
    const { files } = await extractFromTarGz(bundlePath, wanted, root);
    const known = new Set((bundle.binaries ?? []).map((b) => pathInBundle(b)));
    const other = files.filter((f) => !known.has(f));
    if (other.length > 0) throw new BundleHasOtherFiles(other.join(', '));
    if (missing.length === 0) return { file: null, size: 0 };
    const file = join(root, 'objects.tgz');
    // One entry per hash: two binaries with the same bytes travel once.
    const unique = [...new Map(missing.map((b) => [b.sha256, b])).values()];
    await writeTarGz(
      file,
      unique.map((b) => ({ path: b.sha256, type: 'file' as const, mode: 0o755, source: join(root, b.sha256) })),
      0,
    );
    return { file, size: (await stat(file)).size };
  }

  private removeAtExit: (() => void) | null = null;

  async close(): Promise<void> {
    const directory = await this.directory?.catch(() => null);
    this.directory = null;
    if (this.removeAtExit) process.removeListener('exit', this.removeAtExit);
    this.removeAtExit = null;
    this.made.clear();
    if (directory) await rm(directory, { recursive: true, force: true });
  }
}

export async function sendObjects(
  runner: SshRunner,
  input: {
    bundle: ManifestArtifact;
    distDirectory: string;
    version: string;
    plan: Extract<SendPlan, { kind: 'objects' }>;
    onBytes?: ((sent: number) => void) | undefined;
    /** Shared by the boards of one rollout; a throwaway one otherwise. */
    archives?: ObjectArchives | undefined;
  },
): Promise<{ bytesSent: number; unpacked: string[] }> {
  const { bundle, plan } = input;
  const binaries = bundle.binaries ?? [];
  const archives = input.archives ?? new ObjectArchives();
  const own = input.archives ? null : archives;
  try {
    const { file: archive, size } = await archives.archive(
      join(input.distDirectory, bundle.file),
      bundle,
      plan.missing,
    );
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
      bytesSent: archive ? size : 0,
      unpacked: received.stdout
        .split('\n')
        .filter((line) => line.startsWith('file '))
        .map((line) => line.slice('file '.length)),
    };
  } finally {
    await own?.close();
  }
}
