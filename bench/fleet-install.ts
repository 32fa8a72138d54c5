/**
 * Fleet install, side by side: the same bundle onto K emulated boards (K = 1, 4, 8) by
 *   (a) crossdock install,
 *   (b) an Ansible playbook doing the same job the way its users write it (facts gathered, as
 *       by default; copy, unarchive, links, a templated unit, a health command),
 *   (c) the floor: plain OpenSSH in parallel, `ssh board 'cat > f && tar x' < bundle`, nothing else;
 * then the no-op re-install with (a) and (b), bytes on the boards' links included. crossdock's
 * peak RSS is measured on every run (GNU time), and its --json step timings give a profile.
 *
 * Without --dist it makes a dist of its own: real static programs of the boards' target plus
 * incompressible bytes, --megabytes in all (60 by default, about a real aarch64 bundle).
 *
 * Usage (as root; Debian's ansible-core and time): npx tsx bench/fleet-install.ts
 *   [--dist DIST] [--boards 1,4,8] [--runs 3] [--model rpi-3] [--megabytes 60]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { Manifest } from '../src/artifacts/manifest.js';
import { loadTargets } from '../src/platform/targets.js';
import { makeRunnableDist } from '../test/helpers/dist.js';
import { lineChart } from './chart.js';
import { BIN, median, ratio, ROOT, run, seconds, table, timed, writeResults } from './lib.js';

interface Board {
  name: string;
  index: number;
  address: string;
  port: number;
  user: string;
  identityFile: string;
  target: string;
}

type Tool = 'crossdock' | 'ansible' | 'floor';
type Sample = 'crossdock' | 'ansible' | 'floor' | 'crossdock no-op' | 'ansible no-op';

export interface FleetRow {
  boards: number;
  medians: Record<Sample, number>;
  samples: Record<Sample, number[]>;
  bytes: Record<Sample, number>;
  /** Peak resident set of the crossdock process, KiB, over this K's runs. */
  crossdockPeakRssKiB: number;
  /** This machine's CPU seconds (user + system) of one crossdock install, per board. */
  crossdockCpuSecondsPerBoard: number;
  /** Median milliseconds per install step (over hosts and runs). */
  profile: Record<string, number>;
  /** crossdock's upgrade to a dist in which one binary changed, onto every board (first run). */
  upgrade: { seconds: number; bundleBytes: number; changedBytes: number; sentBytes: number } | null;
}

export interface FleetResult {
  dist: string;
  bundleBytes: number;
  model: string;
  runs: number;
  rows: FleetRow[];
}

