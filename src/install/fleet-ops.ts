/**
 * What runs on a fleet after an install: status (active and previous version, health) and
 * rollback (switch back to the previous version atomically, restart, check health, and switch
 * forward again if the previous version is not healthy either).
 */
import type { SshRunner } from '../remote/ssh-runner.js';
import { withBoardLock } from './board-lock.js';
import { containerHealth } from './container-health.js';
import { healthy, readBoardState, readVersionRecord } from './board-facts.js';
import { boardScript, layout, probeImageFile, restartDaemonsScript } from './board-scripts.js';

export interface FleetHostStatus {
  name: string;
  target: string | null;
  active: string | null;
  previous: string | null;
  installed: string[];
  health: 'ok' | 'failed' | 'none';
  /** --deep: the active version's health-check image run on the board. */
  containers: 'ok' | 'failed' | 'not-run';
  /** A switch waits for its commit: an install is running, or died and its watchdog will switch back. */
  pending: boolean;
  /** Why the deep check failed, or what the pending switch means. */
  problem: string | null;
}

async function check(runner: SshRunner, version: string, systemd: boolean): Promise<boolean> {
  const record = await readVersionRecord(runner, version);
  return record !== null && (await healthy(runner, version, record.binaries, systemd));
}

export async function hostStatus(runner: SshRunner, options: { deep?: boolean } = {}): Promise<FleetHostStatus> {
  const state = await readBoardState(runner);
  const record = state.current ? await readVersionRecord(runner, state.current) : null;
  const status: FleetHostStatus = {
    name: runner.host,
    target: record?.target ?? null,
    active: state.current,
    previous: state.previous,
    installed: state.versions,
    health: state.current ? ((await check(runner, state.current, state.systemd)) ? 'ok' : 'failed') : 'none',
    containers: 'not-run',
    pending: state.pending !== null,
    problem: state.pending
      ? `the switch to ${state.current ?? 'nothing'} is not committed: an install is running, or died and its watchdog will switch back`
      : null,
  };
  // The image file is where the install keeps it, whatever else the board's record says.
  const image = record?.image ? { ...record.image, file: probeImageFile(record.version) } : null;
  if (options.deep && status.health === 'ok' && state.systemd && image) {
    const containers = await containerHealth(runner, image, `${layout.bin}/docker`);
    status.containers = containers.ok ? 'ok' : 'failed';
    status.problem = containers.problem;
    if (!containers.ok) status.health = 'failed';
  }
  return status;
}

export interface RollbackResult {
  name: string;
  status: 'rolled-back' | 'failed' | 'nothing-to-do';
  from: string | null;
  to: string | null;
  error: string | null;
}

/** Under the board lock: an install between its facts and its commit cannot have `previous` switched under it. */
export async function rollbackHost(runner: SshRunner, options: { dryRun?: boolean } = {}): Promise<RollbackResult> {
  return withBoardLock(runner, () => rollBack(runner, options));
}

async function rollBack(runner: SshRunner, options: { dryRun?: boolean }): Promise<RollbackResult> {
  const state = await readBoardState(runner);
  const result: RollbackResult = {
    name: runner.host,
    status: 'nothing-to-do',
    from: state.current,
    to: state.previous,
    error: null,
  };
  if (state.pending) {
    // Going back now would race the install or its watchdog, and could take the board two back.
    result.status = 'failed';
    result.error = `${runner.host}: a switch to ${state.current ?? 'nothing'} is not committed yet; it is the install's (or its watchdog's) to finish or undo`;
    return result;
  }
  if (!state.previous || state.previous === state.current) {
    result.error = `${runner.host}: no previous version to go back to`;
    return result;
  }
  if (options.dryRun) return result;
  // Under the lock the install's commit and watchdog take, and only while nothing is pending;
  // the daemon.json the version ran with comes back with it (scripts/swap.sh).
  const swap = (to: string, from: string) => boardScript('swap', { TO: to, FROM: from });
  const restart = async () => {
    if (state.systemd)
      await runner.run('sh', ['-c', restartDaemonsScript()], {
        privileged: true,
        allowFailure: true,
      });
  };
  const current = state.current ?? state.previous;
  await runner.run('sh', ['-c', swap(state.previous, current)], { privileged: true });
  await restart();
  if (await check(runner, state.previous, state.systemd)) {
    result.status = 'rolled-back';
    return result;
  }
  // The previous version is no better: go forward again rather than leave a broken board.
  await runner.run('sh', ['-c', swap(current, state.previous)], { privileged: true });
  await restart();
  result.status = 'failed';
  result.error = `${runner.host}: ${state.previous} failed its health check; stayed on ${current}`;
  return result;
}
