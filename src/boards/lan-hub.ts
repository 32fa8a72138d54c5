/**
 * One Ethernet segment for the whole-machine boards, so they reach each other the way Pis on
 * one LAN do (a swarm needs it: 2377/tcp, 7946/tcp+udp, 4789/udp between nodes). Each VM's
 * second NIC is QEMU's UDP socket netdev, pointed at this hub on loopback; the hub repeats every
 * frame to every other VM it has heard from, like an Ethernet hub. Frames never leave loopback,
 * and the boards' LAN addresses exist only inside the VMs.
 *
 * Run as its own process (`node lan-hub.js PORT`), started by `board up` and killed by
 * `board down` with the last VM board.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { fileURLToPath } from 'node:url';

export function startLanHub(port: number, host = '127.0.0.1'): Promise<{ port: number; close: () => void }> {
  const socket = createSocket('udp4');
  const peers = new Map<string, RemoteInfo>();
  socket.on('message', (frame, from) => {
    const key = `${from.address}:${String(from.port)}`;
    if (!peers.has(key)) peers.set(key, from);
    for (const [peer, info] of peers) if (peer !== key) socket.send(frame, info.port, info.address);
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
  const hub = await startLanHub(Number(process.argv[2] ?? 0));
  process.stdout.write(`${String(hub.port)}\n`);
}
