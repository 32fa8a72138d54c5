/**
 * The Go each build needs, provisioned without touching the system: `go` on PATH when it is new
 * enough, else Debian's golang-1.NN-go and golang-1.NN-src (bookworm-backports has 1.22/1.23,
 * trixie 1.24, forky 1.26), fetched with `apt-get download` from the machine's own Debian mirror
 * and unpacked with `dpkg -x` into the cache. Like docker-ce-packaging, one Go builds every
 * component: the newest the sources ask for, at moby's pinned minor when that is new enough.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { MissingPrerequisiteError } from '../errors.js';
import { findExecutable } from '../exec/find-executable.js';
import type { Runner } from '../exec/runner.js';
import { materialize } from '../fs/materialize.js';
import { debianArchive, privateApt, readMachineAptSources, sourcesList, suitesOf } from './private-apt.js';

/** Where Debian keeps golang-1.NN-go builds newer than bookworm's 1.19, oldest suite first. */
export const GO_SUITES = ['bookworm-backports', 'trixie', 'forky'];

/** What Go a source asks for: `minimum` from its go line, `preferred` from its Dockerfile pin. */
export interface GoRequirement {
  minimum: string | null;
  preferred: string | null;
  /** Where each figure came from, for messages: `go.mod go 1.26.3`. */
  from: string[];
}

export interface GoToolchain {
  /** The go command to run. */
  command: string;
  /** `1.26.10`. */
  version: string;
  /** `PATH`, or the Debian packages it came from: `golang-1.26-go 1.26.10-1`. */
  origin: string;
  /** GOROOT of a provisioned Go; null for the one on PATH. */
  goroot: string | null;
}

/** `go1.26.10`, `go version go1.22.2 linux/amd64`, `1.26.10-1` → semver. Pure. */
export function goVersion(text: string): string | null {
  const match = /(?:^|go|\s)(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  if (!match) return null;
  return `${match[1] ?? '0'}.${match[2] ?? '0'}.${match[3] ?? '0'}`;
}

/** Several sources' needs as one: the highest minimum, moby's pin as the preferred minor. Pure. */
export function combineRequirements(requirements: ReadonlyArray<GoRequirement>): GoRequirement {
  const minimums = requirements.map((r) => r.minimum && goVersion(r.minimum)).filter((v): v is string => !!v);
  const preferred = requirements.map((r) => r.preferred).find((v): v is string => !!v) ?? null;
  return {
    minimum: minimums.sort(semver.rcompare)[0] ?? null,
    preferred,
    from: requirements.flatMap((r) => r.from),
  };
}

export function satisfies(version: string, requirement: GoRequirement): boolean {
  const minimum = requirement.minimum ? goVersion(requirement.minimum) : null;
  return minimum === null || semver.gte(version, minimum);
}

/**
 * Which golang-1.NN-go to take from what apt offers (`minor → best version`): the preferred
 * minor when it is new enough, else the oldest minor that is. Pure.
 */
export function chooseGoPackage(
  available: ReadonlyMap<string, string>,
  requirement: GoRequirement,
): { minor: string; version: string } | null {
  const wanted = goVersion(requirement.preferred ?? requirement.minimum ?? '') ?? null;
  const preferredMinor = wanted ? `${semver.major(wanted)}.${semver.minor(wanted)}` : null;
  const candidates = [...available]
    .map(([minor, debianVersion]) => ({ minor, debianVersion, version: goVersion(debianVersion) }))
    .filter((c): c is { minor: string; debianVersion: string; version: string } => !!c.version)
    .filter((c) => satisfies(c.version, requirement))
    .sort((a, b) => semver.compare(a.version, b.version));
  const pick = candidates.find((c) => c.minor === preferredMinor) ?? candidates[0];
  return pick ? { minor: pick.minor, version: pick.debianVersion } : null;
}

/** `apt-cache madison` lines → the highest Debian version per package. Pure. */
export function madisonVersions(text: string): Map<string, string> {
  const best = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [name, version] = line.split('|').map((part) => part.trim());
    const minor = /^golang-(1\.\d+)-go$/.exec(name ?? '')?.[1];
    if (!minor || !version) continue;
    const current = best.get(minor);
    const a = goVersion(version);
    const b = current ? goVersion(current) : null;
    if (!current || (a && b && semver.gt(a, b))) best.set(minor, version);
  }
  return best;
}

export interface ResolveGoOptions {
  runner: Runner;
  cacheDirectory: string;
  /** Never download: report what is missing instead (doctor). */
  offline?: boolean;
}

async function versionOf(runner: Runner, command: string): Promise<string | null> {
  const result = await runner.run(command, ['env', 'GOVERSION'], { allowFailure: true });
  return result.exitCode === 0 ? goVersion(result.stdout) : null;
}

