/**
 * Full-system boards: a Debian machine booted under qemu-system with its own kernel, systemd
 * and sshd, for what a chroot board cannot do (run dockerd, containerd and containers). The
 * disk image is made once from a debootstrapped rootfs and cached by its inputs; each board
 * boots a copy-on-write overlay of it. A small "seed" disk gives each board its own host key,
 * authorized key and hostname, the way cloud-init's NoCloud seed does, so one image serves all.
 * The board's sshd is reached through QEMU's user-mode network on a loopback port; the guest
 * can reach nothing else (restrict=on).
 */
import { existsSync } from 'node:fs';
import {
  appendFile,
  chmod,
  copyFile,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSync } from 'node:fs';
import { stableStringify } from '../builder/cache.js';
import { sha256 } from '../artifacts/checksums.js';
import { FailureError, MissingPrerequisiteError } from '../errors.js';
import { findExecutable } from '../exec/find-executable.js';
import type { Runner } from '../exec/runner.js';
import type { BoardModel } from './models.js';
import { BOARD_MARKER } from './namespaces.js';
import { ensureRootfs, type RootfsOptions, type RootfsSpec } from './rootfs.js';
import { testbedScript } from './testbed-scripts.js';

/** What a machine that runs Docker needs beyond a chroot board: an init, a kernel, iptables. */
export const VM_PACKAGES = [
  'openssh-server',
  'sudo',
  'iproute2',
  'systemd-sysv',
  'dbus',
  'udev',
  'kmod',
  'procps',
  'iptables',
  // Debian's kernels have AppArmor on: dockerd needs apparmor_parser to start any container.
  'apparmor',
  'curl',
  'ca-certificates',
  'linux-image-{arch}',
];

export interface VmSettings {
  binary: string;
  package: string;
  console: string;
  machine: string;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
}

export interface VmImage {
  image: string;
  kernel: string;
  initrd: string;
}

/** The kernel package name is per architecture (linux-image-arm64, linux-image-amd64, …). */
export function vmPackages(debianArch: string): string[] {
  return VM_PACKAGES.map((p) => p.replace('{arch}', debianArch));
}

/** The board's own host key, authorized key and hostname from its seed disk, at boot (scripts/vm-seed.sh). */
const SEED_SCRIPT = testbedScript('vm-seed');

const SEED_UNIT = `[Unit]
Description=crossdock board seed (host key, authorized key, hostname)
DefaultDependencies=no
After=local-fs.target systemd-udev-settle.service
Wants=systemd-udev-settle.service
Before=ssh.service network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/crossdock-seed

[Install]
WantedBy=multi-user.target
`;

