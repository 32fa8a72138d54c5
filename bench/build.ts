/**
 * Build: a cold `crossdock build` of every target against the very commands it ran (read back
 * from manifest.json: the same env, the same go/gcc arguments) typed into a shell script by
 * hand, with an empty Go build cache each; then the no-op rebuild, and the rebuild after one
 * component's source changed. crossdock also verifies every binary under QEMU, packages, and
 * writes SBOMs and checksums; the script does none of that, so the ratio is crossdock's overhead.
 *
 * The default recipes are the test fixtures (a cgo Go program and a C program) so the bench
 * runs in a minute or two; --real builds the embedded default (Docker from Debian's sources;
 * about a quarter of an hour cold on two cores).
 *
 * Usage: npx tsx bench/build.ts [--real]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Manifest } from '../src/artifacts/manifest.js';
import { commitAll, fixtureRepository } from '../test/helpers/git.js';
import { crossdock, ratio, run, seconds, table, timed, writeResults } from './lib.js';

const TARGETS = ['x86_64', 'aarch64', 'armv7', 'armv6'];

export interface BuildBenchResult {
  recipes: 'fixtures' | 'debian';
  binaries: number;
  cold: number;
  byHand: number;
  noop: number;
  touchedOne: number;
  rebuiltAfterTouch: number;
}

function configFor(goRepository: string, cRepository: string): string {
  return `targets: [${TARGETS.join(', ')}]
build:
  outDir: dist
  cacheDir: cache
  components: [hello, hello-c]
  recipes:
    - name: hello
      source: git+file://${goRepository}#main
      language: go
      binaries:
        - { name: hello, package: ./cmd/hello, cgo: true, ldflags: ['-X main.version={version}'] }
    - name: hello-c
      source: git+file://${cRepository}#main
      language: c
      binaries:
        - { name: hello-c, sources: [hello.c], cflags: ['-DHELLO_VERSION="{version}"'] }
`;
}

/**
 * The shell script a person would write for the same binaries: each compile with the env and
 * arguments the manifest recorded, run in the recipe's source directory.
 */
function byHandScript(manifest: Manifest, sourceOf: (component: string) => string, out: string, goCache: string) {
  const quote = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;
  const lines = ['#!/bin/sh', 'set -e'];
  for (const bundle of manifest.artifacts.filter((a) => a.kind === 'bundle')) {
    for (const binary of bundle.binaries ?? []) {
      const output = join(out, bundle.target ?? 'any', binary.name);
      const isGo = binary.flags.args[0] === 'build';
      const command = isGo ? 'go' : (binary.flags.env.CC ?? 'cc');
      const args = binary.flags.args.flatMap((arg) => (arg === '-o' ? ['-o', output] : [arg]));
      const env = Object.entries({ ...binary.flags.env, ...(isGo ? { GOCACHE: goCache } : {}) })
        .filter(([name]) => isGo || name !== 'CC')
        .map(([name, value]) => `${name}=${quote(value)}`);
      lines.push(`mkdir -p ${quote(join(out, bundle.target ?? 'any'))}`);
      lines.push(
        `(cd ${quote(sourceOf(binary.component))} && env ${env.join(' ')} ${command} ${args.map(quote).join(' ')})`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function benchBuild(options: { real: boolean }): Promise<BuildBenchResult> {
  const work = mkdtempSync(join(tmpdir(), 'crossdock-bench-build-'));
  try {
    let goRepository = '';
    let cRepository = '';
    const env = { XDG_CACHE_HOME: join(work, 'xdg') };
    if (!options.real) {
      goRepository = await fixtureRepository(work, 'hello-go');
      cRepository = await fixtureRepository(work, 'hello-c');
      writeFileSync(join(work, 'crossdock.yaml'), configFor(goRepository, cRepository));
    }
    const build = async () => {
      const { seconds: elapsed, result } = await timed(() =>
        crossdock(['build', '--json', ...(options.real ? [] : ['--version', '1.0.0'])], { cwd: work, env }),
      );
      return {
        seconds: elapsed,
        report: JSON.parse(result) as { directory: string; binaries: Array<{ cached: boolean }> },
      };
    };
    const cold = await build();
    const noop = await build();
    if (noop.report.binaries.some((b) => !b.cached)) throw new Error('the no-op rebuild compiled something');

    const manifest = JSON.parse(readFileSync(join(cold.report.directory, 'manifest.json'), 'utf8')) as Manifest;
    let touchedSeconds = NaN;
    let rebuilt = 0;
    if (!options.real) {
      // One component changes (a fixed --version, so the Go program embeds nothing that changed):
      // the C program gets a new line; the Go one must come from the cache.
      const file = join(cRepository, 'hello.c');
      writeFileSync(file, `${readFileSync(file, 'utf8')}\n/* touched */\n`);
      await commitAll(cRepository, 'touch', '2026-01-02T00:00:00Z');
      const touched = await build();
      touchedSeconds = touched.seconds;
      rebuilt = touched.report.binaries.filter((b) => !b.cached).length;
    }

    // By hand: the same compiles from an empty Go build cache, nothing else.
    const sources: Record<string, string> = { hello: goRepository, 'hello-c': cRepository };
    const script = join(work, 'by-hand.sh');
    const goCache = join(work, 'by-hand-gocache');
    mkdirSync(goCache, { recursive: true });
    const sourceOf = (component: string) => {
      const directory = sources[component];
      if (directory && existsSync(directory)) return directory;
      throw new Error(`--real: the by-hand script needs the source of ${component}; run it on the fixtures`);
    };
    let byHand = NaN;
    if (!options.real) {
      // The fixture sources as they were for the cold build.
      await run('git', ['checkout', '-q', 'HEAD~1'], { cwd: cRepository });
      writeFileSync(script, byHandScript(manifest, sourceOf, join(work, 'by-hand-out'), goCache));
      byHand = (await timed(() => run('sh', [script]))).seconds;
    }
    return {
      recipes: options.real ? 'debian' : 'fixtures',
      binaries: cold.report.binaries.length,
      cold: cold.seconds,
      byHand,
      noop: noop.seconds,
      touchedOne: touchedSeconds,
      rebuiltAfterTouch: rebuilt,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function buildTable(result: BuildBenchResult): string {
  return table([
    [`build (${result.recipes}, ${result.binaries} binaries over ${TARGETS.length} targets)`, 'seconds', 'vs by hand'],
    [
      'cold crossdock build (compile, verify under QEMU, package)',
      seconds(result.cold),
      ratio(result.cold / result.byHand),
    ],
    ['the same compiles by hand (shell script)', seconds(result.byHand), ratio(1)],
    ['no-op rebuild', seconds(result.noop), '—'],
    [`one component touched (${result.rebuiltAfterTouch} rebuilt)`, seconds(result.touchedOne), '—'],
  ]);
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const { values } = parseArgs({ options: { real: { type: 'boolean', default: false } } });
  const result = await benchBuild({ real: values.real });
  console.log(buildTable(result));
  console.log(`raw results: ${writeResults('build', { ...result })}`);
}
