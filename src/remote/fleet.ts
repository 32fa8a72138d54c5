/**
 * Connecting to many hosts at once with bounded concurrency; one host's failure is that host's
 * result, never the others'. Every remote stage (probe, install, status) goes through here.
 */
import { CrossdockError } from '../errors.js';
import type { Inventory, InventoryHost } from './inventory.js';
import { defaultKnownHosts, JumpPool, SshRunner } from './ssh-runner.js';

export interface FleetOptions {
  acceptNew?: boolean;
  concurrency?: number;
  dryRun?: boolean;
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
  home?: string;
  /** Shared jump-host connections; forEachHost makes one for its run when none is given. */
  jumps?: JumpPool;
}

/**
 * Boards at once, by default: each is one SSH connection and one sshd on its board, so the
 * bound is this machine's (CPU for the ciphers, the uplink), not the boards' MaxStartups.
 */
export const DEFAULT_FORKS = 32;

export type HostOutcome<T> =
  | { host: InventoryHost; ok: true; value: T }
  | { host: InventoryHost; ok: false; error: string; hint: string | null; exitCode: number };

/** One host's connection, with the inventory's known_hosts and the environment's secrets. */
export function connectHost(inventory: Inventory, host: InventoryHost, options: FleetOptions = {}): Promise<SshRunner> {
  const env = options.env ?? process.env;
  return SshRunner.connect(host, {
    knownHosts: defaultKnownHosts(inventory.knownHosts, options.home, host.knownHostsFiles),
    acceptNew: (options.acceptNew ?? false) || host.acceptNew === true,
    passphrase: env.CROSSDOCK_SSH_PASSPHRASE,
    sudoPassword: host.sudo.kind === 'password' ? env[host.sudo.env] : undefined,
    dryRun: options.dryRun ?? false,
    ...(options.log ? { log: options.log } : {}),
    ...(options.jumps ? { jumps: options.jumps } : {}),
  });
}

/** Connects to one host, runs `work`, disconnects; any failure becomes this host's outcome. */
export async function withHost<T>(
  inventory: Inventory,
  host: InventoryHost,
  work: (runner: SshRunner, host: InventoryHost) => Promise<T>,
  options: FleetOptions = {},
): Promise<HostOutcome<T>> {
  let runner: SshRunner | undefined;
  try {
    runner = await connectHost(inventory, host, options);
    return { host, ok: true, value: await work(runner, host) };
  } catch (error) {
    return {
      host,
      ok: false,
      error: error instanceof Error ? error.message : String(error),
      hint: error instanceof CrossdockError ? (error.hint ?? null) : null,
      exitCode: error instanceof CrossdockError ? error.exitCode : 70,
    };
  } finally {
    runner?.dispose();
  }
}

export async function forEachHost<T>(
  inventory: Inventory,
  hosts: readonly InventoryHost[],
  work: (runner: SshRunner, host: InventoryHost) => Promise<T>,
  options: FleetOptions = {},
): Promise<Array<HostOutcome<T>>> {
  const results: Array<HostOutcome<T>> = new Array<HostOutcome<T>>(hosts.length);
  let next = 0;
  const own = options.jumps ? null : new JumpPool();
  const shared = { ...options, ...(own ? { jumps: own } : {}) };
  const worker = async () => {
    for (;;) {
      const index = next++;
      const host = hosts[index];
      if (!host) return;
      results[index] = await withHost(inventory, host, work, shared);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? DEFAULT_FORKS, hosts.length) }, worker));
  } finally {
    await own?.close();
  }
  return results;
}
