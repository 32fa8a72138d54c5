/**
 * The GitHub Action: action.yml's inputs and outputs match what the entry point handles, the
 * workflows use only what the action declares, and the entry point, run with the environment a
 * runner gives it, builds for real and writes its outputs and job summary.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ACTION_INPUTS } from '../../src/action.js';
import { crossdock } from '../helpers/cli.js';
import { fixtureRepository } from '../helpers/git.js';
import { requireTools } from '../helpers/tools.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ACTION = join(ROOT, 'dist/action.js');

interface ActionFile {
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string; value: string }>;
  runs: { using: string; steps: Array<{ id?: string; uses?: string; run?: string; env?: Record<string, string> }> };
}

interface Workflow {
  jobs: Record<string, { steps: Array<{ id?: string; uses?: string; with?: Record<string, unknown> }> }>;
}

async function workflows(): Promise<Array<{ file: string; workflow: Workflow; text: string }>> {
  const files = [
    ...(await readdir(join(ROOT, '.github/workflows'))).map((f) => join(ROOT, '.github/workflows', f)),
    ...(await readdir(join(ROOT, 'examples/workflows'))).map((f) => join(ROOT, 'examples/workflows', f)),
  ];
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(file, 'utf8');
      return { file, text, workflow: parse(text) as Workflow };
    }),
  );
}

describe('action.yml and the workflows', () => {
  it('every input is passed to the entry point, and the entry point reads no other', async () => {
    const action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8')) as ActionFile;
    expect(action.runs.using).toBe('composite');
    const run = action.runs.steps.find((s) => s.id === 'run');
    expect(run?.run).toContain('dist/action.js');
    const passed = Object.keys(run?.env ?? {}).map((k) => k.replace(/^INPUT_/, '').toLowerCase());
    expect(passed.sort()).toEqual([...ACTION_INPUTS].sort());
    // node-version is the composite's own; every other input reaches the entry point.
    expect(
      Object.keys(action.inputs)
        .filter((i) => i !== 'node-version')
        .sort(),
    ).toEqual([...ACTION_INPUTS].sort());
    for (const [name, value] of Object.entries(run?.env ?? {}))
      expect(value).toBe(`\${{ inputs.${name.replace(/^INPUT_/, '').toLowerCase()} }}`);
  });

  it('every output is one the code writes', async () => {
    const action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8')) as ActionFile;
    const sources = (
      await Promise.all(
        ['src/action.ts', 'src/commands/build.ts', 'src/commands/release.ts', 'src/commands/pipeline.ts'].map((f) =>
          readFile(join(ROOT, f), 'utf8'),
        ),
      )
    ).join('\n');
    for (const [name, output] of Object.entries(action.outputs)) {
      expect(output.value).toBe(`\${{ steps.run.outputs.${name} }}`);
      expect(sources, name).toContain(`setOutput('${name}'`);
    }
  });

  it('workflows pass the action only inputs it declares and read only outputs it has', async () => {
    const action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8')) as ActionFile;
    const found = await workflows();
    expect(found.map((w) => w.file.replace(ROOT, '')).sort()).toEqual([
      '.github/workflows/ci.yml',
      '.github/workflows/release.yml',
      'examples/workflows/docker-for-pis.yml',
    ]);
    let uses = 0;
    for (const { file, workflow, text } of found) {
      const ours = new Set<string>();
      for (const job of Object.values(workflow.jobs))
        for (const step of job.steps) {
          if (step.uses !== './' && !step.uses?.startsWith('crossdock/crossdock@')) continue;
          uses += 1;
          if (step.id) ours.add(step.id);
          for (const input of Object.keys(step.with ?? {}))
            expect(Object.keys(action.inputs), `${file}: ${input}`).toContain(input);
          expect(step.with?.command, file).toBeDefined();
        }
      for (const match of text.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g))
        if (ours.has(match[1] ?? '')) expect(Object.keys(action.outputs), `${file}: ${match[0]}`).toContain(match[2]);
    }
    expect(uses).toBeGreaterThanOrEqual(7);
  });

  it('installs and builds once per checkout of the action: a second use skips npm ci and tsc; a source change does not', async () => {
    const action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8')) as ActionFile;
    const script = (id: string) => action.runs.steps.find((s) => s.id === id)?.run ?? '';
    expect(action.runs.steps.some((s) => s.uses?.startsWith('actions/cache@'))).toBe(true);
    // The action's checkout, with an npm that only notes what it is asked to do.
    const copy = mkdtempSync(join(tmpdir(), 'crossdock-action-path-'));
    try {
      await execa('cp', [
        '-r',
        join(ROOT, 'src'),
        join(ROOT, 'package-lock.json'),
        join(ROOT, 'tsconfig.json'),
        join(ROOT, 'tsconfig.build.json'),
        copy,
      ]);
      const bin = join(copy, 'fake-bin');
      await execa('mkdir', ['-p', bin]);
      await writeFile(
        join(bin, 'npm'),
        `#!/bin/sh\necho "npm $*" >>"${copy}/npm.log"\ncase "$1" in ci) mkdir -p node_modules ;; run) mkdir -p dist && : > dist/action.js ;; esac\n`,
        { mode: 0o755 },
      );
      const use = async () => {
        const outputs = join(copy, 'outputs');
        await writeFile(outputs, '');
        const env = { PATH: `${bin}:${process.env.PATH ?? ''}`, GITHUB_OUTPUT: outputs };
        await execa('bash', ['-e', '-c', script('key')], { cwd: copy, env });
        const key = /^key=(\w+)$/m.exec(await readFile(outputs, 'utf8'))?.[1] ?? '';
        expect(key).toMatch(/^[0-9a-f]{64}$/);
        await execa('bash', ['-e', '-c', script('install')], { cwd: copy, env: { ...env, KEY: key } });
        return key;
      };
      const npmCalls = async () =>
        (await readFile(join(copy, 'npm.log'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
      const first = await use();
      expect(await npmCalls()).toEqual(['npm ci --no-audit --no-fund', 'npm run build']);
      expect(await use()).toBe(first);
      expect(await npmCalls()).toHaveLength(2);
      await writeFile(join(copy, 'src/cli.ts'), '// changed\n', { flag: 'a' });
      expect(await use()).not.toBe(first);
      expect(await npmCalls()).toHaveLength(4);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('the example workflow a user copies', () => {
  it('a run by hand hands no branch name to --version, and the rollout runs where the boards are', async () => {
    const text = await readFile(join(ROOT, 'examples/workflows/docker-for-pis.yml'), 'utf8');
    const workflow = parse(text) as Workflow & {
      on: { workflow_dispatch?: { inputs?: Record<string, unknown> } };
      jobs: Record<string, { 'runs-on': string | string[]; if?: string }>;
    };
    // github.ref_name is "main" on workflow_dispatch: never a version or a tag by itself.
    for (const job of Object.values(workflow.jobs))
      for (const step of job.steps)
        for (const [input, value] of Object.entries(step.with ?? {}))
          if (input === 'version' || input === 'tag') expect(String(value)).not.toBe('${{ github.ref_name }}');
    expect(workflow.on.workflow_dispatch?.inputs).toHaveProperty('version');
    expect(workflow.jobs.release?.if).toContain("github.ref_type == 'tag'");
    // GitHub's hosted runners cannot reach boards on a private LAN.
    expect(workflow.jobs.rollout?.['runs-on']).toContain('self-hosted');
  });
});

describe.runIf(requireTools('cc', 'git'))("the action entry point under a runner's environment", () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'crossdock-action-'));
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  async function runAction(inputs: Record<string, string>, cwd: string) {
    const output = join(work, `output-${Object.values(inputs).join('-').replace(/\W/g, '_')}`);
    const summary = `${output}.md`;
    await writeFile(output, '');
    await writeFile(summary, '');
    const result = await execa(process.execPath, [ACTION], {
      cwd,
      reject: false,
      env: {
        GITHUB_ACTIONS: 'true',
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: summary,
        GITHUB_TOKEN: 'ghs_secret_token_value',
        CI: 'true',
        ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
      },
    });
    const outputs: Record<string, string> = {};
    for (const match of (await readFile(output, 'utf8')).matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm))
      outputs[match[1] ?? ''] = match[3] ?? '';
    return {
      exitCode: result.exitCode,
      stdout: result.stdout,
      stderr: result.stderr,
      outputs,
      summary: await readFile(summary, 'utf8'),
    };
  }

  it('build: outputs dist and the JSON report, writes the summary table, masks the token', async () => {
    const repository = await fixtureRepository(work, 'hello-c');
    await writeFile(
      join(work, 'crossdock.yaml'),
      `version: 3.1.4
build:
  outDir: dist
  cacheDir: cache
  components: [hello-c]
  recipes:
    - name: hello-c
      source: git+file://${repository}#main
      language: c
      binaries:
        - { name: hello-c, sources: [hello.c], cflags: ['-DHELLO_VERSION="{version}"'] }
`,
    );
    const result = await runAction({ command: 'build', targets: 'x86_64 armv7' }, work);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('::add-mask::ghs_secret_token_value');
    expect(result.stderr).toContain('::group::crossdock build --target x86_64,armv7');
    expect(result.outputs.dist).toBe(join(work, 'dist/3.1.4'));
    const report = JSON.parse(result.outputs.report ?? '') as { version: string; binaries: unknown[] };
    expect(report.version).toBe('3.1.4');
    expect(report.binaries).toHaveLength(2);
    expect(result.summary).toContain('### crossdock build 3.1.4');
    expect(result.summary).toMatch(/\| target \| hello-c \| bundle \|/);
    expect(result.summary).toMatch(/\| armv7 \| [\d.]+ KiB `[0-9a-f]{12}` \| docker-3\.1\.4-armv7\.tgz/);
    // The action's own stdout carries nothing a log would mistake for the report.
    expect(result.stdout).toBe('');
  });

  it('a config error becomes an annotation on its file and line, with exit 2', async () => {
    const project = join(work, 'bad');
    await execa('mkdir', ['-p', project]);
    await writeFile(join(project, 'crossdock.yaml'), 'version: 1.0.0\nbuild:\n  jobs: many\n');
    const result = await runAction({ command: 'build' }, project);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/::error file=[^,]*crossdock\.yaml,line=3,col=\d+,title=crossdock::build\.jobs/);
    expect(result.outputs.report).toBeUndefined();
  });

  it('an input the command does not take is refused before anything runs', async () => {
    const result = await runAction({ command: 'build', inventory: 'boards.yaml' }, work);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('::error title=crossdock::action input inventory does not apply to command build');
  });
});

describe('GitHub-aware output of the CLI itself', () => {
  it('without GITHUB_ACTIONS there are no workflow commands', async () => {
    const result = await crossdock(['build', '--config', '/nonexistent/crossdock.yaml']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).not.toContain('::error');
  });
});
