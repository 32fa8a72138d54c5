/**
 * One lock for everything that changes a board: install (and its reconfigure), rollback, swarm
 * init and leave, and the remote API's TLS. A flock on a file in /run, held by a command whose
 * SSH channel lives as long as the change: a crashed crossdock or a cut link frees it by itself,
 * and a second crossdock (or a `fleet rollback` while an install runs) is refused at once, naming
 * the lock, instead of racing the first between its facts and its commit.
 */
import type { SshRunner } from '../remote/ssh-runner.js';
import { BOARD_LOCK_HELD, boardLockScript } from './board-scripts.js';

/** Takes the board lock, or fails at once naming it; a dry run takes none (the runner's one gate). */
export function takeBoardLock(runner: SshRunner): Promise<{ release(): Promise<void> }> {
  return runner.hold(boardLockScript(), BOARD_LOCK_HELD, { privileged: true });
}

export async function withBoardLock<T>(runner: SshRunner, work: () => Promise<T>): Promise<T> {
  const lock = await takeBoardLock(runner);
  try {
    return await work();
  } finally {
    await lock.release();
  }
}
