import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crossdock } from '../helpers/cli.js';
import { tempTree } from '../helpers/temp.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('the crossdock bin', () => {
  it('prints help listing every command', async () => {
    const result = await crossdock(['--help']);
    expect(result.exitCode).toBe(0);
    for (const command of ['targets', 'inspect', 'resolve', 'config', 'schema'])
      expect(result.stdout).toContain(`  ${command}`);
  });

  it.each(['targets', 'inspect', 'resolve', 'config', 'schema'])('has --help for %s', async (command) => {
    const result = await crossdock([command, '--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`$ crossdock ${command}`);
  });

  it('prints its version', async () => {
    const result = await crossdock(['--version']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(version);
  });

  it('lists targets as JSON with every vocabulary', async () => {
    const result = await crossdock(['targets', '--json']);
    expect(result.exitCode).toBe(0);
    const targets = JSON.parse(result.stdout) as Array<{
      name: string;
      oci: string;
      names: Record<string, string[]>;
      boards: Array<{ id: string }>;
    }>;
    expect(targets.map((t) => t.name)).toEqual(['x86_64', 'aarch64', 'armv7', 'armv6', 'riscv64']);
    const armv6 = targets.find((t) => t.name === 'armv6');
    expect(armv6).toMatchObject({ oci: 'linux/arm/v6', qemu: { name: 'arm', cpu: 'arm1176' } });
    expect(armv6?.names.raspbian).toEqual(['armhf']);
    expect(armv6?.boards.map((b) => b.id)).toEqual(['rpi-zero', 'rpi-1']);
  });

  it('lists targets as a table for people', async () => {
    const result = await crossdock(['targets']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^armv6\s+linux\/arm\/v6\s+armv6l\s+armel \(raspbian: armhf\)\s+GOARCH=arm GOARM=6/m);
  });

  it('resolves names and refuses ambiguous ones with exit code 2', async () => {
    expect((await crossdock(['resolve', 'GOARCH=arm GOARM=6'])).stdout).toMatch(/^armv6\t\(go\)$/m);
    const ambiguous = await crossdock(['resolve', 'armhf']);
    expect(ambiguous.exitCode).toBe(2);
    expect(ambiguous.stderr).toContain('crossdock: "armhf" is ambiguous');
    expect(ambiguous.stderr).toContain('hint: say which vocabulary you mean');
    const chosen = await crossdock(['resolve', 'armhf', '--vocabulary', 'raspbian', '--json']);
    expect(JSON.parse(chosen.stdout)).toMatchObject({
      target: 'armv6',
      vocabularies: ['raspbian'],
    });
    expect((await crossdock(['resolve', 'x', '--vocabulary', 'klingon'])).stderr).toContain(
      '--vocabulary klingon: unknown vocabulary',
    );
  });

  it('inspects files, and exits 2 naming the file that is not ELF', async () => {
    const directory = await tempTree({ 'readme.txt': 'hello' });
    const good = await crossdock(['inspect', process.execPath, '--json']);
    expect(good.exitCode).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject([{ machine: expect.any(String), class: 64, static: false }]);
    const bad = await crossdock(['inspect', process.execPath, join(directory, 'readme.txt'), '--json']);
    expect(bad.exitCode).toBe(2);
    const reports = JSON.parse(bad.stdout) as Array<{ error?: string }>;
    expect(reports[1]?.error).toBe(`${join(directory, 'readme.txt')}: not an ELF file (starts with 68 65 6c 6c)`);
    const text = await crossdock(['inspect', join(directory, 'readme.txt')]);
    expect(text.stderr).toBe(`crossdock: ${join(directory, 'readme.txt')}: not an ELF file (starts with 68 65 6c 6c)`);
    expect((await crossdock(['inspect'])).exitCode).toBe(2);
  });

  it('shows the configuration in effect with flags over the file', async () => {
    const cwd = await tempTree({
      'crossdock.yaml': 'targets: [armv6]\nrelease:\n  repository: acme/docker-arm\n',
    });
    const result = await crossdock(['config', '--json', '--target', 'arm64', '--target', 'linux/arm/v7,armv6l'], {
      cwd,
    });
    expect(result.exitCode).toBe(0);
    const { config, file } = JSON.parse(result.stdout) as {
      config: { targets: string[]; release: { repository: string } };
      file: string;
    };
    expect(file).toBe(join(cwd, 'crossdock.yaml'));
    expect(config.targets).toEqual(['aarch64', 'armv7', 'armv6']);
    expect(config.release.repository).toBe('acme/docker-arm');
  });

  it('reports a config error on one line with file:line and a hint, exit code 2', async () => {
    const cwd = await tempTree({
      'crossdock.yaml': 'targets: [armv6]\nrelease:\n  repo: acme/x\n',
    });
    const result = await crossdock(['config'], { cwd });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      `crossdock: ${join(cwd, 'crossdock.yaml')}:3:3 release.repo: unknown key "repo"\n  hint: did you mean "repository"? valid keys here: repository, apiUrl, tagPrefix, replaceAssets`,
    );
  });

  it('exits 2 on an unknown command or option', async () => {
    const command = await crossdock(['frobnicate']);
    expect(command.exitCode).toBe(2);
    expect(command.stderr).toContain('unknown command "frobnicate"');
    const option = await crossdock(['targets', '--frobnicate']);
    expect(option.exitCode).toBe(2);
    expect(option.stderr).toContain('crossdock: unknown option --frobnicate');
    // Named as typed, not as the parser camelCases it (--outDir).
    const typed = await crossdock(['build', '--target', 'armv6', '--out-dirr=x']);
    expect(typed.stderr).toContain('crossdock: unknown option --out-dirr\n');
  });

  it('`crossdock help build` is `crossdock build --help`: the description, then every option', async () => {
    const help = await crossdock(['help', 'build']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Build the engine and runtime for each target');
    // --version of build is the release version: cac hides options of that name unless we show it.
    expect(help.stdout).toMatch(/--version <version> +Release version/);
    expect(help.stdout).toMatch(/--no-smoke +Skip the smoke runs under QEMU\n/);
    const fleet = await crossdock(['fleet', '--help']);
    for (const action of ['status:', 'rollback:', 'swarm init|status|leave:', 'tls enable|status|disable:'])
      expect(fleet.stdout).toContain(`\n${action}`);
  });

  it('refuses an unknown fleet tls action with exit 2 and the actions there are', async () => {
    const result = await crossdock(['fleet', 'tls', 'open']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      'crossdock: fleet tls open: unknown tls action\n  hint: fleet tls enable | status | disable',
    );
  });

  it('makes no CA on this machine under fleet tls enable --dry-run (#17 finding 2)', async () => {
    // A board nothing listens for: the CA decision comes before any connection.
    const cwd = await tempTree({ 'inventory.yaml': 'hosts:\n  pi-a: { address: 127.0.0.1, port: 1 }\n' });
    const tls = join(cwd, 'tls');
    const result = await crossdock(['fleet', 'tls', 'enable', '--dry-run', '--tls-dir', tls], { cwd });
    expect(result.stderr).toContain(`would make a new CA in ${tls}`);
    expect(existsSync(tls)).toBe(false);
  });

  it('reads build --version as the release version, not as the global --version', async () => {
    const cwd = await tempTree();
    const result = await crossdock(['build', '--version', '27.5'], { cwd });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('crossdock: --version: "27.5" is not a semver version');
  });

  it('prints the config JSON Schema', async () => {
    const result = await crossdock(['schema']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ title: 'crossdock.yaml', type: 'object' });
  });
});
