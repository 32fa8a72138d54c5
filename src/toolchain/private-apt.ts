/**
 * apt with lists of crossdock's own, in the cache: the machine's sources are read, never edited.
 * Debian's other suites (bookworm-backports, trixie, forky) come from the same mirror as the
 * machine's own Debian lines, so a site with a local Debian mirror reaches them as it is.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MissingPrerequisiteError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { createHash } from 'node:crypto';

/** How long crossdock's own lists are trusted before `apt-get update` refreshes them. */
const LISTS_MAX_AGE_MS = 6 * 3600 * 1000;

export interface AptSource {
  uri: string;
  suite: string;
  components: string[];
  signedBy: string | null;
}

/** The machine's `deb` entries, one-line and deb822 formats alike. Pure. */
export function parseAptSources(files: ReadonlyArray<{ name: string; text: string }>): AptSource[] {
  const sources: AptSource[] = [];
  for (const { name, text } of files) {
    if (name.endsWith('.list')) {
      for (const line of text.split('\n')) {
        const match = /^\s*deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s+(.+?)\s*$/.exec(line);
        if (!match?.[2] || !match[3] || !match[4]) continue;
        const signedBy = /signed-by=(\S+)/.exec(match[1] ?? '')?.[1] ?? null;
        sources.push({ uri: match[2], suite: match[3], components: match[4].split(/\s+/), signedBy });
      }
    } else if (name.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const fields = new Map<string, string>();
        for (const line of stanza.split('\n')) {
          const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
          if (match?.[1]) fields.set(match[1].toLowerCase(), match[2] ?? '');
        }
        if (!(fields.get('types') ?? '').split(/\s+/).includes('deb') || fields.get('enabled') === 'no') continue;
        for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) {
          for (const suite of (fields.get('suites') ?? '').split(/\s+/).filter(Boolean)) {
            sources.push({
              uri,
              suite,
              components: (fields.get('components') ?? 'main').split(/\s+/),
              signedBy: fields.get('signed-by') ?? null,
            });
          }
        }
      }
    }
  }
  return sources;
}

export function sourcesList(sources: readonly AptSource[], types: ReadonlyArray<'deb' | 'deb-src'>): string {
  return sources
    .flatMap((source) =>
      types.map(
        (type) =>
          `${type} ${source.signedBy ? `[signed-by=${source.signedBy}] ` : ''}${source.uri} ${source.suite} ${source.components.join(' ')}\n`,
      ),
    )
    .join('');
}

export function debSrcList(sources: readonly AptSource[]): string {
  return sourcesList(sources, ['deb-src']);
}

/**
 * The machine's Debian archive (not the security archive, not a third party's), on which other
 * suites of the same archive are found. Pure.
 */
export function debianArchive(sources: readonly AptSource[]): AptSource | null {
  const release = /^(buster|bullseye|bookworm|trixie|forky|duke|sid|unstable|testing|stable|oldstable)$/;
  return sources.find((source) => release.test(source.suite) && source.components.includes('main')) ?? null;
}

/** The same archive at other suites, main only. Pure. */
export function suitesOf(archive: AptSource, suites: readonly string[]): AptSource[] {
  return suites.map((suite) => ({ ...archive, suite, components: ['main'] }));
}

export async function readMachineAptSources(): Promise<AptSource[]> {
  const files: Array<{ name: string; text: string }> = [];
  if (existsSync('/etc/apt/sources.list'))
    files.push({ name: 'sources.list', text: await readFile('/etc/apt/sources.list', 'utf8') });
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const name of (await readdir('/etc/apt/sources.list.d')).sort()) {
      if (name.endsWith('.list') || name.endsWith('.sources'))
        files.push({ name, text: await readFile(join('/etc/apt/sources.list.d', name), 'utf8') });
    }
  }
  return parseAptSources(files);
}

export interface PrivateApt {
  /** `-o` options that point apt-get and apt-cache at these lists only. */
  options: string[];
  directory: string;
}

/**
 * One set of lists per distinct sources.list text, refreshed when older than six hours. The
 * host's dpkg status is left out of version choices by the callers that simulate installs.
 */
export async function privateApt(runner: Runner, cacheDirectory: string, list: string): Promise<PrivateApt> {
  if (!list)
    throw new MissingPrerequisiteError('no Debian package sources (deb lines) in /etc/apt', {
      hint: 'debian: sources and Go from Debian need a Debian or Ubuntu machine with its mirror in /etc/apt/sources.list*',
    });
  const directory = join(cacheDirectory, 'apt', createHash('sha256').update(list).digest('hex').slice(0, 12));
  for (const sub of ['lists/partial', 'cache/archives/partial', 'src', 'debs'])
    await mkdir(join(directory, sub), { recursive: true });
  const listFile = join(directory, 'sources.list');
  const options = [
    '-o',
    `Dir::Etc::SourceList=${listFile}`,
    '-o',
    'Dir::Etc::SourceParts=/dev/null',
    '-o',
    `Dir::State::Lists=${join(directory, 'lists')}`,
    '-o',
    `Dir::Cache=${join(directory, 'cache')}`,
    // Downloads land in crossdock's cache, which apt's unprivileged _apt user may not reach.
    '-o',
    'APT::Sandbox::User=root',
  ];
  const stamp = join(directory, 'lists', '.crossdock-updated');
  const stale = !existsSync(stamp) || Date.now() - (await stat(stamp)).mtimeMs > LISTS_MAX_AGE_MS;
  if (stale) {
    await writeFile(listFile, list);
    // A mirror caught mid-sync fails one index; the download that needs it fails loudly.
    await runner.run('apt-get', [...options, 'update'], { allowFailure: true, mutates: true });
    await writeFile(stamp, '');
  }
  return { options, directory };
}
