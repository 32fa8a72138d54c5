/**
 * Emulated boards: a Debian rootfs (shared, read-only, per architecture) under a per-board
 * overlay, its own sshd running as a foreign binary under QEMU pinned to the model's CPU, in its
 * own user, network, mount, UTS and PID namespaces, joined to the host by a veth pair. The board
 * shows the model's /proc/cpuinfo and device-tree model. `down` kills the namespace's first
 * process; the kernel then takes down every process, mount and the veth pair with it.
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { desiredEntry, registrationLine } from '../binfmt/entry.js';
import { FailureError, MissingPrerequisiteError, UserError } from '../errors.js';
import { type Runner, shellQuote } from '../exec/runner.js';
import { findExecutable } from '../exec/find-executable.js';
import type { Target } from '../platform/targets.js';
import { knownHostsLine } from '../remote/known-hosts.js';
import type { BoardModel } from './models.js';
import { isRunning, killMarked, spawnNamespaced } from './namespaces.js';
import { testbedScript } from './testbed-scripts.js';
import { BOARD_PACKAGES, ensureRootfs, type RootfsOptions } from './rootfs.js';
import {
  consoleTail,
  ensureVmImage,
  freeUdpPort,
  lanAddress,
  lanMac,
  qemuSystemBinary,
  powerCycleVm,
  startVm,
  vmPackages,
  type VmImage,
  type VmSettings,
} from './vm.js';

export interface BoardRecord {
  name: string;
  model: string;
  target: string;
  index: number;
  pid: number;
  /** pid 1 of the board's PID namespace, as this machine sees it. */
  initPid?: number;
  address: string;
  port: number;
  user: string;
  identityFile: string;
  hostKey: string;
  createdAt: string;
  /** A full-system board under qemu-system (no veth; sshd on a loopback port). */
  kind?: 'vm';
  /** A VM board's address on the boards' LAN, where the other VM boards reach it. */
  lanAddress?: string;
  /** A VM board's loopback port forwarded to its port 2376 (the remote API of fleet tls). */
  apiPort?: number;
}

export interface BoardEnvironment {
  stateDirectory: string;
  cacheDirectory: string;
  runner: Runner;
  mirror: string;
  suite: string;
  log: (line: string) => void;
}

export function defaultStateDirectory(env: Record<string, string | undefined> = process.env): string {
  return env.CROSSDOCK_BOARD_DIR ?? '/run/crossdock/boards';
}

/** A static x86_64 interpreter that execs QEMU pinned to a CPU: QEMU_CPU would not survive sshd or sudo. */
const CPU_WRAPPER_C = String.raw`#include <unistd.h>
/* binfmt flag P: argv = [wrapper, full path, original argv[0], args...] */
int main(int argc, char **argv) {
  char *args[argc + 6];
  int n = 0;
  if (argc < 3) return 127;
  args[n++] = QEMU; args[n++] = "-cpu"; args[n++] = CPU; args[n++] = "-0"; args[n++] = argv[2]; args[n++] = argv[1];
  for (int i = 3; i < argc; i++) args[n++] = argv[i];
  args[n] = 0;
  execv(QEMU, args);
  return 127;
}
`;

/** The uname that answers as the board's kernel would (scripts/uname-shim.sh), for `machine`. */
function unameShim(machine: string): string {
  const [shebang, ...rest] = testbedScript('uname-shim').split('\n');
  return [shebang, `KERNEL_MACHINE=${shellQuote(machine)}`, ...rest].join('\n');
}

const QEMU_IN_BOARD = '/usr/libexec/crossdock';

export async function listBoards(stateDirectory: string): Promise<Array<BoardRecord & { running: boolean }>> {
  if (!existsSync(stateDirectory)) return [];
  const boards: Array<BoardRecord & { running: boolean }> = [];
  for (const entry of (await readdir(stateDirectory, { withFileTypes: true })).filter((e) => e.isDirectory())) {
    const file = join(stateDirectory, entry.name, 'board.json');
    if (!existsSync(file)) continue;
    const record = JSON.parse(await readFile(file, 'utf8')) as BoardRecord;
    boards.push({ ...record, running: isRunning(record.pid) });
  }
  return boards.sort((a, b) => a.index - b.index);
}

