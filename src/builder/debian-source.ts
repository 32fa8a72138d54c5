/**
 * debian:<package> sources, Debian's own way and offline from a Debian mirror: `apt-get source`
 * with a deb-src list of crossdock's own (the machine's apt sources are never edited), and the Go
 * dependencies from Debian's golang-*-dev packages, fetched with `apt-get download` and unpacked
 * with `dpkg -x` into a GOPATH in the cache, so the host stays clean.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MissingPrerequisiteError, UserError } from '../errors.js';
import { findExecutable } from '../exec/find-executable.js';
import type { Runner } from '../exec/runner.js';
import { sha256 } from '../artifacts/checksums.js';
import {
  debianArchive,
  type PrivateApt,
  privateApt,
  readMachineAptSources,
  sourcesList,
  suitesOf,
} from '../toolchain/private-apt.js';
import { materialize, type SourceCheckout, type SourceContext, type SourceSpec } from './sources.js';
import { upstreamOfDebianVersion } from './version.js';

/** golang-*-dev names in a .dsc's Build-Depends, without version constraints or alternatives. */
export function goBuildDependencies(dsc: string): string[] {
  const field = /^Build-Depends(?:-Indep|-Arch)?:((?:.*\n(?:[ \t].*\n)*))/gm;
  const names = new Set<string>();
  for (const match of dsc.matchAll(field)) {
    for (const item of (match[1] ?? '').split(',')) {
      const name =
        item
          .replace(/\(.*?\)|\[.*?\]|<.*?>/g, '')
          .split('|')[0]
          ?.trim() ?? '';
      if (/^golang-.+-dev$/.test(name)) names.add(name);
    }
  }
  return [...names].sort();
}

