/**
 * The watchdog, the commit and the rollback each act on a switch only while `pending` still holds
 * the install's token, under one lock: real sh and flock, as on a board (#17 finding 3).
 */
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PENDING_OURS, watchdogDeadline, whilePending } from '../../src/install/board-scripts.js';
import { tempTree } from '../helpers/temp.js';
import { requireTools } from '../helpers/tools.js';

const TOKEN = '0123456789abcdef';

async function boardRoot(): Promise<string> {
  const root = await tempTree();
  await writeFile(join(root, 'pending'), `versions/1.0.0\n${TOKEN}\n\n`);
  return root;
}

const run = (script: string) => execa('sh', ['-c', script]).then((r) => r.stdout);

describe.runIf(requireTools('sh', 'flock'))('the guard on a pending switch', () => {
  it('lets the first of watchdog and commit act, and tells the second it came too late', async () => {
    const root = await boardRoot();
    const watchdog = await run(whilePending(TOKEN, 'rm -f pending; echo watchdog > acted', root));
    const commit = await run(whilePending(TOKEN, 'rm -f pending; echo commit > acted', root));
    expect(watchdog).toContain(PENDING_OURS);
    expect(commit).not.toContain(PENDING_OURS);
    expect(existsSync(join(root, 'pending'))).toBe(false);
  });

  it('leaves a switch of another install alone', async () => {
    const root = await boardRoot();
    expect(await run(whilePending('ffffffffffffffff', 'rm -f pending', root))).not.toContain(PENDING_OURS);
    expect(existsSync(join(root, 'pending'))).toBe(true);
  });

  it('lets exactly one of two racing at the same moment act', async () => {
    const root = await boardRoot();
    const body = 'sleep 0.3; [ -e pending ] && echo acted >> count; rm -f pending';
    const outputs = await Promise.all([run(whilePending(TOKEN, body, root)), run(whilePending(TOKEN, body, root))]);
    expect(outputs.filter((o) => o.includes(PENDING_OURS))).toHaveLength(1);
    expect((await execa('cat', [join(root, 'count')])).stdout).toBe('acted');
  });
});

describe("the watchdog's deadline", () => {
  it('is as long as the steps it guards may take on the board', () => {
    expect(watchdogDeadline({ systemd: false, containers: false })).toBe(180);
    expect(watchdogDeadline({ systemd: true, containers: false })).toBe(450);
    expect(watchdogDeadline({ systemd: true, containers: true })).toBe(1350);
    // install.healthTimeoutSeconds: a slower board's longer wait for dockerd is guarded too.
    expect(watchdogDeadline({ systemd: true, containers: false, healthSeconds: 300 })).toBe(660);
  });
});