/** The rootfs and CPU wrapper a model needs, made once and cached; `board prepare` runs only this. */
export async function prepareModel(
  model: BoardModel,
  environment: BoardEnvironment,
  host: Target,
): Promise<{ rootfs: string; qemu: string | null; wrapper: string | null; vmImage: VmImage | null }> {
  requireTools(['debootstrap', 'unshare', 'ip', 'ssh-keygen', 'cc', ...(model.vm ? ['mke2fs', 'qemu-img'] : [])]);
  const target = model.targetDefinition;
  const native = target.name === host.name;
  const qemu = native ? null : findExecutable(`qemu-${target.qemu.name}-static`);
  if (!native && !qemu)
    throw new MissingPrerequisiteError(`qemu-${target.qemu.name}-static not found`, {
      hint: 'crossdock toolchain setup (installs qemu-user-static)',
    });
  const spec = (packages: string[]) => ({
    debianArch: target.debian,
    suite: environment.suite,
    mirror: environment.mirror,
    packages,
  });
  const options: RootfsOptions = {
    target,
    native,
    qemuInterpreter: qemu ?? '',
    cacheDirectory: environment.cacheDirectory,
    runner: environment.runner,
    log: environment.log,
  };
  if (model.vm) {
    qemuSystemBinary(model.vm);
    const vmImage = await ensureVmImage(spec(vmPackages(target.debian)), { ...options, diskGiB: model.vm.diskGiB });
    return { rootfs: vmImage.image, qemu, wrapper: null, vmImage };
  }
  const rootfs = await ensureRootfs(spec(BOARD_PACKAGES), options);
  const wrapper = qemu && model.cpu ? await cpuWrapper(environment, target, model.cpu) : null;
  return { rootfs, qemu, wrapper, vmImage: null };
}

export async function boardsUp(
  model: BoardModel,
  names: readonly string[],
  environment: BoardEnvironment,
  host: Target,
): Promise<BoardRecord[]> {
  const existing = await listBoards(environment.stateDirectory);
  for (const name of names)
    if (existing.some((b) => b.name === name))
      throw new UserError(`board ${name} already exists`, {
        hint: `crossdock board down ${name}, or pick another --name`,
      });
  const target = model.targetDefinition;
  const { rootfs, qemu, wrapper, vmImage } = await prepareModel(model, environment, host);
  const clientKey = await ensureClientKey(environment);
  if (model.vm && vmImage)
    return vmBoardsUp(model as BoardModel & { vm: VmSettings }, names, vmImage, clientKey, existing, environment);
  // Other state directories (tests, other users) may hold boards too: their veth names are taken.
  const used = new Set([
    ...existing.map((b) => b.index),
    ...(await readdir('/sys/class/net')).flatMap((link) => (/^cdh(\d+)$/.exec(link) ? [Number(link.slice(3))] : [])),
  ]);
  const records: BoardRecord[] = [];
  await Promise.all(
    names.map(async (name) => {
      // Creating the veth pair claims the index: `ip link add` fails if another board (of this
      // or another state directory, or a parallel `board up`) took it first.
      let index = 0;
      for (let candidate = 1; candidate <= 250 && index === 0; candidate += 1) {
        if (used.has(candidate)) continue;
        used.add(candidate);
        const claimed = await environment.runner.run(
          'ip',
          ['link', 'add', `cdh${candidate}`, 'type', 'veth', 'peer', 'name', `cdb${candidate}`],
          { allowFailure: true, mutates: true },
        );
        if (claimed.exitCode === 0) index = candidate;
      }
      if (index === 0) throw new UserError('no free board slot (at most 250 boards at once)');
      try {
        records.push(await startBoard({ name, index, model, target, rootfs, qemu, wrapper, clientKey, environment }));
      } catch (error) {
        // Nothing half-made stays behind: a board that did not come up is taken down.
        await boardsDown([name], environment).catch(() => undefined);
        await environment.runner.run('ip', ['link', 'del', `cdh${index}`], { allowFailure: true, mutates: true });
        throw error;
      }
    }),
  );
  return records.sort((a, b) => a.index - b.index);
}

