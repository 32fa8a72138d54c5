import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const CLI = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

/** Runs the built bin, as a user would, and never throws on a non-zero exit. */
export function crossdock(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return execa(process.execPath, [CLI, ...args], {
    reject: false,
    cwd: options.cwd,
    env: { ...options.env, CI: 'true' },
  });
}
