/**
 * `crossdock install` onto emulated boards over real SSH, with bundles of real static programs
 * for each target: fresh install, no-op, upgrade, failed health → rollback, a wrong-target
 * bundle refused before a byte is sent, waves stopped by --max-fail and resumed, and a link that
 * dies between switch and commit reverted by the board's own watchdog.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheDirectory } from '../../src/boards/rootfs.js';
import { installHost } from '../../src/install/install-host.js';
import { loadTargets, type Target } from '../../src/platform/targets.js';
import { loadInventory } from '../../src/remote/inventory.js';
import { readDist } from '../../src/artifacts/read-dist.js';
import { SshRunner } from '../../src/remote/ssh-runner.js';
import { onBoard as onTestBoard } from '../helpers/boards.js';
import { crossdock } from '../helpers/cli.js';
import { FakeGitHub } from '../helpers/fake-github/server.js';
import { makeRunnableDist } from '../helpers/dist.js';
import { fixtureRepository } from '../helpers/git.js';
import { requireRoot, requireTools } from '../helpers/tools.js';

const ready =
  requireRoot() &&
  requireTools(
    'debootstrap',
    'unshare',
    'ip',
    'qemu-arm-static',
    'qemu-aarch64-static',
    'ssh-keygen',
    'cc',
    'arm-linux-gnueabihf-gcc',
    'arm-linux-gnueabi-gcc',
    'aarch64-linux-gnu-gcc',
  );

let work: string;
let state: string;
let inventoryFile: string;
let targets: Record<string, Target>;

function cli(args: string[]) {
  return crossdock(args, {
    env: { CROSSDOCK_BOARD_DIR: state, HOME: work, XDG_CACHE_HOME: dirname(defaultCacheDirectory()) },
  });
}

interface Report {
  version: string;
  stopped: string | null;
  hosts: Array<{
    name: string;
    target: string | null;
    status: string;
    activeVersion: string | null;
    previousVersion: string | null;
    health: string;
    bytesSent: number;
    steps: string[];
    error: string | null;
  }>;
}

async function installJson(args: string[]) {
  const result = await cli(['install', '--inventory', inventoryFile, '--json', ...args]);
  return {
    exitCode: result.exitCode,
    stderr: result.stderr,
    report: result.stdout ? (JSON.parse(result.stdout) as Report) : null,
  };
}

/** A command's output on one of this suite's boards. */
async function onBoard(name: string, command: string) {
  return (await onTestBoard(inventoryFile, name, command)).trim();
}

async function dist(version: string, names: string[], options: { broken?: boolean } = {}) {
  return makeRunnableDist(join(work, `dist-${version}-${names.join('-')}${options.broken ? '-broken' : ''}`), {
    version,
    targets: names.map((n) => targets[n] as Target),
    ...options,
  });
}

