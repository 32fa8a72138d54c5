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
 *   crossdock-probe connect HOST PORT    → prints the first line the server sends (retrying
 *                                          the connection for a while: the server may be starting)
 *   crossdock-probe relay PORT HOST HPORT → serves on PORT what HOST:HPORT answers (a compose
 *                                          service that reaches another by its name)
 * A static glibc cannot load NSS modules, so a name is asked of the first nameserver in
 * /etc/resolv.conf directly (one A query over UDP): Docker's embedded DNS answers service names.
 */
export const PROBE_SOURCE = `/* crossdock-probe: the program of crossdock's health-check image. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static int resolve(const char *name, struct in_addr *out) {
  if (inet_pton(AF_INET, name, out) == 1) return 0;
  char server[64] = "127.0.0.11", line[256];
  FILE *f = fopen("/etc/resolv.conf", "r");
  if (f) {
    while (fgets(line, sizeof line, f))
      if (sscanf(line, "nameserver %63s", server) == 1) break;
    fclose(f);
  }
  unsigned char q[512], r[512];
  int n = 12;
  memset(q, 0, sizeof q);
  q[0] = 0x2c; q[1] = 0x0d; q[2] = 1; q[5] = 1;
  for (const char *p = name; *p;) {
    const char *dot = strchr(p, '.');
    int length = dot ? (int)(dot - p) : (int)strlen(p);
    if (length == 0 || length > 63 || n + length + 6 > (int)sizeof q) return -1;
    q[n++] = (unsigned char)length;
    memcpy(q + n, p, length);
    n += length;
    p += length;
    if (*p == '.') p++;
  }
  q[n++] = 0; q[n++] = 0; q[n++] = 1; q[n++] = 0; q[n++] = 1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0 || inet_pton(AF_INET, server, &a.sin_addr) != 1) return -1;
  struct timeval t = {1, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
  ssize_t got = -1;
  if (sendto(s, q, n, 0, (struct sockaddr *)&a, sizeof a) == n) got = recv(s, r, sizeof r, 0);
  close(s);
  if (got < n || r[0] != 0x2c || r[1] != 0x0d || (r[3] & 0x0f) != 0) return -1;
  int answers = (r[6] << 8) | r[7], i = n;
  while (answers-- > 0 && i < got) {
    if ((r[i] & 0xc0) == 0xc0) i += 2;
    else { while (i < got && r[i]) i += r[i] + 1; i++; }
    if (i + 10 > got) return -1;
    int type = (r[i] << 8) | r[i + 1], length = (r[i + 8] << 8) | r[i + 9];
    i += 10;
    if (type == 1 && length == 4 && i + 4 <= got) { memcpy(out, r + i, 4); return 0; }
    i += length;
  }
  return -1;
}

/* The first answer of HOST:PORT into buffer; its length, or -1. */
static ssize_t fetch(const char *host, int port, char *buffer, size_t size) {
  ssize_t n, total = 0;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (resolve(host, &a.sin_addr) != 0) return -1;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
    close(s);
    return -1;
  }
  while (total < (ssize_t)size - 1 && (n = read(s, buffer + total, size - 1 - total)) > 0) total += n;
  close(s);
  if (total == 0) return -1;
  buffer[total] = 0;
  return total;
}

/* A proxy in between may accept and close before its backend listens, and a service name may
   not resolve yet while its container starts: retry both for half a minute. */
static ssize_t fetch_retrying(const char *host, int port, char *buffer, size_t size) {
  for (time_t end = time(0) + 30; time(0) < end; usleep(500000)) {
    ssize_t got = fetch(host, port, buffer, size);
    if (got > 0) return got;
  }
  return -1;
}

/* Answers every connection on PORT with "crossdock-probe TOKEN", or, given a HOST, with what
   HOST:TARGET answers (a relay). */
static int serve(int port, const char *token, const char *host, int target) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a;
  char buffer[256];
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
    if (!host) dprintf(c, "crossdock-probe %s\\n", token);
    else if (fetch_retrying(host, target, buffer, sizeof buffer) > 0) dprintf(c, "%s", buffer);
    else dprintf(c, "crossdock-probe: no answer from %s:%d\\n", host, target);
    close(c);
  }
}

int main(int argc, char **argv) {
  struct utsname u;
  if (argc == 1) {
    if (uname(&u) != 0) return 1;
    printf("crossdock-probe ok %s\\n", u.machine);
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]), argv[3], 0, 0);
  if (argc == 4 && strcmp(argv[1], "connect") == 0) {
    char buffer[256];
    if (fetch_retrying(argv[2], atoi(argv[3]), buffer, sizeof buffer) > 0) {
      fputs(buffer, stdout);
      return 0;
    }
    fprintf(stderr, "crossdock-probe: no answer from %s:%s\\n", argv[2], argv[3]);
    return 1;
  }
  if (argc == 5 && strcmp(argv[1], "relay") == 0) return serve(atoi(argv[2]), 0, argv[3], atoi(argv[4]));
  fputs("usage: crossdock-probe [serve PORT TOKEN | connect HOST PORT | relay PORT HOST HOSTPORT]\\n", stderr);
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
