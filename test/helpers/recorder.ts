/**
 * A board whose sshd records every command it is asked to run (ForceCommand), one base64 line
 * each, before running it: what a test reads to know what crossdock asked of a board.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const RECORDED_LOG = '/var/log/crossdock-recorded-commands';

// Runs what the client asked for, after noting it (one base64 line each, so scripts stay one line).
const RECORDER = `#!/bin/sh
line=$(printf '%s' "$SSH_ORIGINAL_COMMAND" | base64 -w0)
# One write per command: concurrent sessions append whole lines.
printf '%s\\n' "$line" >> ${RECORDED_LOG}
case "$SSH_ORIGINAL_COMMAND" in
  sftp|internal-sftp) exec /usr/lib/openssh/sftp-server ;;
esac
exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"
`;

/** The recorder in the board's writable layer, and sshd told to read its configuration again. */
export async function installRecorder(
  boardDirectory: string,
  onBoard: (command: string) => Promise<unknown>,
): Promise<void> {
  const upper = join(boardDirectory, 'upper');
  await mkdir(join(upper, 'usr/local/sbin'), { recursive: true });
  await writeFile(join(upper, 'usr/local/sbin/crossdock-record'), RECORDER);
  await chmod(join(upper, 'usr/local/sbin/crossdock-record'), 0o755);
  await writeFile(join(upper, 'etc/ssh/sshd_config.d/record.conf'), 'ForceCommand /usr/local/sbin/crossdock-record\n');
  // sshd re-executes itself on SIGHUP and reads the new configuration; open sessions stay.
  await onBoard('kill -HUP "$(cat /run/sshd.pid)"; sleep 1');
}

/** Every command recorded so far, decoded. */
export async function recordedCommands(boardDirectory: string): Promise<string[]> {
  const log = await readFile(join(boardDirectory, 'upper', RECORDED_LOG.slice(1)), 'utf8').catch(() => '');
  return log
    .split('\n')
    .filter(Boolean)
    .map((line) => Buffer.from(line, 'base64').toString('utf8'));
}