async function startBoard(input: {
  name: string;
  index: number;
  model: BoardModel;
  target: Target;
  rootfs: string;
  qemu: string | null;
  wrapper: string | null;
  clientKey: string;
  environment: BoardEnvironment;
}): Promise<BoardRecord> {
  const { name, index, model, target, environment } = input;
  const runner = environment.runner;
  const directory = join(environment.stateDirectory, name);
  await rm(directory, { recursive: true, force: true });
  for (const sub of ['upper', 'work', 'root', 'identity'])
    await mkdir(join(directory, sub), { recursive: true, mode: 0o755 });
  const upper = join(directory, 'upper');

  // sshd: a host key of its own, root by key only.
  await mkdir(join(upper, 'etc/ssh/sshd_config.d'), { recursive: true });
  const hostKeyFile = join(upper, 'etc/ssh/crossdock_host_ed25519_key');
  await runner.run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${name}`, '-f', hostKeyFile], {
    mutates: true,
  });
  await writeFile(
    join(upper, 'etc/ssh/sshd_config.d/crossdock.conf'),
    'HostKey /etc/ssh/crossdock_host_ed25519_key\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n',
  );
  await mkdir(join(upper, 'root/.ssh'), { recursive: true, mode: 0o700 });
  await copyFile(`${input.clientKey}.pub`, join(upper, 'root/.ssh/authorized_keys'));
  await chmod(join(upper, 'root/.ssh'), 0o700);
  await writeFile(join(upper, 'etc/hostname'), `${name.replace(/_/g, '-')}\n`);
  if (input.qemu) {
    await mkdir(join(upper, QEMU_IN_BOARD.slice(1)), { recursive: true });
    await copyFile(input.qemu, join(upper, QEMU_IN_BOARD.slice(1), `qemu-${target.qemu.name}-static`));
    await chmod(join(upper, QEMU_IN_BOARD.slice(1), `qemu-${target.qemu.name}-static`), 0o755);
  }
  if (model.kernelMachine) {
    await mkdir(join(upper, 'usr/local/bin'), { recursive: true });
    await writeFile(join(upper, 'usr/local/bin/uname'), unameShim(model.kernelMachine), { mode: 0o755 });
  }
  if (model.cpuinfo) await writeFile(join(directory, 'identity/cpuinfo'), model.cpuinfo);
  if (model.deviceTreeModel) {
    await mkdir(join(directory, 'identity/firmware/devicetree/base'), { recursive: true });
    await writeFile(join(directory, 'identity/firmware/devicetree/base/model'), `${model.deviceTreeModel}\0`);
  }

  // F: the interpreter is opened now, so the chroot needs none; P: argv[0] kept; C: setuid sudo works.
  const registration = input.qemu
    ? registrationLine(desiredEntry(target, input.wrapper ?? input.qemu, input.wrapper ? ['F', 'P', 'C'] : ['F', 'C']))
    : '';
  const address = `10.201.${index}.2`;
  const hostSide = `cdh${index}`;
  const boardSide = `cdb${index}`;
  const { pid, initPid } = await spawnNamespaced(
    testbedScript('namespace-init'),
    {
      ROOTFS: input.rootfs,
      BOARD_DIR: directory,
      BINFMT: registration,
      // Host names take no underscores (the x86_64 model's boards are x86-64-N inside).
      BOARD_HOSTNAME: name.replace(/_/g, '-'),
      ADDRESS: `${address}/30`,
      LINK: boardSide,
    },
    {
      logFile: join(directory, 'board.log'),
      detached: true,
      marker: boardMarker(directory),
      beforeStart: async (namespacePid) => {
        await runner.run('ip', ['link', 'set', boardSide, 'netns', String(namespacePid)], { mutates: true });
        await runner.run('ip', ['addr', 'add', `10.201.${index}.1/30`, 'dev', hostSide], { mutates: true });
        await runner.run('ip', ['link', 'set', hostSide, 'up'], { mutates: true });
      },
    },
  );
  const record: BoardRecord = {
    name,
    model: model.id,
    target: target.name,
    index,
    pid,
    ...(initPid ? { initPid } : {}),
    address,
    port: 22,
    user: 'root',
    identityFile: input.clientKey,
    hostKey: (await readFile(`${hostKeyFile}.pub`, 'utf8')).trim(),
    createdAt: new Date().toISOString(),
  };
  await writeFile(join(directory, 'board.json'), `${JSON.stringify(record, null, 2)}\n`);
  await waitForSsh(record, directory);
  return record;
}

async function vmBoardsUp(
  model: BoardModel & { vm: VmSettings },
  names: readonly string[],
  image: VmImage,
  clientKey: string,
  existing: readonly BoardRecord[],
  environment: BoardEnvironment,
): Promise<BoardRecord[]> {
  const used = new Set(existing.map((b) => b.index));
  const hubPort = await ensureLanHub(environment);
  const slots = names.map((name) => {
    let index = 1;
    while (used.has(index)) index += 1;
    used.add(index);
    return { name, index };
  });
  const records = await Promise.all(
    slots.map(async ({ name, index }) => {
      const directory = join(environment.stateDirectory, name);
      await rm(directory, { recursive: true, force: true });
      await mkdir(directory, { recursive: true, mode: 0o755 });
      const hostKeyFile = join(directory, 'ssh_host_ed25519_key');
      await environment.runner.run(
        'ssh-keygen',
        ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${name}`, '-f', hostKeyFile],
        { mutates: true },
      );
      try {
        const { pid, port, apiPort } = await startVm({
          name,
          directory,
          model,
          image,
          clientKey,
          hostKeyFile,
          runner: environment.runner,
          lan: {
            hubPort,
            address: lanAddress(index),
            mac: lanMac(index),
            peersFile: join(environment.stateDirectory, LAN_PEERS_FILE),
          },
        });
        const record: BoardRecord = {
          name,
          model: model.id,
          target: model.targetDefinition.name,
          index,
          pid,
          address: '127.0.0.1',
          port,
          user: 'root',
          identityFile: clientKey,
          hostKey: (await readFile(`${hostKeyFile}.pub`, 'utf8')).trim(),
          createdAt: new Date().toISOString(),
          kind: 'vm',
          lanAddress: lanAddress(index),
          apiPort,
        };
        await writeFile(join(directory, 'board.json'), `${JSON.stringify(record, null, 2)}\n`);
        environment.log(`${name}: booting (${model.id}, ${model.cpu ?? 'default'} CPU under qemu-system)`);
        await waitForSsh(record, directory);
        await waitForBoot(record, directory, environment.runner);
        return record;
      } catch (error) {
        await boardsDown([name], environment).catch(() => undefined);
        throw error;
      }
    }),
  );
  return records.sort((a, b) => a.index - b.index);
}

