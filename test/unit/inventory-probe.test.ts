import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { FailureError, printable } from '../../src/errors.js';
import { LocalRunner } from '../../src/exec/local-runner.js';
import { loadTargets } from '../../src/platform/targets.js';
import { limitHosts, loadInventory, parseSshG } from '../../src/remote/inventory.js';
import { parseProbe, probeScript } from '../../src/install/board-probe.js';
import { CLI } from '../helpers/cli.js';
import { tempTree } from '../helpers/temp.js';

describe('inventory', () => {
  it('layers defaults < groups < host and resolves paths against the file', async () => {
    const directory = await tempTree({
      'fleet/inventory.yaml': [
        'knownHosts: known_hosts',
        'defaults: { user: pi, port: 2222, identityFile: keys/id }',
        'hosts:',
        '  zero-1: { address: 10.0.0.11, tags: [kitchen] }',
        '  zero-2: { address: 10.0.0.12, user: admin }',
        '  four-1: { address: 10.0.0.21, port: 22 }',
        'groups:',
        '  zeros: { hosts: [zero-1, zero-2], sudo: { passwordEnv: ZERO_SUDO } }',
        '  canary: { hosts: [zero-1], user: canary }',
        '',
      ].join('\n'),
    });
    const inventory = await loadInventory(`${directory}/fleet/inventory.yaml`);
    expect(inventory.knownHosts).toBe(`${directory}/fleet/known_hosts`);
    const [zero1, zero2, four1] = inventory.hosts;
    expect(zero1).toMatchObject({
      name: 'zero-1',
      user: 'canary',
      port: 2222,
      identityFiles: [`${directory}/fleet/keys/id`],
      sudo: { kind: 'password', env: 'ZERO_SUDO' },
      groups: ['zeros', 'canary'],
      tags: ['kitchen'],
    });
    expect(zero2).toMatchObject({ user: 'admin', sudo: { kind: 'password', env: 'ZERO_SUDO' } });
    expect(four1).toMatchObject({ user: 'pi', port: 22, sudo: { kind: 'none' } });
    expect(limitHosts(inventory.hosts, 'zeros,!canary').map((h) => h.name)).toEqual(['zero-2']);
    expect(limitHosts(inventory.hosts, 'tag:kitchen,four-*').map((h) => h.name)).toEqual(['zero-1', 'four-1']);
    expect(() => limitHosts(inventory.hosts, 'nothing')).toThrow('--limit nothing: matches no host');
  });

  it('expands ~ to the home directory, in the inventory and in what ssh -G prints (#17 finding 8)', async () => {
    const directory = await tempTree({
      'inventory.yaml': 'hosts:\n  pi-a: { address: 10.0.0.5, identityFile: ~/.ssh/id_ed25519 }\n',
    });
    const inventory = await loadInventory(join(directory, 'inventory.yaml'), { home: '/home/operator' });
    expect(inventory.hosts[0]).toMatchObject({
      identityFiles: ['/home/operator/.ssh/id_ed25519'],
      identityRequired: true,
    });
    const { SshRunner } = await import('../../src/remote/ssh-runner.js');
    // A key the inventory names and that cannot be read is an error naming it, before any connection.
    await expect(SshRunner.connect(inventory.hosts[0] as never, { knownHosts: [] })).rejects.toThrow(
      'pi-a: identityFile /home/operator/.ssh/id_ed25519: cannot read it (ENOENT)',
    );
  });

  it('refuses hosts named constructor, prototype or __proto__ (they would vanish), naming file and line (#25 low)', async () => {
    for (const name of ['constructor', 'prototype', '__proto__']) {
      const directory = await tempTree({
        'inventory.yaml': `hosts:\n  pi-a: { address: 10.0.0.5 }\n  ${name}: { address: 10.0.0.6 }\n`,
      });
      const file = join(directory, 'inventory.yaml');
      await expect(loadInventory(file)).rejects.toThrow(
        `${file}:3:3 hosts.${name}: "${name}" is a reserved name (it would be dropped silently)`,
      );
    }
  });

  it('an alias bomb is bad input, named as such, not a bug (#25 low)', async () => {
    const rows = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [name, from] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
    ] as const)
      rows.push(`${name}: &${name} [${Array(9).fill(`*${from}`).join(', ')}]`);
    const directory = await tempTree({
      'inventory.yaml': `${rows.join('\n')}\nhosts:\n  pi-a: { address: 10.0.0.5 }\n`,
    });
    const result = await execa(process.execPath, [CLI, 'probe', '--inventory', join(directory, 'inventory.yaml')], {
      reject: false,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('expand to more than 100 copies: refused as a resource exhaustion attack');
    expect(result.stderr).not.toContain('this is a bug');
  });

  it('takes host names and addresses only: no option, comma or newline reaches ssh -G or a certificate (#17 low)', async () => {
    for (const [entry, message] of [
      ['  pi-a: { address: "10.0.0.5\\nsubjectAltName=DNS:evil" }', 'expected a host name or an IP address'],
      ['  pi-a: { address: "10.0.0.5,IP:1.2.3.4" }', 'expected a host name or an IP address'],
      ['  pi-a: { address: -oProxyCommand=x }', 'expected a host name or an IP address'],
      ['  -oProxyCommand=x: { address: 10.0.0.5 }', 'host names are letters, digits'],
      ['  pi-a: { address: 10.0.0.5, user: "-l" }', 'expected a user name'],
    ] as const) {
      const directory = await tempTree({ 'inventory.yaml': `hosts:\n${entry}\n` });
      await expect(loadInventory(join(directory, 'inventory.yaml'))).rejects.toThrow(message);
    }
    const fine = await tempTree({
      'inventory.yaml':
        'hosts:\n  pi-a: { address: pi-a.lan }\n  pi-b: { address: "fe80::1%eth0" }\n  pi-c: { address: 10.0.0.7 }\n',
    });
    expect((await loadInventory(join(fine, 'inventory.yaml'))).hosts.map((h) => h.address)).toEqual([
      'pi-a.lan',
      'fe80::1%eth0',
      '10.0.0.7',
    ]);
  });

  it('an inventory with no board is an error, not a rollout that does nothing (#17 low)', async () => {
    const directory = await tempTree({ 'inventory.yaml': 'hosts: {}\n' });
    await expect(loadInventory(join(directory, 'inventory.yaml'))).rejects.toThrow('hosts lists no board');
  });

  it('names the file, line and key of a mistake, with a suggestion', async () => {
    const directory = await tempTree({
      'inventory.yaml': 'hosts:\n  zero-1:\n    adress: 10.0.0.11\n',
      'bad-group.yaml': 'hosts:\n  a: {}\ngroups:\n  g: { hosts: [b] }\n',
    });
    await expect(loadInventory(`${directory}/inventory.yaml`)).rejects.toThrow(
      /inventory\.yaml:3:5 hosts\.zero-1\.adress: unknown key "adress"/,
    );
    await expect(loadInventory(`${directory}/bad-group.yaml`)).rejects.toThrow(
      'group g lists b, which is not under hosts',
    );
  });

  it('takes what the inventory leaves out from ssh_config, as ssh -G resolves it', async () => {
    const directory = await tempTree({
      ssh_config:
        'Host pi-*\n  User pi\n  Port 2200\nHost pi-kitchen\n  HostName 192.168.1.50\n  ProxyJump bastion.lan\n',
      'inventory.yaml': 'hosts:\n  pi-kitchen: {}\n  pi-garage: { address: 10.0.0.9, user: root }\n',
    });
    const inventory = await loadInventory(`${directory}/inventory.yaml`, {
      runner: new LocalRunner(),
      sshConfig: `${directory}/ssh_config`,
    });
    expect(inventory.hosts.map((h) => [h.name, h.address, h.user, h.port, h.proxyJump])).toEqual([
      ['pi-kitchen', '192.168.1.50', 'pi', 2200, 'bastion.lan'],
      ['pi-garage', '10.0.0.9', 'root', 2200, null],
    ]);
  });

  it('reads what ssh -G resolved from ~/.ssh/config', () => {
    expect(
      parseSshG(
        'host pi\nhostname 192.168.1.50\nuser pi\nport 2200\nidentityfile ~/.ssh/id_ed25519\nidentityfile ~/.ssh/id_rsa\nproxyjump bastion\n',
      ),
    ).toEqual({
      hostname: '192.168.1.50',
      user: 'pi',
      port: 2200,
      identityFiles: ['~/.ssh/id_ed25519', '~/.ssh/id_rsa'],
      proxyJump: 'bastion',
    });
  });

  it("honours ssh_config's known_hosts files and StrictHostKeyChecking, as ssh -G resolves them (#17 low)", async () => {
    const { defaultKnownHosts } = await import('../../src/remote/ssh-runner.js');
    const resolved = parseSshG(
      'host pi\nuserknownhostsfile ~/.ssh/fleet_hosts ~/.ssh/known_hosts2\nglobalknownhostsfile /etc/ssh/ssh_known_hosts\nstricthostkeychecking accept-new\n',
    );
    expect(resolved).toEqual({
      knownHostsFiles: ['~/.ssh/fleet_hosts', '~/.ssh/known_hosts2', '/etc/ssh/ssh_known_hosts'],
      strictHostKeyChecking: 'accept-new',
    });
    // ssh's own defaults (printed whether configured or not) leave crossdock's default in place.
    expect(
      parseSshG(
        'userknownhostsfile /root/.ssh/known_hosts /root/.ssh/known_hosts2\nglobalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2\nstricthostkeychecking ask\n',
      ),
    ).toEqual({ strictHostKeyChecking: 'ask' });
    // The inventory's file first (where --accept-new writes), then ssh_config's, else ~/.ssh/known_hosts.
    expect(defaultKnownHosts('/srv/fleet/known_hosts', '/home/op', ['/home/op/.ssh/fleet_hosts'])).toEqual([
      '/srv/fleet/known_hosts',
      '/home/op/.ssh/fleet_hosts',
    ]);
    expect(defaultKnownHosts(null, '/home/op')).toEqual(['/home/op/.ssh/known_hosts']);
    // Through a real ssh -G with an ssh_config of the operator's own.
    const directory = await tempTree({
      ssh_config: 'Host pi-*\n  UserKnownHostsFile ~/.ssh/fleet_hosts\n  StrictHostKeyChecking accept-new\n',
      'inventory.yaml': 'hosts:\n  pi-a: { address: 10.0.0.5 }\n',
    });
    const inventory = await loadInventory(join(directory, 'inventory.yaml'), {
      runner: new LocalRunner(),
      sshConfig: join(directory, 'ssh_config'),
      home: '/home/op',
    });
    expect(inventory.hosts[0]).toMatchObject({ acceptNew: true });
    // ssh -G expands ~ itself, with the user's own home.
    expect(inventory.hosts[0]?.knownHostsFiles?.[0]).toMatch(/^\/.*\/\.ssh\/fleet_hosts$/);
  });
});

