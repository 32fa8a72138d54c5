/**
 * The install stage over a fleet: canary hosts first, then batches; a wave that pushes the
 * failure rate over --max-fail stops the rollout. A state file records what happened to every
 * host after each wave, so --resume retries only the hosts that failed or were not reached.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../errors.js';
import { wasInterrupted } from '../interrupt.js';
import type { TargetRegistry } from '../platform/targets.js';
import { DEFAULT_FORKS, type FleetOptions, withHost } from '../remote/fleet.js';
import { JumpPool } from '../remote/ssh-runner.js';
import type { Inventory, InventoryHost } from '../remote/inventory.js';
import { readDist } from '../artifacts/read-dist.js';
import { verifyDistSignature } from '../artifacts/signature.js';
import { LocalRunner } from '../exec/local-runner.js';
import type { Runner } from '../exec/runner.js';
import { createTaskList, type RendererContext, stageRenderer } from '../ui/renderer.js';
import type { ProgressSink } from '../ui/progress-events.js';
import { type HostResult, installHost, newHostResult } from './install-host.js';
import { ObjectArchives } from './send-objects.js';

export interface InstallOptions extends FleetOptions {
  inventory: Inventory;
  hosts: readonly InventoryHost[];
  dist: string;
  registry: TargetRegistry;
  canary?: number;
  /** Hosts per wave after the canaries: a count, or a percentage of the fleet ("25%"). */
  batch?: string | number;
  maxFailPercent?: number;
  keep?: number;
  stateFile?: string | undefined;
  resume?: boolean;
  watchdogSeconds?: number;
  /** Seconds dockerd and containerd have to answer after the restart. */
  healthTimeoutSeconds?: number;
  renderer?: RendererContext;
  /** Progress as events (the CLI draws it instead, through `renderer`). */
  onProgress?: ProgressSink;
  /** Apply the safe preflight fixes (install --fix). */
  fix?: boolean;
  /** Public URLs of the dist's files (install --release). */
  downloadUrls?: ReadonlyMap<string, string>;
  /** Boards installed at once within a wave (default DEFAULT_FORKS). */
  forks?: number;
  /** Runs the local signature check (ssh-keygen); a LocalRunner by default. */
  localRunner?: Runner;
}

export interface InstallReport {
  version: string;
  dryRun: boolean;
  stopped: string | null;
  hosts: HostResult[];
}

interface StateFile {
  version: string;
  hosts: Record<string, { status: HostResult['status']; at: string }>;
}

export function parseBatch(value: string | number | undefined, total: number): number {
  if (value === undefined) return Math.max(total, 1);
  const text = String(value).trim();
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  const size = percent ? Math.ceil((total * Number(percent[1])) / 100) : Number(text);
  if (!Number.isInteger(size) || size < 1)
    throw new UserError(`--batch ${text}: expected a number of hosts or a percentage`, {
      hint: 'e.g. --batch 5 or --batch 25%',
    });
  return size;
}

/** Canaries, then batches: [[c1], [h2, h3], [h4, h5], …]. */
export function waves<T>(hosts: readonly T[], canary: number, batch: number): T[][] {
  const result: T[][] = [];
  const first = hosts.slice(0, canary);
  if (first.length > 0) result.push(first);
  for (let index = canary; index < hosts.length; index += batch) result.push(hosts.slice(index, index + batch));
  return result;
}

/** --resume: the hosts the last rollout of this same version did not finish. */
function hostsToResume(options: InstallOptions, previous: StateFile | null, version: string): InventoryHost[] {
  if (!previous)
    throw new UserError(`--resume: no state file${options.stateFile ? ` at ${options.stateFile}` : ''}`, {
      hint: 'run crossdock install without --resume first',
    });
  if (previous.version !== version)
    throw new UserError(`--resume: the last rollout was ${previous.version}, this dist is ${version}`, {
      hint: 'resume with the same dist, or start a new rollout without --resume',
    });
  const done = new Set(['installed', 'unchanged', 'reconfigured']);
  return options.hosts.filter((h) => !done.has(previous.hosts[h.name]?.status ?? 'not-reached'));
}

export async function install(options: InstallOptions): Promise<InstallReport> {
  const dist = await readDist(options.dist);
  // Before any board is reached: with allowedSigners, nothing the manifest names (a file, a
  // binary, a smoke argument) may reach a board unless a trusted key signed it.
  if (options.inventory.allowedSigners)
    await verifyDistSignature(options.localRunner ?? new LocalRunner(), {
      directory: dist.directory,
      manifest: dist.manifest,
      allowedSigners: options.inventory.allowedSigners,
    });
  const version = dist.manifest.version;
  const previous =
    options.stateFile && existsSync(options.stateFile) ? await readRolloutState(options.stateFile) : null;
  const hosts = options.resume ? hostsToResume(options, previous, version) : [...options.hosts];
  const results = new Map<string, HostResult>();
  // One connection to each jump host for the whole rollout, however many waves it takes.
  const jumps = new JumpPool();
  // And one archive of the changed binaries per bundle, whichever boards need it.
  const archives = new ObjectArchives();
  try {
    return await rollOut(options, { dist, version, previous, hosts, results, jumps, archives });
  } finally {
    await jumps.close();
    await archives.close();
  }
}

