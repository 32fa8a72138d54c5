/**
 * What every benchmark shares: timing, medians, the machine's description, the results file.
 * Benchmarks print figures; they assert nothing (tests do that).
 */
import { execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = join(ROOT, 'dist/bin.js');

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  const start = performance.now();
  const result = await work();
  return { seconds: (performance.now() - start) / 1000, result };
}

/** Runs a command to completion; rejects with its output's tail on a non-zero exit. */
export function run(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else
        reject(new Error(`${command} ${args.join(' ')}: exit ${code}\n${stderr.slice(-2000)}${stdout.slice(-1000)}`));
    });
  });
}

export function crossdock(args: readonly string[], options: SpawnOptions = {}): Promise<string> {
  return run(process.execPath, [BIN, ...args], {
    ...options,
    env: { ...process.env, CI: 'true', ...(options.env ?? {}) },
  });
}

export function machine(): Record<string, unknown> {
  const version = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .split('\n')[0]
        ?.trim();
    } catch {
      return null;
    }
  };
  return {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    kernel: version('uname', ['-r']),
    os: version('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"']),
    node: process.version,
    go: version('go', ['version']),
    qemu: version('qemu-aarch64-static', ['--version']),
  };
}

/** bench/results/<name>-<date>.json with the machine's description. */
export function writeResults(name: string, data: Record<string, unknown>): string {
  const directory = join(ROOT, 'bench/results');
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `${name}-${new Date().toISOString().slice(0, 10)}.json`);
  writeFileSync(file, `${JSON.stringify({ machine: machine(), date: new Date().toISOString(), ...data }, null, 2)}\n`);
  return file;
}

/** A plain table: the first row is the header. */
export function table(rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => String(row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => String(cell).padEnd(widths[column] ?? 0)).join('  ')).join('\n');
}

export const seconds = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} s`;
export const ratio = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)}×`;