describe.runIf(ready)('crossdock install onto emulated boards', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'crossdock-install-'));
    state = join(work, 'boards');
    inventoryFile = join(state, 'inventory.yaml');
    const registry = await loadTargets();
    targets = Object.fromEntries(registry.targets.map((t) => [t.name, t]));
    for (const model of ['rpi-zero', 'rpi-3', 'rpi-4-32']) {
      const up = await cli(['board', 'up', '--model', model]);
      expect(up.exitCode, up.stderr).toBe(0);
    }
  }, 1_800_000);

  afterAll(async () => {
    if (!work) return;
    await cli(['board', 'down', '--all']);
    rmSync(work, { recursive: true, force: true });
  });

  it('fresh install: each board gets its own target, switched, healthy', async () => {
    const from = await dist('1.0.0', ['armv6', 'aarch64', 'armv7']);
    const { exitCode, report, stderr } = await installJson(['--from', from]);
    expect(stderr).toBe('');
    expect(exitCode).toBe(0);
    expect(report?.hosts.map((h) => [h.name, h.target, h.status, h.activeVersion, h.health])).toEqual([
      ['rpi-zero-1', 'armv6', 'installed', '1.0.0', 'ok'],
      ['rpi-3-1', 'aarch64', 'installed', '1.0.0', 'ok'],
      ['rpi-4-32-1', 'armv7', 'installed', '1.0.0', 'ok'],
    ]);
    for (const host of report?.hosts ?? []) expect(host.bytesSent).toBeGreaterThan(0);
    expect(await onBoard('rpi-zero-1', 'readlink /opt/crossdock/current; /usr/local/bin/dockerd --version')).toBe(
      'versions/1.0.0\ndockerd version 1.0.0',
    );
  });

  it('no-op re-install: nothing sent, nothing changed', async () => {
    const from = await dist('1.0.0', ['armv6', 'aarch64', 'armv7']);
    const { exitCode, report } = await installJson(['--from', from]);
    expect(exitCode).toBe(0);
    for (const host of report?.hosts ?? []) {
      expect(host.status).toBe('unchanged');
      expect(host.bytesSent).toBe(0);
      expect(host.steps).toEqual(['probe', 'plan']);
    }
  });

  it('upgrade keeps the old version as previous; a build failing its health check is switched back', async () => {
    const upgrade = await dist('1.1.0', ['armv6', 'aarch64', 'armv7']);
    const upgraded = await installJson(['--from', upgrade, '--limit', 'rpi-3-1']);
    expect(upgraded.exitCode).toBe(0);
    expect(upgraded.report?.hosts[0]).toMatchObject({ status: 'installed', previousVersion: '1.0.0' });
    expect(await onBoard('rpi-3-1', 'readlink /opt/crossdock/current /opt/crossdock/previous')).toBe(
      'versions/1.1.0\nversions/1.0.0',
    );

    const broken = await dist('1.2.0', ['armv6', 'aarch64', 'armv7'], { broken: true });
    const failed = await installJson(['--from', broken, '--limit', 'rpi-3-1']);
    expect(failed.exitCode).toBe(1);
    expect(failed.report?.hosts[0]).toMatchObject({ status: 'rolled-back', health: 'failed', activeVersion: '1.1.0' });
    expect(failed.report?.hosts[0]?.steps.slice(-2)).toEqual(['health', 'rollback']);
    expect(await onBoard('rpi-3-1', 'readlink /opt/crossdock/current; dockerd --version; ls /opt/crossdock')).toBe(
      'versions/1.1.0\ndockerd version 1.1.0\ncurrent\nincoming\nobjects\nprevious\nversions',
    );
  });

  it('fleet status shows active, previous and health; fleet rollback switches back, health-checked', async () => {
    const status = await cli(['fleet', 'status', '--inventory', inventoryFile, '--limit', 'rpi-3-1', '--json']);
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject([
      { name: 'rpi-3-1', target: 'aarch64', active: '1.1.0', previous: '1.0.0', health: 'ok' },
    ]);
    const dry = await cli(['fleet', 'rollback', '--inventory', inventoryFile, '--limit', 'rpi-3-1', '--dry-run']);
    expect(dry.stdout).toBe('rpi-3-1: would roll back 1.1.0 → 1.0.0');
    expect(await onBoard('rpi-3-1', 'readlink /opt/crossdock/current')).toBe('versions/1.1.0');
    const rollback = await cli(['fleet', 'rollback', '--inventory', inventoryFile, '--limit', 'rpi-3-1']);
    expect(rollback.exitCode).toBe(0);
    expect(await onBoard('rpi-3-1', 'readlink /opt/crossdock/current /opt/crossdock/previous; dockerd --version')).toBe(
      'versions/1.0.0\nversions/1.1.0\ndockerd version 1.0.0',
    );
  });

  it('fleet status tells a pending switch; fleet rollback leaves it to the install or its watchdog (#17 finding 10)', async () => {
    // What a switch leaves until its commit: the links as they were, and the install's token.
    await onBoard(
      'rpi-3-1',
      "cd /opt/crossdock && printf '%s\\n%s\\n%s\\n' versions/1.1.0 0123456789abcdef versions/1.0.0 > pending",
    );
    try {
      const status = await cli(['fleet', 'status', '--inventory', inventoryFile, '--limit', 'rpi-3-1', '--json']);
      expect(JSON.parse(status.stdout)).toMatchObject([
        { name: 'rpi-3-1', pending: true, problem: expect.stringContaining('is not committed') as unknown },
      ]);
      const rollback = await cli(['fleet', 'rollback', '--inventory', inventoryFile, '--limit', 'rpi-3-1', '--json']);
      expect(rollback.exitCode).toBe(1);
      expect(JSON.parse(rollback.stdout)).toMatchObject([
        { status: 'failed', error: expect.stringContaining('is not committed yet') as unknown },
      ]);
      expect(await onBoard('rpi-3-1', 'readlink /opt/crossdock/current /opt/crossdock/previous')).toBe(
        'versions/1.0.0\nversions/1.1.0',
      );
    } finally {
      await onBoard('rpi-3-1', 'rm -f /opt/crossdock/pending');
    }
  });

  it('one change at a time on a board: a second install or a rollback is refused while the first holds it (#17 low, #25)', async () => {
    const from = await dist('1.1.0', ['armv6', 'aarch64', 'armv7']);
    const inventory = await loadInventory(inventoryFile);
    const host = inventory.hosts.find((h) => h.name === 'rpi-3-1');
    if (!host) throw new Error('no rpi-3-1');
    const holder = await SshRunner.connect(host, { knownHosts: [inventory.knownHosts ?? ''] });
    try {
      // Another crossdock in the middle of its install, as far as the board can tell.
      const { boardLockScript, BOARD_LOCK_HELD } = await import('../../src/install/board-scripts.js');
      const lock = await holder.hold(boardLockScript(), BOARD_LOCK_HELD, { privileged: true });
      const second = await installJson(['--from', from, '--limit', 'rpi-3-1']);
      expect(second.exitCode).not.toBe(0);
      expect(second.report?.hosts[0]?.error).toContain('another crossdock is changing this board');
      expect(second.report?.hosts[0]?.bytesSent).toBe(0);
      // A rollback takes the same lock (#25): it cannot switch `previous` under a running install.
      const rollback = await cli(['fleet', 'rollback', '--inventory', inventoryFile, '--limit', 'rpi-3-1']);
      expect(rollback.exitCode).not.toBe(0);
      expect(rollback.stderr).toContain('another crossdock is changing this board');
      await lock.release();
    } finally {
      holder.dispose();
    }
    // Released, and freed too when the holder's connection goes (as when a crossdock dies).
    const { boardLockScript, BOARD_LOCK_HELD } = await import('../../src/install/board-scripts.js');
    const dying = await SshRunner.connect(host, { knownHosts: [inventory.knownHosts ?? ''] });
    await dying.hold(boardLockScript(), BOARD_LOCK_HELD, { privileged: true });
    dying.dispose();
    const free = await SshRunner.connect(host, { knownHosts: [inventory.knownHosts ?? ''] });
    try {
      // sshd hangs up on the dead session's shell within moments.
      let taken: { release(): Promise<void> } | null = null;
      for (let attempt = 0; attempt < 20 && !taken; attempt += 1) {
        taken = await free.hold(boardLockScript(), BOARD_LOCK_HELD, { privileged: true }).catch(() => null);
        if (!taken) await new Promise((resolve) => setTimeout(resolve, 300));
      }
      expect(taken).not.toBeNull();
      await taken?.release();
    } finally {
      free.dispose();
    }
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const from = await dist('1.1.0', ['armv6', 'aarch64', 'armv7']);
    const { exitCode, report } = await installJson(['--from', from, '--limit', 'rpi-zero-1', '--dry-run']);
    expect(exitCode).toBe(0);
    expect(report?.hosts[0]).toMatchObject({ status: 'planned', bytesSent: 0, activeVersion: '1.0.0' });
    expect(report?.hosts[0]?.steps).toEqual(['probe', 'plan', 'preflight', 'send', 'switch', 'health', 'commit']);
    expect(await onBoard('rpi-zero-1', 'readlink /opt/crossdock/current; ls /opt/crossdock/versions')).toBe(
      'versions/1.0.0\n1.0.0\n1.0.0.json',
    );
  });

  it("crossdock.yaml's install keys reach install and probe: the inventory, the waves, the host keys (#16)", async () => {
    const from = await dist('1.1.0', ['armv6', 'aarch64', 'armv7']);
    const cwd = join(work, 'configured');
    await mkdir(cwd, { recursive: true });
    // The same boards under another name and with an empty known_hosts beside it.
    const text = await readFile(inventoryFile, 'utf8');
    await writeFile(join(cwd, 'fleet.yaml'), text.replace(/^knownHosts: .*$/m, 'knownHosts: fleet.known_hosts'));
    await writeFile(join(cwd, 'fleet.known_hosts'), '');
    await writeFile(
      join(cwd, 'crossdock.yaml'),
      'install:\n  inventory: fleet.yaml\n  waves: { canary: 1, batchSize: 1 }\n',
    );
    // Progress on: the renderer a CI log gets, which must write to stderr only.
    const env = {
      CROSSDOCK_BOARD_DIR: state,
      HOME: work,
      XDG_CACHE_HOME: dirname(defaultCacheDirectory()),
      VITEST: '',
      NODE_ENV: '',
    };
    const strict = await crossdock(['probe', '--json'], { cwd, env });
    expect(strict.exitCode).not.toBe(0);
    expect(strict.stdout).toMatch(/host key \S+ is not in \S*fleet\.known_hosts/);

    await writeFile(
      join(cwd, 'crossdock.yaml'),
      'install:\n  inventory: fleet.yaml\n  hostKeys: accept-new\n  waves: { canary: 1, batchSize: 1 }\n',
    );
    const probe = await crossdock(['probe', '--json'], { cwd, env });
    expect(probe.exitCode, probe.stderr).toBe(0);
    expect((JSON.parse(probe.stdout) as Array<{ name: string }>).map((h) => h.name)).toEqual([
      'rpi-zero-1',
      'rpi-3-1',
      'rpi-4-32-1',
    ]);
    expect((await readFile(join(cwd, 'fleet.known_hosts'), 'utf8')).trim().split('\n')).toHaveLength(3);

    const planned = await crossdock(['install', '--from', from, '--dry-run'], { cwd, env });
    expect(planned.exitCode, planned.stderr).toBe(0);
    const [header, ...rows] = planned.stdout.trim().split('\n');
    expect(header).toMatch(/^HOST\s+TARGET\s+STATUS/);
    expect(rows.map((row) => row.split(/\s+/).slice(0, 3))).toEqual([
      ['rpi-zero-1', 'armv6', 'planned'],
      ['rpi-3-1', 'aarch64', 'planned'],
      ['rpi-4-32-1', 'armv7', 'planned'],
    ]);
    // One canary, then one board per wave, as the file says; all of it on stderr.
    expect(planned.stderr).toContain('canary: rpi-zero-1');
    expect(planned.stderr).toContain('wave 2: rpi-3-1');
    expect(planned.stderr).toContain('wave 3: rpi-4-32-1');
  });

  it('a full disk fails cleanly in preflight, with nothing half-installed', async () => {
    await onBoard(
      'rpi-zero-1',
      'mkdir -p /mnt/full && mount -t tmpfs -o size=4m tmpfs /mnt/full && mount --bind /mnt/full /opt',
    );
    try {
      const from = await dist('1.1.0', ['armv6', 'aarch64', 'armv7']);
      const { exitCode, report, stderr } = await installJson(['--from', from, '--limit', 'rpi-zero-1']);
      expect(exitCode).toBe(1);
      expect(report?.hosts[0]).toMatchObject({ status: 'failed', bytesSent: 0 });
      expect(stderr).toBe('');
      expect(report?.hosts[0]?.error).toMatch(/rpi-zero-1: [0-9] MiB free at \/opt\/crossdock, \d+ MiB needed/);
      expect(await onBoard('rpi-zero-1', 'ls -A /opt')).toBe('');
    } finally {
      await onBoard('rpi-zero-1', 'umount /opt; umount /mnt/full');
    }
    expect(await onBoard('rpi-zero-1', 'readlink /opt/crossdock/current')).toBe('versions/1.0.0');
  });

  it('refuses a board with the distribution docker.io installed, naming the fix, before sending', async () => {
    const stanza = [
      'Package: docker.io',
      'Status: install ok installed',
      'Priority: optional',
      'Section: admin',
      'Maintainer: test',
      'Architecture: armhf',
      'Version: 20.10.24+dfsg1-1+b3',
      'Description: fake',
      ' fake',
    ].join('\n');
    await onBoard(
      'rpi-4-32-1',
      `cp /var/lib/dpkg/status /var/lib/dpkg/status.keep && cat >> /var/lib/dpkg/status <<'STANZA'\n\n${stanza}\nSTANZA`,
    );
    try {
      const from = await dist('1.5.0', ['armv7']);
      const { exitCode, report } = await installJson(['--from', from, '--limit', 'rpi-4-32-1']);
      expect(exitCode).toBe(1);
      expect(report?.hosts[0]).toMatchObject({
        status: 'failed',
        bytesSent: 0,
        error: 'rpi-4-32-1: distribution packages docker.io 20.10.24+dfsg1-1+b3 are installed',
        hint: 'remove them first: apt-get remove docker.io',
      });
      expect(report?.hosts[0]?.steps).toEqual(['probe', 'plan', 'preflight']);
    } finally {
      await onBoard('rpi-4-32-1', 'mv /var/lib/dpkg/status.keep /var/lib/dpkg/status');
    }
    expect(await onBoard('rpi-4-32-1', 'dpkg-query -W docker.io 2>&1 | head -1')).toContain('no packages found');
  });

  it('with allowedSigners, a board installs only builds whose SHA256SUMS.sig verifies there', async () => {
    const keys = join(work, 'signing');
    await mkdir(keys, { recursive: true });
    for (const name of ['release', 'intruder'])
      await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@acme`, '-f', join(keys, name)]);
    const publicKey = (await readFile(join(keys, 'release.pub'), 'utf8')).trim();
    await writeFile(join(state, 'allowed_signers'), `release@acme namespaces="crossdock" ${publicKey}\n`);
    const signed = join(state, 'signed.yaml');
    await writeFile(signed, `allowedSigners: allowed_signers\n${await readFile(inventoryFile, 'utf8')}`);
    const sign = async (directory: string, key: string) =>
      execa('ssh-keygen', ['-Y', 'sign', '-n', 'crossdock', '-f', join(keys, key), join(directory, 'SHA256SUMS')]);

    // Refused on this machine before any board is reached (#25): nothing a manifest names may
    // reach a board unless a trusted key signed it.
    const refusedBeforeConnecting = async (from: string, message: string) => {
      const result = await cli(['install', '--inventory', signed, '--from', from, '--limit', 'rpi-3-1', '--json']);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr.split('\n')[0]).toBe(`crossdock: ${from}: ${message}`);
    };
    const unsigned = await dist('1.6.0', ['aarch64']);
    await refusedBeforeConnecting(unsigned, 'the inventory asks for signed builds and there is no SHA256SUMS.sig');
    await sign(unsigned, 'intruder');
    await refusedBeforeConnecting(unsigned, `SHA256SUMS.sig is signed by no key in ${join(state, 'allowed_signers')}`);
    expect(await onBoard('rpi-3-1', 'ls /opt/crossdock/versions | grep -c 1.6.0 || true')).toBe('0');

    // Signed, then a unit changed and the manifest made to match it: the bundle still matches the
    // signed SHA256SUMS, but what the board would run as root does not (#17 finding 4).
    const tampered = await dist('1.6.5', ['aarch64']);
    await sign(tampered, 'release');
    const manifestFile = join(tampered, 'manifest.json');
    const tamperedManifest = JSON.parse(await readFile(manifestFile, 'utf8')) as {
      artifacts: Array<{ kind: string; file: string; size: number; sha256: string }>;
    };
    const unit = tamperedManifest.artifacts.find((a) => a.kind === 'unit');
    if (!unit) throw new Error('the test dist has no systemd unit');
    await appendFile(join(tampered, unit.file), 'ExecStartPre=/bin/sh -c "echo owned > /root/owned"\n');
    const unitBytes = await readFile(join(tampered, unit.file));
    unit.size = unitBytes.length;
    unit.sha256 = createHash('sha256').update(unitBytes).digest('hex');
    await writeFile(manifestFile, `${JSON.stringify(tamperedManifest, null, 2)}\n`);
    await refusedBeforeConnecting(
      tampered,
      'manifest.json is not the one the signed SHA256SUMS lists (changed after signing)',
    );
    // The board checks it again on its own (a library caller that skipped this machine's check).
    const inventory = await loadInventory(signed);
    const host = inventory.hosts.find((h) => h.name === 'rpi-3-1');
    if (!host) throw new Error('rpi-3-1');
    const runner = await SshRunner.connect(host, { knownHosts: [inventory.knownHosts ?? ''] });
    try {
      const onBoardOnly = await installHost(runner, {
        dist: await readDist(tampered),
        registry: await loadTargets(),
        keep: 3,
        dryRun: false,
        allowedSigners: inventory.allowedSigners,
      }).catch((error: unknown) => error as Error);
      expect(onBoardOnly).toBeInstanceOf(Error);
      expect((onBoardOnly as Error).message).toBe(
        'rpi-3-1: docker-1.6.5-aarch64.tgz: manifest.json is not the one SHA256SUMS lists (changed after signing)',
      );
    } finally {
      runner.dispose();
    }
    expect(await onBoard('rpi-3-1', 'ls /opt/crossdock/versions | grep -c 1.6.5 || true')).toBe('0');

    const good = await dist('1.7.0', ['aarch64']);
    await sign(good, 'release');
    const installed = await cli(['install', '--inventory', signed, '--from', good, '--limit', 'rpi-3-1', '--json']);
    expect(installed.exitCode).toBe(0);
    expect((JSON.parse(installed.stdout) as Report).hosts[0]?.steps).toContain('signature');
  });

  it('refuses a bundle the board cannot run before sending a byte', async () => {
    const from = await dist('1.3.0', ['armv7', 'aarch64']);
    const { exitCode, stderr } = await cli([
      'install',
      '--inventory',
      inventoryFile,
      '--from',
      from,
      '--limit',
      'rpi-zero-1',
    ]);
    expect(exitCode).toBe(1);
    expect(stderr).toContain('rpi-zero-1: Raspberry Pi Zero, Zero W needs a armv6 bundle; 1.3.0 has armv7, aarch64');
    expect(stderr).toContain('crossdock build --target armv6 --version 1.3.0');
    // Nothing sent: incoming/ holds nothing (the committed installs before left nothing there either).
    expect(await onBoard('rpi-zero-1', 'ls -A /opt/crossdock/incoming')).toBe('');
  });

  it('refuses a dist whose bundle no longer matches its manifest, before connecting', async () => {
    const from = await dist('1.4.0', ['armv6']);
    await appendFile(join(from, 'docker-1.4.0-armv6.tgz'), 'tampered');
    const result = await cli(['install', '--inventory', inventoryFile, '--from', from]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('docker-1.4.0-armv6.tgz: differs from manifest.json');
  });

  it('--max-fail stops the rollout; --resume retries only the failed and the not-reached', async () => {
    // Order the fleet: a canary that succeeds, then a Pi Zero this dist has no bundle for.
    const text = await readFile(inventoryFile, 'utf8');
    const ordered = join(state, 'ordered.yaml');
    const block = (name: string) => new RegExp(`  ${name}:\\n(?:    .*\\n)+`).exec(text)?.[0] ?? '';
    await writeFile(
      ordered,
      `${text.split('hosts:\n')[0] ?? ''}hosts:\n${block('rpi-3-1')}${block('rpi-zero-1')}${block('rpi-4-32-1')}`,
    );
    const partial = await dist('2.0.0', ['aarch64', 'armv7']);
    const first = await cli([
      'install',
      '--inventory',
      ordered,
      '--from',
      partial,
      '--canary',
      '1',
      '--batch',
      '1',
      '--json',
    ]);
    expect(first.exitCode).toBe(1);
    const report = JSON.parse(first.stdout) as Report;
    expect(report.stopped).toContain('more than --max-fail 0%');
    expect(report.hosts.map((h) => [h.name, h.status])).toEqual([
      ['rpi-3-1', 'installed'],
      ['rpi-zero-1', 'refused'],
      ['rpi-4-32-1', 'not-reached'],
    ]);
    const complete = await dist('2.0.0', ['armv6', 'aarch64', 'armv7']);
    const resumed = await cli(['install', '--inventory', ordered, '--from', complete, '--resume', '--json']);
    expect(resumed.exitCode).toBe(0);
    expect((JSON.parse(resumed.stdout) as Report).hosts.map((h) => [h.name, h.status])).toEqual([
      ['rpi-zero-1', 'installed'],
      ['rpi-4-32-1', 'installed'],
    ]);
  });

  it('a link that dies between switch and commit: the board switches back on its own', async () => {
    const inventory = await loadInventory(inventoryFile);
    const host = inventory.hosts.find((h) => h.name === 'rpi-4-32-1');
    if (!host) throw new Error('no board');
    const runner = await SshRunner.connect(host, { knownHosts: [inventory.knownHosts ?? ''] });
    const from = await dist('3.0.0', ['armv7']);
    try {
      const interrupted = installHost(runner, {
        dist: await readDist(from),
        registry: await loadTargets(),
        keep: 3,
        dryRun: false,
        watchdogSeconds: 3,
        // The operator's side dies right after the switch: no health check, no commit.
        onStep: (step) => {
          if (step === 'health') throw new Error('link lost');
        },
      });
      await expect(interrupted).rejects.toThrow('link lost');
    } finally {
      runner.dispose();
    }
    expect(await onBoard('rpi-4-32-1', 'readlink /opt/crossdock/current')).toBe('versions/3.0.0');
    // The watchdog (3 s) takes `pending` away when it switches back: wait for that, not for a
    // guessed time; a watchdog that never fires leaves the board on 3.0.0 and fails below.
    expect(
      await onBoard(
        'rpi-4-32-1',
        'i=0; while [ -e /opt/crossdock/pending ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done; readlink /opt/crossdock/current; ls /opt/crossdock',
      ),
    ).toBe('versions/2.0.0\ncurrent\nincoming\nobjects\nprevious\nversions');
    // The next run completes the job.
    const again = await installJson(['--from', from, '--limit', 'rpi-4-32-1']);
    expect(again.exitCode).toBe(0);
    expect(again.report?.hosts[0]).toMatchObject({ status: 'installed', activeVersion: '3.0.0', bytesSent: 0 });
  });

  it('a watchdog that fires before the commit: reported as switched back, never as installed (#17 finding 3)', async () => {
    const inventory = await loadInventory(inventoryFile);
    const host = inventory.hosts.find((h) => h.name === 'rpi-zero-1');
    if (!host) throw new Error('no board');
    const registry = await loadTargets();
    const good = await readDist(await dist('9.0.0', ['armv6']));
    const slow = await readDist(await dist('9.0.1', ['armv6']));
    const connect = () => SshRunner.connect(host, { knownHosts: [inventory.knownHosts ?? ''] });
    const first = await connect();
    await installHost(first, { dist: good, registry, keep: 3, dryRun: false }).finally(() => {
      first.dispose();
    });
    const runner = await connect();
    try {
      const late = await installHost(runner, {
        dist: slow,
        registry,
        keep: 3,
        dryRun: false,
        watchdogSeconds: 1,
        // A board slower than its watchdog: the checks outlast the deadline.
        onStep: (step) => {
          if (step === 'commit') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 4000);
        },
      });
      expect(late).toMatchObject({ status: 'rolled-back', activeVersion: '9.0.0' });
      expect(late.error).toMatch(/the watchdog switched back to 9\.0\.0 before the commit/);
    } finally {
      runner.dispose();
    }
    expect(await onBoard('rpi-zero-1', 'readlink /opt/crossdock/current; ls /opt/crossdock')).toBe(
      'versions/9.0.0\ncurrent\nincoming\nobjects\nprevious\nversions',
    );
  });

  it('a link cut during any step leaves the board on a working version, and the next run completes', async () => {
    const inventory = await loadInventory(inventoryFile);
    const host = inventory.hosts.find((h) => h.name === 'rpi-3-1');
    if (!host) throw new Error('no board');
    const registry = await loadTargets();
    const versions = {
      a: await readDist(await dist('6.0.0', ['aarch64'])),
      b: await readDist(await dist('6.0.1', ['aarch64'])),
    };
    const connect = () => SshRunner.connect(host, { knownHosts: [inventory.knownHosts ?? ''] });
    const first = await connect();
    // The starting point, under the default watchdog: only the cut runs below race a 3 s one.
    const installed = await installHost(first, {
      dist: versions.a,
      registry,
      keep: 3,
      dryRun: false,
    }).finally(() => {
      first.dispose();
    });
    expect([installed.status, installed.error]).toEqual(['installed', null]);
    const steps = ['probe', 'plan', 'preflight', 'send', 'switch', 'health', 'commit'];
    const table: string[] = [
      '| link cut at | reported | board left on | answers | next install |',
      '|---|---|---|---|---|',
    ];
    let active = versions.a;
    for (const [index, cutAt] of steps.entries()) {
      const next = active === versions.a ? versions.b : versions.a;
      const runner = await connect();
      // The connection drops while the step's command runs (or just before it starts).
      const cut = installHost(runner, {
        dist: next,
        registry,
        keep: 3,
        dryRun: false,
        watchdogSeconds: 3,
        onStep: (step) => {
          if (step === cutAt)
            setTimeout(
              () => {
                runner.dispose();
              },
              index % 2 === 0 ? 0 : 40,
            );
        },
      });
      const outcome = await cut.then(
        (r) => r.status,
        (error: unknown) => (error as Error).message,
      );
      runner.dispose();
      // Past the switch, the board's watchdog needs its 3 s to switch back.
      await new Promise((resolve) => setTimeout(resolve, 4000));
      const board = await onBoard(
        'rpi-3-1',
        'readlink /opt/crossdock/current; /usr/local/bin/dockerd --version; ls /opt/crossdock',
      );
      const [link = '', answer = ''] = board.split('\n');
      // Either version may be active (a cut after the commit landed leaves the new one), but it answers as itself.
      expect(
        [`versions/${versions.a.manifest.version}`, `versions/${versions.b.manifest.version}`],
        `${cutAt}: ${outcome}`,
      ).toContain(link);
      expect(answer, cutAt).toBe(`dockerd version ${link.replace('versions/', '')}`);
      expect(board, cutAt).not.toContain('pending');
      // Never reported installed unless the board really is on the new version.
      if (outcome === 'installed') expect(link, cutAt).toBe(`versions/${next.manifest.version}`);
      const again = await connect();
      try {
        const done = await installHost(again, { dist: next, registry, keep: 3, dryRun: false, watchdogSeconds: 3 });
        expect([done.status, done.activeVersion, done.health], cutAt).toEqual([
          link === `versions/${next.manifest.version}` ? 'unchanged' : 'installed',
          next.manifest.version,
          'ok',
        ]);
        const reported = outcome.length > 40 ? `error: ${outcome.slice(0, 40)}…` : outcome;
        table.push(`| ${cutAt} | ${reported} | ${link.replace('versions/', '')} | yes | ${done.status}, ok |`);
      } finally {
        again.dispose();
      }
      active = next;
    }
    expect(await onBoard('rpi-3-1', 'ls /opt/crossdock/versions | grep -c partial || true')).toBe('0');
    // The fault table README and the closing note show: 0 boards broken, 0 misreported.
    console.log(`link-cut faults:\n${table.join('\n')}`);
  }, 300_000); // nine installs and nine recoveries: a hang guard above the default

  it('--fix enables the memory cgroup on the one line of cmdline.txt, keeping the original', async () => {
    const line =
      'console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 rootwait cgroup_disable=memory';
    // The board's kernel says the memory controller is off, as Raspberry Pi OS kernels did by default.
    await onBoard(
      'rpi-zero-1',
      `mkdir -p /boot/firmware && printf '%s\\n' '${line}' > /boot/firmware/cmdline.txt && printf '#subsys_name\\thierarchy\\tnum_cgroups\\tenabled\\nmemory\\t0\\t1\\t0\\n' > /tmp/cgroups && mount --bind /tmp/cgroups /proc/cgroups`,
    );
    try {
      const from = await dist('7.0.0', ['armv6']);
      const plain = await installJson(['--from', from, '--limit', 'rpi-zero-1', '--dry-run']);
      expect(plain.exitCode).toBe(0);
      const fixed = await installJson(['--from', from, '--limit', 'rpi-zero-1', '--fix']);
      expect(fixed.exitCode, fixed.stderr).toBe(0);
      expect(fixed.report?.hosts[0]?.steps).toContain('fix');
      expect(
        await onBoard(
          'rpi-zero-1',
          'cat /boot/firmware/cmdline.txt; wc -l < /boot/firmware/cmdline.txt; cat /boot/firmware/cmdline.txt.crossdock-orig',
        ),
      ).toBe(`${line.replace(' cgroup_disable=memory', '')} cgroup_enable=memory cgroup_memory=1\n1\n${line}`);
      // The file already has it: a second --fix changes nothing and says to reboot.
      const again = await installJson(['--from', from, '--limit', 'rpi-zero-1', '--fix']);
      expect(again.report?.hosts[0]?.steps).not.toContain('fix');
    } finally {
      await onBoard('rpi-zero-1', 'umount /proc/cgroups; rm -rf /boot/firmware /tmp/cgroups');
    }
  });

  it('daemon settings from the inventory: applied only when changed, and switched back with the version', async () => {
    const document = parseYaml(await readFile(inventoryFile, 'utf8')) as {
      defaults?: Record<string, unknown>;
      hosts: Record<string, Record<string, unknown>>;
    };
    const withDaemon = async (mirror: string) => {
      const file = join(state, 'inventory-daemon.yaml');
      document.defaults = {
        ...document.defaults,
        daemon: { 'log-driver': 'local', 'log-opts': { 'max-size': '10m' } },
      };
      document.hosts['rpi-zero-1'] = { ...document.hosts['rpi-zero-1'], daemon: { 'registry-mirrors': [mirror] } };
      await writeFile(file, stringifyYaml(document));
      return file;
    };
    const expected = (mirror: string) =>
      JSON.stringify(
        { 'log-driver': 'local', 'log-opts': { 'max-size': '10m' }, 'registry-mirrors': [mirror] },
        null,
        2,
      );
    const install = async (inventory: string, from: string) => {
      const result = await cli([
        'install',
        '--inventory',
        inventory,
        '--from',
        from,
        '--limit',
        'rpi-zero-1',
        '--json',
      ]);
      const host = (JSON.parse(result.stdout || '{"hosts":[]}') as Report).hosts[0];
      return { exitCode: result.exitCode, stderr: result.stderr, host };
    };
    const onZero = (command: string) => onBoard('rpi-zero-1', command);
    const active = (await onZero('readlink /opt/crossdock/current')).replace('versions/', '');
    const current = await dist(active, ['armv6']);

    // The version on the board stays; only the configuration changes, and nothing is sent.
    const a = await withDaemon('https://mirror-a.example');
    const first = await install(a, current);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.host).toMatchObject({ status: 'reconfigured', bytesSent: 0, health: 'ok', activeVersion: active });
    expect(first.host?.steps).toContain('configure');
    expect(await onZero('cat /etc/docker/daemon.json')).toBe(expected('https://mirror-a.example'));
    const again = await install(a, current);
    expect(again.host).toMatchObject({ status: 'unchanged', steps: ['probe', 'plan'] });

    // A new version with new settings whose health check fails: both come back.
    const b = await withDaemon('https://mirror-b.example');
    const broken = await install(b, await dist('8.0.0', ['armv6'], { broken: true }));
    expect(broken.host).toMatchObject({ status: 'rolled-back', activeVersion: active });
    expect(await onZero('cat /etc/docker/daemon.json')).toBe(expected('https://mirror-a.example'));

    // A good one takes its settings with it, and fleet rollback brings the old ones back.
    const good = await install(b, await dist('8.1.0', ['armv6']));
    expect(good.host).toMatchObject({ status: 'installed', activeVersion: '8.1.0' });
    expect(await onZero('cat /etc/docker/daemon.json')).toBe(expected('https://mirror-b.example'));
    const rollback = await cli(['fleet', 'rollback', '--inventory', b, '--limit', 'rpi-zero-1']);
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect(await onZero('readlink /opt/crossdock/current; cat /etc/docker/daemon.json')).toBe(
      `versions/${active}\n${expected('https://mirror-a.example')}`,
    );

    // A setting dockerd would refuse is refused before any board is reached, with its line.
    const bad = join(state, 'inventory-bad-daemon.yaml');
    await writeFile(bad, stringifyYaml(document).replace('max-size: 10m', 'max-size: 10'));
    const refused = await cli(['install', '--inventory', bad, '--from', current, '--json']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/inventory-bad-daemon\.yaml:\d+:\d+ defaults\.daemon\.log-opts\.max-size: /);
  });

  it('--release: boards that reach the release download the bundle themselves; the others are sent it', async () => {
    const boards = JSON.parse((await cli(['board', 'list', '--json'])).stdout) as Array<{
      name: string;
      index: number;
    }>;
    const pi3 = boards.find((b) => b.name === 'rpi-3-1');
    if (!pi3) throw new Error('no board');
    // The fake GitHub listens on the Pi 3's gateway address: only that board can reach it.
    const github = await new FakeGitHub({
      token: 'ghp_fake_release_token',
      listenHost: `10.201.${pi3.index}.1`,
    }).start();
    try {
      const from = await dist('8.0.0', ['aarch64', 'armv6']);
      const published = await crossdock(
        ['release', from, '--repo', `${github.owner}/${github.repo}`, '--api-url', github.apiUrl],
        {
          env: { GITHUB_TOKEN: 'ghp_fake_release_token', GH_TOKEN: '' },
        },
      );
      expect(published.exitCode, published.stderr).toBe(0);
      const spec = `${github.owner}/${github.repo}@v8.0.0`;
      // No token (a public release), and an operator cache of this test's own.
      const releaseEnv = {
        CROSSDOCK_BOARD_DIR: state,
        HOME: work,
        XDG_CACHE_HOME: join(work, 'cache'),
        GITHUB_TOKEN: '',
        GH_TOKEN: '',
      };
      const run = () =>
        crossdock(
          [
            'install',
            '--inventory',
            inventoryFile,
            '--json',
            '--release',
            spec,
            '--api-url',
            github.apiUrl,
            '--limit',
            'rpi-3-1,rpi-zero-1',
          ],
          { env: releaseEnv },
        );
      const first = await run();
      expect(first.exitCode, first.stderr).toBe(0);
      const hosts = (JSON.parse(first.stdout) as Report).hosts;
      const pi3Host = hosts.find((h) => h.name === 'rpi-3-1');
      const zero = hosts.find((h) => h.name === 'rpi-zero-1');
      expect(pi3Host).toMatchObject({ status: 'installed', activeVersion: '8.0.0', bytesSent: 0 });
      expect(pi3Host?.steps).toContain('download');
      expect(zero).toMatchObject({ status: 'installed', activeVersion: '8.0.0' });
      expect(zero?.bytesSent).toBeGreaterThan(0);
      expect(first.stderr).toContain('downloaded');
      // A second run downloads nothing (the operator's cache) and sends nothing.
      const assetRequests = () =>
        github.requests.filter((r) => r.path.includes('/download/') || r.path.includes('/assets/')).length;
      const downloads = assetRequests();
      const second = await run();
      expect(second.exitCode).toBe(0);
      expect((JSON.parse(second.stdout) as Report).hosts.map((h) => [h.status, h.bytesSent])).toEqual([
        ['unchanged', 0],
        ['unchanged', 0],
      ]);
      expect(second.stderr).not.toContain('downloaded');
      expect(assetRequests() - downloads).toBe(2); // SHA256SUMS again: the asset request and its redirect to the download
      expect(github.violations).toEqual([]);
      const missing = await crossdock(
        [
          'install',
          '--inventory',
          inventoryFile,
          '--release',
          `${github.owner}/${github.repo}@v9.9.9`,
          '--api-url',
          github.apiUrl,
        ],
        { env: releaseEnv },
      );
      expect(missing.exitCode).toBe(2);
      expect(missing.stderr).toContain('no published release with that tag');
    } finally {
      await github.stop();
    }
  });

  it('pipeline builds for the targets its boards need and installs; a second run builds and sends nothing', async () => {
    const repository = await fixtureRepository(work, 'hello-c');
    const project = join(work, 'project');
    await mkdir(project, { recursive: true });
    await writeFile(
      join(project, 'crossdock.yaml'),
      `version: 9.0.0
build:
  outDir: dist
  cacheDir: cache
  components: [hello-c]
  recipes:
    - name: hello-c
      source: git+file://${repository}#main
      language: c
      binaries:
        - { name: hello-c, sources: [hello.c], cflags: ['-DHELLO_VERSION="{version}"'] }
install:
  inventory: ${inventoryFile}
  waves: { canary: 1, batchSize: 5 }
`,
    );
    const run = () =>
      crossdock(['pipeline', '--json'], {
        cwd: project,
        env: {
          CROSSDOCK_BOARD_DIR: state,
          HOME: work,
          XDG_CACHE_HOME: dirname(defaultCacheDirectory()),
          GITHUB_TOKEN: '',
        },
      });
    const first = await run();
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    const report = JSON.parse(first.stdout) as {
      targets: string[];
      build: { version: string; binaries: number; cached: number };
      release: { skipped: string };
      install: Report;
    };
    expect(report.targets).toEqual(['aarch64', 'armv7', 'armv6']);
    expect(report.build).toMatchObject({ version: '9.0.0', binaries: 3, cached: 0 });
    expect(report.release.skipped).toBe('no release.repository configured');
    expect(report.install.hosts.map((h) => [h.name, h.status, h.activeVersion])).toEqual([
      ['rpi-zero-1', 'installed', '9.0.0'],
      ['rpi-3-1', 'installed', '9.0.0'],
      ['rpi-4-32-1', 'installed', '9.0.0'],
    ]);
    expect(await onBoard('rpi-zero-1', '/usr/local/bin/hello-c --version')).toBe('hello-c version 9.0.0');

    const second = JSON.parse((await run()).stdout) as typeof report;
    expect(second.build).toMatchObject({ binaries: 3, cached: 3 });
    for (const host of second.install.hosts) expect(host).toMatchObject({ status: 'unchanged', bytesSent: 0 });
  });
  it('an upgrade in which one component changed sends only that binary; the board still checks every file (#18)', async () => {
    const target = [targets.aarch64 as Target];
    const same = { dockerd: '8.0.0', containerd: '8.0.0', docker: '8.0.0' };
    const made = async (version: string, components: Record<string, string>) =>
      readDist(
        await makeRunnableDist(join(work, `ca-${version}`), {
          version,
          targets: target,
          components,
          binaryPadding: 2 << 20,
        }),
      );
    const first = await made('8.0.0', { ...same, runc: '8.0.0' });
    const second = await made('8.0.1', { ...same, runc: '8.0.1' });
    const third = await made('8.0.2', { ...same, runc: '8.0.1', containerd: '8.0.2' });
    const bundleOf = (dist: typeof first) => dist.manifest.artifacts.find((a) => a.kind === 'bundle');
    const runcOf = (dist: typeof first) => bundleOf(dist)?.binaries?.find((b) => b.name === 'runc');
    const install = async (dist: typeof first) =>
      installJson(['--from', dist.directory, '--limit', 'rpi-3-1']).then((r) => r.report?.hosts[0]);

    // The first goes whole (the board has none of these binaries), and fills the store.
    expect(await install(first)).toMatchObject({ status: 'installed', bytesSent: bundleOf(first)?.size });
    const upgraded = await install(second);
    expect(upgraded).toMatchObject({ status: 'installed', activeVersion: '8.0.1', health: 'ok' });
    const runcBytes = runcOf(second)?.size ?? 0;
    const bundleBytes = bundleOf(second)?.size ?? 0;
    console.log(
      `content-addressed upgrade: bundle ${String(bundleBytes)} B, runc ${String(runcBytes)} B, sent ${String(upgraded?.bytesSent)} B`,
    );
    expect(upgraded?.bytesSent).toBeGreaterThan(0);
    expect(upgraded?.bytesSent).toBeLessThanOrEqual(1.2 * runcBytes);
    // The version is made of the store's files, each the manifest's, and answers as itself.
    const sums = (bundleOf(second)?.binaries ?? [])
      .map((b) => `${b.sha256}  /opt/crossdock/versions/8.0.1/${b.name}`)
      .join('\n');
    expect(
      await onBoard(
        'rpi-3-1',
        `printf '%s\\n' '${sums}' | sha256sum -c --quiet && echo verified; runc --version; stat -c %h /opt/crossdock/versions/8.0.1/dockerd; ls /opt/crossdock/incoming | wc -l`,
      ),
    ).toBe('verified\nrunc version 8.0.1\n3\n0'); // dockerd's links: the store's, 8.0.0's and 8.0.1's; no bundle kept

    // A store entry that is not what its name says is caught on the board, never installed.
    const docker = bundleOf(third)?.binaries?.find((b) => b.name === 'docker')?.sha256 ?? '';
    await onBoard(
      'rpi-3-1',
      `cd /opt/crossdock/objects && cp ${docker} x && rm ${docker} && printf tampered >> x && mv x ${docker}`,
    );
    const caught = await installJson(['--from', third.directory, '--limit', 'rpi-3-1']);
    expect(caught.exitCode).toBe(1);
    expect(caught.report?.hosts[0]?.error).toMatch(/docker is not the manifest's/);
    expect(
      await onBoard('rpi-3-1', 'readlink /opt/crossdock/current; ls /opt/crossdock/versions | grep -c partial || true'),
    ).toBe('versions/8.0.1\n0');
    // The bad entry was dropped: the next run sends docker and containerd, and installs.
    const repaired = await install(third);
    expect(repaired).toMatchObject({ status: 'installed', activeVersion: '8.0.2', health: 'ok' });
    const containerdBytes = bundleOf(third)?.binaries?.find((b) => b.name === 'containerd')?.size ?? 0;
    expect(repaired?.bytesSent).toBeLessThanOrEqual(
      1.2 * (containerdBytes + (bundleOf(third)?.binaries?.find((b) => b.name === 'docker')?.size ?? 0)),
    );
  });
});