async function rollOut(
  options: InstallOptions,
  run: {
    dist: Awaited<ReturnType<typeof readDist>>;
    version: string;
    previous: StateFile | null;
    hosts: InventoryHost[];
    results: Map<string, HostResult>;
    jumps: JumpPool;
    archives: ObjectArchives;
  },
): Promise<InstallReport> {
  const { dist, version, previous, hosts, results } = run;
  const state: StateFile = { version, hosts: { ...(options.resume ? previous?.hosts : {}) } };
  const maxFail = options.maxFailPercent ?? 0;
  const plan = waves(hosts, Math.min(options.canary ?? 0, hosts.length), parseBatch(options.batch, hosts.length));
  let stopped: string | null = null;
  let attempted = 0;
  let failed = 0;

  const installOne = async (host: InventoryHost, show: (line: string) => void): Promise<HostResult> => {
    let step = 'connect';
    let bytes = 0;
    const update = () => {
      show(`${step}${bytes ? ` ${(bytes / 1024 / 1024).toFixed(1)} MiB sent` : ''}`);
    };
    const outcome = await withHost(
      options.inventory,
      host,
      (runner) =>
        installHost(runner, {
          dist,
          registry: options.registry,
          keep: options.keep ?? 3,
          dryRun: options.dryRun ?? false,
          objectArchives: run.archives,
          ...(options.watchdogSeconds !== undefined ? { watchdogSeconds: options.watchdogSeconds } : {}),
          ...(options.healthTimeoutSeconds !== undefined ? { healthTimeoutSeconds: options.healthTimeoutSeconds } : {}),
          allowedSigners: options.inventory.allowedSigners,
          fix: options.fix ?? false,
          daemon: host.daemon,
          ...(options.downloadUrls ? { downloadUrls: options.downloadUrls } : {}),
          onStep: (name) => {
            step = name;
            update();
          },
          onBytes: (sent) => {
            bytes = sent;
            update();
          },
        }),
      { ...options, jumps: run.jumps },
    );
    if (outcome.ok) return outcome.value;
    return { ...newHostResult(host.name, version, 'failed'), error: outcome.error, hint: outcome.hint };
  };

  // Waves run one after the other; the failure rate is checked between them.
  for (const [index, wave] of plan.entries()) {
    // Ctrl-C: the boards under way let go; no new wave starts (the state file says who is left).
    if (wasInterrupted()) {
      stopped = 'interrupted (Ctrl-C); the rollout stopped';
      break;
    }
    const title = `${index === 0 && (options.canary ?? 0) > 0 ? 'canary' : `wave ${index + 1}`}: ${wave.map((h) => h.name).join(', ')}`;
    await runWave(options, title, wave, async (host, show) => {
      const result = await installOne(host, show);
      results.set(host.name, result);
      return `${host.name}: ${result.status}${result.activeVersion ? ` (${result.activeVersion})` : ''}`;
    });
    for (const host of wave) {
      const result = results.get(host.name);
      attempted += 1;
      if (!result || isFailure(result)) failed += 1;
      state.hosts[host.name] = { status: result?.status ?? 'failed', at: new Date().toISOString() };
    }
    if (options.stateFile && !options.dryRun) await writeRolloutState(options.stateFile, state);
    if ((failed / attempted) * 100 > maxFail && index < plan.length - 1) {
      stopped = `${failed} of ${attempted} hosts failed (more than --max-fail ${maxFail}%); the rollout stopped`;
      break;
    }
  }
  for (const host of hosts)
    if (!results.has(host.name)) {
      results.set(host.name, newHostResult(host.name, version, 'not-reached'));
      state.hosts[host.name] = { status: 'not-reached', at: new Date().toISOString() };
    }
  if (options.stateFile && !options.dryRun) await writeRolloutState(options.stateFile, state);
  return {
    version,
    dryRun: options.dryRun ?? false,
    stopped,
    hosts: hosts.map((h) => results.get(h.name)).filter((r): r is HostResult => r !== undefined),
  };
}

/** One wave's boards at once (up to --forks), each a task whose title ends as its outcome. */
async function runWave(
  options: InstallOptions,
  title: string,
  wave: readonly InventoryHost[],
  installOne: (host: InventoryHost, show: (line: string) => void) => Promise<string>,
): Promise<void> {
  await createTaskList<Record<string, never>>(
    [
      {
        title,
        task: (_, waveTask) =>
          waveTask.newListr(
            wave.map((host) => ({
              title: host.name,
              task: async (_ctx, task) => {
                task.title = await installOne(host, (line) => (task.output = line));
              },
            })),
            { concurrent: options.forks ?? DEFAULT_FORKS, exitOnError: false },
          ),
      },
    ],
    { ...stageRenderer(options.renderer, options.onProgress), exitOnError: false },
  ).run();
}

export function isFailure(result: HostResult): boolean {
  return result.status === 'failed' || result.status === 'rolled-back' || result.status === 'refused';
}

export async function readRolloutState(file: string): Promise<StateFile> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${file}: not a crossdock install state file (${(error as Error).message})`, {
      hint: 'delete it to start a new rollout',
    });
  }
  const state = parsed as { version?: unknown; hosts?: unknown } | null;
  // What --resume reads must be what install wrote: a version and a map of hosts.
  if (
    typeof state !== 'object' ||
    state === null ||
    typeof state.version !== 'string' ||
    typeof state.hosts !== 'object' ||
    state.hosts === null ||
    Array.isArray(state.hosts)
  )
    throw new UserError(`${file}: not a crossdock install state file (it needs a version and hosts)`, {
      hint: 'delete it to start a new rollout',
    });
  return state as StateFile;
}

async function writeRolloutState(file: string, state: StateFile): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}
