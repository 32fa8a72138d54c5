/**
 * The real engine on a whole emulated machine: a Debian arm64 VM (its own kernel, systemd and
 * sshd under qemu-system-aarch64) gets a real bundle with `crossdock install`; dockerd of our
 * build must answer through its socket with containerd behind it. Then a bundle whose dockerd
 * will not start is installed: the health check fails and the board is switched back, still
 * answering with the good build.
 *
 * Needs a dist of a real build: CROSSDOCK_E2E_DIST=dist/<version> (.ci/e2e-build sets it). With
 * CROSSDOCK_E2E_PREVIOUS_DIST (Docker 20.10.24, crossdock's default before), the board starts on
 * that one: a container made there must outlive the upgrade and the rollback to it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSha256Sums, sha256File } from '../../src/artifacts/checksums.js';
import { bundleName, type Manifest } from '../../src/artifacts/manifest.js';
import { defaultCacheDirectory } from '../../src/boards/rootfs.js';
import { loadInventory } from '../../src/remote/inventory.js';
import { SshRunner } from '../../src/remote/ssh-runner.js';
import { watchdogScript } from '../../src/install/board-scripts.js';
import { installHost } from '../../src/install/install-host.js';
import { loadTargets } from '../../src/platform/targets.js';
import { readDist } from '../../src/artifacts/read-dist.js';
import { crossdock } from '../helpers/cli.js';
import { requireRoot } from '../helpers/tools.js';

const source = process.env.CROSSDOCK_E2E_DIST;
/** An older release line's aarch64 dist (20.10.24, crossdock's default before): the upgrade from it. */
const previous = process.env.CROSSDOCK_E2E_PREVIOUS_DIST;
let work: string;
let state: string;
let inventoryFile: string;
let manifest: Manifest;
/** The engine's own version (the release version may be a pseudo-version around it). */
let engine: string;
let client: string;

function cli(args: string[]) {
  return crossdock(args, {
    env: { CROSSDOCK_BOARD_DIR: state, HOME: work, XDG_CACHE_HOME: dirname(defaultCacheDirectory()) },
  });
}

async function onBoard(command: string, name = 'vm-1') {
  const inventory = await loadInventory(inventoryFile);
  const host = inventory.hosts.find((h) => h.name === name);
  if (!host) throw new Error('no board');
  const runner = await SshRunner.connect(host, { knownHosts: [inventory.knownHosts ?? ''] });
  try {
    const result = await runner.run('sh', ['-c', command], { allowFailure: true, timeoutMs: 300_000 });
    return { code: result.exitCode, out: result.stdout.trim(), err: result.stderr.trim() };
  } finally {
    runner.dispose();
  }
}

/** The dist has the compose plugin for aarch64 (the default does since #26); read when tests are collected. */
function hasCompose(): boolean {
  if (!source || !existsSync(join(source, 'manifest.json'))) return false;
  const read = JSON.parse(readFileSync(join(source, 'manifest.json'), 'utf8')) as Manifest;
  return (
    read.artifacts
      .find((a) => a.kind === 'bundle' && a.target === 'aarch64')
      ?.binaries?.some((b) => b.name === 'docker-compose') ?? false
  );
}

interface SwarmReport {
  hosts: Array<{ name: string; action: string; role: string | null }>;
  nodes: Array<{ hostname: string; architecture: string; role: string; state: string; leader: boolean }>;
  check: { ok: boolean; answered: string[] } | null;
}

interface TlsReport {
  name: string;
  action: string;
  certificate: string | null;
  endpoint: string;
  api: string;
  context: string | null;
}

/** The docker CLI of our own x86_64 build (this machine's), else the one on PATH. */
async function dockerClient(): Promise<string> {
  const bundle = manifest.artifacts.find((a) => a.kind === 'bundle' && a.target === 'x86_64');
  if (!bundle || !source) return 'docker';
  const directory = join(work, 'client');
  await mkdir(directory, { recursive: true });
  await execa('tar', ['-xzf', join(source, bundle.file), '-C', directory, 'docker/docker']);
  return join(directory, 'docker/docker');
}

interface HostReport {
  name: string;
  target: string;
  status: string;
  activeVersion: string | null;
  health: string;
  containers: string;
  bytesSent: number;
  steps: string[];
  error: string | null;
}

