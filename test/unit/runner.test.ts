import { describe, expect, it } from 'vitest';
import { briefCommand, CommandFailedError, ExitCode, MissingPrerequisiteError } from '../../src/errors.js';
import { LocalRunner } from '../../src/exec/local-runner.js';
import { Redactor } from '../../src/exec/redact.js';
import { formatCommand, shellQuote } from '../../src/exec/runner.js';
import { tempTree } from '../helpers/temp.js';

const AWKWARD = [
  'plain',
  'two words',
  "it's",
  '$HOME',
  '`id`',
  'a"b',
  'semi;colon',
  '*',
  '',
  'new\nline',
  'tab\there',
  '-n',
  '\\',
  "'",
  "''",
  'ünïcødé',
  '~user',
  '!bang',
  '#hash',
  'x=$(id)',
];

describe('LocalRunner', () => {
  it('passes arguments through untouched: no shell sees them', async () => {
    const runner = new LocalRunner();
    const result = await runner.run('printf', ['%s\\0', ...AWKWARD]);
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(AWKWARD);
    expect(result.exitCode).toBe(0);
  });

  it('feeds input, sets cwd and env', async () => {
    const cwd = await tempTree({ 'here.txt': 'x' });
    const runner = new LocalRunner();
    const result = await runner.run('sh', ['-c', 'cat; ls; printf "%s" "$CROSSDOCK_TEST"'], {
      cwd,
      input: 'from stdin\n',
      env: { CROSSDOCK_TEST: 'env ok' },
    });
    expect(result.stdout).toBe('from stdin\nhere.txt\nenv ok');
  });

  it('throws CommandFailedError with the exit code and the tail of stderr', async () => {
    const runner = new LocalRunner();
    const failing = runner.run('sh', ['-c', 'for i in 1 2 3 4 5 6 7; do echo "line $i" >&2; done; exit 3']);
    await expect(failing).rejects.toBeInstanceOf(CommandFailedError);
    await expect(failing).rejects.toMatchObject({
      commandExitCode: 3,
      exitCode: ExitCode.Failure,
      message:
        'local: `sh -c \'for i in 1 2 3 4 5 6 7; do echo "line $i" >&2; done; exit 3\'` exited with 3: line 3 | line 4 | line 5 | line 6 | line 7',
    });
  });

  it('returns a non-zero exit when told failure is allowed', async () => {
    const result = await new LocalRunner().run('sh', ['-c', 'echo out; exit 7'], {
      allowFailure: true,
    });
    expect(result).toMatchObject({ exitCode: 7, stdout: 'out\n', skipped: false });
  });

  it('maps a missing command to exit code 3 with a hint', async () => {
    const attempt = new LocalRunner().run('crossdock-no-such-tool', ['--version']);
    await expect(attempt).rejects.toBeInstanceOf(MissingPrerequisiteError);
    await expect(attempt).rejects.toMatchObject({
      exitCode: 3,
      message: 'crossdock-no-such-tool: command not found on this host',
    });
  });

  it('reports a timeout', async () => {
    await expect(new LocalRunner().run('sleep', ['5'], { timeoutMs: 200 })).rejects.toThrow(/timed out after 200 ms/);
  });

  it('skips commands that change the system under dry-run, and still runs the ones that look', async () => {
    const directory = await tempTree();
    const lines: string[] = [];
    const runner = new LocalRunner({ dryRun: true, log: (line) => lines.push(line) });
    const skipped = await runner.run('touch', [`${directory}/made by dry run`], { mutates: true });
    expect(skipped).toMatchObject({ skipped: true, exitCode: 0 });
    const looked = await runner.run('ls', ['-A', directory]);
    expect(looked.stdout).toBe('');
    expect(lines).toEqual([`would run: touch '${directory}/made by dry run'`]);
  });

  it('streams output lines as they come', async () => {
    const seen: Array<[string, string]> = [];
    await new LocalRunner().run('sh', ['-c', 'echo one; echo two >&2; printf three'], {
      onOutput: (line, stream) => seen.push([stream, line]),
    });
    expect(seen).toContainEqual(['stdout', 'one']);
    expect(seen).toContainEqual(['stderr', 'two']);
    expect(seen).toContainEqual(['stdout', 'three']);
  });

  it('hides secrets in the command line, output, errors and dry-run log', async () => {
    const token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
    const lines: string[] = [];
    const runner = new LocalRunner({
      secrets: ['s3cret-passphrase'],
      log: (line) => lines.push(line),
      dryRun: true,
    });
    const shown = await runner.run('echo', ['s3cret-passphrase', token]);
    expect(shown.command).toBe('echo *** ***');
    expect(shown.stdout).toBe('*** ***\n');
    const fromEnv = await runner.run('sh', ['-c', 'echo "$UPLOAD_TOKEN"'], {
      env: { UPLOAD_TOKEN: 'value-of-the-token' },
    });
    expect(fromEnv.stdout).toBe('***\n');
    await runner.run('curl', ['-H', `Authorization: token ${token}`], { mutates: true });
    expect(lines).toEqual(["would run: curl -H 'Authorization: token ***'"]);
    const failing = new LocalRunner({ secrets: ['s3cret-passphrase'] }).run('sh', [
      '-c',
      'echo "bad s3cret-passphrase" >&2; exit 1',
    ]);
    await expect(failing).rejects.toThrow(/exited with 1: bad \*\*\*$/);
    await expect(failing).rejects.not.toThrow(/s3cret/);
  });
});

