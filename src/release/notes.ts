/**
 * Release notes written from what was built: the components and their upstream versions, the
 * targets with their bundles, a checksum table, and the commits since the previous semver tag
 * when the release is cut from a git checkout.
 */
import semver from 'semver';
import type { Manifest } from '../artifacts/manifest.js';
import type { Runner } from '../exec/runner.js';
import type { ReleaseAsset, ReleaseVersion } from './plan.js';

export interface GitChanges {
  /** The previous tag, or null when this is the first. */
  since: string | null;
  commits: string[];
}

export function releaseNotes(input: {
  release: ReleaseVersion;
  manifest: Manifest;
  assets: readonly ReleaseAsset[];
  changes: GitChanges | null;
}): string {
  const { manifest } = input;
  const lines: string[] = [];
  lines.push(`Docker engine and runtime ${input.release.version}, static, for ${manifest.targets.join(', ')}.`, '');
  lines.push('## Components', '', '| component | version | source | revision |', '|---|---|---|---|');
  for (const source of [...manifest.sources].sort((a, b) => (a.recipe < b.recipe ? -1 : 1)))
    lines.push(`| ${source.recipe} | ${source.version ?? '—'} | \`${source.spec}\` | \`${source.revision}\` |`);
  lines.push('', '## Bundles', '', '| target | file | size |', '|---|---|---|');
  for (const artifact of manifest.artifacts.filter((a) => a.kind === 'bundle'))
    lines.push(`| ${artifact.target ?? ''} | ${artifact.file} | ${formatSize(artifact.size)} |`);
  const toolchains = Object.entries(manifest.toolchains);
  if (toolchains.length > 0)
    lines.push('', `Built with ${toolchains.map(([name, version]) => `${name} ${version}`).join(', ')}.`);
  if (input.changes) {
    lines.push('', input.changes.since ? `## Changes since ${input.changes.since}` : '## Changes', '');
    if (input.changes.commits.length === 0) lines.push('No commits.');
    for (const commit of input.changes.commits) lines.push(`- ${commit}`);
  }
  lines.push('', '## SHA-256', '', '```');
  for (const asset of input.assets.filter((a) => a.name !== 'SHA256SUMS')) lines.push(`${asset.sha256}  ${asset.name}`);
  lines.push('```', '', 'Check a download with `sha256sum -c SHA256SUMS --ignore-missing`.', '');
  return lines.join('\n');
}

function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** The previous semver tag below this version in a git checkout, and the commits since; null outside git. */
export async function gitChanges(runner: Runner, cwd: string, release: ReleaseVersion): Promise<GitChanges | null> {
  const inside = await runner.run('git', ['rev-parse', '--is-inside-work-tree'], { cwd, allowFailure: true });
  if (inside.exitCode !== 0 || inside.stdout.trim() !== 'true') return null;
  const tags = await runner.run('git', ['tag', '--list'], { cwd });
  const previous = tags.stdout
    .split('\n')
    .map((tag) => tag.trim())
    .filter((tag) => {
      const version = semver.valid(tag.replace(/^v(?=\d)/, ''));
      return version !== null && semver.lt(version, release.version);
    })
    .sort((a, b) => semver.rcompare(a.replace(/^v(?=\d)/, ''), b.replace(/^v(?=\d)/, '')))[0];
  // The release's own tag when it exists locally, else HEAD (the tag is made on publish).
  const head = await runner.run('git', ['rev-parse', '--verify', '--quiet', `refs/tags/${release.tag}`], {
    cwd,
    allowFailure: true,
  });
  const end = head.exitCode === 0 ? release.tag : 'HEAD';
  const log = await runner.run(
    'git',
    ['log', '--no-merges', '--format=%h %s', '--max-count=200', previous ? `${previous}..${end}` : end],
    { cwd, allowFailure: true },
  );
  return { since: previous ?? null, commits: log.exitCode === 0 ? log.stdout.split('\n').filter(Boolean) : [] };
}
