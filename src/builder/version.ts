/** Release versions: semver with an optional v, or Docker-style pseudo-versions. Pure. */
import semver from 'semver';
import { UserError } from '../errors.js';

/** `0.0.0-20261122191500-abcdef1`, like Docker's builds from an untagged commit. */
export function pseudoVersion(epochSeconds: number, revision: string): string {
  const date = new Date(epochSeconds * 1000);
  const stamp = [
    date.getUTCFullYear(),
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  ]
    .map((part, index) => String(part).padStart(index === 0 ? 4 : 2, '0'))
    .join('');
  return `0.0.0-${stamp}-${revision
    .replace(/[^0-9a-f]/gi, '')
    .slice(0, 7)
    .toLowerCase()}`;
}

/** `v27.5.1` → `27.5.1`; refuses what is not semver, naming where it came from. */
export function normalizeVersion(raw: string, where: string): string {
  const version = raw.trim().replace(/^v(?=\d)/, '');
  if (!semver.valid(version)) {
    throw new UserError(`${where}: "${raw}" is not a semver version`, {
      hint: 'use MAJOR.MINOR.PATCH, e.g. 27.5.1 or 28.0.0-rc.1',
    });
  }
  return version;
}

/**
 * The upstream version inside a Debian version: `20.10.24+dfsg1-1` → `20.10.24`,
 * `1:1.6.20~ds1-1+b1` → `1.6.20`, `0.19.0-1` → `0.19.0`.
 */
export function upstreamOfDebianVersion(debianVersion: string): string {
  const withoutEpoch = debianVersion.replace(/^\d+:/, '');
  const withoutRevision = withoutEpoch.includes('-')
    ? withoutEpoch.slice(0, withoutEpoch.lastIndexOf('-'))
    : withoutEpoch;
  return withoutRevision.replace(/[+~](dfsg|ds|repack)\d*$/i, '').replace(/[+~](dfsg|ds|repack)\d*(?=[+~])/i, '');
}

/**
 * A release tag's version: `v1.2.3` → `1.2.3`, and moby's `docker-v29.7.2` → `29.7.2`; anything
 * else (between tags, no tags) → null.
 */
export function versionFromDescribe(describe: string): string | null {
  const version = describe.trim().replace(/^(?:docker-)?v(?=\d)/, '');
  return semver.valid(version) && !/-\d+-g[0-9a-f]+$/.test(describe.trim()) ? version : null;
}
