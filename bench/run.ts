/**
 * `npm run bench`: every benchmark in one run, one table each, raw results in bench/results/.
 * Start-up, release and build need nothing but the toolchains; the fleet install needs root
 * (emulated boards), Debian's ansible-core and time, and runs last because it is the longest.
 *
 * Usage: npm run bench -- [--only startup,release,build,fleet] [--dist DIST] [--boards 1,4,8] [--model rpi-3|x86_64]
 *   [--runs 3] [--megabytes 60] [--real-build]
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { benchBuild, buildTable } from './build.js';
import { benchFleet, fleetTable, writeFleetChart } from './fleet-install.js';
import { benchRelease, releaseTable } from './release.js';
import { benchStartup } from './startup.js';
import { machine, ratio, table, writeResults } from './lib.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'startup,release,build,fleet' },
    dist: { type: 'string' },
    boards: { type: 'string', default: '1,4,8' },
    runs: { type: 'string', default: '3' },
    megabytes: { type: 'string', default: '60' },
    model: { type: 'string', default: 'rpi-3' },
    'real-build': { type: 'boolean', default: false },
  },
});
const only = new Set(values.only.split(','));
const runs = Number(values.runs);
const results: Record<string, unknown> = {};
console.log(`machine: ${JSON.stringify(machine())}\n`);

if (only.has('startup')) {
  const startup = await benchStartup(30);
  results.startup = startup;
  console.log(
    table([
      ['start-up (median)', 'ms', 'vs node -e 0'],
      ['crossdock --help', (startup.crossdockHelp * 1000).toFixed(0), ratio(startup.ratio)],
      ['node -e 0', (startup.nodeEmpty * 1000).toFixed(0), ratio(1)],
    ]),
    '\n',
  );
}
if (only.has('release')) {
  const release = await benchRelease(Math.max(runs, 5), 8);
  results.release = release;
  console.log(releaseTable(release), '\n');
}
if (only.has('build')) {
  const build = await benchBuild({ real: values['real-build'] });
  results.build = build;
  console.log(buildTable(build), '\n');
}
if (only.has('fleet')) {
  const missing = ['/usr/bin/ansible-playbook', '/usr/bin/time'].filter((tool) => !existsSync(tool));
  if (process.getuid?.() !== 0) console.log('fleet: skipped (emulated boards need root)\n');
  else if (missing.length > 0)
    console.log(`fleet: skipped (${missing.join(', ')} missing: apt-get install ansible-core time)\n`);
  else {
    const fleet = await benchFleet({
      dist: values.dist,
      boards: values.boards.split(',').map(Number),
      runs,
      model: values.model,
      megabytes: Number(values.megabytes),
    });
    results.fleet = fleet;
    console.log(
      `fleet install (${fleet.model} boards, ${(fleet.bundleBytes / 1e6).toFixed(0)} MB bundle, medians of ${fleet.runs})`,
    );
    console.log(fleetTable(fleet), '\n');
    console.log(`chart: ${writeFleetChart(fleet)}`);
  }
}
console.log(`raw results: ${writeResults('all', results)}`);
