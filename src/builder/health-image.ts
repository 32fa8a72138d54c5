/**
 * The health-check image of a target: a scratch image holding one static program, built with
 * the target's own cross compiler and flags, verified like every bundle binary (ELF machine,
 * ARM level, static, a run under QEMU with the oldest board's CPU), and written in `docker
 * load` format (an uncompressed tar). Boards run it after an install to prove that the engine runs containers, that a
 * container on the default bridge reaches the host, and that a published port is served; no
 * registry is needed, so it works on fleets without Internet access.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Runner } from '../exec/runner.js';
import type { Target, TargetRegistry } from '../platform/targets.js';
import type { Toolchain } from '../platform/toolchains.js';
import { cacheKey, readCache, writeCache } from './cache.js';
import { sha256File } from '../artifacts/checksums.js';
import { targetCFlags } from './compile.js';
import { imageArchive } from './image-archive.js';
import { type ManifestArtifact, type ManifestBinary, probeImageName } from '../artifacts/manifest.js';
import type { TargetFlags } from './recipe-schema.js';
import { tarBuffer } from './tar.js';
import { verifyBinary } from './verify-binary.js';

export const PROBE_BINARY = 'crossdock-probe';
export const PROBE_REPOSITORY = 'crossdock/probe';

/**
 * Three modes, each one line of output:
 *   crossdock-probe                      → "crossdock-probe ok <uname -m>"
 *   crossdock-probe serve PORT TOKEN     → answers every connection with "crossdock-probe TOKEN"
 *   crossdock-probe connect ADDR PORT    → prints the first line the server sends (retrying
 *                                          the connection for a while: the server may be starting)
 * Only numeric addresses (inet_pton): a static glibc cannot load NSS modules for names.
 */
export const PROBE_SOURCE = `/* crossdock-probe: the program of crossdock's health-check image. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

static int serve(int port, const char *token) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 16) != 0) {
    perror("crossdock-probe: serve");
    return 1;
  }
  for (;;) {
    int c = accept(s, 0, 0);
    if (c < 0) continue;
    dprintf(c, "crossdock-probe %s\\n", token);
    close(c);
  }
}

static int connect_once(const char *address, int port) {
  char buffer[256];
  ssize_t n, total = 0;
  struct sockaddr_in a;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (s < 0 || inet_pton(AF_INET, address, &a.sin_addr) != 1) return -1;
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
    close(s);
    return -1;
  }
  while (total < (ssize_t)sizeof buffer - 1 && (n = read(s, buffer + total, sizeof buffer - 1 - total)) > 0) total += n;
  close(s);
  if (total == 0) return -1;
  buffer[total] = 0;
  fputs(buffer, stdout);
  return 0;
}

int main(int argc, char **argv) {
  struct utsname u;
  if (argc == 1) {
    if (uname(&u) != 0) return 1;
    printf("crossdock-probe ok %s\\n", u.machine);
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]), argv[3]);
  if (argc == 4 && strcmp(argv[1], "connect") == 0) {
    /* A proxy in between may accept and close before its backend listens: retry that too. */
    for (int i = 0; i < 60; i++) {
      if (connect_once(argv[2], atoi(argv[3])) == 0) return 0;
      usleep(500000);
    }
    fprintf(stderr, "crossdock-probe: no answer from %s:%s\\n", argv[2], argv[3]);
    return 1;
  }
  fputs("usage: crossdock-probe [serve PORT TOKEN | connect ADDRESS PORT]\\n", stderr);
  return 2;
}
`;

export interface ProbeImageOptions {
  target: Target;
  registry: TargetRegistry;
  runner: Runner;
  qemu: Toolchain;
  targetFlags: TargetFlags | undefined;
  cacheDirectory: string;
  /** `<triple>-gcc -dumpfullversion`, part of the cache key. */
  compilerVersion: string | undefined;
  smoke: boolean;
  smokeTimeoutMs: number;
  version: string;
  epoch: number;
  /** Where the image file is written. */
  directory: string;
}

export type ProbeImageResult =
  { ok: true; artifact: ManifestArtifact; cached: boolean } | { ok: false; problems: string[] };

export async function buildProbeImage(options: ProbeImageOptions): Promise<ProbeImageResult> {
  const { target } = options;
  const cc = `${target.gnu.triple}-gcc`;
  const cflags = targetCFlags(target, options.targetFlags);
  const args = [...cflags, '-Os', '-static', '-s', '-o'];
  const key = cacheKey({
    probe: PROBE_SOURCE,
    target: target.name,
    cc,
    cflags,
    compiler: options.compilerVersion,
    smoke: options.smoke,
    cpu: target.qemu.cpu,
  });
  let binary: ManifestBinary;
  let file: string;
  const hit = await readCache(options.cacheDirectory, key);
  if (hit) {
    binary = hit.binary;
    file = hit.file;
  } else {
    const work = join(options.cacheDirectory, 'tmp', `${key}-probe`);
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    try {
      await writeFile(join(work, 'probe.c'), PROBE_SOURCE);
      const output = join(work, PROBE_BINARY);
      await options.runner.run(cc, [...args, output, 'probe.c'], { cwd: work });
      const verification = await verifyBinary(output, {
        binary: PROBE_BINARY,
        target,
        registry: options.registry,
        qemu: options.qemu,
        runner: options.runner,
        smokeArgs: options.smoke ? [] : null,
        smokeTimeoutMs: options.smokeTimeoutMs,
      });
      if (!verification.ok) return { ok: false, problems: verification.problems };
      binary = {
        name: PROBE_BINARY,
        component: PROBE_BINARY,
        size: (await stat(output)).size,
        sha256: await sha256File(output),
        armArch: verification.report?.armArchName ?? null,
        source: { spec: 'crossdock', revision: key.slice(0, 12), version: null },
        flags: { env: { CC: cc }, args: [...args, PROBE_BINARY, 'probe.c'] },
        smoke: verification.smoke
          ? { args: verification.smoke.args, cpu: verification.smoke.cpu, firstLine: verification.smoke.firstLine }
          : null,
        go: null,
      };
      await writeCache(options.cacheDirectory, key, output, binary);
      file = (await readCache(options.cacheDirectory, key))?.file ?? output;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  const archive = await imageArchive({
    repository: PROBE_REPOSITORY,
    tagPrefix: target.name,
    platform: target.oci,
    files: [{ path: PROBE_BINARY, content: await readFile(file), mode: 0o755 }],
    entrypoint: [`/${PROBE_BINARY}`],
    epoch: options.epoch,
  });
  const name = probeImageName(options.version, target.name);
  const path = join(options.directory, name);
  // Uncompressed: docker load, ctr import, skopeo and podman all read a plain tar; not all of
  // them read a gzipped one (skopeo 1.9 does not).
  await writeFile(path, await tarBuffer(archive.entries, options.epoch));
  return {
    ok: true,
    cached: Boolean(hit),
    artifact: {
      kind: 'image',
      file: name,
      target: target.name,
      size: (await stat(path)).size,
      sha256: await sha256File(path),
      binaries: [binary],
      image: { tag: archive.tag, id: archive.id },
    },
  };
}
