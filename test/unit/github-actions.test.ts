import { describe, expect, it } from 'vitest';
import { actionArguments, readInputs } from '../../src/action.js';
import {
  errorAnnotation,
  escapeData,
  hostsSummary,
  outputEntry,
  workflowCommand,
} from '../../src/ui/github-actions.js';

describe('GitHub Actions workflow commands', () => {
  it('escapes what would end or split a command', () => {
    expect(escapeData('50% done\r\nnext')).toBe('50%25 done%0D%0Anext');
    expect(workflowCommand('error', { file: 'a,b:c.yaml', line: 3, col: undefined }, 'x\ny')).toBe(
      '::error file=a%2Cb%3Ac.yaml,line=3::x%0Ay',
    );
  });

  it('pins an error that names file:line:column to that place, hint on the next line', () => {
    expect(errorAnnotation('crossdock.yaml:12:5: build.jobs: expected a number', 'e.g. jobs: 2')).toBe(
      '::error file=crossdock.yaml,line=12,col=5,title=crossdock::build.jobs: expected a number%0Ae.g. jobs: 2',
    );
    expect(
      errorAnnotation(
        '/home/runner/work/r/r/ci/crossdock.yaml:3:9 build.jobs: expected number',
        undefined,
        '/home/runner/work/r/r',
      ),
    ).toBe('::error file=ci/crossdock.yaml,line=3,col=9,title=crossdock::build.jobs: expected number');
    expect(errorAnnotation('no board in the inventory is a supported target')).toBe(
      '::error title=crossdock::no board in the inventory is a supported target',
    );
  });

  it('writes outputs in the delimiter form, refusing a value that holds the delimiter', () => {
    expect(outputEntry('report', '{\n"a": 1\n}', 'EOF_1')).toBe('report<<EOF_1\n{\n"a": 1\n}\nEOF_1\n');
    expect(() => outputEntry('x', 'EOF_1', 'EOF_1')).toThrow('collides');
  });

  it('summarises hosts with failures called out', () => {
    const text = hostsSummary('1.0.0', [
      {
        name: 'pi|1',
        target: 'armv6',
        status: 'installed',
        activeVersion: '1.0.0',
        health: 'ok',
        bytesSent: 2 * 1024 * 1024,
      },
      {
        name: 'pi2',
        target: 'armv7',
        status: 'rolled-back',
        activeVersion: '0.9.0',
        health: 'failed',
        bytesSent: 0,
        error: 'pi2: health failed',
      },
    ]);
    expect(text).toContain('| pi\\|1 | armv6 | installed | 1.0.0 | — | ✅ ok | 2.0 MiB |');
    expect(text).toContain('| pi2 | armv7 | **rolled-back** | 0.9.0 | — | ❌ failed | 0.0 KiB |');
    expect(text).toContain('- pi2: pi2: health failed');
  });
});

describe('the action entry point', () => {
  it('reads INPUT_* the way a runner sets them, blanks as absent', () => {
    expect(readInputs({ INPUT_COMMAND: ' build ', INPUT_TARGETS: 'armv6, armv7', INPUT_TAG: '' })).toEqual({
      command: 'build',
      targets: 'armv6, armv7',
    });
  });

  it('maps inputs to one crossdock command line per command', () => {
    expect(actionArguments({ command: 'build', targets: 'armv6 armv7', version: 'v1.2.3' })).toEqual([
      ['build', '--target', 'armv6,armv7', '--version', 'v1.2.3', '--json'],
    ]);
    expect(actionArguments({ command: 'release', from: 'd/a d/b', repo: 'o/n', tag: 'v1' })).toEqual([
      ['release', 'd/a', 'd/b', '--repo', 'o/n', '--tag', 'v1', '--json'],
    ]);
    expect(
      actionArguments({ command: 'install', inventory: 'i.yaml', repo: 'o/n', tag: 'v1', args: '--canary 1' }),
    ).toEqual([['install', '--inventory', 'i.yaml', '--release', 'o/n@v1', '--json', '--canary', '1']]);
    expect(actionArguments({})).toEqual([['pipeline', '--json']]);
    // args split as a shell would: commas stay inside a flag's value, quotes keep a value whole.
    expect(
      actionArguments({ command: 'build', args: `--component runc,containerd --version "1.2.3" --out-dir 'my dist'` }),
    ).toEqual([['build', '--json', '--component', 'runc,containerd', '--version', '1.2.3', '--out-dir', 'my dist']]);
    expect(actionArguments({ command: 'setup', config: 'ci/crossdock.yaml' })).toEqual([
      ['toolchain', 'setup', '--config', 'ci/crossdock.yaml', '--json'],
    ]);
    expect(() => actionArguments({ command: 'build', args: '--version "1.2' })).toThrow(
      'action input args: the " quote opened there is never closed',
    );
  });

  it('refuses an unknown command and an input the command does not take', () => {
    expect(() => actionArguments({ command: 'deploy' })).toThrow(
      'is not one of setup, build, release, install, pipeline',
    );
    expect(() => actionArguments({ command: 'build', inventory: 'i.yaml' })).toThrow(
      'action input inventory does not apply to command build',
    );
    expect(() => actionArguments({ command: 'install', from: 'dist', repo: 'o/n', tag: 'v1' })).toThrow('both given');
  });
});
