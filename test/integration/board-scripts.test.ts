/**
 * The board scripts (src/install/scripts/*.sh) as a board runs them: the whole text crossdock
 * sends (layout, library, inputs, script), under each POSIX shell a board may have as /bin/sh:
 * dash (Debian, Raspberry Pi OS), busybox sh (Alpine, OpenWrt, small images) and bash.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  type BoardScriptName,
  boardScript,
  PENDING_OURS,
  reconfigureWatchdogAction,
  revertWhilePending,
  tlsApplyScript,
  tlsWatchdogAction,
  watchdogPidFile,
  withLibrary,
} from '../../src/install/board-scripts.js';
import { tarBuffer } from '../../src/builder/tar.js';
import { parseBoardState } from '../../src/install/board-facts.js';
import { boardLayout, type BoardLayout } from '../../src/install/plan.js';
import { splitSections } from '../../src/install/fact-sections.js';
import { tempTree } from '../helpers/temp.js';
import { requireTools } from '../helpers/tools.js';

const SCRIPTS = join(import.meta.dirname, '..', '..', 'src', 'install', 'scripts');
const SHELLS: Array<[string, string[]]> = [
  ['dash', ['dash']],
  ['busybox sh', ['busybox', 'sh']],
  ['bash --posix', ['bash', '--posix']],
];
const ready = requireTools('dash', 'busybox', 'bash', 'flock', 'setsid');

/** A board laid out in a temporary folder: the install root and the places it links into. */
async function board(): Promise<BoardLayout> {
  const top = await tempTree();
  const at = {
    ...boardLayout(join(top, 'opt')),
    bin: join(top, 'bin'),
    plugins: join(top, 'plugins'),
    units: join(top, 'units'),
    daemonConfig: join(top, 'etc', 'daemon.json'),
    tls: join(top, 'etc', 'tls'),
    dropIn: join(top, 'units', 'docker.service.d', 'crossdock-remote-api.conf'),
  };
  for (const version of ['1.0.0', '2.0.0']) {
    await mkdir(join(at.versions, version), { recursive: true });
    await writeFile(join(at.versions, version, 'dockerd'), `#!/bin/sh\necho ${version}\n`, { mode: 0o755 });
  }
  await writeFile(join(at.versions, '2.0.0', 'docker-compose'), '', { mode: 0o755 });
  await writeFile(join(at.versions, '2.0.0.daemon.json'), '{"debug":true}\n');
  return at;
}

const randomToken = () =>
  Array.from({ length: 16 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)] ?? '0').join('');

