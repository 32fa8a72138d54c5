/**
 * Starting a process in fresh user, network, mount, UTS and PID namespaces, as root. The user
 * namespace gets an identity map (root stays root, sshd's privilege-separation user keeps its
 * uid) written by this process, which util-linux's `unshare --map-users` would leave to
 * newuidmap and /etc/subuid. Its own user namespace gives the process its own binfmt_misc
 * (Linux ≥ 6.7), so emulation handlers registered inside never touch the host's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { MissingPrerequisiteError } from '../errors.js';

export interface NamespacedProcess {
  child: ChildProcess;
  /** unshare itself: in the new user, network and mount namespaces, outside the new PID namespace. */
  pid: number;
  /** The new PID namespace's first process (its pid 1) as this machine sees it; null if not found. */
  initPid: number | null;
}

/**
 * The variable that marks every process of a board (sshd and what it starts inherit it), so the
 * board can be found and stopped from /proc alone: after unshare was killed, and after the state
 * directory that recorded it was deleted by an interrupted run.
 */
export const BOARD_MARKER = 'CROSSDOCK_BOARD';

/** Processes whose environment carries `CROSSDOCK_BOARD=<value>` with a value `match` accepts. */
export async function markedProcesses(
  match: (value: string) => boolean,
): Promise<Array<{ pid: number; board: string }>> {
  const found: Array<{ pid: number; board: string }> = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'latin1').catch(() => '');
    const value = environ
      .split('\0')
      .find((item) => item.startsWith(`${BOARD_MARKER}=`))
      ?.slice(BOARD_MARKER.length + 1);
    if (value !== undefined && match(value)) found.push({ pid: Number(entry), board: value });
  }
  return found;
}

/**
 * Processes whose root directory (what a chroot gave them: a board's `<state>/<name>/root`) a
 * `match` accepts. A native sshd drops its environment, marker included, but not its root: this
 * is how a light board's processes are found. The path reads the same from this machine even
 * after the state directory was deleted, since the board's mounts live in its own namespace.
 */
export async function rootedProcesses(match: (root: string) => boolean): Promise<Array<{ pid: number }>> {
  const found: Array<{ pid: number }> = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const root = await readlink(`/proc/${entry}/root`).catch(() => '');
    if (root && root !== '/' && match(root)) found.push({ pid: Number(entry) });
  }
  return found;
}

/**
 * SIGKILL every process marked for these boards (or, with `rooted`, chrooted into one), until
 * none is left. pid 1 of a PID namespace takes the whole namespace with it; the others are
 * killed too in case one escaped it.
 */
export async function killMarked(
  match: (value: string) => boolean,
  rooted: (root: string) => boolean = () => false,
): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 100; round += 1) {
    const alive = [...(await markedProcesses(match)), ...(await rootedProcesses(rooted))].filter(({ pid }) =>
      isRunning(pid),
    );
    if (alive.length === 0) return killed;
    for (const { pid } of alive) {
      try {
        process.kill(pid, 'SIGKILL');
        killed += round === 0 ? 1 : 0;
      } catch {
        // Gone meanwhile.
      }
    }
    await sleep(50);
  }
  return killed;
}

/** Alive and not a zombie (a board's first process is reaped by whatever adopted it, maybe late). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Runs `sh -c script` inside new namespaces, its inputs in its environment; it starts once the uid/gid maps are written. */
export async function spawnNamespaced(
  script: string,
  inputs: Record<string, string>,
  options: {
    logFile: string;
    detached: boolean;
    network?: boolean;
    /** The board's marker (BOARD_MARKER): its state directory and name. */
    marker?: string;
    beforeStart?: (pid: number) => Promise<void>;
  },
): Promise<NamespacedProcess> {
  const log = openSync(options.logFile, 'a');
  // The script waits for one line on stdin: "go" once the maps (and the network) are in place.
  const wrapped = `read _go || exit 1; exec </dev/null; ${script}`;
  const child = spawn(
    'unshare',
    [
      '--user',
      ...(options.network === false ? [] : ['--net']),
      '--mount',
      '--uts',
      '--pid',
      '--fork',
      '--kill-child',
      '--',
      'sh',
      '-c',
      wrapped,
      'crossdock-board',
    ],
    {
      stdio: ['pipe', log, log],
      detached: options.detached,
      env: { ...process.env, ...inputs, ...(options.marker ? { [BOARD_MARKER]: options.marker } : {}) },
    },
  );
  const pid = child.pid;
  if (pid === undefined) throw new MissingPrerequisiteError('unshare: cannot start (util-linux)');
  // unshare makes its namespaces before forking; wait until /proc shows the new user namespace.
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      await writeFile(`/proc/${pid}/uid_map`, '0 0 65536\n');
      await writeFile(`/proc/${pid}/gid_map`, '0 0 65536\n');
      break;
    } catch (error) {
      if (attempt === 99 || child.exitCode !== null)
        throw new MissingPrerequisiteError(`cannot map users into the board's namespace: ${(error as Error).message}`, {
          hint: 'boards need root and a kernel with user namespaces (sysctl kernel.unprivileged_userns_clone is not needed as root)',
        });
      await sleep(20);
    }
  }
  await options.beforeStart?.(pid);
  // unshare forked before the maps were written; its one child is the namespace's pid 1.
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const initPid = Number(children.trim().split(/\s+/)[0]) || null;
  child.stdin?.end('go\n');
  if (options.detached) child.unref();
  return { child, pid, initPid };
}
