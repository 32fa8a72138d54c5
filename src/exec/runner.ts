/**
 * One interface for running commands on this host (execa) or on a board (node-ssh, with the
 * install stage). Arguments are always an array; the remote side quotes them with
 * `shellQuote`, the one function that builds shell strings. The dry-run gate and secret
 * redaction live in the implementations of this interface and nowhere else.
 */

export interface RunOptions {
  cwd?: string;
  /** Added to the inherited environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  input?: string | Uint8Array;
  /**
   * The command changes the system (installs, writes, restarts). Under dry-run it is logged
   * and not run; commands that only look (probes, `--version`) run even under dry-run.
   */
  mutates?: boolean;
  /**
   * Remote runners turn the rule round: a command on a board mutates unless it is marked
   * read-only, so a forgotten mark can only make a dry-run skip a look, never change a board.
   */
  readOnly?: boolean;
  /** Return a non-zero exit instead of throwing CommandFailedError. */
  allowFailure?: boolean;
  /** Called per output line as it arrives, e.g. to stream into a listr2 task. */
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
  timeoutMs?: number;
  /** Values to hide, beyond the runner's own secrets. */
  secrets?: readonly string[];
}

export interface RunResult {
  /** The command line as it may be shown: quoted, secrets replaced. */
  command: string;
  /** 128+N when a signal killed it, as shells report it. */
  exitCode: number;
  /** The signal that killed it, e.g. SIGILL. */
  signal: string | null;
  stdout: string;
  stderr: string;
  /** True when dry-run skipped the command. */
  skipped: boolean;
  durationMs: number;
}

export interface Runner {
  /** `local`, or the board's name. */
  readonly host: string;
  readonly remote: boolean;
  readonly dryRun: boolean;
  run(command: string, args?: readonly string[], options?: RunOptions): Promise<RunResult>;
}

const SAFE_WORD = /^[A-Za-z0-9_/.,:=+@%^-]+$/;

/** POSIX shell quoting of one argument: single quotes, with ' written as '\''. */
export function shellQuote(argument: string): string {
  if (argument === '') return "''";
  if (SAFE_WORD.test(argument)) return argument;
  return `'${argument.replace(/'/g, `'\\''`)}'`;
}

export function formatCommand(command: string, args: readonly string[] = []): string {
  return [command, ...args].map(shellQuote).join(' ');
}