/** The disk image, kernel and initrd for a model's architecture, made once. */
export async function ensureVmImage(spec: RootfsSpec, options: RootfsOptions & { diskGiB: number }): Promise<VmImage> {
  const key = sha256(
    stableStringify({ layout: 1, spec, diskGiB: options.diskGiB, seed: SEED_SCRIPT, unit: SEED_UNIT }),
  ).slice(0, 16);
  const directory = join(options.cacheDirectory, 'vm', `${spec.debianArch}-${key}`);
  const result = {
    image: join(directory, 'root.img'),
    kernel: join(directory, 'vmlinuz'),
    initrd: join(directory, 'initrd.img'),
  };
  if (existsSync(join(directory, '.crossdock-vm.json'))) return result;
  const rootfs = await ensureRootfs(spec, options);
  options.log(`making the ${spec.debianArch} VM disk image (once)`);
  const partial = `${directory}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  const staging = join(partial, 'root');
  await options.runner.run('cp', ['-a', '--reflink=auto', rootfs, staging], { mutates: true });
  await customizeRoot(staging, options.runner);
  const boot = await readdir(join(staging, 'boot'));
  const kernel = boot.find((f) => f.startsWith('vmlinuz-'));
  const initrd = boot.find((f) => f.startsWith('initrd.img-'));
  if (!kernel || !initrd)
    throw new FailureError(`the ${spec.debianArch} rootfs has no kernel or initrd in /boot`, {
      hint: `remove ${rootfs} so it is made again`,
    });
  await copyFile(join(staging, 'boot', kernel), join(partial, 'vmlinuz'));
  await copyFile(join(staging, 'boot', initrd), join(partial, 'initrd.img'));
  await options.runner.run(
    'mke2fs',
    [
      '-q',
      '-F',
      '-t',
      'ext4',
      '-L',
      'cd-root',
      '-d',
      staging,
      join(partial, 'root.img'),
      `${String(options.diskGiB)}G`,
    ],
    { mutates: true, timeoutMs: 20 * 60_000 },
  );
  await rm(staging, { recursive: true, force: true });
  await writeFile(join(partial, '.crossdock-vm.json'), `${JSON.stringify({ spec, kernel, initrd }, null, 2)}\n`);
  await rm(directory, { recursive: true, force: true });
  await rename(partial, directory);
  return result;
}

async function customizeRoot(root: string, runner: Runner): Promise<void> {
  const write = async (path: string, text: string, mode = 0o644) => {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text, { mode });
    await chmod(join(root, path), mode);
  };
  await write('etc/fstab', 'LABEL=cd-root / ext4 defaults,noatime 0 1\n');
  // QEMU's user-mode network: fixed addresses, so boot does not wait on DHCP.
  await write(
    'etc/systemd/network/10-crossdock.network',
    '[Match]\nName=eth0\n\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\nDNS=10.0.2.3\n',
  );
  await write(
    'etc/ssh/sshd_config.d/crossdock.conf',
    'HostKey /etc/ssh/crossdock_host_ed25519_key\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n',
  );
  await write('usr/local/sbin/crossdock-seed', SEED_SCRIPT, 0o755);
  await write('etc/systemd/system/crossdock-seed.service', SEED_UNIT);
  // Each board makes its own machine-id on first boot.
  await write('etc/machine-id', '');
  await rm(join(root, 'var/lib/dbus/machine-id'), { force: true });
  // The image's own host keys would be the same on every board: each gets one from its seed.
  for (const file of await readdir(join(root, 'etc/ssh')))
    if (file.startsWith('ssh_host_')) await rm(join(root, 'etc/ssh', file));
  await runner.run('systemctl', ['--root', root, 'enable', 'systemd-networkd.service', 'crossdock-seed.service'], {
    mutates: true,
  });
  // Nothing a test board needs, each a few seconds of emulated boot or a surprise mid-test.
  await runner.run(
    'systemctl',
    ['--root', root, 'mask', 'apt-daily.timer', 'apt-daily-upgrade.timer', 'e2scrub_reap.service', 'man-db.timer'],
    { mutates: true, allowFailure: true },
  );
  await rm(join(root, 'etc/ssh/sshd_not_to_be_run'), { force: true });
  await symlink('/dev/null', join(root, 'etc/systemd/system/getty@tty1.service')).catch(() => undefined);
}

export interface VmBoardInput {
  name: string;
  directory: string;
  model: BoardModel & { vm: VmSettings };
  image: VmImage;
  clientKey: string;
  hostKeyFile: string;
  runner: Runner;
  /** The boards' LAN: the hub's UDP port on loopback, this board's address and its hub peers file. */
  lan: { hubPort: number; address: string; mac: string; peersFile: string };
}

/** The boards' LAN (see lan-hub.ts): addresses inside the VMs only, a /24 of their own. */
export function lanAddress(index: number): string {
  return `10.203.0.${String(index + 1)}`;
}

export function lanMac(index: number): string {
  return `52:54:00:cd:00:${index.toString(16).padStart(2, '0')}`;
}

/** Boots one board; resolves with its QEMU pid and the loopback port its sshd answers on. */
export async function startVm(input: VmBoardInput): Promise<{ pid: number; port: number; apiPort: number }> {
  const { model, directory, runner } = input;
  const qemu = qemuSystemBinary(model.vm);
  const overlay = join(directory, 'disk.qcow2');
  await runner.run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', input.image.image, overlay], {
    mutates: true,
  });
  const seedDirectory = join(directory, 'seed');
  await mkdir(seedDirectory, { recursive: true });
  await copyFile(`${input.clientKey}.pub`, join(seedDirectory, 'authorized_keys'));
  await copyFile(input.hostKeyFile, join(seedDirectory, 'ssh_host_ed25519_key'));
  await copyFile(`${input.hostKeyFile}.pub`, join(seedDirectory, 'ssh_host_ed25519_key.pub'));
  await writeFile(join(seedDirectory, 'hostname'), `${input.name.replace(/_/g, '-')}\n`);
  await mkdir(join(seedDirectory, 'network'), { recursive: true });
  await writeFile(
    join(seedDirectory, 'network/20-crossdock-lan.network'),
    `[Match]\nMACAddress=${input.lan.mac}\n\n[Network]\nAddress=${input.lan.address}/24\nLinkLocalAddressing=no\n`,
  );
  const seed = join(directory, 'seed.img');
  await runner.run('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'cd-seed', '-d', seedDirectory, seed, '4M'], {
    mutates: true,
  });
  const port = await freeLoopbackPort();
  const apiPort = await freeLoopbackPort();
  const lanPort = await freeUdpPort();
  // The hub sends to this port from now on, before the VM has said anything itself.
  await appendFile(input.lan.peersFile, `${String(lanPort)}\n`);
  const argv = [
    qemu,
    ...vmArguments(model, input.image, {
      overlay,
      seed,
      port,
      apiPort,
      lan: { hubPort: input.lan.hubPort, localPort: lanPort, mac: input.lan.mac },
    }),
    '-pidfile',
    join(directory, 'qemu.pid'),
  ];
  // Kept, so the same machine (same disk, ports and LAN) can be powered on again after a cut.
  await writeFile(join(directory, QEMU_COMMAND_FILE), `${JSON.stringify(argv)}\n`);
  return { pid: spawnVm(directory, argv), port, apiPort };
}

const QEMU_COMMAND_FILE = 'qemu-command.json';

function spawnVm(directory: string, argv: readonly string[]): number {
  const [qemu = '', ...args] = argv;
  const log = openSync(join(directory, 'console.log'), 'a');
  const child = spawn(qemu, args, {
    detached: true,
    stdio: ['ignore', log, log],
    // Marked as a namespaced board is, so board down --all finds it after an interrupted run too.
    env: { ...process.env, [BOARD_MARKER]: resolve(directory) },
  });
  child.unref();
  if (child.pid === undefined) throw new FailureError(`could not start ${qemu}`);
  return child.pid;
}

/**
 * A power cut: the machine is killed outright (what its guest had not flushed is lost, as on a
 * Pi pulled from the wall) and booted again from the same disk. Resolves with its new pid.
 */
export async function powerCycleVm(directory: string, pid: number): Promise<number> {
  const argv = JSON.parse(await readFile(join(directory, QEMU_COMMAND_FILE), 'utf8')) as string[];
  // Only our own QEMU: the pid of one that died may have been reused since.
  const command = await readFile(`/proc/${String(pid)}/cmdline`, 'utf8').catch(() => '');
  if (command.includes('qemu-system'))
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone in between.
    }
  // Until QEMU is gone, its ports and its disk's lock are still held.
  for (let tries = 0; tries < 100; tries += 1) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    await sleep(100);
  }
  return spawnVm(directory, argv);
}

export function vmArguments(
  model: BoardModel & { vm: VmSettings },
  image: VmImage,
  disks: {
    overlay: string;
    seed: string;
    port: number;
    /** Loopback port forwarded to the engine's remote API (fleet tls), when there is one. */
    apiPort?: number;
    lan?: { hubPort: number; localPort: number; mac: string };
  },
): string[] {
  return [
    '-M',
    model.vm.machine,
    ...(model.cpu ? ['-cpu', model.cpu] : []),
    '-smp',
    String(model.vm.cpus),
    '-m',
    String(model.vm.memoryMiB),
    '-display',
    'none',
    '-monitor',
    'none',
    '-serial',
    'stdio',
    '-kernel',
    image.kernel,
    '-initrd',
    image.initrd,
    '-append',
    `root=LABEL=cd-root rw console=${model.vm.console} net.ifnames=0 quiet systemd.show_status=error`,
    // PCI, not MMIO: MMIO devices enumerate in reverse, which would swap the disks.
    '-drive',
    `if=none,id=root,file=${disks.overlay},format=qcow2`,
    '-device',
    'virtio-blk-pci,drive=root',
    '-drive',
    `if=none,id=seed,file=${disks.seed},format=raw,readonly=on`,
    '-device',
    'virtio-blk-pci,drive=seed',
    '-netdev',
    `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${String(disks.port)}-:22${
      disks.apiPort ? `,hostfwd=tcp:127.0.0.1:${String(disks.apiPort)}-:2376` : ''
    }`,
    '-device',
    'virtio-net-pci,netdev=net0',
    // The boards' LAN: frames go over UDP on loopback to the hub, which repeats them to the others.
    ...(disks.lan
      ? [
          '-netdev',
          `socket,id=lan,udp=127.0.0.1:${String(disks.lan.hubPort)},localaddr=127.0.0.1:${String(disks.lan.localPort)}`,
          '-device',
          `virtio-net-pci,netdev=lan,mac=${disks.lan.mac}`,
        ]
      : []),
    '-device',
    'virtio-rng-pci',
  ];
}

export function qemuSystemBinary(vm: VmSettings): string {
  const found = findExecutable(vm.binary);
  if (!found)
    throw new MissingPrerequisiteError(`${vm.binary} not found`, { hint: `apt-get install ${vm.package} qemu-utils` });
  return found;
}

export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => {
        resolve(port);
      });
    });
  });
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** The last lines of a board's console, for an error message. */
export async function consoleTail(directory: string, lines = 3): Promise<string> {
  const text = await readFile(join(directory, 'console.log'), 'utf8').catch(() => '');
  return (
    text
      // eslint-disable-next-line no-control-regex -- the console's colour escapes
      .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
      .trim()
      .split('\n')
      .slice(-lines)
      .join(' | ')
  );
}
