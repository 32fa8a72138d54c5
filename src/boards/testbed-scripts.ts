/**
 * The shell the test bed runs (src/boards/scripts/*.sh, shellcheck'ed by `npm run lint`): each a
 * file that takes named environment variables, read once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

export type TestbedScriptName = 'namespace-init' | 'second-stage' | 'uname-shim' | 'vm-seed';

const texts = new Map<TestbedScriptName, string>();

/** The text of src/boards/scripts/NAME.sh. */
export function testbedScript(name: TestbedScriptName): string {
  let text = texts.get(name);
  if (text === undefined) {
    text = readFileSync(join(packageRoot(), 'src', 'boards', 'scripts', `${name}.sh`), 'utf8');
    texts.set(name, text);
  }
  return text;
}
