/**
 * A daemon.json change whose run died before its commit (#25, found by the fault campaign): the
 * next install puts the old settings back and ends that change's watchdog, as the watchdog
 * would have, instead of leaving `reconfigure-pending` and a sleeper on the board for good.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTargets, type Target } from '../../src/platform/targets.js';
import { watchdogScript } from '../../src/install/board-scripts.js';
import { onBoard as onBoardOf, type TestBoards, upBoards } from '../helpers/boards.js';
import { makeRunnableDist } from '../helpers/dist.js';
import { requireRoot, requireTools } from '../helpers/tools.js';

const ready = requireRoot() && requireTools('debootstrap', 'unshare', 'ip', 'ssh-keygen', 'gcc');
const BOARD = 'x86_64-1';
const TOKEN = '0123456789abcdef';
let boards: TestBoards | undefined;

async function onBoard(command: string): Promise<string> {
  if (!boards) throw new Error('no boards');
  return (await onBoardOf(boards.inventoryFile, BOARD, command)).trim();
}

describe.runIf(ready)('a daemon.json change left by a dead run', () => {
  beforeAll(async () => {
    boards = await upBoards('reconfigure', ['x86_64']);
  }, 1_800_000);
  afterAll(async () => {
    await boards?.down();
  });

  it('is undone by the next install, and its watchdog ended', async () => {
    if (!boards) throw new Error('no boards');
    const x86 = (await loadTargets()).targets.find((t) => t.name === 'x86_64') as Target;
    const dist = await makeRunnableDist(join(boards.work, 'dist'), { version: '1.0.0', targets: [x86] });
    const first = await boards.cli(['install', '--inventory', boards.inventoryFile, '--from', dist]);
    expect(first.exitCode, first.stderr).toBe(0);
    // What reconfigure() leaves when its run dies between the new settings and the commit: the
    // old daemon.json kept as .before, the new one in place, the pending record and a sleeper.
    const left = await onBoard(
      [
        'cd /opt/crossdock',
        `echo '{"debug":false}' > versions/1.0.0.daemon.json.before`,
        `mkdir -p /etc/docker && echo '{"debug":true}' > /etc/docker/daemon.json && cp /etc/docker/daemon.json versions/1.0.0.daemon.json`,
        `printf '1.0.0\\n${TOKEN}\\n' > reconfigure-pending`,
        watchdogScript(TOKEN, 3600, false, 'true'),
        `sleep 1; cat /run/crossdock-watchdog-${TOKEN}.pid`,
      ].join('\n'),
    );
    expect(left).toMatch(/^\d+$/);
    const again = await boards.cli(['install', '--inventory', boards.inventoryFile, '--from', dist, '--json']);
    expect(again.exitCode, again.stdout).toBe(0);
    expect(JSON.parse(again.stdout).hosts[0].steps).toContain('revert-reconfigure');
    const after = await onBoard(
      `cat /etc/docker/daemon.json; ls /opt/crossdock/reconfigure-pending /run/crossdock-watchdog-${TOKEN}.pid 2>&1 | grep -c 'No such file'; kill -0 ${left} 2>/dev/null && echo sleeper-alive || echo sleeper-gone`,
    );
    expect(after.split('\n')).toEqual(['{"debug":false}', '2', 'sleeper-gone']);
  });
});