/** Go builds already unpacked into the cache, newest first. */
export async function cachedGos(runner: Runner, cacheDirectory: string): Promise<GoToolchain[]> {
  const root = join(cacheDirectory, 'go');
  if (!existsSync(root)) return [];
  const found: GoToolchain[] = [];
  for (const entry of await readdir(root)) {
    const goroot = join(root, entry, 'usr', 'lib', `go-${entry.split('_')[0]?.replace(/^golang-/, '') ?? ''}`);
    const command = join(goroot, 'bin', 'go');
    if (!existsSync(join(root, entry, '.crossdock-complete')) || !existsSync(command)) continue;
    const version = await versionOf(runner, command);
    if (version) found.push({ command, version, origin: entry.replace('_', ' '), goroot });
  }
  return found.sort((a, b) => semver.rcompare(a.version, b.version));
}

/** The Go that satisfies the requirement, provisioning one from Debian when nothing here does. */
export async function resolveGo(requirement: GoRequirement, options: ResolveGoOptions): Promise<GoToolchain> {
  const { runner, cacheDirectory } = options;
  const onPath = findExecutable('go');
  const pathVersion = onPath ? await versionOf(runner, onPath) : null;
  if (onPath && pathVersion && satisfies(pathVersion, requirement))
    return { command: onPath, version: pathVersion, origin: 'PATH', goroot: null };
  const cached = (await cachedGos(runner, cacheDirectory)).filter((go) => satisfies(go.version, requirement));
  const preferredMinor = goVersion(requirement.preferred ?? '')
    ?.split('.')
    .slice(0, 2)
    .join('.');
  // The pinned minor when it is here; another cached one only when Debian has none to fetch.
  const cachedPreferred = cached.find((go) => !preferredMinor || go.version.startsWith(`${preferredMinor}.`));
  if (cachedPreferred) return cachedPreferred;
  const needs = `Go ${requirement.minimum ?? '?'} (${requirement.from.join(', ') || 'the sources'})`;
  const have = pathVersion ? `go ${pathVersion} on PATH` : 'no go on PATH';
  if (options.offline) {
    if (cached[0]) return cached[0];
    throw new MissingPrerequisiteError(`the sources need ${needs}; ${have}`, {
      hint: 'crossdock toolchain setup fetches it from Debian into the cache',
    });
  }
  const archive = debianArchive(await readMachineAptSources());
  if (!archive) {
    throw new MissingPrerequisiteError(`the sources need ${needs}; ${have}, and no Debian archive to fetch it from`, {
      hint: 'put a go of that version on PATH',
    });
  }
  const apt = await privateApt(runner, cacheDirectory, sourcesList(suitesOf(archive, GO_SUITES), ['deb']));
  const madison = await runner.run('apt-cache', [...apt.options, 'madison', ...goPackageNames(requirement)], {
    allowFailure: true,
  });
  const choice = chooseGoPackage(madisonVersions(madison.stdout), requirement);
  const fallback = cached.at(-1);
  if (fallback && (!choice || !choice.version.startsWith(`${preferredMinor ?? '-'}.`))) return fallback;
  if (!choice) {
    throw new MissingPrerequisiteError(
      `the sources need ${needs}; ${have}, and Debian's ${GO_SUITES.join(', ')} have none`,
      {
        hint: 'put a go of that version on PATH',
      },
    );
  }
  const name = `golang-${choice.minor}`;
  const root = join(cacheDirectory, 'go', `${name}_${choice.version}`);
  await materialize(root, async (partial) => {
    const debs = join(apt.directory, 'debs');
    await mkdir(debs, { recursive: true });
    await runner.run(
      'apt-get',
      [...apt.options, 'download', `${name}-go=${choice.version}`, `${name}-src=${choice.version}`],
      { cwd: debs, mutates: true },
    );
    await mkdir(partial, { recursive: true });
    for (const file of await readdir(debs)) {
      const escaped = choice.version.replace(/:/g, '%3a');
      if (file.startsWith(`${name}-go_${escaped}_`) || file.startsWith(`${name}-src_${escaped}_`))
        await runner.run('dpkg', ['-x', join(debs, file), partial], { mutates: true });
    }
  });
  const goroot = join(root, 'usr', 'lib', `go-${choice.minor}`);
  const command = join(goroot, 'bin', 'go');
  const version = existsSync(command) ? await versionOf(runner, command) : null;
  if (!version || !satisfies(version, requirement)) {
    throw new MissingPrerequisiteError(`${name}-go ${choice.version} unpacked, but ${command} does not run`, {
      hint: `remove ${root} and try again`,
    });
  }
  return { command, version, origin: `${name}-go ${choice.version}`, goroot };
}

/** golang-1.NN-go for every minor from the requirement's up to a few past it. */
function goPackageNames(requirement: GoRequirement): string[] {
  const floor = goVersion(requirement.minimum ?? requirement.preferred ?? '1.19') ?? '1.19.0';
  const minor = semver.minor(floor);
  return Array.from({ length: 12 }, (_, index) => `golang-1.${minor + index}-go`);
}

/** The environment a provisioned Go needs; the one on PATH needs nothing. */
export function goEnvironmentOf(go: GoToolchain): Record<string, string> {
  return go.goroot ? { GOROOT: go.goroot } : {};
}