describe.runIf(ready)('board scripts under dash, busybox sh and bash', () => {
  it('every script parses, as the whole text crossdock sends', async () => {
    const names = readdirSync(SCRIPTS)
      .filter((file) => file.endsWith('.sh') && file !== 'lib.sh')
      .map((file) => file.slice(0, -'.sh'.length) as BoardScriptName);
    expect(names.length).toBeGreaterThan(8);
    for (const [shell, command] of SHELLS) {
      for (const name of names) {
        const parsed = await execa(command[0] ?? 'sh', [...command.slice(1), '-n'], {
          input: boardScript(name),
          reject: false,
        });
        expect(`${shell} ${name}: ${parsed.stderr}`).toBe(`${shell} ${name}: `);
      }
    }
  });

  it('a fact script carries the fact library alone, nothing that could change a board', () => {
    for (const name of ['state', 'smoke', 'server-check'] as const) {
      const script = boardScript(name);
      expect([name, script.includes('section() {'), /restart_daemons|mv -T|current\.new/.test(script)]).toEqual([
        name,
        true,
        false,
      ]);
    }
    expect(boardScript('switch')).toContain('restart_daemons()');
  });

  it("a watchdog's script has no dollar-brace expansion: systemd-run's PID 1 would replace it with nothing first", () => {
    // PID 1 expands ${NAME…} in a transient unit's arguments from its own environment (systemd
    // 252 has no --expand-environment=no), operators and all: "${a%/*}" reached the shell as "".
    const token = '0123456789abcdef';
    for (const action of [
      revertWhilePending(token, true),
      reconfigureWatchdogAction(token, '1.0.0', true),
      tlsWatchdogAction(token, true),
    ])
      expect(action).not.toContain('${');
  });

  it.each(SHELLS)('%s: switch, commit, then a switch the revert undoes', async (_shell, command) => {
    const at = await board();
    const run = (script: string, input = '') =>
      execa(command[0] ?? 'sh', [...command.slice(1), '-c', script], { input, reject: false });
    await mkdir(at.root, { recursive: true });
    const first = randomToken();
    const switched = await run(
      boardScript(
        'switch',
        {
          VERSION: '2.0.0',
          TOKEN: first,
          WATCHDOG_SECONDS: 3600,
          SYSTEMD: false,
          WATCHDOG_ACTION: 'true',
          BINARIES: 'dockerd\ndocker-compose',
          PLUGINS: 'docker-compose',
        },
        at,
      ),
      '{"version":"2.0.0"}\n',
    );
    expect(switched.exitCode, switched.stderr).toBe(0);
    expect(readlinkSync(at.current)).toBe('versions/2.0.0');
    expect(readlinkSync(join(at.bin, 'dockerd'))).toBe(`${at.current}/dockerd`);
    // The plugin goes to the CLI's plugin directory, not beside the others.
    expect(readlinkSync(join(at.plugins, 'docker-compose'))).toBe(`${at.current}/docker-compose`);
    expect(existsSync(join(at.bin, 'docker-compose'))).toBe(false);
    expect(await readFile(join(at.versions, '2.0.0.json'), 'utf8')).toBe('{"version":"2.0.0"}\n');
    expect(await readFile(at.daemonConfig, 'utf8')).toBe('{"debug":true}\n');
    expect(await readFile(join(at.root, 'pending'), 'utf8')).toBe(`\n${first}\n\n`);
    // The sleeper is armed (no systemd here) and the commit ends it.
    expect(existsSync(watchdogPidFile(first))).toBe(true);
    const committed = await run(boardScript('commit', { TOKEN: first, PRUNE: '' }, at));
    expect(committed.stdout).toContain(PENDING_OURS);
    expect(existsSync(join(at.root, 'pending'))).toBe(false);
    expect(existsSync(watchdogPidFile(first))).toBe(false);

    // A second switch, reverted: back to 2.0.0 with 2.0.0's daemon.json, previous as it was.
    const second = randomToken();
    await writeFile(join(at.versions, '1.0.0.daemon.json'), '');
    const again = await run(
      boardScript(
        'switch',
        {
          VERSION: '1.0.0',
          TOKEN: second,
          WATCHDOG_SECONDS: 3600,
          SYSTEMD: false,
          WATCHDOG_ACTION: 'true',
          BINARIES: 'dockerd',
          PLUGINS: '',
        },
        at,
      ),
      '{}\n',
    );
    expect(again.exitCode, again.stderr).toBe(0);
    expect(readlinkSync(at.previous)).toBe('versions/2.0.0');
    // An empty record: the version ran with no daemon.json.
    expect(existsSync(at.daemonConfig)).toBe(false);
    const reverted = await run(withLibrary('revert', {}, at));
    expect(reverted.exitCode, reverted.stderr).toBe(0);
    expect(readlinkSync(at.current)).toBe('versions/2.0.0');
    expect(existsSync(at.previous)).toBe(false);
    expect(await readFile(at.daemonConfig, 'utf8')).toBe('{"debug":true}\n');
    expect(existsSync(watchdogPidFile(second))).toBe(false);
  });

  it.each(SHELLS)(
    '%s: the state and smoke facts, in the one format every fact script prints',
    async (_shell, command) => {
      const at = await board();
      const run = (script: string) => execa(command[0] ?? 'sh', [...command.slice(1), '-c', script], { reject: false });
      const fresh = parseBoardState((await run(boardScript('state', {}, at))).stdout);
      expect(fresh).toMatchObject({ current: null, pending: null, versions: ['1.0.0', '2.0.0'], incoming: [] });
      await mkdir(join(at.root, 'incoming'), { recursive: true });
      await mkdir(join(at.versions, '3.0.0.partial'));
      await writeFile(join(at.root, 'incoming', 'docker-2.0.0-armv6.tgz'), '');
      await writeFile(join(at.root, 'pending'), 'versions/1.0.0\n0123456789abcdef\n\n');
      await writeFile(join(at.root, 'reconfigure-pending'), '2.0.0\nfedcba9876543210\n');
      await symlink('versions/2.0.0', at.current);
      await mkdir(dirname(at.daemonConfig), { recursive: true });
      await writeFile(at.daemonConfig, '{}\n');
      const state = parseBoardState((await run(boardScript('state', {}, at))).stdout);
      expect(state).toMatchObject({
        current: '2.0.0',
        previous: null,
        pending: '0123456789abcdef',
        reconfigurePending: { version: '2.0.0', token: 'fedcba9876543210' },
        // A .partial folder is no version.
        versions: ['1.0.0', '2.0.0'],
        incoming: ['docker-2.0.0-armv6.tgz'],
        daemonConfig: createHash('sha256').update('{}\n').digest('hex'),
      });

      // A version's checks: its own smoke command, a binary that need only be there, and a plugin
      // through the version's docker CLI with a plugin directory of its own.
      const v = join(at.versions, '2.0.0');
      await writeFile(join(v, 'docker'), '#!/bin/sh\nexec "$DOCKER_CONFIG/cli-plugins/docker-$1" "$@"\n', {
        mode: 0o755,
      });
      await writeFile(join(v, 'docker-compose'), '#!/bin/sh\necho "Docker Compose version v2.40.3 ($*)"\n', {
        mode: 0o755,
      });
      const checks = [
        `run 0 ${v}/dockerd --version`,
        `exists 1 ${v}/runc`,
        `plugin 2 ${v}/docker ${v}/docker-compose compose`,
      ];
      const facts = splitSections((await run(boardScript('smoke', { CHECKS: checks.join('\n') }, at))).stdout);
      expect(Object.fromEntries(facts)).toEqual({
        '0.out': '2.0.0',
        '0.err': '',
        '0.rc': '0',
        '1.out': '',
        '1.err': '',
        '1.rc': '1',
        '2.out': 'Docker Compose version v2.40.3 (compose version)',
        '2.err': '',
        '2.rc': '0',
        end: '',
      });
    },
  );

  /** A board whose systemctl and docker are stand-ins: a restart of docker that takes `restartSeconds`, a docker that answers or not. */
  async function tlsBoard(options: { restartSeconds: number; answers: boolean }) {
    const at = await board();
    const fake = join(dirname(at.root), 'fake-bin');
    await mkdir(fake, { recursive: true });
    const log = join(fake, 'calls');
    await writeFile(
      join(fake, 'systemctl'),
      `#!/bin/sh\necho "systemctl $*" >> ${log}\ncase "$*" in "restart docker") sleep ${String(options.restartSeconds)} ;; esac\n`,
      { mode: 0o755 },
    );
    await writeFile(join(fake, 'docker'), `#!/bin/sh\n${options.answers ? 'echo 29.0.0' : 'exit 1'}\n`, {
      mode: 0o755,
    });
    // The certificates the board runs with now.
    await mkdir(at.tls, { recursive: true });
    await writeFile(join(at.tls, 'ca.pem'), 'old CA\n');
    await writeFile(join(at.tls, 'remote-api.conf'), 'old drop-in\n');
    await mkdir(dirname(at.dropIn), { recursive: true });
    await writeFile(at.dropIn, 'old drop-in\n');
    const archive = await tarBuffer(
      [
        ['ca.pem', 'new CA\n'],
        ['server-cert.pem', 'new cert\n'],
        ['server-key.pem', 'new key\n'],
        ['remote-api.conf', 'new drop-in\n'],
      ].map(([path = '', content = '']) => ({
        path,
        type: 'file' as const,
        mode: 0o644,
        content: Buffer.from(content),
      })),
      0,
    );
    const env = { PATH: `${fake}:${process.env.PATH ?? ''}` };
    /** The apply as sent, with its watchdog's deadline and how long it waits for dockerd. */
    const script = (token: string, seconds: number, awaitTries: number) =>
      tlsApplyScript({ token, seconds, docker: join(fake, 'docker'), awaitTries, systemd: false }, at);
    return { at, log, archive, env, script };
  }

  it('a TLS apply whose dockerd answers commits: the new files, no pending, no watchdog', async () => {
    const { at, archive, env, script: applyScript } = await tlsBoard({ restartSeconds: 0, answers: true });
    const token = randomToken();
    const script = applyScript(token, 3600, 2);
    const applied = await execa('dash', ['-c', script], { input: archive, env, reject: false });
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(await readFile(join(at.tls, 'ca.pem'), 'utf8')).toBe('new CA\n');
    expect(await readFile(at.dropIn, 'utf8')).toBe('new drop-in\n');
    expect([
      existsSync(`${at.tls}.old`),
      existsSync(join(at.root, 'tls-pending')),
      existsSync(watchdogPidFile(token)),
    ]).toEqual([false, false, false]);
  });

  it('a link cut while dockerd restarts with new TLS files: the watchdog puts the old certificates back', async () => {
    const { at, log, archive, env, script: applyScript } = await tlsBoard({ restartSeconds: 30, answers: true });
    const token = randomToken();
    const script = applyScript(token, 2, 2);
    // The session's shell dies mid-restart, as sshd's does when the link goes.
    const apply = execa('dash', ['-c', script], { input: archive, env, reject: false, detached: true });
    let calls = '';
    for (let i = 0; i < 200 && !calls.includes('restart docker'); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      calls = await readFile(log, 'utf8').catch(() => '');
    }
    expect(calls).toContain('restart docker');
    // Mid-change: the new files are in place, nothing committed.
    expect(await readFile(at.dropIn, 'utf8')).toBe('new drop-in\n');
    process.kill(-(apply.pid ?? 0), 'SIGKILL');
    await apply;
    // The watchdog (2 s) takes tls-pending away when it has put the old files back: wait for that.
    for (let i = 0; i < 150 && existsSync(join(at.root, 'tls-pending')); i += 1)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await readFile(join(at.tls, 'ca.pem'), 'utf8')).toBe('old CA\n');
    expect(existsSync(join(at.tls, 'server-cert.pem'))).toBe(false);
    expect(await readFile(at.dropIn, 'utf8')).toBe('old drop-in\n');
    expect([
      existsSync(`${at.tls}.old`),
      existsSync(join(at.root, 'tls-pending')),
      existsSync(watchdogPidFile(token)),
    ]).toEqual([false, false, false]);
  });

  it('a TLS apply whose dockerd does not come back switches back at once and says so (exit 3)', async () => {
    const { at, archive, env, log, script: applyScript } = await tlsBoard({ restartSeconds: 0, answers: false });
    const token = randomToken();
    const script = applyScript(token, 3600, 1);
    const applied = await execa('dash', ['-c', script], { input: archive, env, reject: false });
    expect(applied.exitCode).toBe(3);
    expect(await readFile(join(at.tls, 'ca.pem'), 'utf8')).toBe('old CA\n');
    expect(await readFile(at.dropIn, 'utf8')).toBe('old drop-in\n');
    // Restarted twice: with the new files, then with the old ones.
    expect((await readFile(log, 'utf8')).match(/restart docker/g)).toHaveLength(2);
    expect(existsSync(watchdogPidFile(token))).toBe(false);
  });

  it.each(SHELLS)('%s: the revert stops where the install root is missing', async (_shell, command) => {
    const at = await board();
    const elsewhere = await tempTree({ pending: 'versions/1.0.0\nffffffffffffffff\n\n' });
    const reverted = await execa(
      command[0] ?? 'sh',
      [...command.slice(1), '-c', withLibrary('revert', {}, { ...at, root: join(at.root, 'missing') })],
      { cwd: elsewhere, reject: false },
    );
    expect(reverted.exitCode).toBe(1);
    // Nothing of the revert ran where the shell happened to be.
    expect(readdirSync(elsewhere)).toEqual(['pending']);
  });
});
