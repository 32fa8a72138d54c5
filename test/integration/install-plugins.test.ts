/**
 * CLI plugins on a board (#26), against a real sshd board: the bundle's docker/cli-plugins/
 * lands flat in the version, is linked into the CLI's plugin directory, and the health check
 * runs `docker compose version` through the version's own CLI (metadata first, as the real CLI
 * does) against the line the build recorded; a version whose plugin answers otherwise is switched
 * back; an upgrade that changes only compose sends only compose; a rollback takes the plugin back.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { loadTargets, type Target } from '../../src/platform/targets.js';
import { sha256 } from '../../src/artifacts/checksums.js';
import { onBoard as onBoardOf, type TestBoards, upBoards } from '../helpers/boards.js';
import { makeRunnableDist } from '../helpers/dist.js';
import { requireRoot, requireTools } from '../helpers/tools.js';

const ready = requireRoot() && requireTools('debootstrap', 'unshare', 'ip', 'ssh-keygen', 'gcc');
const BOARD = 'x86_64-1';
let boards: TestBoards | undefined;
let x86: Target;

async function onBoard(command: string): Promise<string> {
  if (!boards) throw new Error('no boards');
  return (await onBoardOf(boards.inventoryFile, BOARD, command)).trim();
}

async function install(from: string) {
  if (!boards) throw new Error('no boards');
  const result = await boards.cli(['install', '--inventory', boards.inventoryFile, '--from', from, '--json']);
  return {
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    report: JSON.parse(result.stdout || '{}') as {
      hosts?: Array<{ bytesSent?: number; ok?: boolean; error?: string }>;
    },
  };
}

describe.runIf(ready)('CLI plugins on a board', () => {
  beforeAll(async () => {
    boards = await upBoards('plugins', ['x86_64']);
    x86 = (await loadTargets()).targets.find((t) => t.name === 'x86_64') as Target;
  }, 1_800_000);
  afterAll(async () => {
    await boards?.down();
  });

  it('links compose where the CLI looks, checks it through the CLI, sends only it when only it changed, and rolls it back', async () => {
    if (!boards) throw new Error('no boards');
    const one = await makeRunnableDist(join(boards.work, 'dist'), {
      version: '1.0.0',
      targets: [x86],
      plugin: true,
      components: { dockerd: '1.0.0', containerd: '1.0.0', runc: '1.0.0', docker: '1.0.0' },
      binaryPadding: 512 * 1024,
    });
    const first = await install(one);
    expect(first.exitCode, `${first.stderr}${first.stdout}`).toBe(0);
    expect(await onBoard('readlink /usr/local/lib/docker/cli-plugins/docker-compose')).toBe(
      '/opt/crossdock/current/docker-compose',
    );
    expect(await onBoard('ls /opt/crossdock/versions/1.0.0 | tr "\\n" " "')).toBe(
      'containerd docker docker-compose dockerd runc',
    );
    // As a user runs it: the CLI finds the plugin in its system directory.
    expect(await onBoard('docker compose version 2>&1 || echo "no plugin"')).toBe('Docker Compose version v1.0.0');
    expect(await onBoard('ls -l /usr/local/bin | grep -c docker-compose || true')).toBe('0');

    // Only compose changes (its version line).
    const two = await makeRunnableDist(join(boards.work, 'dist'), {
      version: '1.1.0',
      targets: [x86],
      plugin: true,
      components: { dockerd: '1.0.0', containerd: '1.0.0', runc: '1.0.0', docker: '1.0.0' },
      binaryPadding: 512 * 1024,
    });
    const upgrade = await install(two);
    expect(upgrade.exitCode, `${upgrade.stderr}${upgrade.stdout}`).toBe(0);
    // The four unchanged binaries (2 MB of noise) stay on the board; the plugin alone travels.
    const sentFirst = first.report.hosts?.[0]?.bytesSent ?? 0;
    const sentUpgrade = upgrade.report.hosts?.[0]?.bytesSent ?? Infinity;
    expect(sentFirst).toBeGreaterThan(2 * 1024 * 1024);
    expect(sentUpgrade).toBeLessThan(sentFirst / 4);
    expect(await onBoard('docker compose version')).toBe('Docker Compose version v1.1.0');

    const back = await boards.cli(['fleet', 'rollback', '--inventory', boards.inventoryFile]);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(await onBoard('docker compose version')).toBe('Docker Compose version v1.0.0');
  });

  it('switches back when the plugin does not answer through the CLI as the build recorded', async () => {
    if (!boards) throw new Error('no boards');
    const good = await makeRunnableDist(join(boards.work, 'bad-dist'), {
      version: '2.0.0',
      targets: [x86],
      plugin: true,
    });
    // A manifest that expects another line from the CLI than this plugin gives: the health check fails.
    const file = join(good, 'manifest.json');
    const text = (await readFile(file, 'utf8')).replace(
      /("plugin": \{\s*"command": "compose",\s*"firstLine": ")Docker Compose version v2\.0\.0/,
      '$1Docker Compose version v9.9.9',
    );
    await writeFile(file, text);
    await writeFile(
      join(good, 'SHA256SUMS'),
      (await readFile(join(good, 'SHA256SUMS'), 'utf8')).replace(/^[0-9a-f]{64}(?= {2}manifest\.json$)/m, sha256(text)),
    );
    const before = await onBoard('readlink /opt/crossdock/current');
    const result = await install(good);
    expect(result.exitCode).not.toBe(0);
    expect(`${result.stderr}${result.stdout}`).toMatch(/health/i);
    expect(await onBoard('readlink /opt/crossdock/current')).toBe(before);
  });
});
