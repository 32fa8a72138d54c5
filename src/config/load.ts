/**
 * Finds, reads and validates crossdock.yaml (or .json), merges command-line flags over it and
 * applies the cross-field rules. Precedence: schema defaults < file < flags; a flag left
 * undefined never overrides the file.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import semver from 'semver';
import * as v from 'valibot';
import { CrossdockError, UserError } from '../errors.js';
import { resolveTarget } from '../platform/resolve.js';
import { loadTargets, type TargetRegistry } from '../platform/targets.js';
import { partsWith } from '../builder/recipes.js';
import {
  closest,
  DocumentError,
  type DocumentProblem,
  formatPath,
  type ParsedDocument,
  readSource,
  validateDocument,
} from '../document/document.js';
import { type Config, ConfigSchema } from './schema.js';

export const CONFIG_FILE_NAMES = ['crossdock.yaml', 'crossdock.yml', 'crossdock.json'];

/** Command-line flags that override keys of the file, by flag name. */
export const FLAG_KEYS = {
  target: ['targets'],
  version: ['version'],
  docker: ['build', 'docker'],
  'out-dir': ['build', 'outDir'],
  component: ['build', 'components'],
  jobs: ['build', 'jobs'],
  smoke: ['build', 'smoke'],
  repo: ['release', 'repository'],
  'api-url': ['release', 'apiUrl'],
  'replace-assets': ['release', 'replaceAssets'],
  inventory: ['install', 'inventory'],
  'host-keys': ['install', 'hostKeys'],
} as const satisfies Record<string, readonly string[]>;
export type ConfigFlag = keyof typeof FLAG_KEYS;
export type ConfigOverrides = Partial<Record<ConfigFlag, unknown>>;

export interface LoadConfigOptions {
  /** Where to look for crossdock.yaml; defaults to process.cwd(). */
  cwd?: string;
  /** An explicit config file (`--config`); it must exist. */
  file?: string | undefined;
  overrides?: ConfigOverrides;
  registry?: TargetRegistry;
}

/** The configuration in effect: targets resolved to canonical names, paths absolute. */
export type ResolvedConfig = Omit<Config, 'targets'> & { targets: string[] };

export interface LoadedConfig {
  config: ResolvedConfig;
  /** The file read, or null when only defaults and flags apply. */
  file: string | null;
  /** Relative paths in the config are resolved against this directory. */
  baseDirectory: string;
}

export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const registry = options.registry ?? (await loadTargets());
  const file = findConfigFile(cwd, options.file);
  const parsed = file ? await readSource(file) : undefined;
  if (parsed) validateDocument(parsed, ConfigSchema);

  const overrides = Object.entries(options.overrides ?? {}).filter(([, value]) => value !== undefined) as Array<
    [ConfigFlag, unknown]
  >;
  // validateDocument has checked the file holds a mapping.
  const merged = structuredClone(parsed?.data ?? {}) as Record<string, unknown>;
  for (const [flag, value] of overrides) setIn(merged, FLAG_KEYS[flag], value);

  const result = v.safeParse(ConfigSchema, merged);
  if (!result.success) {
    throw new DocumentError(
      result.issues.map((issue) => {
        const keys = (issue.path ?? []).map((segment) => segment.key as string | number);
        const flag = flagFor(keys);
        return {
          file: flag ? `--${flag}` : (file ?? 'config'),
          line: undefined,
          column: undefined,
          path: flag ? '' : formatPath(keys),
          // A validation action (a regex, a range) carries a message written for people.
          message:
            issue.kind === 'schema' && issue.expected
              ? `expected ${issue.expected}, got ${issue.received}`
              : issue.message,
          hint: flag ? `fix the value of --${flag}` : undefined,
        };
      }),
    );
  }
  const baseDirectory = file ? dirname(file) : cwd;
  const config = applyRules(result.output, {
    parsed,
    registry,
    overrides: new Set(overrides.map(([flag]) => flag)),
  });
  config.build.outDir = absolute(baseDirectory, config.build.outDir);
  config.install.inventory = absolute(baseDirectory, config.install.inventory);
  if (config.build.cacheDir) config.build.cacheDir = absolute(baseDirectory, config.build.cacheDir);
  if (config.build.signingKey) config.build.signingKey = absolute(baseDirectory, config.build.signingKey);
  return { config, file: file ?? null, baseDirectory };
}

