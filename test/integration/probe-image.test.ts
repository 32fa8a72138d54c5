/**
 * The health-check image: a real static program per target from the real cross compilers, in
 * the `docker load` archive format, read back by skopeo (a second, independent implementation
 * of the format), with its networking modes run under QEMU on loopback.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../src/boards/vm.js';
import { sha256, sha256File } from '../../src/artifacts/checksums.js';
import { buildProbeImage, PROBE_BINARY } from '../../src/builder/health-image.js';
import { LocalRunner } from '../../src/exec/local-runner.js';
import { inspectFile } from '../../src/platform/inspect.js';
import { loadTargets } from '../../src/platform/targets.js';
import { loadToolchains } from '../../src/platform/toolchains.js';
import { tempTree } from '../helpers/temp.js';
import { requireRoot, requireTools } from '../helpers/tools.js';

const registry = await loadTargets();
const toolchains = await loadToolchains();
const qemu = toolchains.find((t) => t.kind === 'emulator');
if (!qemu) throw new Error('toolchains/qemu.yaml missing');
const emulator = qemu;
const TARGETS = ['x86_64', 'aarch64', 'armv7', 'armv6'];
const ready = requireTools(
  'skopeo',
  'tar',
  'qemu-arm-static',
  'qemu-aarch64-static',
  ...TARGETS.map((t) => `${registry.get(t).gnu.triple}-gcc`),
);
const EPOCH = Date.parse('2026-01-01T00:00:00Z') / 1000;

async function buildFor(target: string, cacheDirectory: string, directory: string) {
  await mkdir(directory, { recursive: true });
  const triple = registry.get(target).gnu.triple;
  const compilerVersion = (await execa(`${triple}-gcc`, ['-dumpfullversion'])).stdout.trim();
  return buildProbeImage({
    target: registry.get(target),
    registry,
    runner: new LocalRunner(),
    qemu: emulator,
    targetFlags: undefined,
    cacheDirectory,
    compilerVersion,
    smoke: true,
    smokeTimeoutMs: 60_000,
    version: '1.2.3',
    epoch: EPOCH,
    directory,
  });
}

/** The probe binary out of the image's one layer. */
async function extractProbe(archive: string, into: string): Promise<string> {
  await mkdir(into, { recursive: true });
  await execa('tar', ['-xf', archive, '-C', into]);
  const [entry] = JSON.parse(readFileSync(join(into, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
  const layer = entry?.Layers[0];
  if (!layer) throw new Error('no layer');
  await execa('tar', ['-xf', join(into, layer), '-C', into]);
  return join(into, PROBE_BINARY);
}

describe.runIf(ready)('the health-check image', () => {
  it.each(TARGETS)(
    '%s: a static probe of the right level, in an archive skopeo reads with the right platform',
    async (target) => {
      const work = await tempTree();
      const result = await buildFor(target, join(work, 'cache'), join(work, 'out'));
      if (!result.ok) throw new Error(result.problems.join('\n'));
      const { artifact } = result;
      expect(artifact).toMatchObject({ kind: 'image', target, file: `crossdock-probe-1.2.3-${target}.tar` });
      const file = join(work, 'out', artifact.file);
      expect(artifact.sha256).toBe(await sha256File(file));
      const [binary] = artifact.binaries ?? [];
      expect(binary?.smoke?.firstLine).toMatch(/^crossdock-probe ok (x86_64|aarch64|armv7l|armv6l)$/);

      const probe = await extractProbe(file, join(work, 'unpacked'));
      const report = inspectFile(probe, registry);
      expect(report).toMatchObject({ target, static: true });

      const inspected = JSON.parse((await execa('skopeo', ['inspect', `docker-archive:${file}`])).stdout) as {
        Architecture: string;
        Os: string;
        Layers: string[];
      };
      const oci = registry.get(target).oci;
      expect(inspected.Os).toBe('linux');
      expect(inspected.Architecture).toBe(oci.architecture);
      expect(inspected.Layers).toHaveLength(1);
      // The image ID docker load reports is the digest of exactly these config bytes.
      const raw = (await execa('skopeo', ['inspect', '--config', '--raw', `docker-archive:${file}`])).stdout;
      expect(`sha256:${sha256(raw)}`).toBe(artifact.image?.id);
      const config = JSON.parse(raw) as { variant?: string };
      expect(config).toMatchObject({ config: { Entrypoint: ['/crossdock-probe'] } });
      // skopeo 1.9 does not print the variant; docker run warns when it does not match the board.
      expect(config.variant ?? null).toBe(oci.variant ?? null);
      // A full copy checks every digest skopeo can check (layer against diff ID, config).
      await execa('skopeo', ['copy', '--quiet', `docker-archive:${file}`, `oci:${join(work, 'oci')}:probe`]);
      expect(artifact.image?.tag).toMatch(new RegExp(`^crossdock/probe:${target}-[0-9a-f]{12}$`));
    },
  );

  it('is the same bytes from a cold cache and from a warm one', async () => {
    const work = await tempTree();
    const first = await buildFor('armv6', join(work, 'cache-a'), join(work, 'a'));
    const warm = await buildFor('armv6', join(work, 'cache-a'), join(work, 'b'));
    const cold = await buildFor('armv6', join(work, 'cache-c'), join(work, 'c'));
    if (!first.ok || !warm.ok || !cold.ok) throw new Error('probe build failed');
    expect(warm.cached).toBe(true);
    expect(cold.cached).toBe(false);
    expect(warm.artifact.sha256).toBe(first.artifact.sha256);
    expect(cold.artifact.sha256).toBe(first.artifact.sha256);
    expect(cold.artifact.image).toEqual(first.artifact.image);
  });

  it('serve and connect: one armv6 probe answers another over TCP under the Pi Zero CPU', async () => {
    const work = await tempTree();
    const result = await buildFor('armv6', join(work, 'cache'), join(work, 'out'));
    if (!result.ok) throw new Error(result.problems.join('\n'));
    const probe = await extractProbe(join(work, 'out', result.artifact.file), join(work, 'unpacked'));
    const port = await freeLoopbackPort();
    const server = spawn('qemu-arm-static', ['-cpu', 'arm1176', probe, 'serve', String(port), 'token-4711'], {
      stdio: 'ignore',
    });
    try {
      // connect retries while the server starts under QEMU.
      const answer = await execa('qemu-arm-static', ['-cpu', 'arm1176', probe, 'connect', '127.0.0.1', String(port)]);
      expect(answer.stdout).toBe('crossdock-probe token-4711');
      const refused = await execa('qemu-arm-static', ['-cpu', 'arm1176', probe, 'connect', 'not-an-address', '1'], {
        reject: false,
      });
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain('no answer from not-an-address:1');
    } finally {
      server.kill();
    }
  });

  it.runIf(requireRoot())(
    "relay: one service reaches another by name through resolv.conf's nameserver, as compose's do (#26)",
    async () => {
      const work = await tempTree();
      const result = await buildFor('armv6', join(work, 'cache'), join(work, 'out'));
      if (!result.ok) throw new Error(result.problems.join('\n'));
      const probe = await extractProbe(join(work, 'out', result.artifact.file), join(work, 'unpacked'));
      // A network of the test's own with a nameserver that answers every A query with loopback,
      // named in a resolv.conf of its own (Docker's embedded DNS plays this part on a board).
      await writeFile(join(work, 'resolv.conf'), 'nameserver 127.0.0.1\n');
      await writeFile(join(work, 'dns.mjs'), DNS_RESPONDER);
      const qemuArm = `qemu-arm-static -cpu arm1176 ${probe}`;
      const script = [
        'ip link set lo up',
        `mount --bind ${join(work, 'resolv.conf')} /etc/resolv.conf`,
        `${process.execPath} ${join(work, 'dns.mjs')} & dns=$!`,
        `${qemuArm} serve 18090 by-name & server=$!`,
        `${qemuArm} relay 18091 server 18090 & relay=$!`,
        `${qemuArm} connect client-of-server 18091; rc=$?`,
        'kill $dns $server $relay',
        'exit $rc',
      ].join('\n');
      const answer = await execa('unshare', ['-n', '-m', 'sh', '-c', script], { reject: false });
      expect(answer.stdout, answer.stderr).toBe('crossdock-probe by-name');
    },
  );
});

/** Answers every A query with 127.0.0.1 (the question echoed, one answer pointing at it). */
const DNS_RESPONDER = `import { createSocket } from 'node:dgram';
const socket = createSocket('udp4');
socket.on('message', (query, from) => {
  let end = 12;
  while (query[end]) end += query[end] + 1;
  end += 5;
  const head = Buffer.from(query.subarray(0, 12));
  head[2] = 0x81; head[3] = 0x80; head[6] = 0; head[7] = 1;
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
  socket.send(Buffer.concat([head, query.subarray(12, end), answer]), from.port, from.address);
});
socket.bind(53, '127.0.0.1');
`;
