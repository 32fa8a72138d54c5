/**
 * A link that is reset (a TCP RST, as when a board loses power and QEMU's forwarder drops it, or
 * a NAT forgets the flow) while a command runs: the library call fails with the board's name,
 * and nothing is thrown past it as an uncaught exception that would kill a rollout of many boards.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/remote/inventory.js';
import { SshRunner } from '../../src/remote/ssh-runner.js';
import { type TestBoards, upBoards } from '../helpers/boards.js';
import { requireRoot, requireTools } from '../helpers/tools.js';

const ready = requireRoot() && requireTools('debootstrap', 'unshare', 'ip', 'qemu-aarch64-static');

let boards: TestBoards | undefined;

describe.runIf(ready)('a connection reset under a running command', () => {
  beforeAll(async () => {
    boards = await upBoards('reset', ['rpi-3']);
  }, 600_000);

  afterAll(async () => {
    await boards?.down();
  });

  it('fails the command with the board named, and raises nothing uncaught', async () => {
    const inventory = await loadInventory(boards?.inventoryFile ?? '');
    const board = inventory.hosts[0];
    if (!board) throw new Error('no board');
    // A forwarder on loopback that can reset its clients' connections.
    const sockets: Socket[] = [];
    const proxy: Server = createServer((client) => {
      sockets.push(client);
      const upstream = connect(board.port, board.address);
      client.pipe(upstream).pipe(client);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    const logged: string[] = [];
    try {
      // The board's key is pinned under its own address; the forwarder is this host, not a new board.
      const runner = await SshRunner.connect(
        { ...board, address: '127.0.0.1', port },
        { knownHosts: [inventory.knownHosts ?? ''], acceptNew: true, dryRun: false, log: (line) => logged.push(line) },
      );
      const running = runner.run('sh', ['-c', 'sleep 30; echo done']);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (const socket of sockets) socket.resetAndDestroy();
      const outcome = await running.then(
        () => 'succeeded',
        (error: unknown) => (error as Error).message,
      );
      runner.dispose();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(outcome).toMatch(new RegExp(`^${board.name}: `));
      expect(outcome).not.toBe('succeeded');
      expect(logged.some((line) => line.includes('connection lost'))).toBe(true);
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      proxy.close();
    }
  });
});
