/**
 * A board whose sshd shows an OpenSSH host certificate, and a known_hosts that holds only the
 * fleet's CA (`@cert-authority`), as fleets run them (#17 low): crossdock reaches the board with
 * no key pinned and no --accept-new, and refuses a certificate from another CA or for another
 * name. OpenSSH's own client, given the same known_hosts, must decide the same each time.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadInventory } from '../../src/remote/inventory.js';
import { SshRunner } from '../../src/remote/ssh-runner.js';
import { type TestBoards, upBoards } from '../helpers/boards.js';
import { requireRoot, requireTools } from '../helpers/tools.js';

const ready =
  requireRoot() &&
  requireTools('debootstrap', 'unshare', 'ip', 'qemu-aarch64-static', 'ssh-keygen', 'ssh-keyscan', 'ssh');

const BOARD = 'rpi-3-1';
let work: string;
let state: string;
let inventoryFile: string;
let host: { address: string; port: number; identityFile: string };

let boards: TestBoards | undefined;

function cli(args: string[]) {
  if (!boards) throw new Error('no boards: beforeAll did not run');
  return boards.cli(args);
}

/** Signs the board's host key with CA `ca` for `principals`, and has its sshd show the certificate. */
async function certifyBoard(ca: string, principals: string): Promise<void> {
  const key = join(state, BOARD, 'upper/etc/ssh/crossdock_host_ed25519_key');
  await execa('ssh-keygen', [
    '-q',
    '-s',
    join(work, ca),
    '-I',
    `${BOARD}-by-${ca}`,
    '-h',
    '-n',
    principals,
    '-V',
    '-5m:+1d',
    `${key}.pub`,
  ]);
  const inventory = await loadInventory(inventoryFile);
  const entry = inventory.hosts.find((h) => h.name === BOARD);
  if (!entry) throw new Error(BOARD);
  const runner = await SshRunner.connect(entry, { knownHosts: [join(state, 'inventory.known_hosts')] });
  try {
    // sshd re-reads its configuration (and the certificate) on SIGHUP.
    await runner.run('sh', [
      '-c',
      'grep -q HostCertificate /etc/ssh/sshd_config.d/crossdock.conf || echo "HostCertificate /etc/ssh/crossdock_host_ed25519_key-cert.pub" >> /etc/ssh/sshd_config.d/crossdock.conf; kill -HUP "$(cat /run/sshd.pid)"',
    ]);
  } finally {
    runner.dispose();
  }
  // Under QEMU the re-executed sshd takes a while to listen again with the new certificate.
  const certificate = (await readFile(`${key}-cert.pub`, 'utf8')).split(/\s+/)[1] ?? '';
  for (let attempt = 0; attempt < 60; attempt += 1) {
    const scan = await execa('ssh-keyscan', ['-c', '-p', String(host.port), host.address], { reject: false });
    if (scan.stdout.includes(certificate)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${BOARD}: sshd does not show the new certificate`);
}

/** An inventory whose known_hosts trusts only CA `ca` for `pattern`. */
async function trusting(ca: string, pattern: string): Promise<string> {
  const knownHosts = join(work, `${ca}.known_hosts`);
  const pub = (await readFile(join(work, `${ca}.pub`), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  await writeFile(knownHosts, `@cert-authority ${pattern} ${pub}\n`);
  const document = parseYaml(await readFile(inventoryFile, 'utf8')) as Record<string, unknown>;
  const file = join(work, `inventory-${ca}.yaml`);
  await writeFile(file, stringifyYaml({ ...document, knownHosts }));
  return file;
}

/** What OpenSSH decides with the same known_hosts: connects (0) or "Host key verification failed". */
async function openssh(ca: string): Promise<'connects' | 'refuses'> {
  const result = await execa(
    'ssh',
    [
      '-F',
      '/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${join(work, `${ca}.known_hosts`)}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-i',
      host.identityFile,
      '-p',
      String(host.port),
      `root@${host.address}`,
      'true',
    ],
    { reject: false },
  );
  return result.exitCode === 0 ? 'connects' : 'refuses';
}

describe.runIf(ready)('host certificates: known_hosts with @cert-authority only', () => {
  beforeAll(async () => {
    boards = await upBoards('host-cert', ['rpi-3']);
    ({ work, state, inventoryFile } = boards);
    const document = parseYaml(await readFile(inventoryFile, 'utf8')) as {
      hosts: Record<string, { address: string; port: number; identityFile: string }>;
    };
    host = document.hosts[BOARD] ?? { address: '', port: 0, identityFile: '' };
    for (const ca of ['fleet-ca', 'other-ca'])
      await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', ca, '-f', join(work, ca)]);
  }, 600_000);

  afterAll(async () => {
    await boards?.down();
  });

  it("reaches a board certified by the fleet's CA, with no key pinned and no --accept-new", async () => {
    await certifyBoard('fleet-ca', host.address);
    const inventory = await trusting('fleet-ca', '*');
    const probe = await cli(['probe', '--inventory', inventory, '--json']);
    expect(probe.exitCode, probe.stderr).toBe(0);
    expect(JSON.parse(probe.stdout)).toMatchObject([{ name: BOARD, target: 'aarch64' }]);
    expect(await openssh('fleet-ca')).toBe('connects');
    // Nothing was added to known_hosts: the CA vouches for the board.
    expect(await readFile(join(work, 'fleet-ca.known_hosts'), 'utf8')).toMatch(
      /^@cert-authority \* ssh-ed25519 \S+\n$/,
    );
  });

  it('refuses a CA known_hosts does not trust, as OpenSSH does', async () => {
    const inventory = await trusting('other-ca', '*');
    const probe = await cli(['probe', '--inventory', inventory, '--accept-new']);
    expect(probe.exitCode).not.toBe(0);
    expect(probe.stderr).toMatch(
      /is not certified: certificate rpi-3-1-by-fleet-ca is signed by a CA known_hosts does not trust/,
    );
    expect(await openssh('other-ca')).toBe('refuses');
  });

  it('refuses a certificate that names another host, as OpenSSH does', async () => {
    await certifyBoard('fleet-ca', 'someone-else.lan');
    const inventory = await trusting('fleet-ca', '*');
    const probe = await cli(['probe', '--inventory', inventory]);
    expect(probe.exitCode).not.toBe(0);
    expect(probe.stderr).toMatch(new RegExp(`names someone-else\\.lan, not ${host.address.replace(/\./g, '\\.')}`));
    expect(await openssh('fleet-ca')).toBe('refuses');
  });
});