export async function fetchDebianSource(
  spec: Extract<SourceSpec, { kind: 'debian' }>,
  raw: string,
  context: SourceContext,
): Promise<SourceCheckout> {
  for (const tool of ['apt-get', 'apt-cache', 'dpkg-source', 'dpkg']) {
    if (!findExecutable(tool)) {
      throw new MissingPrerequisiteError(`${raw}: ${tool} not found`, {
        hint: 'debian: sources need a Debian or Ubuntu host with dpkg-dev (apt-get install -y dpkg-dev)',
      });
    }
  }
  const machine = await readMachineAptSources();
  let lists = machine;
  if (spec.suite) {
    const archive = debianArchive(machine);
    if (!archive)
      throw new MissingPrerequisiteError(`${raw}: no Debian archive in /etc/apt to find ${spec.suite} on`, {
        hint: 'debian:<package>@<suite> needs a Debian machine whose sources name a Debian mirror',
      });
    lists = suitesOf(archive, [spec.suite]);
  }
  // deb lines too: the Go libraries are resolved against the same suite as the source.
  const apt = await privateApt(context.runner, context.cacheDirectory, sourcesList(lists, ['deb', 'deb-src']));
  const { runner } = context;
  const showsrc = await runner.run('apt-cache', [...apt.options, 'showsrc', spec.package], { allowFailure: true });
  const versions = sourceVersions(showsrc.stdout, spec.package);
  const version = spec.version ?? (await highestVersion(runner, versions));
  if (!version || (spec.version && !versions.includes(spec.version))) {
    throw new UserError(
      `${raw}: no source package ${spec.package}${spec.version ? ` version ${spec.version}` : ''} in ${spec.suite ?? "this machine's Debian lists"}`,
      {
        hint: versions.length
          ? `available: ${versions.join(', ')}`
          : 'check the name with apt-cache showsrc, or use a git source',
      },
    );
  }
  const downloads = join(apt.directory, 'src', `${spec.package}_${version}`);
  const dscName = `${spec.package}_${version.replace(/^\d+:/, '')}.dsc`;
  const dscFile = join(downloads, dscName);
  if (!existsSync(dscFile)) {
    await mkdir(downloads, { recursive: true });
    const fetched = await runner.run(
      'apt-get',
      [...apt.options, 'source', '--download-only', `${spec.package}=${version}`],
      { cwd: downloads, mutates: true, allowFailure: true },
    );
    if (fetched.exitCode !== 0) {
      // Some mirrors serve a suite's tarballs but not its .dsc; the Sources index apt verified
      // against the signed Release holds every field and checksum the .dsc would.
      const stanza = sourceStanza(showsrc.stdout, spec.package, version);
      const files = stanza ? sourceFiles(stanza).filter((file) => !file.endsWith('.dsc')) : [];
      const missing = files.filter((file) => !existsSync(join(downloads, file)));
      if (!stanza || files.length === 0 || missing.length > 0) {
        throw new MissingPrerequisiteError(
          `${raw}: apt-get source ${spec.package}=${version} failed: ${
            fetched.stderr
              .trim()
              .split('\n')
              .find((line) => line.startsWith('E:')) ??
            fetched.stderr.trim().split('\n').at(-1) ??
            ''
          }`,
          { hint: missing.length ? `the mirror lacks ${missing.join(', ')}` : 'apt-get update, or try another suite' },
        );
      }
      await writeFile(dscFile, dscFromSourcesStanza(stanza));
    }
  }
  const dsc = await readFile(dscFile, 'utf8');
  const directory = join(
    context.cacheDirectory,
    'work',
    `debian-${spec.package}_${version.replace(/[^A-Za-z0-9.+~-]/g, '_')}`,
  );
  await materialize(directory, async (partial) => {
    // apt already checked every file against the signed Release; no keyring needed here.
    await runner.run('dpkg-source', ['--no-check', '--no-copy', '-x', dscFile, partial], {
      cwd: downloads,
      mutates: true,
    });
  });
  await applyCleanExclusions(directory);
  const timestamp = await runner.run(
    'dpkg-parsechangelog',
    ['-l', join(directory, 'debian', 'changelog'), '-S', 'Timestamp'],
    { allowFailure: true },
  );
  const { goPath, packages } = await goDependencies(goBuildDependencies(dsc), apt, context);
  // The Go Debian builds this suite with: golang-go's version in the same lists.
  const policy = await runner.run('apt-cache', [...apt.options, 'policy', 'golang-go'], { allowFailure: true });
  const suiteGo = /Candidate:\s*(?:\d+:)?(\d+\.\d+)/.exec(policy.stdout)?.[1] ?? null;
  return {
    spec: raw,
    kind: 'debian',
    directory,
    revision: version,
    revisionShort: sha256(dsc).slice(0, 7),
    epoch: Number(timestamp.stdout.trim()) || 0,
    version: upstreamOfDebianVersion(version),
    description: `Debian source ${spec.package} ${version}`,
    goPath,
    goLibraries: packages,
    ...(goPath.length > 0 && suiteGo ? { debianGo: suiteGo } : {}),
  };
}

/**
 * What the package's own `debian/rules clean` removes before Debian builds it. docker.io's clean
 * step deletes every Files-Excluded path under each tree (`*\/vendor/github.com/moby/buildkit`
 * and so on), even where the repacked tarball still holds it, so that the patched sibling trees
 * and Debian's golang-*-dev packages are what the GOPATH finds, not stale vendored copies. Pure:
 * returns paths relative to a top-level tree; empty when the rules do not run that step.
 */
export function cleanExclusions(rules: string, copyright: string): string[] {
  if (!/Files\\?-Excluded/.test(rules) || !/\$\(RM\)/.test(rules)) return [];
  const field = /^Files-Excluded:[ \t]*((?:.*\n?)(?:[ \t]+.*\n?)*)/m.exec(copyright);
  if (!field?.[1]) return [];
  return field[1]
    .split(/\s+/)
    .filter((entry) => entry !== '' && !entry.startsWith('~') && !entry.includes('..') && !entry.startsWith('/'));
}