function findConfigFile(cwd: string, explicit: string | undefined): string | undefined {
  if (explicit) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path)) {
      throw new UserError(`--config ${explicit}: no such file`, {
        hint: 'check the path, or leave --config out to use crossdock.yaml in the current directory',
      });
    }
    return path;
  }
  return CONFIG_FILE_NAMES.map((name) => join(cwd, name)).find((path) => existsSync(path));
}

function setIn(target: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = keys.at(-1);
  if (last) node[last] = value;
}

function flagFor(keys: ReadonlyArray<string | number>): ConfigFlag | undefined {
  return (Object.keys(FLAG_KEYS) as ConfigFlag[]).find((flag) =>
    FLAG_KEYS[flag].every((key, index) => keys[index] === key),
  );
}

function absolute(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}

interface RuleContext {
  parsed: ParsedDocument | undefined;
  registry: TargetRegistry;
  overrides: Set<ConfigFlag>;
}

/** Cross-field rules, each reported at the position of the value it is about. */
function applyRules(config: Config, context: RuleContext): ResolvedConfig {
  const problems: DocumentProblem[] = [];
  const at = (keys: Array<string | number>, message: string, hint?: string) =>
    problems.push(problemAt(context, keys, message, hint));

  const canonical: string[] = [];
  const requested = config.targets ?? context.registry.targets.filter((t) => t.support === 'stable').map((t) => t.name);
  requested.forEach((name, index) => {
    try {
      const target = resolveTarget(context.registry, name);
      if (canonical.includes(target.name))
        at(['targets', index], `"${name}" is ${target.name}, which is listed already`, 'list each target once');
      canonical.push(target.name);
    } catch (error) {
      if (!(error instanceof CrossdockError)) throw error;
      at(['targets', index], error.message, error.hint);
    }
  });
  // Per-target flags are keyed by any target name; store them under the canonical one.
  const targetFlags: typeof config.build.targetFlags = {};
  for (const [name, flags] of Object.entries(config.build.targetFlags)) {
    try {
      targetFlags[resolveTarget(context.registry, name).name] = flags;
    } catch (error) {
      if (!(error instanceof CrossdockError)) throw error;
      at(['build', 'targetFlags', name], error.message, error.hint);
    }
  }
  // Components must be binaries of a known recipe, built-in or the file's own.
  const binaries = partsWith(config.build.recipes).flatMap((part) => part.binaries);
  const sourceNames = partsWith(config.build.recipes).map((part) => part.name);
  (config.build.components ?? []).forEach((component, index) => {
    // A source's name stands for its binaries (compose → docker-compose).
    if (!binaries.includes(component) && !sourceNames.includes(component)) {
      const suggestion = closest(component, binaries);
      at(
        ['build', 'components', index],
        `unknown component "${component}"`,
        `${suggestion ? `did you mean "${suggestion}"? ` : ''}components: ${binaries.join(', ')}`,
      );
    }
  });
  // A source for a name no built-in source or recipe has would be ignored silently.
  for (const name of Object.keys(config.build.sources)) {
    if (!sourceNames.includes(name)) {
      const suggestion = closest(name, sourceNames);
      at(
        ['build', 'sources', name],
        `unknown source "${name}"`,
        `${suggestion ? `did you mean "${suggestion}"? ` : ''}sources: ${sourceNames.join(', ')} (or a recipe of yours in build.recipes)`,
      );
    }
  }
  if (config.version !== undefined && !semver.valid(config.version.replace(/^v/, ''))) {
    at(['version'], `"${config.version}" is not a semver version`, 'use MAJOR.MINOR.PATCH, e.g. 27.5.1 or 28.0.0-rc.1');
  }
  if (problems.length > 0) throw new DocumentError(problems);
  return { ...config, targets: canonical, build: { ...config.build, targetFlags } };
}

function problemAt(
  context: RuleContext,
  keys: Array<string | number>,
  message: string,
  hint?: string,
): DocumentProblem {
  const flag = flagFor(keys);
  if (flag && context.overrides.has(flag)) {
    return { file: `--${flag}`, line: undefined, column: undefined, path: '', message, hint };
  }
  const { parsed } = context;
  const node = parsed?.document.getIn(keys, true) as { range?: [number, number, number] } | undefined;
  const position = node?.range && parsed ? parsed.lineCounter.linePos(node.range[0]) : undefined;
  return {
    file: parsed?.file ?? 'defaults',
    line: position?.line,
    column: position?.col,
    path: formatPath(keys),
    message,
    hint,
  };
}