async function waitForSsh(record: BoardRecord, directory: string): Promise<void> {
  // sshd under user emulation listens within seconds; a whole emulated machine boots in about
  // a minute, longer when several boot at once on few cores.
  const deadline = Date.now() + (record.kind === 'vm' ? 15 * 60_000 : 60_000);
  while (Date.now() < deadline) {
    if (!isRunning(record.pid)) break;
    if (await banner(record.address, record.port)) return;
    await sleep(record.kind === 'vm' ? 1000 : 200);
  }
  const log =
    record.kind === 'vm'
      ? await consoleTail(directory)
      : (await readFile(join(directory, 'board.log'), 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
  const logFile = join(directory, record.kind === 'vm' ? 'console.log' : 'board.log');
  throw new FailureError(`board ${record.name}: sshd did not come up: ${log}`, {
    hint: `see ${logFile}; crossdock board down ${record.name} cleans up`,
  });
}

/**
 * A whole machine answers ssh long before its boot is done, and while it boots under TCG its
 * sshd can take longer than a client's handshake timeout: the board is up when systemd says so
 * (`running`, or `degraded` for a unit the board does not need).
 */
async function waitForBoot(record: BoardRecord, directory: string, runner: Runner): Promise<void> {
  if (record.kind !== 'vm') return;
  const [, base64] = record.hostKey.split(' ');
  const knownHosts = join(directory, 'known_hosts');
  await writeFile(
    knownHosts,
    knownHostsLine(record.address, record.port, Buffer.from(base64 ?? '', 'base64'), { hash: false }),
  );
  const deadline = Date.now() + 15 * 60_000;
  let last = '';
  while (Date.now() < deadline) {
    const result = await runner.run(
      'ssh',
      [
        '-F',
        '/dev/null',
        '-i',
        record.identityFile,
        '-p',
        String(record.port),
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        '-o',
        'ConnectTimeout=120',
        `${record.user}@${record.address}`,
        'systemctl is-system-running --wait',
      ],
      { allowFailure: true, timeoutMs: 15 * 60_000 },
    );
    last = `${result.stdout}${result.stderr}`.trim();
    if (/^(running|degraded)$/m.test(result.stdout)) return;
    if (!isRunning(record.pid)) break;
    await sleep(2000);
  }
  throw new FailureError(`board ${record.name}: its boot did not finish: ${last || (await consoleTail(directory))}`, {
    hint: `see ${join(directory, 'console.log')}; crossdock board down ${record.name} cleans up`,
  });
}

function banner(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 1000 });
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString('utf8').startsWith('SSH-'));
    });
    socket.once('error', () => {
      resolve(false);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    // QEMU's user-mode network accepts at once and closes when the guest's sshd is not up yet:
    // without this the promise would never settle, and an idle event loop ends the process.
    socket.once('close', () => {
      resolve(false);
    });
  });
}