async function install(from: string, inventory = inventoryFile) {
  const result = await cli(['install', '--inventory', inventory, '--from', from, '--json']);
  const report = result.stdout ? (JSON.parse(result.stdout) as { hosts: HostReport[] }) : null;
  return { exitCode: result.exitCode, stderr: result.stderr, host: report?.hosts[0] };
}

/**
 * The aarch64 bundle of the real build as another version; `broken`: its dockerd answers
 * --version as the real one does but exits at once as a daemon, what a bad build looks like.
 */
async function variantDist(version: string, options: { broken?: boolean } = {}): Promise<string> {
  const directory = join(work, 'variants', version);
  const unpack = join(work, 'variants', `${version}-unpack`);
  await mkdir(join(directory, 'systemd'), { recursive: true });
  await mkdir(unpack, { recursive: true });
  const original = manifest.artifacts.find((a) => a.kind === 'bundle' && a.target === 'aarch64');
  if (!original || !source) throw new Error('the dist has no aarch64 bundle');
  const file = bundleName(version, 'aarch64');
  if (options.broken) {
    await execa('tar', ['-xzf', join(source, original.file), '-C', unpack]);
    await rename(join(unpack, 'docker/dockerd'), join(unpack, 'docker/dockerd.real'));
    await writeFile(
      join(unpack, 'docker/dockerd'),
      '#!/bin/sh\ncase "$1" in --version|-v) exec "$(dirname "$0")/dockerd.real" "$@";; esac\necho "dockerd: broken on purpose" >&2\nexit 1\n',
    );
    await chmod(join(unpack, 'docker/dockerd'), 0o755);
    await execa('tar', ['-czf', join(directory, file), '-C', unpack, 'docker']);
  } else await copyFile(join(source, original.file), join(directory, file));
  const units = manifest.artifacts.filter((a) => a.kind === 'unit');
  for (const unit of units) await copyFile(join(source, unit.file), join(directory, unit.file));
  const bundle = {
    ...original,
    file,
    size: (await readFile(join(directory, file))).length,
    sha256: await sha256File(join(directory, file)),
  };
  const variant: Manifest = { ...manifest, version, targets: ['aarch64'], artifacts: [bundle, ...units] };
  await writeFile(join(directory, 'manifest.json'), `${JSON.stringify(variant, null, 2)}\n`);
  await writeFile(
    join(directory, 'SHA256SUMS'),
    formatSha256Sums([bundle, ...units].map((a) => ({ name: a.file, sha256: a.sha256 }))),
  );
  return directory;
}

