/**
 * Starting a process in fresh user, network, mount, UTS and PID namespaces, as root. The user
 * namespace gets an identity map (root stays root, sshd's privilege-separation user keeps its
 * uid) written by this process, which util-linux's `unshare --map-users` would leave to
 * newuidmap and /etc/subuid. Its own user namespace gives the process its own binfmt_misc
 * (Linux ≥ 6.7), so emulation handlers registered inside never touch the host's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { MissingPrerequisiteError } from '../errors.js';

export interface NamespacedProcess {
  child: ChildProcess;
  pid: number;
}

/** Runs `sh -c script args…` inside new namespaces; it starts once the uid/gid maps are written. */
export async function spawnNamespaced(
  script: string,
  args: readonly string[],
  options: { logFile: string; detached: boolean; network?: boolean; beforeStart?: (pid: number) => Promise<void> },
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
      ...args,
    ],
    { stdio: ['pipe', log, log], detached: options.detached },
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
  child.stdin?.end('go\n');
  if (options.detached) child.unref();
  return { child, pid };
}
