/**
 * package.json's engines promise a Node every runtime dependency accepts: a dependency that wants
 * a newer Node than we say (content-type 3 wants 22, through @octokit/request) is overridden to a
 * release that accepts ours, or the promise is raised.
 */
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { dev?: boolean; engines?: { node?: string } | string[] }>;
};

describe('engines', () => {
  it("every runtime dependency accepts the Node that package.json's engines promise", () => {
    const refused = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && !entry.dev && !Array.isArray(entry.engines) && entry.engines?.node)
      .filter(([, entry]) => {
        const wants = (entry.engines as { node: string }).node;
        return !semver.subset(pkg.engines.node, wants);
      })
      .map(([path, entry]) => `${path} wants node ${(entry.engines as { node: string }).node}`);
    expect(refused).toEqual([]);
  });
});