export async function benchFleet(options: {
  dist?: string | undefined;
  boards: number[];
  runs: number;
  model: string;
  megabytes: number;
}): Promise<FleetResult> {
  const work = mkdtempSync(join(tmpdir(), 'crossdock-bench-fleet-'));
  const state = join(work, 'boards');
  const env = { ...process.env, CROSSDOCK_BOARD_DIR: state, CI: 'true' };
  const cli = (args: string[]) => run(process.execPath, [BIN, ...args], { env });
  try {
    const models = parseYaml(readFileSync(new URL('../targets/boards/models.yaml', import.meta.url), 'utf8')) as {
      models: Array<{ id: string; target: string }>;
    };
    const target = models.models.find((m) => m.id === options.model)?.target;
    if (!target) throw new Error(`bench: no board model ${options.model}`);
    const registry = await loadTargets();
    // Four binaries of a quarter of the size each, hashed in the manifest as a real build's are;
    // the upgrade dist changes one of them (runc), as a Docker patch release often does not even.
    const padding = Math.round((options.megabytes * 1024 * 1024) / 4);
    const made = (version: string, runc: string) =>
      makeRunnableDist(join(work, `dist-${version}`), {
        version,
        targets: [registry.get(target)],
        components: { dockerd: '1.0.0', containerd: '1.0.0', docker: '1.0.0', runc },
        binaryPadding: padding,
      });
    const dist = options.dist ? resolve(options.dist) : await made('1.0.0', '1.0.0');
    const upgradeDist = options.dist ? null : await made('1.0.1', '1.0.1');
    const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')) as Manifest;
    const bundles = new Map(manifest.artifacts.filter((a) => a.kind === 'bundle').map((a) => [a.target ?? '', a]));
    const bundleFor = (board: Board) => {
      const bundle = bundles.get(board.target);
      if (!bundle) throw new Error(`bench: ${dist} has no ${board.target} bundle`);
      return bundle;
    };

    const boards = () =>
      JSON.parse(execFileSync(process.execPath, [BIN, 'board', 'list', '--json'], { env }).toString()) as Board[];
    const sshArgs = (board: Board) => [
      '-o',
      `UserKnownHostsFile=${join(state, 'inventory.known_hosts')}`,
      '-o',
      'BatchMode=yes',
      '-i',
      board.identityFile,
      '-p',
      String(board.port),
      `${board.user}@${board.address}`,
    ];
    const binaries = [...new Set([...bundles.values()].flatMap((b) => (b.binaries ?? []).map((x) => x.name)))];
    const onAll = (command: string) => Promise.all(boards().map((board) => run('ssh', [...sshArgs(board), command])));
    const reset = () =>
      onAll(
        `rm -rf /opt/crossdock /opt/ansible-docker /opt/floor /etc/systemd/system/docker.service; for b in ${binaries.join(' ')}; do rm -f /usr/local/bin/$b; done`,
      );

    const writeAnsible = (list: Board[]) => {
      const directory = join(work, 'ansible');
      mkdirSync(directory, { recursive: true });
      writeFileSync(
        join(directory, 'inventory.ini'),
        `[boards]\n${list.map((b) => `${b.name} ansible_host=${b.address} ansible_port=${b.port} ansible_user=${b.user} ansible_ssh_private_key_file=${b.identityFile} target=${b.target}`).join('\n')}\n`,
      );
      writeFileSync(
        join(directory, 'ansible.cfg'),
        `[defaults]\nforks = ${Math.max(list.length, 5)}\nhost_key_checking = True\ninterpreter_python = /usr/bin/python3\n[ssh_connection]\nssh_args = -o UserKnownHostsFile=${join(state, 'inventory.known_hosts')} -o ControlMaster=auto -o ControlPersist=60s\npipelining = True\n`,
      );
      const unit = join(dist, 'systemd/docker.service');
      writeFileSync(
        join(directory, 'docker.service.j2'),
        existsSync(unit)
          ? readFileSync(unit, 'utf8').replace('/usr/local/bin/dockerd', '{{ prefix }}/current/dockerd')
          : '[Service]\nExecStart={{ prefix }}/current/dockerd\n',
      );
      // The health command a playbook author writes: the daemon binary answers --version.
      writeFileSync(
        join(directory, 'install.yml'),
        `- hosts: boards
  vars:
    version: "${manifest.version}"
    prefix: /opt/ansible-docker
    bundles: ${JSON.stringify(Object.fromEntries([...bundles].map(([t, b]) => [t, join(dist, b.file)])))}
  tasks:
    - name: version directory
      ansible.builtin.file: { path: "{{ prefix }}/versions/{{ version }}", state: directory }
    - name: copy the bundle
      ansible.builtin.copy: { src: "{{ bundles[target] }}", dest: "{{ prefix }}/{{ bundles[target] | basename }}" }
    - name: unpack
      ansible.builtin.unarchive:
        src: "{{ prefix }}/{{ bundles[target] | basename }}"
        dest: "{{ prefix }}/versions/{{ version }}"
        remote_src: true
        extra_opts: [--strip-components=1]
        creates: "{{ prefix }}/versions/{{ version }}/dockerd"
    - name: switch
      ansible.builtin.file: { src: "{{ prefix }}/versions/{{ version }}", dest: "{{ prefix }}/current", state: link }
    - name: link the binaries
      ansible.builtin.file: { src: "{{ prefix }}/current/{{ item }}", dest: "/usr/local/bin/{{ item }}", state: link }
      loop: ${JSON.stringify(binaries)}
    - name: unit
      ansible.builtin.template: { src: docker.service.j2, dest: /etc/systemd/system/docker.service }
    - name: health
      ansible.builtin.command: /usr/local/bin/dockerd --version
      changed_when: false
`,
      );
      return directory;
    };

    // Bytes the host sent into the boards' links, from the host side's interface counters.
    const txBytes = () =>
      boards().reduce((sum, b) => {
        try {
          return sum + Number(readFileSync(`/sys/class/net/cdh${b.index}/statistics/tx_bytes`, 'utf8'));
        } catch {
          return sum;
        }
      }, 0);

    // crossdock install, as a user runs it for this many boards: all of them at once.
    const installArgs = (from: string) => [
      BIN,
      'install',
      '--inventory',
      join(state, 'inventory.yaml'),
      '--from',
      from,
      '--forks',
      String(Math.max(boards().length, 1)),
      '--json',
    ];
    let peakRss = 0;
    // This machine's CPU time per crossdock install run (user + system), to divide by the boards.
    let cpuSeconds: number[] = [];
    let steps = new Map<string, number[]>();
    const tools: Record<Tool, (ansible: string) => Promise<unknown>> = {
      crossdock: async () => {
        const rss = join(work, 'rss');
        const out = await run('/usr/bin/time', ['-f', '%M %U %S', '-o', rss, process.execPath, ...installArgs(dist)], {
          env,
        });
        const [kib = '0', user = '0', system = '0'] = (readFileSync(rss, 'utf8').trim().split('\n').at(-1) ?? '').split(
          ' ',
        );
        peakRss = Math.max(peakRss, Number(kib));
        cpuSeconds.push(Number(user) + Number(system));
        const report = JSON.parse(out) as { hosts: Array<{ status: string; timings?: Record<string, number> }> };
        for (const host of report.hosts) {
          if (host.status !== 'installed' && host.status !== 'unchanged') throw new Error(`crossdock: ${host.status}`);
          if (host.status === 'installed')
            for (const [step, ms] of Object.entries(host.timings ?? {}))
              steps.set(step, [...(steps.get(step) ?? []), ms]);
        }
      },
      ansible: (directory) =>
        run('ansible-playbook', ['-i', join(directory, 'inventory.ini'), join(directory, 'install.yml')], {
          cwd: directory,
          env: { ...env, ANSIBLE_CONFIG: join(directory, 'ansible.cfg') },
        }),
      floor: () =>
        Promise.all(
          boards().map((board) =>
            run('sh', [
              '-c',
              `ssh ${sshArgs(board)
                .map((a) => `'${a}'`)
                .join(
                  ' ',
                )} 'mkdir -p /opt/floor && cat > /opt/floor/b.tgz && tar -xzf /opt/floor/b.tgz -C /opt/floor' < '${join(dist, bundleFor(board).file)}'`,
            ]),
          ),
        ),
    };

    const measureUpgrade = async (to: string): Promise<NonNullable<FleetRow['upgrade']>> => {
      const upgradeManifest = JSON.parse(readFileSync(join(to, 'manifest.json'), 'utf8')) as Manifest;
      const bundle = upgradeManifest.artifacts.find((a) => a.kind === 'bundle');
      const started = performance.now();
      const out = await run(process.execPath, installArgs(to), { env });
      const seconds = (performance.now() - started) / 1000;
      const report = JSON.parse(out) as { hosts: Array<{ status: string; bytesSent: number }> };
      if (report.hosts.some((h) => h.status !== 'installed')) throw new Error('crossdock upgrade: not installed');
      return {
        seconds,
        bundleBytes: bundle?.size ?? 0,
        changedBytes: bundle?.binaries?.find((b) => b.name === 'runc')?.size ?? 0,
        // Per board: what the upgrade sent each one.
        sentBytes: Math.round(report.hosts.reduce((sum, h) => sum + h.bytesSent, 0) / report.hosts.length),
      };
    };

    const rows: FleetRow[] = [];
    for (const count of options.boards) {
      await cli(['board', 'down', '--all']).catch(() => undefined);
      await cli(['board', 'up', '--model', options.model, '--count', String(count)]);
      const ansible = writeAnsible(boards());
      const samples: Record<Sample, number[]> = {
        crossdock: [],
        ansible: [],
        floor: [],
        'crossdock no-op': [],
        'ansible no-op': [],
      };
      const bytes = {} as Record<Sample, number>;
      peakRss = 0;
      cpuSeconds = [];
      steps = new Map();
      let upgrade: FleetRow['upgrade'] = null;
      for (let i = 0; i < options.runs; i += 1) {
        for (const tool of ['crossdock', 'ansible', 'floor'] as const) {
          await reset();
          let before = txBytes();
          samples[tool].push((await timed(() => tools[tool](ansible))).seconds);
          bytes[tool] = txBytes() - before;
          if (tool === 'floor') continue;
          before = txBytes();
          samples[`${tool} no-op`].push((await timed(() => tools[tool](ansible))).seconds);
          bytes[`${tool} no-op`] = txBytes() - before;
          if (tool === 'crossdock' && i === 0 && upgradeDist) upgrade = await measureUpgrade(upgradeDist);
        }
      }
      const medians = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, median(xs)])) as Record<
        Sample,
        number
      >;
      const profile = Object.fromEntries([...steps].map(([step, ms]) => [step, median(ms)]));
      // The first of each pair of runs is the install; the no-op's CPU is not counted.
      const installCpu = median(cpuSeconds.filter((_, index) => index % 2 === 0));
      rows.push({
        boards: count,
        medians,
        samples,
        bytes,
        crossdockPeakRssKiB: peakRss,
        crossdockCpuSecondsPerBoard: installCpu / count,
        profile,
        upgrade,
      });
      console.log(
        `K=${count}: crossdock ${seconds(medians.crossdock)}, ansible ${seconds(medians.ansible)}, floor ${seconds(medians.floor)}; peak RSS ${(peakRss / 1024).toFixed(0)} MiB`,
      );
    }
    return {
      dist: manifest.version,
      bundleBytes: [...bundles.values()][0]?.size ?? 0,
      model: options.model,
      runs: options.runs,
      rows,
    };
  } finally {
    await cli(['board', 'down', '--all']).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

/** bench/results/fleet-install.svg: seconds against boards for each tool (README shows it). */
export function writeFleetChart(result: FleetResult): string {
  const line = (name: string, color: string, sample: Sample) => ({
    name,
    color,
    points: result.rows.map((r) => ({ boards: r.boards, seconds: r.medians[sample] })),
  });
  const file = join(ROOT, 'bench/results/fleet-install.svg');
  writeFileSync(
    file,
    lineChart({
      title: `Install of a ${(result.bundleBytes / 1e6).toFixed(0)} MB bundle onto N ${result.model} boards (median seconds)`,
      series: [
        line('crossdock', '#1f77b4', 'crossdock'),
        line('Ansible', '#d62728', 'ansible'),
        line('floor (ssh | tar)', '#7f7f7f', 'floor'),
      ],
    }),
  );
  return file;
}

export function fleetTable(result: FleetResult): string {
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e6 ? 2 : 0)} MB`;
  const rows = result.rows.map((r) => {
    const m = r.medians;
    return [
      r.boards,
      seconds(m.crossdock),
      seconds(m.ansible),
      seconds(m.floor),
      ratio(m.ansible / m.crossdock),
      ratio(m.crossdock / m.floor),
      seconds(m['crossdock no-op']),
      seconds(m['ansible no-op']),
      ratio(m['ansible no-op'] / m['crossdock no-op']),
      `${mb(r.bytes['crossdock no-op'])} / ${mb(r.bytes['ansible no-op'])}`,
      `${(r.crossdockPeakRssKiB / 1024).toFixed(0)} MiB`,
      `${r.crossdockCpuSecondsPerBoard.toFixed(2)} s`,
      r.upgrade ? `${mb(r.upgrade.sentBytes)} of ${mb(r.upgrade.bundleBytes)} (${seconds(r.upgrade.seconds)})` : '—',
    ];
  });
  const last = result.rows.at(-1);
  const profile = last
    ? Object.entries(last.profile)
        .sort(([, a], [, b]) => b - a)
        .map(([step, ms]) => `${step} ${(ms / 1000).toFixed(2)} s`)
        .join(', ')
    : '';
  return `${table([
    [
      'boards',
      'crossdock',
      'ansible',
      'floor',
      'ansible/crossdock',
      'crossdock/floor',
      'no-op crossdock',
      'no-op ansible',
      'no-op ratio',
      'no-op sent (crossdock / ansible)',
      'crossdock peak RSS',
      'CPU per board',
      'upgrade, one binary changed: sent per board',
    ],
    ...rows,
  ])}\ncrossdock per host at ${last?.boards ?? 0} boards (median step times): ${profile}`;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const { values } = parseArgs({
    options: {
      dist: { type: 'string' },
      boards: { type: 'string', default: '1,4,8' },
      runs: { type: 'string', default: '3' },
      model: { type: 'string', default: 'rpi-3' },
      megabytes: { type: 'string', default: '60' },
    },
  });
  const result = await benchFleet({
    dist: values.dist,
    boards: values.boards.split(',').map(Number),
    runs: Number(values.runs),
    model: values.model,
    megabytes: Number(values.megabytes),
  });
  console.log(
    `\nfleet install of ${result.dist} (${result.model} boards, ${(result.bundleBytes / 1e6).toFixed(0)} MB bundle, medians of ${result.runs})`,
  );
  console.log(fleetTable(result));
  console.log(`raw results: ${writeResults('fleet-install', { ...result })}`);
  console.log(`chart: ${writeFleetChart(result)}`);
}
