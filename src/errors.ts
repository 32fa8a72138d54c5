/**
 * Typed errors. Every error a user can cause or fix maps to one documented exit code, and the
 * CLI's single catch prints `message` on one line and `hint` on the next.
 */

export const ExitCode = {
  /** Everything asked for was done. */
  Ok: 0,
  /** A target, host or step failed (a build broke, a board failed its health check). */
  Failure: 1,
  /** Bad input: a flag, an argument, a config file, a file to inspect. */
  Usage: 2,
  /** This host lacks something (a compiler, QEMU, a binfmt handler); the hint says how to fix it. */
  MissingPrerequisite: 3,
  /** A board or an API refused or could not be reached. */
  Remote: 4,
  /** A bug in crossdock. */
  Internal: 70,
  /** Interrupted by SIGINT. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface CrossdockErrorOptions {
  hint?: string | undefined;
  cause?: unknown;
}

/**
 * Text from elsewhere (a board's stderr, its os-release, a server's message) made safe to print:
 * control characters other than newline and tab, C1 ones included, are shown as `\xNN`, so no
 * escape sequence a board sends (a clipboard write, a title change, cursor moves) reaches the
 * operator's terminal. Pure.
 */
export function printable(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

export abstract class CrossdockError extends Error {
  abstract readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(message: string, options: CrossdockErrorOptions = {}) {
    // Messages quote boards and servers: printable before anything renders them.
    super(printable(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint === undefined ? undefined : printable(options.hint);
  }
}

/** Bad input from the user: flags, arguments, files, configuration. */
export class UserError extends CrossdockError {
  readonly exitCode = ExitCode.Usage;
}

/** The host is missing a tool or a setting; `hint` carries the command that fixes it. */
export class MissingPrerequisiteError extends CrossdockError {
  readonly exitCode = ExitCode.MissingPrerequisite;
}

/** A target, host or step failed while doing its work. */
export class FailureError extends CrossdockError {
  readonly exitCode = ExitCode.Failure;
}

/** A board or an API said no, or could not be reached. */
export class RemoteError extends CrossdockError {
  readonly exitCode = ExitCode.Remote;
}

/** Ctrl-C: what was under way let go, and nothing new starts. */
export class InterruptedError extends CrossdockError {
  readonly exitCode = ExitCode.Interrupted;
}

/** Broken invariants inside crossdock itself. */
export class InternalError extends CrossdockError {
  readonly exitCode = ExitCode.Internal;
}

/** A command run through a Runner exited non-zero (or could not start). */
export class CommandFailedError extends CrossdockError {
  readonly exitCode: ExitCode;
  readonly command: string;
  readonly commandExitCode: number | undefined;
  readonly stderrTail: string;

  constructor(init: {
    command: string;
    host: string;
    exitCode: number | undefined;
    reason: string;
    stderr: string;
    remote: boolean;
  }) {
    const tail = tailLines(init.stderr, 5);
    super(
      `${init.host}: \`${briefCommand(init.command)}\` ${init.reason}${tail ? `: ${tail.split('\n').join(' | ')}` : ''}`,
    );
    this.exitCode = init.remote ? ExitCode.Remote : ExitCode.Failure;
    this.command = init.command;
    this.commandExitCode = init.exitCode;
    this.stderrTail = tail;
  }
}

/**
 * A command as an error line shows it: a whole board script (`sh -c '…'` of fifty lines) would
 * bury the reason, so a long or multi-line command is cut to its start. Pure.
 */
export function briefCommand(command: string, width = 120): string {
  const lines = command.split('\n');
  const first = lines[0] ?? '';
  if (lines.length === 1 && first.length <= width) return first;
  return `${first.slice(0, width)} … (${String(lines.length)} lines)`;
}

export function tailLines(text: string, count: number): string {
  const lines = text.trimEnd().split('\n');
  return lines
    .slice(-count)
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
}

export function isCrossdockError(error: unknown): error is CrossdockError {
  return error instanceof CrossdockError;
}
