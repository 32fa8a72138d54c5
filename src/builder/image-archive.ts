/**
 * A single-layer container image in the archive format `docker save` writes and `docker load`
 * reads (manifest.json, the config named by its digest, one layer tar named by its diff ID).
 * Content only: the same binary, target and epoch give the same bytes, and so the same image ID,
 * on every build machine. No registry is involved anywhere: boards load it from the file.
 */
import { sha256 } from '../artifacts/checksums.js';
import { tarBuffer, type TarEntry } from './tar.js';

export interface ImageFile {
  /** Path inside the image's root filesystem, without a leading slash. */
  path: string;
  content: Uint8Array;
  mode: number;
}

export interface ImageArchiveInput {
  /** Repository part of the tag; the tag itself is derived from the content. */
  repository: string;
  /** A prefix for the tag, e.g. the target name. */
  tagPrefix: string;
  platform: { os: string; architecture: string; variant?: string | undefined };
  files: readonly ImageFile[];
  entrypoint: readonly string[];
  /** SOURCE_DATE_EPOCH: the layer's mtimes and the config's `created`. */
  epoch: number;
}

export interface ImageArchive {
  /** `repository:prefix-<12 hex of the image ID>`: a new image never reuses an old tag. */
  tag: string;
  /** sha256:<hex> of the config: what `docker image inspect --format {{.Id}}` says. */
  id: string;
  /** The archive's entries, to be written with writeTarGz. */
  entries: TarEntry[];
}

export async function imageArchive(input: ImageArchiveInput): Promise<ImageArchive> {
  const layer = await tarBuffer(
    input.files.map((file) => ({ path: file.path, type: 'file' as const, mode: file.mode, content: file.content })),
    input.epoch,
  );
  const diffId = sha256(layer);
  const created = new Date(input.epoch * 1000).toISOString().replace('.000Z', 'Z');
  const config = {
    architecture: input.platform.architecture,
    ...(input.platform.variant ? { variant: input.platform.variant } : {}),
    os: input.platform.os,
    created,
    config: { Entrypoint: [...input.entrypoint], Env: ['PATH=/'], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
    history: [{ created, created_by: 'crossdock build' }],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const id = sha256(configBytes);
  const tag = `${input.repository}:${input.tagPrefix}-${id.slice(0, 12)}`;
  const manifest = [{ Config: `${id}.json`, RepoTags: [tag], Layers: [`${diffId}/layer.tar`] }];
  return {
    tag,
    id: `sha256:${id}`,
    entries: [
      { path: 'manifest.json', type: 'file', mode: 0o644, content: Buffer.from(JSON.stringify(manifest)) },
      { path: `${id}.json`, type: 'file', mode: 0o644, content: configBytes },
      { path: diffId, type: 'directory', mode: 0o755 },
      { path: `${diffId}/layer.tar`, type: 'file', mode: 0o644, content: layer },
    ],
  };
}
