/**
 * Release: the first publish of a dist, then re-runs with every asset already there (what a
 * retried CI job does), against the local GitHub stand-in the tests use (every request checked
 * against GitHub's OpenAPI description). Reports seconds and requests, reads and writes apart.
 *
 * Usage: npx tsx bench/release.ts [--runs 5] [--megabytes 8]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeDist } from '../test/helpers/dist.js';
import { FakeGitHub } from '../test/helpers/fake-github/server.js';
import { crossdock, median, seconds, table, timed, writeResults } from './lib.js';

const TOKEN = 'ghp_crossdockBenchToken0123456789abcdefXYZ';

export interface ReleaseResult {
  assets: number;
  bytes: number;
  first: { seconds: number; requests: number; writes: number };
  rerun: { seconds: number; requests: number; writes: number; samples: number[] };
  violations: number;
}

export async function benchRelease(runs: number, megabytes: number): Promise<ReleaseResult> {
  const work = mkdtempSync(join(tmpdir(), 'crossdock-bench-release-'));
  const server = await new FakeGitHub({ token: TOKEN }).start();
  try {
    const dist = await makeDist(work, {
      version: '1.2.3',
      targets: ['x86_64', 'aarch64', 'armv7', 'armv6'],
      binaryBytes: megabytes * 1024 * 1024,
    });
    const release = async () => {
      const before = server.requests.length;
      const writesBefore = server.writes().length;
      const { seconds: elapsed } = await timed(() =>
        crossdock(['release', dist, '--repo', 'acme/docker-arm', '--api-url', server.apiUrl, '--json'], {
          cwd: work,
          env: { GITHUB_TOKEN: TOKEN, GH_TOKEN: '' },
        }),
      );
      return {
        seconds: elapsed,
        requests: server.requests.length - before,
        writes: server.writes().length - writesBefore,
      };
    };
    const first = await release();
    const again: Array<Awaited<ReturnType<typeof release>>> = [];
    for (let i = 0; i < runs; i += 1) again.push(await release());
    const assets = server.release('v1.2.3')?.assets ?? [];
    return {
      assets: assets.length,
      bytes: assets.reduce((sum, a) => sum + a.data.length, 0),
      first,
      rerun: {
        seconds: median(again.map((r) => r.seconds)),
        requests: median(again.map((r) => r.requests)),
        writes: Math.max(...again.map((r) => r.writes)),
        samples: again.map((r) => r.seconds),
      },
      violations: server.violations.length,
    };
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

export function releaseTable(result: ReleaseResult): string {
  return table([
    ['release', 'seconds', 'requests', 'writes'],
    [
      `first publish (${result.assets} assets, ${(result.bytes / 1024 / 1024).toFixed(0)} MB)`,
      seconds(result.first.seconds),
      result.first.requests,
      result.first.writes,
    ],
    ['re-run, all assets present', seconds(result.rerun.seconds), result.rerun.requests, result.rerun.writes],
  ]);
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '5' }, megabytes: { type: 'string', default: '8' } },
  });
  const result = await benchRelease(Number(values.runs), Number(values.megabytes));
  console.log(releaseTable(result));
  if (result.violations > 0) console.log(`warning: ${result.violations} OpenAPI violations on the fake server`);
  console.log(`raw results: ${writeResults('release', { ...result })}`);
}
