/** The Runner for this host, on execa: argument arrays only, never a shell string. */
import { constants } from 'node:os';
import { execa } from 'execa';
import { CommandFailedError, MissingPrerequisiteError } from '../errors.js';
import { Redactor, secretsInEnvironment } from './redact.js';
import { formatCommand, type Runner, type RunOptions, type RunResult } from './runner.js';

export interface LocalRunnerOptions {
  dryRun?: boolean;
  secrets?: readonly string[];
  /** Receives "would run: …" lines under dry-run. */
  log?: (line: string) => void;
}

export class LocalRunner implements Runner {
  readonly host = 'local';
  readonly remote = false;
  readonly dryRun: boolean;
  private readonly redactor: Redactor;
  private readonly log: (line: string) => void;

  constructor(options: LocalRunnerOptions = {}) {
    this.dryRun = options.dryRun ?? false;
    this.redactor = new Redactor(options.secrets);
    this.redactor.addFromEnvironment(process.env);
    this.log = options.log ?? (() => {});
  }

  async run(command: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult> {
    // Secrets passed for this command only (a token in env) are hidden like the runner's own.
    const extra = [...(options.secrets ?? []), ...secretsInEnvironment(options.env ?? {})];
    const shown = this.redactor.redact(formatCommand(command, args), extra);
    if (this.dryRun && options.mutates) {
      this.log(`would run: ${shown}`);
      return { command: shown, exitCode: 0, signal: null, stdout: '', stderr: '', skipped: true, durationMs: 0 };
    }
    const started = performance.now();
    const subprocess = execa(command, [...args], {
      cwd: options.cwd,
      env: options.env,
      extendEnv: true,
      input: options.input,
      reject: false,
      stripFinalNewline: false,
      timeout: options.timeoutMs,
      stdin: options.input === undefined ? 'ignore' : 'pipe',
    });
    const { onOutput } = options;
    if (onOutput) {
      for (const stream of ['stdout', 'stderr'] as const) {
        let pending = '';
        subprocess[stream].on('data', (chunk: Buffer) => {
          pending += chunk.toString('utf8');
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) onOutput(this.redactor.redact(line, extra), stream);
        });
        subprocess[stream].on('end', () => {
          if (pending) onOutput(this.redactor.redact(pending, extra), stream);
        });
      }
    }
    const result = await subprocess;
    const stdout = this.redactor.redact(result.stdout, extra);
    const stderr = this.redactor.redact(result.stderr, extra);
    const durationMs = performance.now() - started;
    const cause = (result as { cause?: NodeJS.ErrnoException }).cause;
    if (cause?.code === 'ENOENT' && result.exitCode === undefined) {
      throw new MissingPrerequisiteError(`${command}: command not found on this host`, {
        hint: `install the package that provides ${command} (crossdock doctor names it)`,
      });
    }
    if (result.timedOut) {
      throw new CommandFailedError({
        command: shown,
        host: this.host,
        exitCode: undefined,
        reason: `timed out after ${options.timeoutMs} ms`,
        stderr,
        remote: false,
      });
    }
    // Death by signal reads as 128+N, as shells report it (SIGILL → 132).
    const exitCode = result.exitCode ?? (result.signal ? 128 + constants.signals[result.signal] : 1);
    if (exitCode !== 0 && !options.allowFailure) {
      const reason = result.signal ? `was killed by ${result.signal}` : `exited with ${exitCode}`;
      throw new CommandFailedError({
        command: shown,
        host: this.host,
        exitCode,
        reason,
        stderr,
        remote: false,
      });
    }
    return { command: shown, exitCode, signal: result.signal ?? null, stdout, stderr, skipped: false, durationMs };
  }
}