export async function boardsDown(
  names: readonly string[] | 'all',
  environment: Pick<BoardEnvironment, 'stateDirectory' | 'runner'>,
): Promise<string[]> {
  const boards = await listBoards(environment.stateDirectory);
  const chosen = names === 'all' ? boards : boards.filter((b) => names.includes(b.name));
  if (names !== 'all')
    for (const name of names)
      if (!boards.some((b) => b.name === name))
        throw new UserError(`no board named ${name}`, {
          hint: `boards: ${boards.map((b) => b.name).join(', ') || 'none'}`,
        });
  for (const board of chosen) {
    // Only our own process: the pid may have been reused since.
    const command = await readFile(`/proc/${board.pid}/cmdline`, 'utf8').catch(() => '');
    if (isRunning(board.pid) && (command.startsWith('unshare') || command.includes('qemu-system')))
      process.kill(board.pid, 'SIGKILL');
    // Killing unshare is not enough: its child (the namespace's pid 1, sshd under QEMU) loses
    // --kill-child's death signal when binfmt's C flag execs it, and would live on, reparented.
    const marker = boardMarker(join(environment.stateDirectory, board.name));
    const root = join(resolve(environment.stateDirectory), board.name, 'root');
    await killMarked(
      (value) => value === marker,
      (path) => path === root,
    );
    for (let attempt = 0; attempt < 100 && isRunning(board.pid); attempt += 1) await sleep(50);
    // The veth pair goes with the namespace; this only catches a board that died half-made.
    if (board.kind !== 'vm')
      await environment.runner.run('ip', ['link', 'del', `cdh${board.index}`], { allowFailure: true, mutates: true });
    await rm(join(environment.stateDirectory, board.name), { recursive: true, force: true });
  }
  if (names === 'all') await killOrphans(environment.stateDirectory);
  // The LAN hub goes with the last VM board.
  if (!(await listBoards(environment.stateDirectory)).some((b) => b.kind === 'vm'))
    await stopLanHub(environment.stateDirectory);
  return chosen.map((b) => b.name);
}

/**
 * Pulls the plug on whole-machine boards and powers them on again from the same disk, waiting
 * until each has booted: the fault a rollout must survive. Namespace boards have no disk cache
 * or kernel to lose, so they are refused.
 */