describe('probe parsing', () => {
  const section = (name: string, body: string) => `\n@@crossdock:${name}\n${body}`;

  it('turns a Pi Zero on Raspberry Pi OS with distro docker into a report with the fixes', async () => {
    const registry = await loadTargets();
    const output = [
      section('uname', 'armv6l'),
      section('kernel', '6.1.21+'),
      section('longbit', '32'),
      section('dpkg', 'armhf'),
      section('osrelease', 'PRETTY_NAME="Raspbian GNU/Linux 11 (bullseye)"\nID=raspbian\nVERSION_ID="11"'),
      section(
        'cpuinfo',
        'processor\t: 0\nmodel name\t: ARMv6-compatible processor rev 7 (v6l)\nCPU architecture: 7\nCPU part\t: 0xb76\n',
      ),
      section('dtmodel', 'Raspberry Pi Zero W Rev 1.1'),
      section('shelf', ''),
      section('init', 'systemd\nsystemd-running'),
      section('disk', '/dev/root 14000000 4000000 9437184 30% /'),
      section('memory', 'controllers: cpuset cpu io pids\nmemory\t0\t80\t0'),
      section('cmdline', '/boot/cmdline.txt\nconsole=serial0,115200 root=PARTUUID=1 rootwait'),
      section('iptables', 'iptables v1.8.7 (nf_tables)'),
      section(
        'packages',
        'docker.io 20.10.5+dfsg1-1+deb11u2 ii \ncontainerd 1.4.13~ds1-1~deb11u4 ii \nrunc 1.0.0~rc93 un ',
      ),
      section('commands', '/usr/sbin/dockerd\n/usr/bin/docker'),
      section('sudo', '1000\nnopasswd'),
      section('end', ''),
    ].join('');
    const report = parseProbe('zero', output, registry);
    expect(report).toMatchObject({
      name: 'zero',
      target: 'armv6',
      model: 'Raspberry Pi Zero W Rev 1.1',
      os: 'Raspbian GNU/Linux 11 (bullseye)',
      init: 'systemd',
      freeDiskBytes: 9437184 * 1024,
      iptables: 'nft',
      sudo: 'nopasswd',
      docker: {
        packages: [
          { name: 'docker.io', version: '20.10.5+dfsg1-1+deb11u2' },
          { name: 'containerd', version: '1.4.13~ds1-1~deb11u4' },
        ],
        crossdockVersion: null,
      },
    });
    expect(report.memoryCgroup.enabled).toBe(false);
    expect(report.memoryCgroup.fix).toContain('cgroup_enable=memory cgroup_memory=1');
    expect(report.memoryCgroup.fix).toContain('/boot/cmdline.txt');
  });

  it("a board's strings reach no terminal as escape sequences: os-release, device-tree model, errors (#25 low)", async () => {
    const registry = await loadTargets();
    // An OSC 52 clipboard write and a C1 CSI, as a hostile board would put them in os-release.
    const osc52 = '\u001b]52;c;cm0gLXJmIH4K\u0007';
    const output = [
      section('uname', 'aarch64'),
      section('osrelease', `PRETTY_NAME="Debian${osc52}\u009b2J"`),
      section('dtmodel', 'Raspberry Pi 4\u001b[2J'),
      section('end', ''),
    ].join('');
    const report = parseProbe('evil', output, registry);
    expect(report.os).toBe('Debian\\x1b]52;c;cm0gLXJmIH4K\\x07\\x9b2J');
    expect(report.model).toBe('Raspberry Pi 4\\x1b[2J');
    expect(new FailureError(`evil: ${osc52}`, { hint: '\u001b[31m' }).message).toBe(
      'evil: \\x1b]52;c;cm0gLXJmIH4K\\x07',
    );
    expect(new FailureError('x', { hint: '\u001b[31m' }).hint).toBe('\\x1b[31m');
    expect(printable('tabs\tand\nnewlines stay')).toBe('tabs\tand\nnewlines stay');
  });

  it('reports the version crossdock has active, from the current link it made (relative)', async () => {
    const root = await tempTree();
    await mkdir(join(root, 'versions/1.2.0'), { recursive: true });
    await symlink('versions/1.2.0', join(root, 'current'));
    const output = (await execa('sh', ['-c', probeScript(root)])).stdout;
    const report = parseProbe('here', output, await loadTargets());
    expect(report.docker.crossdockVersion).toBe('1.2.0');
    expect(report.docker.commands.every((c) => c.startsWith('/'))).toBe(true);
  });

  it('takes the install path it is given as data, never as shell', async () => {
    const root = await tempTree();
    const path = join(root, "x'; touch pwned; '");
    const output = (await execa('sh', ['-c', probeScript(path)], { cwd: root })).stdout;
    expect(parseProbe('here', output, await loadTargets()).freeDiskBytes).toBeGreaterThan(0);
    expect(existsSync(join(root, 'pwned'))).toBe(false);
  });
});
