import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI } from './cli.js';

/**
 * Linux ≥ 6.7 gives each user namespace its own binfmt_misc instance: inside
 * `unshare --user --map-root-user --mount` tests register handlers freely and the host's own
 * handlers are never touched.
 */
export function canUseBinfmtNamespace(): boolean {
  try {
    execFileSync(
      'unshare',
      [
        '-Urm',
        'sh',
        '-c',
        'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && test -e /proc/sys/fs/binfmt_misc/register',
      ],
      { stdio: 'ignore' },
    );
    return true;
  } catch {
    return false;
  }
}

export interface StepResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs steps in one fresh user+mount namespace (one binfmt_misc instance) and returns each
 * step's output. A step is a shell command line; `crossdock` in it is the built bin.
 * binfmt_misc starts unmounted there, as on a fresh host: crossdock has to mount it. A host
 * whose binfmt_misc is mounted (systemd's, or `toolchain setup`'s) passes that mount on, locked:
 * an empty tmpfs over it gives the namespace the unmounted state back.
 */
export async function inBinfmtNamespace(
  directory: string,
  steps: Record<string, string>,
  env: Record<string, string> = {},
): Promise<Record<string, StepResult>> {
  const names = Object.keys(steps);
  const script = [
    'if [ -e /proc/sys/fs/binfmt_misc/register ]; then mount -t tmpfs crossdock-unmounted /proc/sys/fs/binfmt_misc; fi',
    `crossdock() { node ${JSON.stringify(CLI)} "$@"; }`,
    ...names.map(
      (name, index) =>
        `( ${steps[name] ?? ''} ) >${directory}/${index}.out 2>${directory}/${index}.err; echo $? >${directory}/${index}.code`,
    ),
  ].join('\n');
  await execa('unshare', ['-Urm', 'sh', '-c', script], { env: { ...env, CI: 'true' } });
  return Object.fromEntries(
    names.map((name, index) => [
      name,
      {
        stdout: readFileSync(join(directory, `${index}.out`), 'utf8'),
        stderr: readFileSync(join(directory, `${index}.err`), 'utf8'),
        exitCode: Number(readFileSync(join(directory, `${index}.code`), 'utf8').trim()),
      },
    ]),
  );
}