export async function boardsPowerCycle(
  names: readonly string[],
  environment: Pick<BoardEnvironment, 'stateDirectory' | 'runner' | 'log'>,
): Promise<string[]> {
  const boards = await listBoards(environment.stateDirectory);
  const chosen = names.map((name) => {
    const board = boards.find((b) => b.name === name);
    if (!board)
      throw new UserError(`no board named ${name}`, {
        hint: `boards: ${boards.map((b) => b.name).join(', ') || 'none'}`,
      });
    if (board.kind !== 'vm')
      throw new UserError(`board ${name} is a namespace board: it has no power to cut`, {
        hint: 'board up --model vm-arm64 makes a whole emulated machine',
      });
    return board;
  });
  for (const board of chosen) {
    const directory = join(environment.stateDirectory, board.name);
    const record = JSON.parse(await readFile(join(directory, 'board.json'), 'utf8')) as BoardRecord;
    const next: BoardRecord = { ...record, pid: await powerCycleVm(directory, board.pid) };
    await writeFile(join(directory, 'board.json'), `${JSON.stringify(next, null, 2)}\n`);
    environment.log(`${board.name}: power cut; booting again from its disk`);
    await waitForSsh(next, directory);
    await waitForBoot(next, directory, environment.runner);
  }
  return chosen.map((b) => b.name);
}

/** The marker of one board: its state directory. Pure. */
export function boardMarker(directory: string): string {
  return resolve(directory);
}

/**
 * Boards nothing records any more, left by an interrupted run: marked under this state directory
 * with no board.json, or marked under a state directory that no longer exists (nobody can stop
 * those otherwise). Returns how many processes were killed.
 */
export async function killOrphans(stateDirectory: string): Promise<number> {
  const root = `${resolve(stateDirectory)}/`;
  return killMarked(
    (value) => {
      if (value.startsWith(root)) return !existsSync(join(value, 'board.json'));
      return !existsSync(dirname(value));
    },
    // A light board's sshd carries no marker: it is known by the root its chroot gave it,
    // `<state>/<name>/root`, orphaned once the board's record is gone.
    (path) => path.startsWith(root) && path.endsWith('/root') && !existsSync(join(dirname(path), 'board.json')),
  );
}

const LAN_HUB_FILE = 'lan-hub.json';
const LAN_PEERS_FILE = 'lan-peers';

/** The hub of this state directory's LAN, started once (a detached process of its own). */
async function ensureLanHub(environment: BoardEnvironment): Promise<number> {
  const file = join(environment.stateDirectory, LAN_HUB_FILE);
  if (existsSync(file)) {
    const hub = JSON.parse(await readFile(file, 'utf8')) as { pid: number; port: number };
    const command = await readFile(`/proc/${String(hub.pid)}/cmdline`, 'utf8').catch(() => '');
    if (isRunning(hub.pid) && command.includes('lan-hub')) return hub.port;
  }
  await mkdir(environment.stateDirectory, { recursive: true, mode: 0o700 });
  const port = await freeUdpPort();
  const script = fileURLToPath(new URL('./lan-hub.js', import.meta.url));
  const peers = join(environment.stateDirectory, LAN_PEERS_FILE);
  await writeFile(peers, '');
  const child = spawn(process.execPath, [script, String(port), peers], { detached: true, stdio: 'ignore' });
  child.unref();
  if (child.pid === undefined) throw new FailureError("could not start the boards' LAN hub");
  await writeFile(file, `${JSON.stringify({ pid: child.pid, port })}\n`);
  return port;
}

async function stopLanHub(stateDirectory: string): Promise<void> {
  const file = join(stateDirectory, LAN_HUB_FILE);
  if (!existsSync(file)) return;
  const hub = JSON.parse(await readFile(file, 'utf8')) as { pid: number };
  const command = await readFile(`/proc/${String(hub.pid)}/cmdline`, 'utf8').catch(() => '');
  if (isRunning(hub.pid) && command.includes('lan-hub')) process.kill(hub.pid, 'SIGKILL');
  await rm(file, { force: true });
  await rm(join(stateDirectory, LAN_PEERS_FILE), { force: true });
}

