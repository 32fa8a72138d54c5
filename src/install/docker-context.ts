/**
 * Client side of the remote API: one docker context per board in the docker CLI's own store
 * (`$DOCKER_CONFIG`, default ~/.docker), so `docker --context crossdock-<board> ps` works with no
 * flags and no environment. Written as files rather than with `docker context create`, so an
 * operator's machine needs no docker CLI to get them; the format is the CLI's (tested with it).
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KeyPair } from './fleet-ca.js';
import { contextMeta, contextStoreId, type Endpoint } from './remote-api-plan.js';

export function dockerConfigDirectory(env: Record<string, string | undefined> = process.env): string {
  return env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker');
}

export interface ContextFiles {
  meta: string;
  tls: string;
}

export function contextPaths(configDirectory: string, name: string): ContextFiles {
  const id = contextStoreId(name);
  return {
    meta: join(configDirectory, 'contexts', 'meta', id),
    tls: join(configDirectory, 'contexts', 'tls', id),
  };
}

async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  const scratch = `${file}.${String(process.pid)}.new`;
  await writeFile(scratch, content, { mode });
  await rename(scratch, file);
}

export async function writeDockerContext(
  configDirectory: string,
  name: string,
  endpoint: Endpoint,
  material: { ca: string; client: KeyPair },
  description: string,
): Promise<ContextFiles> {
  const paths = contextPaths(configDirectory, name);
  const tls = join(paths.tls, 'docker');
  await mkdir(paths.meta, { recursive: true, mode: 0o700 });
  await mkdir(tls, { recursive: true, mode: 0o700 });
  // TLS material first: a context whose meta is there always has its certificates.
  await writeAtomically(join(tls, 'ca.pem'), material.ca, 0o644);
  await writeAtomically(join(tls, 'cert.pem'), material.client.cert, 0o644);
  await writeAtomically(join(tls, 'key.pem'), material.client.key, 0o600);
  await writeAtomically(join(paths.meta, 'meta.json'), contextMeta(name, endpoint, description), 0o644);
  return paths;
}

export async function removeDockerContext(configDirectory: string, name: string): Promise<void> {
  const paths = contextPaths(configDirectory, name);
  await rm(paths.meta, { recursive: true, force: true });
  await rm(paths.tls, { recursive: true, force: true });
}
