/**
 * Fleet install, side by side: the same bundle onto K emulated boards (K = 1, 8, 32, 100, …) by
 *   (a) crossdock install,
 *   (b) an Ansible playbook doing the same job the way its users write it (facts gathered, as
 *       by default; copy, unarchive, links, a templated unit, a health command), forks = boards,
 *       pipelining and ControlPersist,
 *   (c) the same playbook under Mitogen (strategy mitogen_linear), the fastest Ansible users run:
 *       Debian forky's ansible-mitogen and python3-mitogen, unpacked into the cache (bookworm's
 *       0.3.3 predates its ansible-core 2.14),
 *   (d) the floor: plain OpenSSH in parallel, `ssh board 'cat > f && tar x' < bundle`, nothing else;
 * then the no-op re-install with (a), (b) and (c), bytes on the boards' links included. crossdock's
 * peak RSS and CPU time are measured on every run (GNU time), and its --json step timings give a
 * profile; an upgrade in which one binary changed shows what the object store saves.
 *
 * Without --dist it makes a dist of its own: real static programs of the boards' target plus
 * incompressible bytes, --megabytes in all (60 by default, about a real aarch64 bundle).
 *
 * Usage (as root; Debian's ansible-core and time): npx tsx bench/fleet-install.ts
 *   [--dist DIST] [--boards 1,4,8] [--runs 3] [--model rpi-3] [--megabytes 60]
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { Manifest } from '../src/artifacts/manifest.js';
import { LocalRunner } from '../src/exec/local-runner.js';
import { defaultCacheDirectory } from '../src/fs/cache-directory.js';
import {
  debianArchive,
  privateApt,
  readMachineAptSources,
  sourcesList,
  suitesOf,
} from '../src/toolchain/private-apt.js';
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

type Tool = 'crossdock' | 'ansible' | 'ansible-mitogen' | 'floor';
type Sample = Tool | 'crossdock no-op' | 'ansible no-op' | 'ansible-mitogen no-op';
const TOOLS: readonly Tool[] = ['crossdock', 'ansible', 'ansible-mitogen', 'floor'];

/**
 * Mitogen's strategy plugins from Debian forky, unpacked once into the cache; the plugin puts
 * its own dist-packages on sys.path, so nothing is installed on the machine.
 */
