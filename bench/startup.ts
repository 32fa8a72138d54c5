/**
 * Start-up: `crossdock --help` against `node -e 0`, with hyperfine (Debian's package) when it
 * is there, else a loop of our own. The CLI imports each command's module lazily, so --help
 * should cost little more than Node itself.
 *
 * Usage: npx tsx bench/startup.ts [--runs 30]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BIN, median, ratio, run, table, timed, writeResults } from './lib.js';

export interface StartupResult {
  crossdockHelp: number;
  nodeEmpty: number;
  ratio: number;
  tool: string;
}

export async function benchStartup(runs: number): Promise<StartupResult> {
  const commands = { crossdockHelp: `${process.execPath} ${BIN} --help`, nodeEmpty: `${process.execPath} -e 0` };
  let medians: Record<string, number>;
  let tool: string;
  if (['/usr/bin/hyperfine', '/usr/local/bin/hyperfine'].some((p) => existsSync(p))) {
    const directory = mkdtempSync(join(tmpdir(), 'crossdock-bench-startup-'));
    try {
      const file = join(directory, 'hyperfine.json');
      await run('hyperfine', [
        '--warmup',
        '3',
        '--runs',
        String(runs),
        '-N',
        '--export-json',
        file,
        commands.crossdockHelp,
        commands.nodeEmpty,
      ]);
      const report = JSON.parse(readFileSync(file, 'utf8')) as { results: Array<{ median: number }> };
      medians = { crossdockHelp: report.results[0]?.median ?? NaN, nodeEmpty: report.results[1]?.median ?? NaN };
      tool = 'hyperfine';
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  } else {
    const sample = async (args: string[]) => {
      const samples: number[] = [];
      for (let i = 0; i < runs; i += 1) samples.push((await timed(() => run(process.execPath, args))).seconds);
      return median(samples);
    };
    medians = { crossdockHelp: await sample([BIN, '--help']), nodeEmpty: await sample(['-e', '0']) };
    tool = 'loop';
  }
  const crossdockHelp = medians.crossdockHelp ?? NaN;
  const nodeEmpty = medians.nodeEmpty ?? NaN;
  return { crossdockHelp, nodeEmpty, ratio: crossdockHelp / nodeEmpty, tool };
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' } } });
  const result = await benchStartup(Number(values.runs));
  console.log(
    table([
      ['start-up', 'median', 'vs node -e 0'],
      ['crossdock --help', `${(result.crossdockHelp * 1000).toFixed(0)} ms`, ratio(result.ratio)],
      ['node -e 0', `${(result.nodeEmpty * 1000).toFixed(0)} ms`, ratio(1)],
    ]),
  );
  console.log(`raw results: ${writeResults('startup', { ...result })}`);
}
