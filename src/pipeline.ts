/**
 * `crossdock pipeline`: every stage in order on one machine — find the fleet's targets (probing
 * the inventory's boards), build for exactly
 * those targets, publish a release when a repository and a token are configured, and install.
 * Each stage is the same code its own command runs.
 */
import { group } from './ui/github-actions.js';
import { join } from 'node:path';
import { build, type BuildResult } from './builder/build.js';
import type { LoadedConfig } from './config/load.js';
import { FailureError } from './errors.js';
import type { Runner } from './exec/runner.js';
import { install, type InstallReport } from './install/install.js';
import type { TargetRegistry } from './platform/targets.js';
import { forEachHost } from './remote/fleet.js';
import { loadInventory } from './remote/inventory.js';
import { probeBoard } from './install/board-probe.js';
import { publishRelease, type ReleaseReport } from './release/publish.js';
import type { Toolchain } from './platform/toolchains.js';
import type { ProgressSink } from './ui/progress-events.js';
import type { RendererContext } from './ui/renderer.js';

export interface PipelineOptions {
  loaded: LoadedConfig;
  /** The inventory of the boards (the command starts the emulated default fleet when there is none). */
  inventoryFile: string;
  registry: TargetRegistry;
  toolchains: readonly Toolchain[];
  runner: Runner;
  version?: string | undefined;
  token?: string | undefined;
  /** The GitHub API (release.apiUrl, else $GITHUB_API_URL, as resolveContext found it). */
  apiUrl?: string | undefined;
  userAgent: string;
  acceptNew?: boolean;
  renderer?: RendererContext;
  /** Progress as events (the CLI draws it instead, through `renderer`). */
  onProgress?: ProgressSink;
  log: (line: string) => void;
}

export interface PipelineReport {
  inventory: string;
  targets: string[];
  build: { version: string; directory: string; binaries: number; cached: number };
  release: ReleaseReport | { skipped: string };
  install: InstallReport;
}

export async function pipeline(options: PipelineOptions): Promise<PipelineReport> {
  const { config } = options.loaded;
  const { inventoryFile } = options;
  // Each stage's events arrive under the stage's name: one tree of progress for the whole run.
  const progress = (stage: string): { onProgress?: ProgressSink } => {
    const sink = options.onProgress;
    return sink
      ? {
          onProgress: (event) => {
            sink({ ...event, path: [stage, ...event.path] });
          },
        }
      : {};
  };
  const inventory = await loadInventory(inventoryFile, { runner: options.runner });

  // The targets to build are the ones the boards need.
  const probeProgress = progress('probe').onProgress;
  probeProgress?.({ path: [], kind: 'started', text: 'probe the fleet' });
  const probes = await group('crossdock: probe the fleet', () =>
    forEachHost(inventory, inventory.hosts, (runner) => probeBoard(runner, options.registry), {
      acceptNew: options.acceptNew ?? false,
      log: options.log,
    }),
  );
  const unreachable = probes.flatMap((p) => (p.ok ? [] : [p.error]));
  probeProgress?.({
    path: [],
    kind: unreachable.length > 0 ? 'failed' : 'completed',
    text: `probed ${String(probes.length - unreachable.length)} of ${String(probes.length)} boards`,
  });
  if (unreachable.length > 0)
    throw new FailureError(`${unreachable.length} board(s) could not be probed: ${unreachable.join('; ')}`, {
      hint: 'crossdock probe shows each board; fix or --limit them out, then run again',
    });
  const targets = [...new Set(probes.flatMap((p) => (p.ok && p.value.target ? [p.value.target] : [])))].sort(
    (a, b) =>
      options.registry.targets.findIndex((t) => t.name === a) - options.registry.targets.findIndex((t) => t.name === b),
  );
  if (targets.length === 0) throw new FailureError('no board in the inventory is a supported target');

  const built: BuildResult = await group(`crossdock: build ${targets.join(', ')}`, () =>
    build({
      config: { ...config, targets },
      baseDirectory: options.loaded.baseDirectory,
      registry: options.registry,
      toolchains: options.toolchains,
      runner: options.runner,
      version: options.version,
      ...(options.renderer ? { renderer: options.renderer } : {}),
      ...progress('build'),
    }),
  );

  let release: PipelineReport['release'];
  if (!config.release.repository) release = { skipped: 'no release.repository configured' };
  else if (!options.token) release = { skipped: 'no GITHUB_TOKEN or GH_TOKEN' };
  else
    release = await group('crossdock: release', () =>
      publishRelease({
        dists: [built.directory],
        repository: config.release.repository,
        tagPrefix: config.release.tagPrefix,
        apiUrl: options.apiUrl ?? config.release.apiUrl,
        token: options.token,
        userAgent: options.userAgent,
        replace: config.release.replaceAssets,
        signingKey: config.build.signingKey,
        runner: options.runner,
        cwd: options.loaded.baseDirectory,
        ...(options.renderer ? { renderer: options.renderer } : {}),
        ...progress('release'),
        log: options.log,
      }),
    );

  const installed = await group('crossdock: install', () =>
    install({
      inventory,
      hosts: inventory.hosts,
      dist: built.directory,
      registry: options.registry,
      canary: config.install.waves.canary,
      batch: config.install.waves.batchSize,
      maxFailPercent: config.install.waves.maxFailPercent,
      healthTimeoutSeconds: config.install.healthTimeoutSeconds,
      acceptNew: options.acceptNew ?? false,
      stateFile: join(inventoryFile, '..', '.crossdock-install-state.json'),
      ...(options.renderer ? { renderer: options.renderer } : {}),
      ...progress('install'),
      log: options.log,
    }),
  );
  return {
    inventory: inventoryFile,
    targets,
    build: {
      version: built.version,
      directory: built.directory,
      binaries: built.binaries.length,
      cached: built.binaries.filter((b) => b.cached).length,
    },
    release,
    install: installed,
  };
}