async function mitogenStrategyPlugins(): Promise<string> {
  const root = join(defaultCacheDirectory(), 'bench', 'mitogen');
  const strategy = join(root, 'usr/lib/python3/dist-packages/ansible_mitogen/plugins/strategy');
  if (existsSync(join(strategy, 'mitogen_linear.py'))) return strategy;
  const archive = debianArchive(await readMachineAptSources());
  if (!archive) throw new Error('bench: no Debian archive in /etc/apt to fetch Mitogen from');
  const runner = new LocalRunner();
  const apt = await privateApt(runner, defaultCacheDirectory(), sourcesList(suitesOf(archive, ['forky']), ['deb']));
  const debs = join(apt.directory, 'debs', 'mitogen');
  rmSync(debs, { recursive: true, force: true });
  mkdirSync(debs, { recursive: true });
  await runner.run('apt-get', [...apt.options, 'download', 'ansible-mitogen', 'python3-mitogen'], { cwd: debs });
  const partial = `${root}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  for (const deb of readdirSync(debs)) await runner.run('dpkg', ['-x', join(debs, deb), partial]);
  rmSync(root, { recursive: true, force: true });
  renameSync(partial, root);
  return strategy;
}

export interface FleetRow {
  boards: number;
  medians: Record<Sample, number>;
  samples: Record<Sample, number[]>;
  bytes: Record<Sample, number>;
  /** Peak resident set of the crossdock process, KiB, over this K's runs. */
  crossdockPeakRssKiB: number;
  /** This machine's CPU seconds (user + system) of one crossdock install, per board. */
  crossdockCpuSecondsPerBoard: number;
  /**
   * Where the machine's cores went in one install (median core-seconds): the controller's
   * process tree (GNU time; the floor's ssh clients are not split out) and the whole machine
   * (/proc/stat), whose difference is the boards' side (sshd, shells, tar, sha256sum) — on a
   * real fleet each board spends that on its own CPU, here they all share this machine's two.
   */
  cores: Record<Tool, { controller: number | null; machine: number }>;
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

/** Core-seconds this machine has spent busy since boot, from /proc/stat (every process, boards' too). */
function busyCoreSeconds(): number {
  const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = (
    readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  )
    .trim()
    .split(/\s+/)
    .map(Number);
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

export async function benchFleet(options: {
  dist?: string | undefined;
  boards: number[];
  runs: number;
  model: string;
  megabytes: number;
  /** Each row as it is done, with the rows before it: a long run that fails later keeps them. */
  onRow?: (partial: FleetResult) => void;
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

    const mitogen = await mitogenStrategyPlugins();
    const writeAnsible = (list: Board[], withMitogen: boolean) => {
      const directory = join(work, withMitogen ? 'ansible-mitogen' : 'ansible');
      mkdirSync(directory, { recursive: true });
      writeFileSync(
        join(directory, 'inventory.ini'),
        `[boards]\n${list.map((b) => `${b.name} ansible_host=${b.address} ansible_port=${b.port} ansible_user=${b.user} ansible_ssh_private_key_file=${b.identityFile} target=${b.target}`).join('\n')}\n`,
      );
      writeFileSync(
        join(directory, 'ansible.cfg'),
        `[defaults]\nforks = ${Math.max(list.length, 5)}\ntimeout = 60\nhost_key_checking = True\ninterpreter_python = /usr/bin/python3\n${withMitogen ? `strategy_plugins = ${mitogen}\nstrategy = mitogen_linear\n` : ''}[ssh_connection]\nssh_args = -o UserKnownHostsFile=${join(state, 'inventory.known_hosts')} -o ControlMaster=auto -o ControlPersist=60s\npipelining = True\n`,
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
    let steps = new Map<string, number[]>();
    // A command under GNU time: its output, and the peak RSS and CPU seconds of its process tree.
    const measured = async (command: string, args: string[], options: Parameters<typeof run>[2] = {}) => {
      const file = join(work, 'time');
      const out = await run('/usr/bin/time', ['-f', '%M %U %S', '-o', file, command, ...args], options);
      const [kib = '0', user = '0', system = '0'] = (readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '').split(
        ' ',
      );
      return { out, kib: Number(kib), cpu: Number(user) + Number(system) };
    };
    const playbook = async (directory: string) =>
      (
        await measured('ansible-playbook', ['-i', join(directory, 'inventory.ini'), join(directory, 'install.yml')], {
          cwd: directory,
          env: { ...env, ANSIBLE_CONFIG: join(directory, 'ansible.cfg') },
        })
      ).cpu;
    // Each tool's run: the CPU seconds of its controller process tree, where that is one tree.
    const tools: Record<Tool, (ansible: Record<'ansible' | 'ansible-mitogen', string>) => Promise<number | null>> = {
      crossdock: async () => {
        const { out, kib, cpu } = await measured(process.execPath, installArgs(dist), { env });
        peakRss = Math.max(peakRss, kib);
        const report = JSON.parse(out) as { hosts: Array<{ status: string; timings?: Record<string, number> }> };
        for (const host of report.hosts) {
          if (host.status !== 'installed' && host.status !== 'unchanged') throw new Error(`crossdock: ${host.status}`);
          if (host.status === 'installed')
            for (const [step, ms] of Object.entries(host.timings ?? {}))
              steps.set(step, [...(steps.get(step) ?? []), ms]);
        }
        return cpu;
      },
      ansible: (directories) => playbook(directories.ansible),
      'ansible-mitogen': (directories) => playbook(directories['ansible-mitogen']),
      floor: async () => {
        await Promise.all(
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
        );
        return null;
      },
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
    const result = (): FleetResult => ({
      dist: manifest.version,
      bundleBytes: [...bundles.values()][0]?.size ?? 0,
      model: options.model,
      runs: options.runs,
      rows,
    });
    for (const count of options.boards) {
      await cli(['board', 'down', '--all']).catch(() => undefined);
      await cli(['board', 'up', '--model', options.model, '--count', String(count)]);
      const list = boards();
      const ansible = { ansible: writeAnsible(list, false), 'ansible-mitogen': writeAnsible(list, true) };
      const samples = Object.fromEntries(
        TOOLS.flatMap((tool) => (tool === 'floor' ? [tool] : [tool, `${tool} no-op`])).map((sample) => [sample, []]),
      ) as unknown as Record<Sample, number[]>;
      const bytes = {} as Record<Sample, number>;
      peakRss = 0;
      steps = new Map();
      const controller = new Map<Tool, number[]>();
      const machineCores = new Map<Tool, number[]>();
      let upgrade: FleetRow['upgrade'] = null;
      for (let i = 0; i < options.runs; i += 1) {
        for (const tool of TOOLS) {
          await reset();
          let before = txBytes();
          const busy = busyCoreSeconds();
          const { seconds, result } = await timed(() => tools[tool](ansible));
          samples[tool].push(seconds);
          machineCores.set(tool, [...(machineCores.get(tool) ?? []), busyCoreSeconds() - busy]);
          if (result !== null) controller.set(tool, [...(controller.get(tool) ?? []), result]);
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
      const cores = Object.fromEntries(
        TOOLS.map((tool) => [
          tool,
          {
            controller: controller.has(tool) ? median(controller.get(tool) ?? []) : null,
            machine: median(machineCores.get(tool) ?? []),
          },
        ]),
      ) as FleetRow['cores'];
      rows.push({
        boards: count,
        medians,
        samples,
        bytes,
        crossdockPeakRssKiB: peakRss,
        crossdockCpuSecondsPerBoard: (cores.crossdock.controller ?? 0) / count,
        cores,
        profile,
        upgrade,
      });
      options.onRow?.(result());
      console.log(
        `K=${count}: crossdock ${seconds(medians.crossdock)}, ansible ${seconds(medians.ansible)}, ansible-mitogen ${seconds(medians['ansible-mitogen'])}, floor ${seconds(medians.floor)}; peak RSS ${(peakRss / 1024).toFixed(0)} MiB`,
      );
    }
    return result();
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
        line('Ansible + Mitogen', '#ff7f0e', 'ansible-mitogen'),
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
      seconds(m['ansible-mitogen']),
      seconds(m.floor),
      ratio(m.ansible / m.crossdock),
      ratio(m['ansible-mitogen'] / m.crossdock),
      ratio(m.crossdock / m.floor),
      seconds(m['crossdock no-op']),
      seconds(m['ansible no-op']),
      seconds(m['ansible-mitogen no-op']),
      ratio(m['ansible no-op'] / m['crossdock no-op']),
      `${mb(r.bytes['crossdock no-op'])} / ${mb(r.bytes['ansible no-op'])} / ${mb(r.bytes['ansible-mitogen no-op'])}`,
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
  const cores = last
    ? table([
        ['tool', 'seconds', 'core-seconds, all', 'controller', 'boards (all − controller)', 'per board'],
        ...TOOLS.map((tool) => {
          const { controller, machine } = last.cores[tool];
          return [
            tool,
            seconds(last.medians[tool]),
            machine.toFixed(1),
            controller === null ? '—' : controller.toFixed(1),
            controller === null ? '—' : (machine - controller).toFixed(1),
            `${(machine / last.boards).toFixed(2)} s`,
          ];
        }),
      ])
    : '';
  return `${table([
    [
      'boards',
      'crossdock',
      'ansible',
      'ansible+mitogen',
      'floor',
      'ansible/crossdock',
      'mitogen/crossdock',
      'crossdock/floor',
      'no-op crossdock',
      'no-op ansible',
      'no-op mitogen',
      'no-op ansible/crossdock',
      'no-op sent (crossdock / ansible / mitogen)',
      'crossdock peak RSS',
      'CPU per board',
      'upgrade, one binary changed: sent per board',
    ],
    ...rows,
  ])}\ncrossdock per host at ${last?.boards ?? 0} boards (median step times): ${profile}\n\nwhere the cores went at ${last?.boards ?? 0} boards (this machine's ${String(cpus().length)}, boards included):\n${cores}`;
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
    onRow: (partial) => writeResults('fleet-install', { ...partial }),
  });
  console.log(
    `\nfleet install of ${result.dist} (${result.model} boards, ${(result.bundleBytes / 1e6).toFixed(0)} MB bundle, medians of ${result.runs})`,
  );
  console.log(fleetTable(result));
  console.log(`raw results: ${writeResults('fleet-install', { ...result })}`);
  console.log(`chart: ${writeFleetChart(result)}`);
}
