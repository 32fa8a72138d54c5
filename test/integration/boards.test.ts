/**
 * Emulated boards with real sshd under QEMU, reached over real SSH: `board up|down`, the probe,
 * host-key verification, quoting, sudo with a password, and several boards at once. Needs root
 * (namespaces, veth pairs); the rootfs of each architecture is cached (`board prepare`, run by
 * .ci/run), so this file takes a minute or two once they exist.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheDirectory } from '../../src/boards/rootfs.js';
import { loadTargets } from '../../src/platform/targets.js';
import { forEachHost } from '../../src/remote/fleet.js';
import { loadInventory } from '../../src/remote/inventory.js';
import { SshRunner } from '../../src/remote/ssh-runner.js';
import { crossdock } from '../helpers/cli.js';
import { compileC } from '../helpers/compile.js';
import { tempTree } from '../helpers/temp.js';
import { requireRoot, requireTools } from '../helpers/tools.js';

const isRoot = requireRoot();
const ready =
  isRoot &&
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
  );

let state: string;
let home: string;
let inventoryFile: string;

function cli(args: string[]) {
  // A HOME of its own keeps ~/.ssh/known_hosts out of the host-key tests; the rootfs cache stays shared.
  return crossdock(args, {
    env: { CROSSDOCK_BOARD_DIR: state, HOME: home, XDG_CACHE_HOME: dirname(defaultCacheDirectory()) },
  });
}

async function runnerFor(name: string, overrides: { user?: string; sudoPassword?: string; sudo?: boolean } = {}) {
  const inventory = await loadInventory(inventoryFile);
  const host = inventory.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`no ${name} in ${inventoryFile}`);
  return SshRunner.connect(
    {
      ...host,
      user: overrides.user ?? host.user,
      sudo: overrides.sudo ? { kind: 'password', env: 'BOARD_SUDO' } : host.sudo,
    },
    { knownHosts: [inventory.knownHosts ?? ''], sudoPassword: overrides.sudoPassword },
  );
}

describe.runIf(ready)('emulated boards over SSH', () => {
  beforeAll(async () => {
    state = await mkdirTemp('state');
    home = await mkdirTemp('home');
    inventoryFile = join(state, 'inventory.yaml');
    for (const [model, count] of [
      ['rpi-zero', '3'],
      ['rpi-3', '1'],
      ['rpi-4-32', '2'],
    ] as const) {
      const up = await cli(['board', 'up', '--model', model, '--count', count]);
      expect(up.stderr).toBe('');
      expect(up.exitCode).toBe(0);
    }
  }, 1_800_000);

  afterAll(async () => {
    if (state) await cli(['board', 'down', '--all']);
    if (once) await rm(once, { recursive: true, force: true });
  });

  it('probe tells each board its true target: a Pi Zero is armv6, a Pi 4 on a 32-bit OS is armv7', async () => {
    const probe = await cli([
      'probe',
      '--inventory',
      inventoryFile,
      '--limit',
      'rpi-zero-1,rpi-3-1,rpi-4-32-1',
      '--json',
    ]);
    expect(probe.stderr).toBe('');
    expect(probe.exitCode).toBe(0);
    const reports = JSON.parse(probe.stdout) as Array<{
      name: string;
      target: string;
      model: string;
      kernel: { machine: string; bits: number };
      userland: { bits: number; dpkgArchitecture: string };
      identity: { board: { id: string }; qemuCpu: string; alsoRuns: string[] };
      sudo: string;
    }>;
    const byName = Object.fromEntries(reports.map((r) => [r.name, r]));
    expect(byName['rpi-zero-1']).toMatchObject({
      target: 'armv6',
      model: 'Raspberry Pi Zero W Rev 1.1',
      kernel: { machine: 'armv6l' },
      userland: { dpkgArchitecture: 'armel', bits: 32 },
      identity: { board: { id: 'rpi-zero' }, qemuCpu: 'arm1176', alsoRuns: [] },
      sudo: 'root',
    });
    expect(byName['rpi-3-1']).toMatchObject({ target: 'aarch64', kernel: { machine: 'aarch64', bits: 64 } });
    expect(byName['rpi-4-32-1']).toMatchObject({
      target: 'armv7',
      kernel: { machine: 'aarch64', bits: 64 },
      userland: { dpkgArchitecture: 'armhf', bits: 32 },
      identity: { board: { id: 'rpi-4' } },
    });
    expect(byName['rpi-4-32-1']?.identity.alsoRuns).toContain('aarch64');
  });

  it('an armv7 binary dies with Illegal instruction on the Pi Zero; an armv6 one runs', async () => {
    const registry = await loadTargets();
    const armv6 = registry.targets.find((t) => t.name === 'armv6');
    const armv7 = registry.targets.find((t) => t.name === 'armv7');
    if (!armv6 || !armv7) throw new Error('targets missing');
    const directory = await tempTree();
    const v7 = await compileC(directory, armv7, 'hello-v7', { static: true });
    const v6 = await compileC(directory, armv6, 'hello-v6', { static: true });
    const runner = await runnerFor('rpi-zero-1');
    try {
      await runner.putFile(v7, '/tmp/hello-v7', { mode: '0755' });
      await runner.putFile(v6, '/tmp/hello-v6', { mode: '0755' });
      const dies = await runner.run('/tmp/hello-v7', [], { allowFailure: true });
      expect(dies.exitCode).toBe(132);
      const runs = await runner.run('/tmp/hello-v6');
      expect(runs.stdout.trim()).toBe('hello from crossdock');
    } finally {
      runner.dispose();
    }
  });

  it('arguments reach the board as literals: no injection through names, paths or versions', async () => {
    const runner = await runnerFor('rpi-3-1');
    try {
      const hostile = ['a; touch /tmp/pwned1', '$(touch /tmp/pwned2)', '`touch /tmp/pwned3`', "it's", 'x\ny', '*'];
      const echoed = await runner.run('printf', ['%s|', ...hostile], { cwd: '/tmp' });
      expect(echoed.stdout).toBe(`${hostile.join('|')}|`);
      const directory = await tempTree({ payload: 'payload\n' });
      const path = "/tmp/v1.0; rm -rf $(id) 'quoted'";
      await runner.putFile(join(directory, 'payload'), path);
      expect((await runner.run('cat', [path])).stdout).toBe('payload\n');
      const pwned = await runner.run('sh', ['-c', 'ls /tmp/pwned* 2>/dev/null | wc -l']);
      expect(pwned.stdout.trim()).toBe('0');
    } finally {
      runner.dispose();
    }
  });

  it('runs 24 commands at once over one connection, under the 10 sessions OpenSSH allows', async () => {
    const runner = await runnerFor('rpi-3-1');
    try {
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, n) => runner.run('sh', ['-c', `sleep 0.2; echo ${n}`])),
      );
      expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 24 }, (_, n) => String(n)));
    } finally {
      runner.dispose();
    }
  });

  it('copies files whole, over SFTP or, where a board has no SFTP server, through cat', async () => {
    const directory = await tempTree({ payload: 'x'.repeat(300_000) });
    const runner = await runnerFor('rpi-zero-2');
    try {
      const progress: number[] = [];
      await runner.putFile(join(directory, 'payload'), '/tmp/over-sftp', { onProgress: (n) => progress.push(n) });
      expect(progress.at(-1)).toBe(300_000);
      await runner.run('sh', ['-c', 'mv /usr/lib/openssh/sftp-server /usr/lib/openssh/sftp-server.off']);
      try {
        await runner.putFile(join(directory, 'payload'), '/tmp/over-cat', { mode: '0640' });
      } finally {
        await runner.run('sh', ['-c', 'mv /usr/lib/openssh/sftp-server.off /usr/lib/openssh/sftp-server']);
      }
      const listing = await runner.run('sh', [
        '-c',
        'stat -c "%s %a" /tmp/over-sftp /tmp/over-cat; ls /tmp | grep -c partial || true',
      ]);
      expect(listing.stdout.split('\n').slice(0, 3)).toEqual(['300000 644', '300000 640', '0']);
    } finally {
      runner.dispose();
    }
  });

  it('sudo with a password: works, and the password is in no output, error or process listing', async () => {
    const password = 'Pi-Sudo-Secret-4711';
    const root = await runnerFor('rpi-4-32-1');
    try {
      await root.run('sh', [
        '-c',
        'id pi >/dev/null 2>&1 || useradd -m -s /bin/sh -G sudo pi; mkdir -p /home/pi/.ssh; cp /root/.ssh/authorized_keys /home/pi/.ssh/; chown -R pi:pi /home/pi/.ssh',
      ]);
      await root.run('chpasswd', [], { input: `pi:${password}\n` });
      const pi = await runnerFor('rpi-4-32-1', { user: 'pi', sudo: true, sudoPassword: password });
      try {
        const plain = await pi.run('id', ['-u']);
        expect(plain.stdout.trim()).not.toBe('0');
        // While a privileged command runs, neither the board's nor this host's process list shows the password.
        const slow = pi.run('sh', ['-c', 'sleep 2; id -u'], { privileged: true });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const boardPs = await root.run('ps', ['-eo', 'args']);
        const hostPs = await execa('ps', ['-eo', 'args']);
        const result = await slow;
        expect(result.stdout.trim()).toBe('0');
        for (const text of [boardPs.stdout, hostPs.stdout, result.command, result.stdout, result.stderr])
          expect(text).not.toContain(password);
        // NOPASSWD, as on Raspberry Pi OS, while the inventory still names a password: sudo never
        // reads it, so it must not be written where the command would read it (#17 finding 7).
        await root.run('sh', [
          '-c',
          "echo 'pi ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/010_pi-nopasswd && chmod 0440 /etc/sudoers.d/010_pi-nopasswd",
        ]);
        const nopasswd = await runnerFor('rpi-4-32-1', { user: 'pi', sudo: true, sudoPassword: password });
        try {
          const read = await nopasswd.run('sh', ['-c', 'id -u; cat'], { privileged: true, input: 'data\n' });
          expect(read.stdout).toBe('0\ndata\n');
          const file = join(await tempTree(), 'upload');
          await writeFile(file, 'bundle bytes\n');
          await nopasswd.putFile(file, '/root/upload', { privileged: true });
          expect((await root.run('cat', ['/root/upload'])).stdout).toBe('bundle bytes\n');
        } finally {
          nopasswd.dispose();
          await root.run('rm', ['-f', '/etc/sudoers.d/010_pi-nopasswd', '/root/upload']);
        }
        const wrong = await runnerFor('rpi-4-32-1', { user: 'pi', sudo: true, sudoPassword: 'not-the-password' });
        try {
          const failed = await wrong.run('id', ['-u'], { privileged: true }).catch((error: unknown) => error as Error);
          expect(failed).toBeInstanceOf(Error);
          expect((failed as Error).message).not.toContain('not-the-password');
        } finally {
          wrong.dispose();
        }
      } finally {
        pi.dispose();
      }
    } finally {
      root.dispose();
    }
  });

  it('host keys: an unknown key is refused with its fingerprint, --accept-new records it, a changed one is refused', async () => {
    const directory = await tempTree();
    const inventory = await readFile(inventoryFile, 'utf8');
    const file = join(directory, 'inventory.yaml');
    await writeFile(file, inventory.replace(/^knownHosts: .*$/m, 'knownHosts: pinned_hosts'));
    await writeFile(join(directory, 'pinned_hosts'), '');
    const unknown = await cli(['probe', '--inventory', file, '--limit', 'rpi-zero-2']);
    expect(unknown.exitCode).toBe(4);
    expect(unknown.stderr).toMatch(/rpi-zero-2 .*: host key SHA256:[A-Za-z0-9+/]{43} is not in/);
    expect(unknown.stderr).toContain('--accept-new');

    const accepted = await cli(['probe', '--inventory', file, '--limit', 'rpi-zero-2', '--accept-new']);
    expect(accepted.exitCode).toBe(0);
    const address = /rpi-zero-2:\n\s+address: (\S+)/.exec(inventory)?.[1] ?? '';
    const found = await execa('ssh-keygen', ['-F', address, '-f', join(directory, 'pinned_hosts')], { reject: false });
    expect(found.exitCode).toBe(0);
    expect((await cli(['probe', '--inventory', file, '--limit', 'rpi-zero-2'])).exitCode).toBe(0);

    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(directory, 'impostor')]);
    const impostor = (await readFile(join(directory, 'impostor.pub'), 'utf8')).split(' ');
    await writeFile(join(directory, 'pinned_hosts'), `${address} ${impostor[0] ?? ''} ${impostor[1] ?? ''}\n`);
    const changed = await cli(['probe', '--inventory', file, '--limit', 'rpi-zero-2', '--accept-new']);
    expect(changed.exitCode).toBe(4);
    expect(changed.stderr).toContain('HOST KEY CHANGED');
  });

  it('reaches a board through a ProxyJump, verifying both hops', async () => {
    const directory = await tempTree();
    const text = await readFile(inventoryFile, 'utf8');
    const address = /rpi-zero-1:\n\s+address: (\S+)/.exec(text)?.[1] ?? '';
    const key = /identityFile: (".*")/.exec(text)?.[1] ?? '""';
    await writeFile(join(directory, 'known_hosts'), await readFile(inventoryFile.replace(/\.yaml$/, '.known_hosts')));
    // The board's own sshd, reached on its loopback through its own sshd as the jump host.
    await writeFile(
      join(directory, 'inventory.yaml'),
      `knownHosts: known_hosts\nhosts:\n  behind:\n    address: 127.0.0.1\n    user: root\n    identityFile: ${key}\n    proxyJump: root@${address}\n`,
    );
    const first = await cli(['probe', '--inventory', join(directory, 'inventory.yaml'), '--json']);
    expect(first.exitCode).toBe(4);
    expect(JSON.parse(first.stdout)).toMatchObject([
      { name: 'behind', ok: false, error: expect.stringContaining('behind (root@127.0.0.1:22): host key SHA256:') },
    ]);
    const accepted = await cli(['probe', '--inventory', join(directory, 'inventory.yaml'), '--json', '--accept-new']);
    expect(accepted.exitCode).toBe(0);
    expect(JSON.parse(accepted.stdout)).toMatchObject([{ name: 'behind', target: 'armv6', ok: true }]);
  });

  it('boards behind one bastion share one connection to it, however many are reached at once (#18)', async () => {
    const { address, inventory } = await behindBastion(6);
    const connectionsToBastion = async () =>
      (await execa('ss', ['-tnH', 'state', 'established', 'dst', `${address}:22`])).stdout.split('\n').filter(Boolean)
        .length;
    // Every board's work waits until all six are connected, then counts this machine's links to the bastion.
    let arrived = 0;
    let release: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (release = resolve));
    const seen: number[] = [];
    const outcomes = await forEachHost(
      inventory,
      inventory.hosts,
      async (runner) => {
        arrived += 1;
        if (arrived === inventory.hosts.length) release();
        await all;
        seen.push(await connectionsToBastion());
        return (await runner.run('hostname', [], { readOnly: true })).stdout.trim();
      },
      { acceptNew: true, concurrency: 6 },
    );
    expect(outcomes.map((o) => (o.ok ? o.value : o.error))).toEqual(Array(6).fill('rpi-zero-1'));
    expect(Math.max(...seen)).toBe(1);
    // And the run closed it (the socket's close may take a moment under load).
    for (let i = 0; i < 50 && (await connectionsToBastion()) > 0; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await connectionsToBastion()).toBe(0);
  });

  it('a bastion connection that dies is dropped from the pool: the next board behind it connects again (#25)', async () => {
    const { inventory } = await behindBastion(3);
    const outcomes = await forEachHost(
      inventory,
      inventory.hosts,
      async (runner, host) => {
        const name = (await runner.run('hostname', [], { readOnly: true })).stdout.trim();
        if (host.name === 'behind-1') {
          // The bastion's sshd loses every connection it serves (the listener lives on): the
          // shared link to it dies under the run, as when a bastion restarts.
          const closed = new Promise<void>((resolve) => {
            runner.onClose(resolve);
          });
          await runner.run('sh', ['-c', '(setsid sh -c "sleep 1; pkill -P $(cat /run/sshd.pid)" >/dev/null 2>&1 &)']);
          await closed;
        }
        return name;
      },
      { acceptNew: true, concurrency: 1 },
    );
    expect(outcomes.map((o) => (o.ok ? o.value : o.error))).toEqual(['rpi-zero-1', 'rpi-zero-1', 'rpi-zero-1']);
  });

  it('a link cut between the bastion and a board fails that board with an error naming it, not a wait for good (#25)', async () => {
    const { address, inventory } = await behindBastion(2);
    const outcomes = await forEachHost(
      inventory,
      inventory.hosts,
      async (runner, host) => {
        if (host.name === 'behind-1')
          // The sshd session serving this board's connection dies under the command (the
          // bastion's own session lives): the bastion's socket to the board is left in
          // CLOSE-WAIT, and all it sends on is the end of the forwarded channel's input.
          // Under QEMU every process's comm is the emulator's, so sshd is found by its command line.
          await runner.run('sh', [
            '-c',
            String.raw`p=$$; until [ "$p" -le 1 ] || tr '\0' ' ' </proc/$p/cmdline | grep -q '[s]shd'; do p=$(awk '/^PPid/ {print $2}' /proc/$p/status); done; [ "$p" -gt 1 ] && kill -KILL "$p"; exec cat`,
          ]);
        return (await runner.run('hostname', [], { readOnly: true })).stdout.trim();
      },
      { acceptNew: true, concurrency: 1 },
    );
    expect(outcomes.map((o) => (o.ok ? o.value : o.error))).toEqual([
      `behind-1: lost the connection through the jump host root@${address} (the board or the jump host went)`,
      // The shared connection to the bastion outlived the cut.
      'rpi-zero-1',
    ]);
  });

  it('six boards probed at once; a board whose sshd is gone fails alone', async () => {
    const snapshot = join(await tempTree(), 'inventory.yaml');
    const text = await readFile(inventoryFile, 'utf8');
    await writeFile(snapshot, text);
    await writeFile(
      snapshot.replace(/\.yaml$/, '.known_hosts'),
      await readFile(inventoryFile.replace(/\.yaml$/, '.known_hosts')),
    );
    expect((await cli(['board', 'down', 'rpi-zero-3'])).exitCode).toBe(0);
    const probe = await cli(['probe', '--inventory', snapshot, '--json']);
    expect(probe.exitCode).toBe(4);
    const reports = JSON.parse(probe.stdout) as Array<{ name: string; ok: boolean; target: string | null }>;
    expect(reports).toHaveLength(6);
    expect(reports.filter((r) => r.ok).map((r) => r.name)).toEqual([
      'rpi-zero-1',
      'rpi-zero-2',
      'rpi-3-1',
      'rpi-4-32-1',
      'rpi-4-32-2',
    ]);
    expect(reports.find((r) => r.name === 'rpi-zero-3')).toMatchObject({ ok: false, target: null });
  });

  it('board down leaves no process, namespace, link or state behind', async () => {
    const boards = JSON.parse((await cli(['board', 'list', '--json'])).stdout) as Array<{ index: number; pid: number }>;
    expect(boards.length).toBeGreaterThan(0);
    const down = await cli(['board', 'down', '--all']);
    expect(down.exitCode).toBe(0);
    for (const board of boards) {
      // Gone, or a zombie waiting for whatever adopted it to reap it: no resources either way.
      expect(processState(board.pid)).toMatch(/^(gone|Z)$/);
      expect(existsSync(`/sys/class/net/cdh${board.index}`)).toBe(false);
    }
    const leftovers = boardProcesses(state);
    expect(leftovers).toEqual([]);
    expect(readdirSync(state).filter((entry) => existsSync(join(state, entry, 'board.json')))).toEqual([]);
    expect((await cli(['board', 'list'])).stdout).toBe('no boards');
  });

  it("an interrupted run's boards, whose state was deleted, are still stopped by board down --all (#17 finding 9)", async () => {
    const lost = await mkdirTemp('interrupted');
    const env = { CROSSDOCK_BOARD_DIR: lost, HOME: home, XDG_CACHE_HOME: dirname(defaultCacheDirectory()) };
    const up = await crossdock(['board', 'up', '--model', 'rpi-3'], { env });
    expect(up.exitCode, up.stderr).toBe(0);
    const [board] = JSON.parse((await crossdock(['board', 'list', '--json'], { env })).stdout) as Array<{
      index: number;
    }>;
    expect(boardProcesses(lost).length).toBeGreaterThan(0);
    // What a test's teardown does when the run was killed before its afterAll: the state goes first.
    await rm(lost, { recursive: true, force: true });
    expect((await crossdock(['board', 'list'], { env })).stdout).toBe('no boards');
    const down = await crossdock(['board', 'down', '--all'], { env });
    expect(down.exitCode, down.stderr).toBe(0);
    expect(boardProcesses(lost)).toEqual([]);
    expect(existsSync(`/sys/class/net/cdh${board?.index ?? 0}`)).toBe(false);
  });

  it('light x86_64 boards (a native sshd keeps no marker) are stopped by board down --all, their state there or not (#25)', async () => {
    for (const deleteState of [false, true]) {
      const light = await mkdirTemp(`light-${String(deleteState)}`);
      const env = { CROSSDOCK_BOARD_DIR: light, HOME: home, XDG_CACHE_HOME: dirname(defaultCacheDirectory()) };
      const up = await crossdock(['board', 'up', '--model', 'x86_64', '--count', '3'], { env });
      expect(up.exitCode, up.stderr).toBe(0);
      expect(boardProcesses(light).length).toBeGreaterThanOrEqual(3);
      if (deleteState) await rm(light, { recursive: true, force: true });
      const down = await crossdock(['board', 'down', '--all'], { env });
      expect(down.exitCode, down.stderr).toBe(0);
      expect(boardProcesses(light)).toEqual([]);
    }
  });
});

/** An inventory of `count` hosts, each the bastion's own sshd on its loopback, reached through it (rpi-zero-1). */
async function behindBastion(count: number) {
  const directory = await tempTree();
  const text = await readFile(inventoryFile, 'utf8');
  const address = /rpi-zero-1:\n\s+address: (\S+)/.exec(text)?.[1] ?? '';
  const key = /identityFile: (".*")/.exec(text)?.[1] ?? '""';
  await writeFile(join(directory, 'known_hosts'), await readFile(inventoryFile.replace(/\.yaml$/, '.known_hosts')));
  const behind = Array.from({ length: count }, (_, index) => index + 1)
    .map(
      (n) =>
        `  behind-${String(n)}:\n    address: 127.0.0.1\n    user: root\n    identityFile: ${key}\n    proxyJump: root@${address}\n`,
    )
    .join('');
  await writeFile(join(directory, 'inventory.yaml'), `knownHosts: known_hosts\nhosts:\n${behind}`);
  return { address, inventory: await loadInventory(join(directory, 'inventory.yaml')) };
}

/**
 * Live processes of boards under a state directory, found three ways: the command line, the root
 * a chroot gave them (sshd's, under QEMU, names no path of ours), and the marker in their environment.
 */
function boardProcesses(stateDirectory: string): string[] {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid) && processState(Number(pid)) !== 'Z')
    .filter((pid) => {
      const read = (what: () => string) => {
        try {
          return what();
        } catch {
          return '';
        }
      };
      return [
        read(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8')),
        read(() => readlinkSync(`/proc/${pid}/root`)),
        read(() => readFileSync(`/proc/${pid}/environ`, 'latin1')),
      ].some((text) => text.includes(stateDirectory));
    })
    .map((pid) => `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
}

function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return 'gone';
  }
}

async function mkdirTemp(name: string): Promise<string> {
  const directory = join(await tempTreeOnce(), name);
  await mkdir(directory, { recursive: true });
  return directory;
}

let once: string | undefined;
async function tempTreeOnce(): Promise<string> {
  // tempTree removes its directories after each test; the boards live for the whole file.
  once ??= (await execa('mktemp', ['-d', '/tmp/crossdock-boards-XXXXXX'])).stdout.trim();
  return once;
}
