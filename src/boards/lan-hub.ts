/**
 * One Ethernet segment for the whole-machine boards, so they reach each other the way Pis on
 * one LAN do (a swarm needs it: 2377/tcp, 7946/tcp+udp, 4789/udp between nodes). Each VM's
 * second NIC is QEMU's UDP socket netdev, pointed at this hub on loopback; the hub repeats every
 * frame to every other VM, like an Ethernet hub. Frames never leave loopback, and the boards'
 * LAN addresses exist only inside the VMs. A VM with a static address may stay silent until it
 * has something to say, so the hub cannot only learn its peers from what they send: `board up`
 * lists each VM's port in the peers file, which the hub reads again whenever it changes.
 *
 * Run as its own process (`node lan-hub.js PORT PEERS-FILE`), started by `board up` and killed
 * by `board down` with the last VM board.
 */
import { createSocket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function startLanHub(
  port: number,
  options: { host?: string; peersFile?: string } = {},
): Promise<{ port: number; close: () => void }> {
  const host = options.host ?? '127.0.0.1';
  const socket = createSocket('udp4');
  const learned = new Set<number>();
  let listed = new Set<number>();
  let listedAt = -1;
  const refresh = () => {
    if (!options.peersFile) return;
    try {
      const mtime = statSync(options.peersFile).mtimeMs;
      if (mtime === listedAt) return;
      listedAt = mtime;
      listed = new Set(readFileSync(options.peersFile, 'utf8').split(/\s+/).filter(Boolean).map(Number));
    } catch {
      listed = new Set();
    }
  };
  socket.on('message', (frame, from) => {
    if (from.address !== host) return;
    learned.add(from.port);
    refresh();
    for (const peer of new Set([...learned, ...listed])) if (peer !== from.port) socket.send(frame, peer, host);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      resolve({
        port: socket.address().port,
        close: () => {
          socket.close();
        },
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const hub = await startLanHub(Number(process.argv[2] ?? 0), { peersFile: process.argv[3] });
  process.stdout.write(`${String(hub.port)}\n`);
}
