// Streaming a file to a board: `cat > tmp && mv` over one exec channel (what crossdock uses)
// against node-ssh's SFTP putFile, and OpenSSH's own `ssh board 'cat > f' < file` as the floor.
// Usage (as root, boards up): node bench/ssh-transfer.mjs [INVENTORY] [MEGABYTES] [RUNS]
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { NodeSSH } from 'node-ssh';
import { loadInventory, SshRunner, defaultKnownHosts } from '../dist/index.js';

const [inventoryFile = '/run/crossdock/boards/inventory.yaml', megabytes = '50', runs = '5'] = process.argv.slice(2);
const inventory = await loadInventory(inventoryFile);
const host = inventory.hosts[0];
const directory = mkdtempSync(join(tmpdir(), 'crossdock-bench-'));
const file = join(directory, 'payload');
writeFileSync(file, randomBytes(Number(megabytes) * 1024 * 1024));
const knownHosts = defaultKnownHosts(inventory.knownHosts);
const runner = await SshRunner.connect(host, { knownHosts });
const sftp = new NodeSSH();
await sftp.connect({ host: host.address, port: host.port, username: host.user, privateKeyPath: host.identityFiles[0] });
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
const time = async (fn) => {
  const samples = [];
  for (let i = 0; i < Number(runs); i += 1) {
    const start = performance.now();
    await fn();
    samples.push((performance.now() - start) / 1000);
  }
  return median(samples);
};
const results = {
  'crossdock putFile': await time(() => runner.putFile(file, '/tmp/bench-cat')),
  'node-ssh putFile (SFTP)': await time(() => sftp.putFile(file, '/tmp/bench-sftp')),
  'OpenSSH ssh cat (floor)': await time(() =>
    execFileSync('sh', [
      '-c',
      `ssh -o UserKnownHostsFile=${knownHosts[0]} -i ${host.identityFiles[0]} -p ${host.port} ${host.user}@${host.address} 'cat > /tmp/bench-ssh' < ${file}`,
    ]),
  ),
};
runner.dispose();
sftp.dispose();
rmSync(directory, { recursive: true, force: true });
console.log(`${megabytes} MB to ${host.name}, median of ${runs}`);
for (const [name, seconds] of Object.entries(results))
  console.log(`${name.padEnd(32)} ${seconds.toFixed(2)} s  ${(Number(megabytes) / seconds).toFixed(1)} MB/s`);
