import { execFileSync } from 'node:child_process';

export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v "$1"`, 'sh', command], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Tests that need real compilers or QEMU skip on a developer machine without them, but on CI
 * (.ci/run installs them) a missing tool is a failure, not a skip.
 */
export function requireTools(...commands: string[]): boolean {
  const missing = commands.filter((command) => !hasCommand(command));
  if (missing.length > 0 && process.env.CI) {
    throw new Error(`CI must install ${missing.join(', ')} (see .ci/run)`);
  }
  return missing.length === 0;
}

/**
 * The suites that bring up boards need root (namespaces, sshd as the boards' root). .ci/run runs
 * as root, so there a suite that would skip for want of it is a failure instead.
 */
export function requireRoot(): boolean {
  const root = process.getuid?.() === 0;
  if (!root && process.env.CI) throw new Error('CI must run the tests as root (see .ci/run)');
  return root;
}