/** Applies {@link cleanExclusions} to every top-level tree of an unpacked source; idempotent. */
async function applyCleanExclusions(directory: string): Promise<void> {
  const rules = await readFile(join(directory, 'debian', 'rules'), 'utf8').catch(() => '');
  const copyright = await readFile(join(directory, 'debian', 'copyright'), 'utf8').catch(() => '');
  const entries = cleanExclusions(rules, copyright);
  if (entries.length === 0) return;
  const trees = (await readdir(directory, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && entry.name !== 'debian')
    .map((entry) => entry.name);
  for (const tree of trees) {
    for (const entry of entries) await rm(join(directory, tree, entry), { recursive: true, force: true });
  }
}

/** The stanza of one version in `apt-cache showsrc` output. Pure. */
export function sourceStanza(showsrc: string, name: string, version: string): string | null {
  return (
    showsrc
      .split(/\n\s*\n/)
      .find(
        (stanza) => /^Package: (\S+)$/m.exec(stanza)?.[1] === name && /^Version: (\S+)$/m.exec(stanza)?.[1] === version,
      ) ?? null
  );
}

/** The file names a Sources stanza lists. Pure. */
export function sourceFiles(stanza: string): string[] {
  const block =
    /^Checksums-Sha256:\n((?:[ \t].*\n?)*)/m.exec(stanza)?.[1] ?? /^Files:\n((?:[ \t].*\n?)*)/m.exec(stanza)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[2])
    .filter((name): name is string => !!name);
}

const DSC_FIELDS = new Set([
  'Format',
  'Binary',
  'Architecture',
  'Version',
  'Maintainer',
  'Uploaders',
  'Homepage',
  'Standards-Version',
  'Build-Depends',
  'Build-Depends-Indep',
  'Build-Depends-Arch',
  'Build-Conflicts',
  'Build-Conflicts-Indep',
  'Go-Import-Path',
  'Checksums-Sha1',
  'Checksums-Sha256',
  'Files',
]);
const CHECKSUM_FIELDS = new Set(['Checksums-Sha1', 'Checksums-Sha256', 'Files']);

/**
 * A .dsc made from the Sources index stanza of the same version: `Package` becomes `Source`,
 * index-only fields go, and the checksum lists lose the .dsc's own line. Pure.
 */
