/**
 * One context for every command: crossdock.yaml (defaults < file < flags), the target registry,
 * the paths the commands share, the GitHub token and the settings install and the fleet commands
 * read. Commands resolve it once and pass its parts down; nothing below the CLI reads crossdock.yaml,
 * process.env or the current directory on its own, so a documented key cannot be ignored by one
 * command and honoured by another.
 */
import { dirname, join, resolve } from 'node:path';
import { type ConfigOverrides, loadConfig, type ResolvedConfig } from './config/load.js';
import { LocalRunner } from './exec/local-runner.js';
import { defaultCacheDirectory } from './fs/cache-directory.js';
import { loadTargets, type TargetRegistry } from './platform/targets.js';

export interface ContextRequest {
  cwd?: string;
  /** `--config`: an explicit file, which must exist. */
  configFile?: string | undefined;
  /** Flags that override keys of the file (see FLAG_KEYS). */
  flags?: ConfigOverrides;
  env?: NodeJS.ProcessEnv;
}

export interface InstallSettings {
  /** The inventory file, absolute. */
  inventory: string;
  /** Where the rollout's progress is recorded (install --resume reads it). */
  stateFile: string;
  /** Trust a board's host key the first time it is seen (install.hostKeys: accept-new). */
  acceptNew: boolean;
  /** Seconds dockerd and containerd have to answer after the restart. */
  healthTimeoutSeconds: number;
  waves: { canary: number; batchSize: number | undefined; maxFailPercent: number };
}

export interface CommandContext {
  cwd: string;
  config: ResolvedConfig;
  /** The config file read, or null when only defaults and flags apply. */
  configFile: string | null;
  /** Relative paths in the config resolve against this directory. */
  baseDirectory: string;
  registry: TargetRegistry;
  env: NodeJS.ProcessEnv;
  cacheDirectory: string;
  install: InstallSettings;
  /** GITHUB_TOKEN, else GH_TOKEN; an empty variable counts as unset. */
  githubToken: string | undefined;
  /** GitHub's REST API: release.apiUrl, which $GITHUB_API_URL (set in Actions) fills when the file is silent. */
  githubApiUrl: string;
  /** Progress and warnings: always stderr, so stdout carries only results. */
  log: (line: string) => void;
  runner: (options?: { dryRun?: boolean }) => LocalRunner;
}

/** The GitHub token, looked up one way for every command. Pure. */
export function githubToken(env: NodeJS.ProcessEnv): string | undefined {
  return env.GITHUB_TOKEN || env.GH_TOKEN || undefined;
}

export async function resolveContext(request: ContextRequest = {}): Promise<CommandContext> {
  const cwd = request.cwd ?? process.cwd();
  const env = request.env ?? process.env;
  const registry = await loadTargets();
  // A path given as a flag is relative to where the command runs, not to the config file.
  const flags: ConfigOverrides = { ...request.flags };
  for (const key of ['inventory', 'out-dir'] as const) {
    const value = flags[key];
    if (typeof value === 'string') flags[key] = resolve(cwd, value);
  }
  const loaded = await loadConfig({ cwd, file: request.configFile, overrides: flags, registry });
  const { config } = loaded;
  const apiUrlFromFile = loaded.file !== null && (await configSetsApiUrl(loaded.file));
  const waves = config.install.waves;
  const write = (line: string) => process.stderr.write(`${line}\n`);
  return {
    cwd,
    config,
    configFile: loaded.file,
    baseDirectory: loaded.baseDirectory,
    registry,
    env,
    cacheDirectory: config.build.cacheDir ?? defaultCacheDirectory(),
    install: {
      inventory: config.install.inventory,
      stateFile: join(dirname(config.install.inventory), '.crossdock-install-state.json'),
      acceptNew: config.install.hostKeys === 'accept-new',
      healthTimeoutSeconds: config.install.healthTimeoutSeconds,
      waves: {
        canary: waves.canary,
        batchSize: waves.batchSize,
        maxFailPercent: waves.maxFailPercent,
      },
    },
    githubToken: githubToken(env),
    githubApiUrl:
      request.flags?.['api-url'] !== undefined || apiUrlFromFile || !env.GITHUB_API_URL
        ? config.release.apiUrl
        : env.GITHUB_API_URL,
    log: (line) => write(`crossdock: ${line}`),
    runner: (options = {}) => new LocalRunner({ dryRun: options.dryRun ?? false, log: write }),
  };
}

/** Whether the file itself names release.apiUrl (the schema's default would hide GITHUB_API_URL). */
async function configSetsApiUrl(file: string): Promise<boolean> {
  const { readSource } = await import('./document/document.js');
  const parsed = await readSource(resolve(file));
  const release = (parsed.data as { release?: { apiUrl?: unknown } } | null)?.release;
  return typeof release?.apiUrl === 'string';
}
