import { createSocket, type Socket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startLanHub } from '../../src/boards/lan-hub.js';
import {
  chooseManagers,
  parseNodes,
  parseSwarmInfo,
  swarmJoinRequest,
  swarmJoinScript,
} from '../../src/install/swarm.js';
import { loadInventory } from '../../src/remote/inventory.js';
import { tempTree } from '../helpers/temp.js';

describe('swarm planning', () => {
  it('reads docker info and docker node inspect as dockerd 20.10 prints them', () => {
    expect(parseSwarmInfo('{"NodeID":"","NodeAddr":"","LocalNodeState":"inactive","ControlAvailable":false}')).toEqual({
      state: 'inactive',
      nodeId: null,
      clusterId: null,
      manager: false,
    });
    expect(
      parseSwarmInfo(
        '{"NodeID":"q9x1","NodeAddr":"10.203.0.2","LocalNodeState":"active","ControlAvailable":true,"Cluster":{"ID":"c0ffee"}}',
      ),
    ).toEqual({ state: 'active', nodeId: 'q9x1', clusterId: 'c0ffee', manager: true });
    const nodes = parseNodes(
      [
        '{"ID":"b","Description":{"Hostname":"vm-2","Platform":{"Architecture":"x86_64","OS":"linux"}},"Spec":{"Role":"worker","Availability":"active"},"Status":{"State":"ready","Addr":"10.203.0.3"}}',
        '{"ID":"a","Description":{"Hostname":"vm-1","Platform":{"Architecture":"aarch64","OS":"linux"}},"Spec":{"Role":"manager","Availability":"active"},"Status":{"State":"ready","Addr":"10.203.0.2"},"ManagerStatus":{"Leader":true,"Addr":"10.203.0.2:2377"}}',
        '',
      ].join('\n'),
    );
    expect(nodes.map((n) => [n.hostname, n.architecture, n.role, n.leader])).toEqual([
      ['vm-1', 'aarch64', 'manager', true],
      ['vm-2', 'x86_64', 'worker', false],
    ]);
  });

  it('takes the managers from --manager, else the managers group, else the first host', async () => {
    const directory = await tempTree({
      'inventory.yaml': [
        'hosts:',
        '  pi-a: { address: 10.0.0.1 }',
        '  pi-b: { address: 10.0.0.2, advertiseAddress: 192.0.2.2 }',
        '  pi-c: { address: 10.0.0.3 }',
        'groups:',
        '  managers: { hosts: [pi-b, pi-c] }',
        '',
      ].join('\n'),
      'plain.yaml': 'hosts:\n  one: { address: 10.0.0.9 }\n  two: {}\n',
    });
    const { hosts } = await loadInventory(join(directory, 'inventory.yaml'));
    expect(chooseManagers(hosts, []).map((h) => h.name)).toEqual(['pi-b', 'pi-c']);
    expect(chooseManagers(hosts, ['pi-a']).map((h) => h.name)).toEqual(['pi-a']);
    expect(() => chooseManagers(hosts, ['pi-z'])).toThrow('--manager pi-z: not among the hosts');
    expect(hosts.map((h) => h.advertiseAddress)).toEqual(['10.0.0.1', '192.0.2.2', '10.0.0.3']);
    const plain = await loadInventory(join(directory, 'plain.yaml'));
    expect(chooseManagers(plain.hosts, []).map((h) => h.name)).toEqual(['one']);
  });
});

describe("the VM boards' LAN hub", () => {
  it('repeats every frame to every other board, listed or heard from, and not back to the sender', async () => {
    const directory = await tempTree();
    const peersFile = join(directory, 'lan-peers');
    await writeFile(peersFile, '');
    const hub = await startLanHub(0, { peersFile });
    const boards: Socket[] = [];
    const received: string[][] = [[], [], []];
    try {
      for (const [index] of received.entries()) {
        const socket = createSocket('udp4');
        socket.on('message', (frame) => received[index]?.push(frame.toString()));
        await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
        boards.push(socket);
      }
      const send = (index: number, text: string) =>
        new Promise<void>((resolve, reject) => {
          boards[index]?.send(text, hub.port, '127.0.0.1', (error) => {
            if (error) reject(error);
            else resolve();
          });
        });
      // Board 2 has a static address and says nothing; board up listed its port for the hub.
      await writeFile(peersFile, `${String(boards[2]?.address().port)}\n`);
      await send(0, 'hello-0');
      await send(1, 'frame-from-1');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(received[1]).toEqual([]);
      expect(received[0]).toEqual(['frame-from-1']);
      expect(received[2]).toEqual(['hello-0', 'frame-from-1']);
    } finally {
      for (const socket of boards) socket.close();
      hub.close();
    }
  });
});

describe('joining a swarm without the token in argv (#17 low)', () => {
  it('posts the join to the engine socket from stdin, and reports the engine refusing it', async () => {
    const { createServer } = await import('node:http');
    const { execa } = await import('execa');
    const directory = await tempTree();
    const socket = join(directory, 'docker.sock');
    const seen: Array<{ url: string | undefined; body: string }> = [];
    let answer = { status: 200, body: '' };
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        seen.push({ url: request.url, body });
        response.writeHead(answer.status, { 'Content-Type': 'application/json' });
        response.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      const input = swarmJoinRequest('SWMTKN-1-secret', '192.168.77.12', '192.168.77.11:2377');
      const script = swarmJoinScript(socket);
      expect(script).not.toContain('SWMTKN');
      const joined = await execa('sh', ['-c', script], { input, reject: false });
      expect(joined.exitCode, joined.stderr).toBe(0);
      expect(seen[0]?.url).toBe('/swarm/join');
      expect(JSON.parse(seen[0]?.body ?? '{}')).toEqual({
        ListenAddr: '192.168.77.12:2377',
        AdvertiseAddr: '192.168.77.12',
        RemoteAddrs: ['192.168.77.11:2377'],
        JoinToken: 'SWMTKN-1-secret',
      });
      answer = { status: 503, body: '{"message":"This node is already part of a swarm."}' };
      const refused = await execa('sh', ['-c', script], { input, reject: false });
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain('already part of a swarm');
    } finally {
      server.close();
    }
  });
});