export function dscFromSourcesStanza(stanza: string): string {
  const fields: Array<{ name: string; lines: string[] }> = [];
  for (const line of stanza.split('\n')) {
    const field = /^([A-Za-z0-9-]+):(.*)$/.exec(line);
    if (field?.[1]) fields.push({ name: field[1], lines: [field[2] ?? ''] });
    else if (/^[ \t]/.test(line)) fields.at(-1)?.lines.push(line);
  }
  const out: string[] = [];
  for (const { name, lines } of fields) {
    if (name === 'Package') out.push(`Source:${lines[0] ?? ''}`);
    else if (DSC_FIELDS.has(name)) {
      const kept = CHECKSUM_FIELDS.has(name) ? lines.filter((line) => !line.trim().endsWith('.dsc')) : lines;
      out.push(`${name}:${kept.join('\n')}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Versions of a source package in `apt-cache showsrc` output (one stanza per version). Pure. */
export function sourceVersions(showsrc: string, name: string): string[] {
  const versions = new Set<string>();
  for (const stanza of showsrc.split(/\n\s*\n/)) {
    const packageName = /^Package: (\S+)$/m.exec(stanza)?.[1];
    const version = /^Version: (\S+)$/m.exec(stanza)?.[1];
    if (packageName === name && version) versions.add(version);
  }
  return [...versions];
}

export interface DebianPackage {
  name: string;
  version: string;
}

/** The golang-*-dev packages an `apt-get -s install` would install ("Inst name (version …)"). Pure. */
export function goLibrariesToInstall(simulation: string): DebianPackage[] {
  const found = new Map<string, string>();
  for (const line of simulation.split('\n')) {
    const match = /^Inst (golang-\S+-dev) \((\S+) /.exec(line);
    if (match?.[1] && match[2]) found.set(match[1], match[2]);
  }
  return [...found].map(([name, version]) => ({ name, version })).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The file name apt gives a downloaded package: the epoch's colon is written %3a. */
export function debFileName(pkg: DebianPackage, architecture: string): string {
  return `${pkg.name}_${pkg.version.replace(/:/g, '%3a')}_${architecture}.deb`;
}

async function highestVersion(runner: Runner, versions: readonly string[]): Promise<string | null> {
  let best: string | null = null;
  for (const version of versions) {
    if (
      best === null ||
      (await runner.run('dpkg', ['--compare-versions', version, 'gt', best], { allowFailure: true })).exitCode === 0
    )
      best = version;
  }
  return best;
}

/**
 * The closure of golang-*-dev packages the source builds with, unpacked into one GOPATH root
 * per closure. Binary packages come from the machine's own apt lists; exactly the versions apt
 * chose are unpacked, whatever older downloads the cache still holds.
 */
async function goDependencies(
  direct: readonly string[],
  apt: PrivateApt,
  context: SourceContext,
): Promise<{ goPath: string[]; packages: DebianPackage[] }> {
  if (direct.length === 0) return { goPath: [], packages: [] };
  const { runner } = context;
  // apt itself picks one consistent set, as for a real build: one provider of each virtual
  // package and one of each set of alternatives (golang-github-golang-protobuf-1-3-dev, not
  // 1-5 as well, which would put two copies of one import path on GOPATH). An empty dpkg status
  // makes the answer independent of what this host has installed.
  const resolution = join(
    context.cacheDirectory,
    'gocode',
    `resolved-${sha256([apt.directory, ...direct].join('\n')).slice(0, 16)}.json`,
  );
  let closure: DebianPackage[];
  if (existsSync(resolution)) {
    closure = JSON.parse(await readFile(resolution, 'utf8')) as DebianPackage[];
  } else {
    const emptyStatus = join(apt.directory, 'empty-status');
    await writeFile(emptyStatus, '');
    const simulated = await runner.run(
      'apt-get',
      [
        ...apt.options,
        '-s',
        '-o',
        `Dir::State::status=${emptyStatus}`,
        '-o',
        'Debug::NoLocking=1',
        'install',
        '--no-install-recommends',
        ...direct,
      ],
      { allowFailure: true },
    );
    closure = goLibrariesToInstall(simulated.stdout);
    if (simulated.exitCode !== 0 || closure.length === 0) {
      throw new MissingPrerequisiteError(
        `apt cannot resolve the Go libraries ${direct.slice(0, 3).join(', ')}…: ${simulated.stderr.trim().split('\n').at(-1) ?? ''}`,
        { hint: 'apt-get update, or use a git source with vendored dependencies' },
      );
    }
    await mkdir(join(context.cacheDirectory, 'gocode'), { recursive: true });
    await writeFile(resolution, `${JSON.stringify(closure, null, 2)}\n`);
  }
  const root = join(context.cacheDirectory, 'gocode', sha256(JSON.stringify(closure)).slice(0, 16));
  await materialize(root, async (partial) => {
    const debs = join(apt.directory, 'debs');
    await runner.run('apt-get', [...apt.options, 'download', ...closure.map((p) => `${p.name}=${p.version}`)], {
      cwd: debs,
      mutates: true,
    });
    await mkdir(partial, { recursive: true });
    const available = new Set(await readdir(debs));
    for (const pkg of closure) {
      const file = [...available].find(
        (name) => name.startsWith(debFileName(pkg, '').slice(0, -'.deb'.length)) && name.endsWith('.deb'),
      );
      if (!file)
        throw new MissingPrerequisiteError(`apt-get download gave no ${pkg.name} ${pkg.version}`, {
          hint: 'apt-get update and try again',
        });
      await runner.run('dpkg', ['-x', join(debs, file), partial], { mutates: true });
    }
  });
  return { goPath: [join(root, 'usr', 'share', 'gocode')], packages: closure };
}