describe('shellQuote', () => {
  it('round-trips awkward arguments through a real POSIX shell', async () => {
    const runner = new LocalRunner();
    const script = `printf '%s\\0' ${AWKWARD.map(shellQuote).join(' ')}`;
    for (const shell of ['sh', 'bash']) {
      const { stdout } = await runner.run(shell, ['-c', script]);
      expect(stdout.split('\0').slice(0, -1)).toEqual(AWKWARD);
    }
  });

  it('leaves plain words alone so logs stay readable', () => {
    expect(formatCommand('apt-get', ['install', '-y', 'crossbuild-essential-armel', 'libseccomp-dev:armel'])).toBe(
      'apt-get install -y crossbuild-essential-armel libseccomp-dev:armel',
    );
  });
});

describe('what errors and logs show (#17 lows)', () => {
  it('hides GitHub tokens of any length, classic 40-hex tokens used as credentials, and URL passwords', () => {
    const redactor = new Redactor();
    const hex = 'a'.repeat(20) + '0123456789abcdef0123';
    expect(redactor.redact('token ghs_short_token1 and ghp_abcdefgh')).toBe('token *** and ***');
    expect(redactor.redact(`Authorization: token ${hex}`)).toBe('Authorization: token ***');
    expect(redactor.redact(`curl -H 'Authorization: Bearer ${hex}'`)).toBe("curl -H 'Authorization: Bearer ***'");
    expect(redactor.redact('git fetch https://x-access-token:s3cr3t@github.com/a/b.git')).toBe(
      'git fetch https://x-access-token:***@github.com/a/b.git',
    );
    // A bare 40-hex is a commit, which output must keep (git ls-remote is read from it).
    expect(redactor.redact(`${hex}\trefs/tags/v1.0.0`)).toBe(`${hex}\trefs/tags/v1.0.0`);
  });

  it('cuts a long board script to its start in an error line', () => {
    expect(briefCommand('sh -c true')).toBe('sh -c true');
    const script = `sh -c 'set -e\n${'echo step\n'.repeat(40)}'`;
    expect(briefCommand(script)).toBe("sh -c 'set -e … (42 lines)");
    expect(briefCommand('x'.repeat(300))).toBe(`${'x'.repeat(120)} … (1 lines)`);
  });
});

describe('Redactor', () => {
  it('masks the longest secret first and ignores values too short to be secrets', () => {
    const redactor = new Redactor(['abc', 'token-1234', 'token-1234-extended']);
    expect(redactor.redact('token-1234-extended token-1234 abc')).toBe('*** *** abc');
  });

  it('finds secrets by variable name', () => {
    const redactor = new Redactor();
    redactor.addFromEnvironment({
      GITHUB_TOKEN: 'tok-value-1',
      HOME: '/root',
      SSH_PASSPHRASE: 'pass-value-2',
    });
    expect(redactor.redact('tok-value-1 /root pass-value-2')).toBe('*** /root ***');
  });
});
