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