describe.runIf(source && requireRoot())('the engine of our build on a whole emulated arm64 machine', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'crossdock-vm-'));
    state = join(work, 'boards');
    inventoryFile = join(state, 'inventory.yaml');
    manifest = JSON.parse(await readFile(join(source ?? '', 'manifest.json'), 'utf8')) as Manifest;
    engine = manifest.sources.find((s) => s.recipe === 'moby')?.version ?? manifest.version;
    client = manifest.sources.find((s) => s.recipe === 'cli')?.version ?? engine;
    const started = Date.now();
    const up = await cli(['board', 'up', '--model', 'vm-arm64', '--name', 'vm-1']);
    expect(up.exitCode, up.stderr).toBe(0);
    console.log(`vm-engine: vm-arm64 answered ssh after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 1_800_000);

  afterAll(async () => {
    if (!work) return;
    await cli(['board', 'down', '--all']);
    rmSync(work, { recursive: true, force: true });
  });

  it('the probe sees an aarch64 board with systemd and iptables', async () => {
    const probe = await cli(['probe', '--inventory', inventoryFile, '--json']);
    expect(probe.exitCode, probe.stderr).toBe(0);
    const [report] = JSON.parse(probe.stdout) as Array<{ target: string; init: string; iptables: string | null }>;
    expect(report).toMatchObject({ target: 'aarch64', init: 'systemd' });
    expect(report?.iptables).not.toBeNull();
  });

  it.runIf(previous)(
    'an upgrade in place from Docker 20.10.24 keeps the data root and its containers, and so does the rollback',
    async () => {
      const old = JSON.parse(await readFile(join(previous ?? '', 'manifest.json'), 'utf8')) as Manifest;
      const oldEngine = old.sources.find((s) => s.recipe === 'moby')?.version ?? old.version;
      const first = await install(previous ?? '');
      expect(first.exitCode, `${first.stderr}\n${JSON.stringify(first.host)}`).toBe(0);
      expect(first.host).toMatchObject({ status: 'installed', health: 'ok', activeVersion: old.version });
      const image = old.artifacts.find((a) => a.kind === 'image' && a.target === 'aarch64')?.image;
      if (!image) throw new Error(`${previous} has no aarch64 health-check image`);
      // A service the user runs: restarted by its policy, with a named volume holding its data.
      const made = await onBoard(
        `docker volume create kept-data >/dev/null && docker run -d --name kept --restart always -v kept-data:/data ${image.tag} serve 8080 kept >/dev/null && docker inspect -f '{{.Id}}' kept && docker info --format '{{.DockerRootDir}}'`,
      );
      expect(made.code, made.err).toBe(0);
      const [id, root] = made.out.split('\n');

      const upgrade = await install(source ?? '');
      expect(upgrade.exitCode, `${upgrade.stderr}\n${JSON.stringify(upgrade.host)}`).toBe(0);
      expect(upgrade.host).toMatchObject({ status: 'installed', health: 'ok', activeVersion: manifest.version });
      const survived = async (server: string) => {
        const after = await onBoard(
          "docker version --format '{{.Server.Version}}'; docker info --format '{{.DockerRootDir}}'; docker inspect -f '{{.Id}}' kept; docker volume ls -q --filter name=kept-data; docker stop kept >/dev/null && docker start kept >/dev/null && docker inspect -f '{{.State.Running}}' kept",
        );
        expect(after.out, after.err).toBe([server, root, id, 'kept-data', 'true'].join('\n'));
      };
      await survived(engine);

      // Back to the old major: its dockerd and containerd read what the new ones left.
      const rollback = await cli(['fleet', 'rollback', '--inventory', inventoryFile, '--json']);
      expect(rollback.exitCode, rollback.stderr).toBe(0);
      expect(JSON.parse(rollback.stdout)).toMatchObject([
        { status: 'rolled-back', from: manifest.version, to: old.version },
      ]);
      await survived(oldEngine);
      const removed = await onBoard('docker rm -f kept >/dev/null && docker volume rm kept-data >/dev/null');
      expect(removed.code, removed.err).toBe(0);
    },
    900_000,
  );

  it('install: dockerd of our build answers on its socket, with containerd behind it', async () => {
    const started = Date.now();
    const { exitCode, stderr, host } = await install(source ?? '');
    console.log(
      `vm-engine: install took ${((Date.now() - started) / 1000).toFixed(1)} s, ${host?.bytesSent ?? 0} bytes`,
    );
    expect(exitCode, `${stderr}\n${JSON.stringify(host)}`).toBe(0);
    expect(host).toMatchObject({
      target: 'aarch64',
      status: 'installed',
      health: 'ok',
      activeVersion: manifest.version,
    });
    expect(host?.steps).toEqual(
      expect.arrayContaining(['units', 'switch', 'restart', 'health', 'containers', 'commit']),
    );
    // The build's health-check image ran: a container, the default bridge to the host, a published port.
    expect(host?.containers).toBe('ok');
    const version = await onBoard("docker version --format '{{.Client.Version}} {{.Server.Version}}'");
    expect(version.out, version.err).toBe(`${client} ${engine}`);
    const info = await onBoard(
      "docker info --format '{{.ServerVersion}} {{.Driver}} {{.CgroupVersion}} {{.Architecture}}'",
    );
    expect(info.out, info.err).toBe(`${engine} overlay2 2 aarch64`);
    const exe = await onBoard('readlink -f /proc/$(pidof dockerd)/exe; readlink -f /proc/$(pidof containerd)/exe');
    expect(exe.out).toBe(
      `/opt/crossdock/versions/${manifest.version}/dockerd\n/opt/crossdock/versions/${manifest.version}/containerd`,
    );
    const ping = await onBoard('curl -s --unix-socket /run/docker.sock http://localhost/_ping');
    expect(ping.out).toBe('OK');
    const units = await onBoard(
      'systemctl is-enabled docker.service containerd.service docker.socket; getent group docker',
    );
    expect(units.out).toMatch(/^enabled\nenabled\nenabled\ndocker:/);
  });

  it('a second install sends nothing', async () => {
    const { exitCode, host } = await install(source ?? '');
    expect(exitCode).toBe(0);
    expect(host).toMatchObject({ status: 'unchanged', bytesSent: 0, health: 'ok' });
  });

  it('fleet status --deep runs the health-check container again: bridge and published port', async () => {
    const status = await cli(['fleet', 'status', '--inventory', inventoryFile, '--deep', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject([{ health: 'ok', containers: 'ok', problem: null }]);
    const left = await onBoard(
      "docker ps -aq --filter name=crossdock-health | wc -l; ip -br link | grep -c '^veth' || true",
    );
    expect(left.out).toBe('0\n0');
  });

  it.runIf(hasCompose())(
    'docker compose of our build runs a two-service project: a published port, one service reaching the other by name (#26)',
    async () => {
      const tag = manifest.artifacts.find((a) => a.kind === 'image' && a.target === 'aarch64')?.image?.tag;
      if (!tag) throw new Error('the dist has no aarch64 health-check image');
      // The health-check image, already loaded by the install: no registry is needed.
      const project = [
        'services:',
        '  server:',
        `    image: ${tag}`,
        '    pull_policy: never',
        '    command: [serve, "8080", compose-e2e]',
        '  client:',
        `    image: ${tag}`,
        '    pull_policy: never',
        '    command: [relay, "8081", server, "8080"]',
        '    ports: ["18081:8081"]',
        '',
      ].join('\n');
      const version = await onBoard('docker compose version');
      expect(version.out, version.err).toBe(
        manifest.artifacts
          .find((a) => a.kind === 'bundle' && a.target === 'aarch64')
          ?.binaries?.find((b) => b.name === 'docker-compose')?.plugin?.firstLine,
      );
      const up = await onBoard(
        `mkdir -p /root/e2e-compose && cd /root/e2e-compose && cat > compose.yaml <<'EOF'\n${project}EOF\ndocker compose up -d 2>&1`,
      );
      expect(up.code, up.out).toBe(0);
      const ps = await onBoard("cd /root/e2e-compose && docker compose ps --format '{{.Service}} {{.State}}' | sort");
      expect(ps.out, ps.err).toBe('client running\nserver running');
      // From the board's own network: the published port of the client, which asks the server by name.
      const answer = await onBoard(`docker run --rm --network host ${tag} connect 127.0.0.1 18081`);
      expect(answer.out, answer.err).toBe('crossdock-probe compose-e2e');
      const down = await onBoard(
        'cd /root/e2e-compose && docker compose down 2>&1 && docker ps -aq --filter label=com.docker.compose.project=e2e-compose | wc -l && docker network ls -q --filter name=e2e-compose | wc -l',
      );
      expect(down.code, down.out).toBe(0);
      expect(down.out.split('\n').slice(-2)).toEqual(['0', '0']);
    },
  );

  it('daemon settings from the inventory reach dockerd, with a restart only when they change', async () => {
    const text = await readFile(inventoryFile, 'utf8');
    // Beside the board's own inventory, so its relative known_hosts path still holds.
    const configured = join(dirname(inventoryFile), 'inventory-daemon.yaml');
    // A fleet's usual settings: a registry mirror and the local log driver with a size limit.
    await writeFile(
      configured,
      text.replace(
        /^hosts:/m,
        "defaults:\n  daemon:\n    log-driver: local\n    log-opts: { max-size: 5m }\n    registry-mirrors: ['https://mirror.invalid']\nhosts:",
      ),
    );
    const started = await onBoard('systemctl show -p ActiveEnterTimestampMonotonic --value docker');
    const first = await install(source ?? '', configured);
    expect(first.exitCode, `${first.stderr}\n${JSON.stringify(first.host)}`).toBe(0);
    expect(first.host).toMatchObject({ status: 'reconfigured', bytesSent: 0, health: 'ok' });
    const info = await onBoard("docker info --format '{{.LoggingDriver}} {{json .RegistryConfig.Mirrors}}'");
    expect(info.out).toBe('local ["https://mirror.invalid/"]');
    const restarted = await onBoard('systemctl show -p ActiveEnterTimestampMonotonic --value docker');
    expect(restarted.out).not.toBe(started.out);
    const again = await install(source ?? '', configured);
    expect(again.host).toMatchObject({ status: 'unchanged', bytesSent: 0 });
    const still = await onBoard('systemctl show -p ActiveEnterTimestampMonotonic --value docker');
    expect(still.out).toBe(restarted.out);
  });

  it('the remote API over TLS: a docker context from here reaches our dockerd; enabling again restarts nothing; disable closes it', async () => {
    const docker = await dockerClient();
    const env = { DOCKER_CONFIG: join(work, '.docker') };
    const since = () => onBoard('systemctl show -p ActiveEnterTimestampMonotonic --value docker');
    const before = await since();
    const enabled = await cli(['fleet', 'tls', 'enable', '--inventory', inventoryFile, '--json']);
    expect(enabled.exitCode, enabled.stderr).toBe(0);
    const [first] = JSON.parse(enabled.stdout) as TlsReport[];
    expect(first).toMatchObject({
      name: 'vm-1',
      action: 'enabled',
      certificate: 'issued',
      api: 'ok',
      context: 'crossdock-vm-1',
    });
    const restarted = await since();
    expect(restarted.out).not.toBe(before.out);

    // The docker CLI of our own build, on this machine, through the context crossdock wrote.
    const version = await execa(
      docker,
      ['--context', 'crossdock-vm-1', 'version', '--format', '{{.Server.Version}} {{.Server.Arch}}'],
      { env, reject: false },
    );
    expect(version.stdout, version.stderr).toBe(`${engine} arm64`);
    // TLS with the fleet's CA but no client certificate: the engine does not talk.
    const [, host = '', port = ''] = /^tcp:\/\/([^:]+):(\d+)$/.exec(first?.endpoint ?? '') ?? [];
    const ca = await readFile(join(work, '.config/crossdock/tls/ca.pem'));
    const bare = await new Promise<string>((resolve) => {
      const request = httpsRequest(
        { host, port: Number(port), path: '/_ping', ca, agent: false, timeout: 30_000 },
        (response) => {
          response.resume();
          resolve(`HTTP ${String(response.statusCode)}`);
        },
      );
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', (error) => {
        resolve(error.message);
      });
      request.end();
    });
    expect(bare).not.toMatch(/^HTTP|timeout/);
    expect(bare).toMatch(/certificate|alert|hang up|ECONNRESET/i);

    const again = await cli(['fleet', 'tls', 'enable', '--inventory', inventoryFile, '--json']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject([{ action: 'unchanged', certificate: 'kept', api: 'ok' }]);
    expect((await since()).out).toBe(restarted.out);
    const status = await cli(['fleet', 'tls', 'status', '--inventory', inventoryFile, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject([{ action: 'unchanged', api: 'ok' }]);

    const disabled = await cli(['fleet', 'tls', 'disable', '--inventory', inventoryFile, '--json']);
    expect(disabled.exitCode, disabled.stderr).toBe(0);
    expect(JSON.parse(disabled.stdout)).toMatchObject([{ action: 'disabled' }]);
    const closed = await execa(docker, ['--context', 'crossdock-vm-1', 'version'], { env, reject: false });
    expect(closed.exitCode).not.toBe(0);
    const board = await onBoard(
      "test -e /etc/crossdock/tls || echo no-certificates; docker version --format '{{.Server.Version}}'",
    );
    expect(board.out).toBe(`no-certificates\n${engine}`);
  });

  it('a build whose dockerd does not start fails its health check and the board is switched back', async () => {
    const broken = await variantDist(`${manifest.version}-broken.1`, { broken: true });
    const { exitCode, host } = await install(broken);
    expect(exitCode).toBe(1);
    expect(host).toMatchObject({ status: 'rolled-back', health: 'failed', activeVersion: manifest.version });
    expect(host?.steps).toContain('rollback');
    const version = await onBoard("docker version --format '{{.Server.Version}}'; readlink /opt/crossdock/current");
    expect(version.out).toBe(`${engine}\nversions/${manifest.version}`);
    const status = await cli(['fleet', 'status', '--inventory', inventoryFile, '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject([{ active: manifest.version, health: 'ok' }]);
  });

  it('a swarm of both architectures: init, a global service on every node, idempotent, leave', async () => {
    const up = await cli(['board', 'up', '--model', 'vm-x86_64', '--name', 'vm-x86-1']);
    expect(up.exitCode, up.stderr).toBe(0);
    const installed = await cli(['install', '--inventory', inventoryFile, '--from', source ?? '', '--json']);
    const hosts = (JSON.parse(installed.stdout) as { hosts: HostReport[] }).hosts;
    expect(installed.exitCode, `${installed.stderr}\n${JSON.stringify(hosts)}`).toBe(0);
    expect(hosts.map((h) => [h.name, h.target, h.status, h.containers])).toEqual([
      ['vm-1', 'aarch64', 'unchanged', 'not-run'],
      ['vm-x86-1', 'x86_64', 'installed', 'ok'],
    ]);

    const init = await cli(['fleet', 'swarm', 'init', '--inventory', inventoryFile, '--json']);
    expect(init.exitCode, init.stderr).toBe(0);
    const report = JSON.parse(init.stdout) as SwarmReport;
    expect(report.hosts.map((h) => [h.name, h.action, h.role])).toEqual([
      ['vm-1', 'initialised', 'manager'],
      ['vm-x86-1', 'joined', 'worker'],
    ]);
    expect(report.nodes.map((n) => [n.hostname, n.architecture, n.role, n.state, n.leader])).toEqual([
      ['vm-1', 'aarch64', 'manager', 'ready', true],
      ['vm-x86-1', 'x86_64', 'worker', 'ready', false],
    ]);
    expect(report.check).toMatchObject({ ok: true, answered: ['vm-1', 'vm-x86-1'] });
    // The join tokens went to the boards and nowhere else.
    const tokens = await onBoard('docker swarm join-token -q worker; docker swarm join-token -q manager');
    for (const token of tokens.out.split('\n')) {
      expect(token).toMatch(/^SWMTKN-/);
      expect(`${init.stdout}${init.stderr}`).not.toContain(token);
    }

    const again = await cli(['fleet', 'swarm', 'init', '--inventory', inventoryFile, '--no-check', '--json']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as SwarmReport).hosts.map((h) => h.action)).toEqual(['already-in', 'already-in']);
    const services = await onBoard('docker service ls -q | wc -l');
    expect(services.out).toBe('0');

    const leave = await cli(['fleet', 'swarm', 'leave', '--inventory', inventoryFile, '--json']);
    expect(leave.exitCode, leave.stderr).toBe(0);
    expect((JSON.parse(leave.stdout) as SwarmReport).hosts.map((h) => h.action)).toEqual(['left', 'left']);
    const status = await cli(['fleet', 'swarm', 'status', '--inventory', inventoryFile, '--json']);
    expect((JSON.parse(status.stdout) as SwarmReport).hosts.map((h) => h.action)).toEqual(['not-in', 'not-in']);
  });

  it("the dead-man timer is PID 1's: it switches back after the SSH session that set it is gone (#17 finding 10)", async () => {
    const before = await onBoard('readlink /opt/crossdock/current; readlink /opt/crossdock/previous');
    const [current, previousLink] = before.out.split('\n');
    expect(previousLink).toMatch(/^versions\//);
    const token = 'e2e0dead0man0001';
    // The state a switch leaves while it waits for its commit: back to the previous version unless committed.
    const armed = await onBoard(
      [
        `cd /opt/crossdock && printf '%s\\n%s\\n%s\\n' ${previousLink} ${token} ${current} > pending`,
        watchdogScript(token, 5, true),
        `systemctl list-units --all --plain --no-legend 'crossdock-watchdog-${token}*' | wc -l`,
      ].join('\n'),
    );
    expect(armed.code, armed.err).toBe(0);
    expect(Number(armed.out)).toBeGreaterThan(0);
    // That session is closed; the timer fires on its own.
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    const after = await onBoard(
      "for i in $(seq 1 60); do test -e /opt/crossdock/pending || break; sleep 2; done; readlink /opt/crossdock/current; docker version --format '{{.Server.Version}}'",
    );
    expect(after.out.split('\n')[0]).toBe(previousLink);
    const back = await cli(['fleet', 'rollback', '--inventory', inventoryFile, '--limit', 'vm-1', '--json']);
    expect(back.exitCode, back.stderr).toBe(0);
    expect((await onBoard('readlink /opt/crossdock/current')).out).toBe(current);
  });
  it('a power cut at any step leaves the board on a committed version, and the next install completes (#17)', async () => {
    const steps = (process.env.CROSSDOCK_E2E_POWER_CUTS ?? 'send,switch,health,commit').split(',').filter(Boolean);
    const inventory = await loadInventory(inventoryFile);
    const host = inventory.hosts.find((h) => h.name === 'vm-1');
    if (!host) throw new Error('no vm-1');
    const registry = await loadTargets();
    const connect = () => SshRunner.connect(host, { knownHosts: [inventory.knownHosts ?? ''] });
    const versions = [
      await readDist(await variantDist(`${manifest.version}-power.1`)),
      await readDist(await variantDist(`${manifest.version}-power.2`)),
    ];
    // From a committed version of its own, so each cut has one to fall back on.
    const baseline = await connect();
    await installHost(baseline, {
      dist: versions[1] as (typeof versions)[number],
      registry,
      keep: 3,
      dryRun: false,
    }).finally(() => {
      baseline.dispose();
    });
    const boardPid = async () =>
      (JSON.parse(await readFile(join(state, 'vm-1', 'board.json'), 'utf8')) as { pid: number }).pid;
    const table = [
      '| power cut at | reported | boot check undid a switch | board came back on | pending left | next install |',
      '|---|---|---|---|---|---|',
    ];
    for (const [index, cutAt] of steps.entries()) {
      const next = versions[index % 2] as (typeof versions)[number];
      const pid = await boardPid();
      const runner = await connect();
      // The plug is pulled as the step starts: for `send`, with the bundle on its way.
      const outcome = await installHost(runner, {
        dist: next,
        registry,
        keep: 3,
        dryRun: false,
        onStep: (step) => {
          if (step === cutAt) setTimeout(() => process.kill(pid, 'SIGKILL'), cutAt === 'send' ? 1500 : 0);
        },
      }).then(
        (r) => r.status,
        (error: unknown) => `error: ${(error as Error).message.slice(0, 40)}…`,
      );
      runner.dispose();
      const on = await cli(['board', 'power-cut', 'vm-1']);
      expect(on.exitCode, on.stderr).toBe(0);
      const board = await onBoard(
        "readlink /opt/crossdock/current; test -e /opt/crossdock/pending && echo pending || echo none; docker version --format '{{.Server.Version}}'; systemctl show -p ConditionResult --value crossdock-boot-check.service",
      );
      const [link = '', pending = '', answer = '', bootCheck = ''] = board.out.split('\n');
      // Past the switch, the timer died with the power: only the boot check can have switched back.
      if (['health', 'commit'].includes(cutAt)) expect(bootCheck, cutAt).toBe('yes');
      // Whatever the step, the board boots onto a committed version, with the engine answering.
      expect([pending, answer], `${cutAt}: ${board.out} ${board.err}`).toEqual(['none', engine]);
      if (outcome === 'installed') expect(link, cutAt).toBe(`versions/${next.manifest.version}`);
      const again = await connect();
      try {
        const done = await installHost(again, { dist: next, registry, keep: 3, dryRun: false });
        expect([done.status, done.activeVersion, done.health], cutAt).toEqual([
          link === `versions/${next.manifest.version}` ? 'unchanged' : 'installed',
          next.manifest.version,
          'ok',
        ]);
        table.push(
          `| ${cutAt} | ${outcome} | ${bootCheck === 'yes' ? 'yes' : 'no'} | ${link.replace('versions/', '')} | no | ${done.status}, ok |`,
        );
      } finally {
        again.dispose();
      }
    }
    console.log(`power-cut faults:\n${table.join('\n')}`);
  }, 3_600_000);
});
