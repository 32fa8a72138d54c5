#!/usr/bin/env node
/**
 * The entry point of the GitHub Action (action.yml): turns the action's inputs (INPUT_* in the
 * environment, as a runner passes them) into one crossdock command run with --json, and writes
 * the step outputs: `report` (the command's JSON), and `dist` and `release-url`, which the
 * commands themselves write to $GITHUB_OUTPUT. Exits with the command's exit code.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode, UserError } from './errors.js';
import { emit, errorAnnotation, mask, setOutput } from './ui/github-actions.js';

export const ACTION_COMMANDS = ['setup', 'build', 'release', 'install', 'pipeline'] as const;
export type ActionCommand = (typeof ACTION_COMMANDS)[number];

/** Every input action.yml declares, and what it becomes on the command line. */
export const ACTION_INPUTS = [
  'command',
  'targets',
  'config',
  'version',
  'repo',
  'tag',
  'inventory',
  'from',
  'args',
] as const;
export type ActionInputs = Partial<Record<(typeof ACTION_INPUTS)[number], string>>;

/** The runner's form: `INPUT_<NAME>` upper-cased, spaces to underscores, hyphens kept. */
export function readInputs(env: Record<string, string | undefined>): ActionInputs {
  const inputs: ActionInputs = {};
  for (const name of ACTION_INPUTS) {
    const value = env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`]?.trim();
    if (value) inputs[name] = value;
  }
  return inputs;
}

/** A list input (targets, from): items separated by spaces or commas. */
function words(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter(Boolean);
}

/**
 * The args input split as a shell splits words: on whitespace only (a comma belongs to its flag:
 * `--component runc,containerd`), with '…' and "…" quoting and \ escaping, so
 * `--notes "release notes.md"` stays one word. No expansion of any kind. Pure.
 */
export function shellWords(text: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] ?? '';
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && ['"', '\\', '$', '`'].includes(text[i + 1] ?? '')) word += text[++i] ?? '';
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i] ?? '';
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote)
    throw new UserError(`action input args: the ${quote} quote opened there is never closed`, {
      hint: `close it, e.g. args: --notes ${quote}release notes.md${quote}`,
    });
  if (inWord) out.push(word);
  return out;
}

/** The crossdock command line for the inputs; an input the command does not take is an error. */
export function actionArguments(inputs: ActionInputs): string[][] {
  const command = (inputs.command ?? 'pipeline') as ActionCommand;
  if (!ACTION_COMMANDS.includes(command))
    throw new UserError(`action input command: ${command} is not one of ${ACTION_COMMANDS.join(', ')}`, {
      hint: 'with: command: build',
    });
  const takes: Record<ActionCommand, ReadonlyArray<keyof ActionInputs>> = {
    setup: ['targets', 'config'],
    build: ['targets', 'config', 'version'],
    release: ['config', 'repo', 'tag', 'from'],
    install: ['config', 'inventory', 'from', 'repo', 'tag'],
    pipeline: ['config', 'version', 'inventory'],
  };
  for (const name of ACTION_INPUTS)
    if (name !== 'command' && name !== 'args' && inputs[name] !== undefined && !takes[command].includes(name))
      throw new UserError(`action input ${name} does not apply to command ${command}`, {
        hint: `${command} takes: ${takes[command].join(', ') || 'no other input'}`,
      });
  const flag = (name: keyof ActionInputs, as: string) => (inputs[name] ? [as, inputs[name]] : []);
  const extra = shellWords(inputs.args ?? '');
  const targets = words(inputs.targets).join(',');
  switch (command) {
    case 'setup':
      return [
        [
          'toolchain',
          'setup',
          ...(targets ? ['--target', targets] : []),
          ...flag('config', '--config'),
          '--json',
          ...extra,
        ],
      ];
    case 'build':
      return [
        [
          'build',
          ...(targets ? ['--target', targets] : []),
          ...flag('config', '--config'),
          ...flag('version', '--version'),
          '--json',
          ...extra,
        ],
      ];
    case 'release':
      return [
        [
          'release',
          ...words(inputs.from),
          ...flag('config', '--config'),
          ...flag('repo', '--repo'),
          ...flag('tag', '--tag'),
          '--json',
          ...extra,
        ],
      ];
    case 'install': {
      if (inputs.from && (inputs.repo ?? inputs.tag))
        throw new UserError('action inputs from and repo/tag both given to install', {
          hint: 'install a dist (from) or a published release (repo and tag), not both',
        });
      const source = inputs.from
        ? ['--from', inputs.from]
        : inputs.repo && inputs.tag
          ? ['--release', `${inputs.repo}@${inputs.tag}`]
          : [];
      return [
        ['install', ...flag('inventory', '--inventory'), ...source, ...flag('config', '--config'), '--json', ...extra],
      ];
    }
    case 'pipeline':
      return [
        [
          'pipeline',
          ...flag('config', '--config'),
          ...flag('version', '--version'),
          ...flag('inventory', '--inventory'),
          '--json',
          ...extra,
        ],
      ];
  }
}

async function run(
  bin: string,
  args: readonly string[],
  privileged: boolean,
): Promise<{ code: number; stdout: string }> {
  const asRoot = privileged && process.getuid?.() !== 0;
  const [command, argv] = asRoot
    ? ['sudo', ['-E', process.execPath, bin, ...args]]
    : [process.execPath, [bin, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    // The command's JSON report; its workflow commands and progress go to stderr, straight to the log.
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code: code ?? ExitCode.Failure, stdout });
    });
  });
}

export async function runAction(env: Record<string, string | undefined> = process.env): Promise<number> {
  mask(env.GITHUB_TOKEN, env);
  const inputs = readInputs(env);
  const bin = join(fileURLToPath(new URL('.', import.meta.url)), 'bin.js');
  let last: { code: number; stdout: string } = { code: ExitCode.Ok, stdout: '' };
  for (const args of actionArguments(inputs)) {
    emit(`::group::crossdock ${args.filter((a) => a !== '--json').join(' ')}`, env);
    try {
      last = await run(bin, args, args[0] === 'toolchain');
    } finally {
      emit('::endgroup::', env);
    }
    if (last.code !== 0) break;
  }
  const json = last.stdout.trim();
  if (json) setOutput('report', json, env);
  return last.code;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runAction().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      const hint = error instanceof UserError ? error.hint : undefined;
      process.stderr.write(`crossdock action: ${message}\n${hint ? `  hint: ${hint}\n` : ''}`);
      emit(errorAnnotation(message, hint));
      process.exitCode = error instanceof UserError ? ExitCode.Usage : ExitCode.Internal;
    },
  );
}