async function ensureClientKey(environment: BoardEnvironment): Promise<string> {
  const key = join(environment.stateDirectory, 'id_ed25519');
  if (!existsSync(key)) {
    await mkdir(environment.stateDirectory, { recursive: true, mode: 0o700 });
    await environment.runner.run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'crossdock-boards', '-f', key], {
      mutates: true,
    });
  }
  return key;
}

async function cpuWrapper(environment: BoardEnvironment, target: Target, cpu: string): Promise<string> {
  const directory = join(environment.cacheDirectory, 'cpu-wrappers');
  const output = join(directory, `qemu-${target.qemu.name}-${cpu}`);
  if (existsSync(output)) return output;
  await mkdir(directory, { recursive: true });
  const source = join(directory, 'wrapper.c');
  await writeFile(source, CPU_WRAPPER_C);
  await environment.runner.run(
    'cc',
    [
      '-static',
      '-Os',
      '-s',
      `-DQEMU="${QEMU_IN_BOARD}/qemu-${target.qemu.name}-static"`,
      `-DCPU="${cpu}"`,
      '-o',
      `${output}.tmp`,
      source,
    ],
    { mutates: true },
  );
  await environment.runner.run('mv', ['-f', `${output}.tmp`, output], { mutates: true });
  return output;
}

/** The Debian package that provides each tool boards need. */
export const BOARD_TOOL_PACKAGES: Readonly<Record<string, string>> = {
  debootstrap: 'debootstrap',
  unshare: 'util-linux',
  ip: 'iproute2',
  'ssh-keygen': 'openssh-client',
  cc: 'build-essential',
  mke2fs: 'e2fsprogs',
  'qemu-img': 'qemu-utils',
};

/** The apt-get command that installs exactly the missing tools' packages. Pure. */
export function boardToolsHint(missing: readonly string[]): string {
  const packages = [...new Set(missing.map((tool) => BOARD_TOOL_PACKAGES[tool] ?? tool))];
  return `apt-get install ${packages.join(' ')}`;
}

function requireTools(tools: readonly string[]): void {
  const missing = tools.filter((tool) => !findExecutable(tool));
  if (missing.length > 0)
    throw new MissingPrerequisiteError(`boards need ${missing.join(', ')}`, { hint: boardToolsHint(missing) });
  if (process.getuid?.() !== 0)
    throw new MissingPrerequisiteError('boards need root (namespaces, veth pairs, mounts)', {
      hint: 'run crossdock board up as root (sudo -E)',
    });
}

/** The inventory `crossdock install` and `probe` read, and the known_hosts that pins each board's key. */
export async function writeBoardInventory(
  file: string,
  boards: readonly BoardRecord[],
): Promise<{ inventory: string; knownHosts: string }> {
  const knownHostsFile = `${file.replace(/\.ya?ml$/, '')}.known_hosts`;
  const lines = ['# Written by crossdock board up; boards listed by crossdock board list.'];
  lines.push(`knownHosts: ${JSON.stringify(knownHostsFile.split('/').at(-1))}`, 'hosts:');
  for (const board of boards) {
    lines.push(`  ${board.name}:`);
    lines.push(`    address: ${board.address}`, `    port: ${board.port}`, `    user: ${board.user}`);
    lines.push(`    identityFile: ${JSON.stringify(board.identityFile)}`, `    model: ${board.model}`);
    lines.push(`    tags: [${board.target}, emulated]`);
    if (board.lanAddress) lines.push(`    advertiseAddress: ${board.lanAddress}`);
    if (board.apiPort) lines.push(`    api: 127.0.0.1:${String(board.apiPort)}`);
  }
  await writeFile(file, `${lines.join('\n')}\n`);
  const known = boards
    .map((board) => {
      const [, base64] = board.hostKey.split(' ');
      return knownHostsLine(board.address, board.port, Buffer.from(base64 ?? '', 'base64'), { hash: false });
    })
    .join('');
  await writeFile(knownHostsFile, known);
  return { inventory: file, knownHosts: knownHostsFile };
}
