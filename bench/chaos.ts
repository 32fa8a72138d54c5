/**
 * The fault campaign (#25): N light boards, and with a seed, random faults at random moments of
 * install, upgrade, rollback and reconfigure — a link cut, Ctrl-C of crossdock (once or twice), a
 * second crossdock on the same boards, a concurrent `fleet rollback`, the board's disk filling
 * up, the shared bastion dying. After each fault and the next plain `install`, every board is
 * checked against the invariants:
 *   - it answers as exactly one version, the one `current` names, and that install succeeded;
 *   - `current` and `previous` exist and every binary of each hashes to its manifest's sha256;
 *   - nothing is left in its /tmp, in incoming/, in `*.partial` or objects/.incoming, no
 *     `pending`, no watchdog pid file;
 *   - neither lock is held; no process but sshd runs on it; no crossdock runs here and its
 *     temporary directory here is empty.
 * The seed of a violation reproduces it (`--seed S --faults K` replays the first K faults).
 * Prints a table and writes bench/results/chaos-<date>.json; asserts nothing (tests do that).
 * A whole-machine board's power cut is the e2e's fault table (test/e2e/vm-engine.test.ts).
 *
 * Usage (as root): npx tsx bench/chaos.ts [--boards 20] [--faults 500] [--seed S] [--megabytes 1]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseManifest } from '../src/artifacts/manifest.js';
import { forEachHost } from '../src/remote/fleet.js';
import { loadInventory } from '../src/remote/inventory.js';
import { loadTargets, type Target } from '../src/platform/targets.js';
import { makeRunnableDist } from '../test/helpers/dist.js';
import { BIN, crossdock, run, table, writeResults } from './lib.js';

const FAULTS = [
  'link-cut',
  'ctrl-c',
  'ctrl-c-twice',
  'second-crossdock',
  'concurrent-rollback',
  'disk-full',
  'bastion-dies',
] as const;
type Fault = (typeof FAULTS)[number];
const OPERATIONS = ['install', 'upgrade', 'rollback', 'reconfigure'] as const;
type Operation = (typeof OPERATIONS)[number];
const VERSIONS = ['1.0.0', '1.1.0', '1.2.0', '2.0.0'];

const { values } = parseArgs({
  options: {
    boards: { type: 'string', default: '20' },
    faults: { type: 'string', default: '500' },
    seed: { type: 'string' },
    megabytes: { type: 'string', default: '1' },
    quiet: { type: 'boolean', default: false },
    // Every board reached directly: no bastion, and no bastion-dies fault.
    direct: { type: 'boolean', default: false },
  },
});
/** A crossdock that has not finished by then is killed and counted as hung (a violation). */
const HANG_MS = 240_000;
const BOARDS = Number(values.boards);
const FAULT_COUNT = Number(values.faults);
const SEED = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);

/** mulberry32: small, seeded, the same sequence for the same seed on every machine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const next = random(SEED);
const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const work = mkdtempSync(join(tmpdir(), 'crossdock-chaos-'));
const state = join(work, 'boards');
const temporary = join(work, 'tmp');
mkdirSync(temporary);
// The boards' rootfs comes from the usual cache (board prepare made it); HOME is the run's own, so
// no known_hosts or ssh_config of the operator's plays a part.
const env = {
  CROSSDOCK_BOARD_DIR: state,
  HOME: work,
  TMPDIR: temporary,
  XDG_CACHE_HOME: process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
};
const log = (line: string) => {
  if (!values.quiet) process.stderr.write(`chaos: ${line}\n`);
};

interface BoardRecord {
  name: string;
  initPid: number;
}

/** sshd on this machine's loopback, the boards' shared ProxyJump for half of them. */
async function startBastion(clientKey: string): Promise<{ pid: number; port: number; knownHosts: string }> {
  const directory = join(work, 'bastion');
  mkdirSync(directory);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(directory, 'host_key')]);
  writeFileSync(join(directory, 'authorized_keys'), readFileSync(`${clientKey}.pub`));
  const port = await freePort();
  writeFileSync(
    join(directory, 'sshd_config'),
    [
      `Port ${String(port)}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(directory, 'host_key')}`,
      `PidFile ${join(directory, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(directory, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'AllowTcpForwarding yes',
      'MaxStartups 200',
      'MaxSessions 50',
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true });
  const logFile = openSync(join(directory, 'sshd.log'), 'a');
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(directory, 'sshd_config')], {
    stdio: ['ignore', logFile, logFile],
    detached: true,
  });
  child.unref();
  for (let i = 0; i < 100 && !existsSync(join(directory, 'sshd.pid')); i += 1) await sleep(50);
  const key = readFileSync(join(directory, 'host_key.pub'), 'utf8').split(' ');
  return { pid: child.pid ?? 0, port, knownHosts: `[127.0.0.1]:${String(port)} ${key[0] ?? ''} ${key[1] ?? ''}\n` };
}

/** A loopback port nothing listens on (asked of the kernel, then let go). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
  });
}

/** A tmpfs at the board's /opt/crossdock (in its own mount namespace), so its disk can fill up. */
async function smallDisk(board: BoardRecord): Promise<void> {
  const path = join(state, board.name, 'root/opt/crossdock');
  mkdirSync(join(state, board.name, 'upper/opt/crossdock'), { recursive: true });
  await run('nsenter', ['-t', String(board.initPid), '-m', 'mount', '-t', 'tmpfs', '-o', 'size=96m', 'tmpfs', path]);
}

async function fillDisk(board: BoardRecord): Promise<void> {
  const path = join(state, board.name, 'root/opt/crossdock');
  await run('nsenter', [
    '-t',
    String(board.initPid),
    '-m',
    'sh',
    '-c',
    `a=$(df --output=avail -B1 ${path} | tail -1); fallocate -l $((a - 65536)) ${path}/.chaos-fill || :`,
  ]);
}

async function emptyDisk(board: BoardRecord): Promise<void> {
  await run('nsenter', [
    '-t',
    String(board.initPid),
    '-m',
    'rm',
    '-f',
    join(state, board.name, 'root/opt/crossdock/.chaos-fill'),
  ]);
}

/** Every connection the board's sshd serves is reset (its listener lives): a link cut. */
async function cutLink(board: BoardRecord): Promise<void> {
  await run('pkill', ['-KILL', '-P', String(board.initPid)]).catch(() => '');
}

const hung: string[] = [];

function start(args: readonly string[]): { child: ChildProcess; done: Promise<number> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env, CI: 'true' },
  });
  const timer = setTimeout(() => {
    hung.push(`crossdock ${args.slice(0, 2).join(' ')} hung for ${String(HANG_MS / 1000)} s (killed)`);
    child.kill('SIGKILL');
  }, HANG_MS);
  child.on('close', () => {
    clearTimeout(timer);
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => {
      // Killed by SIGINT itself: Ctrl-C came before crossdock had started listening for it.
      if (code !== 0 && code !== 1 && code !== 130 && signal !== 'SIGINT' && !values.quiet)
        log(
          `crossdock ${args.slice(0, 2).join(' ')} exited ${String(code ?? signal)}: ${stderr.trim().split('\n').at(-1) ?? ''}`,
        );
      resolve(code ?? 128);
    });
  });
  return { child, done };
}

interface Check {
  board: string;
  problems: string[];
}

const CHECK_SCRIPT = `
cd /opt/crossdock 2>/dev/null || { echo "problem=no /opt/crossdock"; exit 0; }
for l in current previous; do
  t=$(readlink $l) || { [ $l = previous ] && continue; echo "problem=no $l"; continue; }
  v=\${t#versions/}
  [ -d "$t" ] || { echo "problem=$l names $t, which is gone"; continue; }
  echo "$l=$v"
  for f in "$t"/*; do echo "hash=$l $(sha256sum "$f" | cut -c1-64) \${f##*/}"; done
done
echo "dockerd=$(/usr/local/bin/dockerd --version 2>&1)"
[ -e pending ] && echo "problem=pending is left"
[ -e reconfigure-pending ] && echo "problem=reconfigure-pending is left"
for f in incoming/* incoming/.[!.]* versions/*.partial objects/.incoming /run/crossdock-watchdog-*.pid /tmp/* /tmp/.[!.]* /var/tmp/*; do [ -e "$f" ] && echo "problem=left behind: $f"; done
exec 8>/run/crossdock-install.lock; flock -n 8 || echo "problem=the board lock is held"
exec 7>/run/crossdock-step.lock; flock -n 7 || echo "problem=the step lock is held"
for p in /proc/[0-9]*; do c=$(cat $p/comm 2>/dev/null) || continue; case $c in sshd|sh|cat|sha256sum|cut|readlink|dockerd|flock) ;; *) echo "problem=process left: $c (\${p#/proc/})";; esac; done
`;

async function checkBoards(version: string, manifests: Map<string, Map<string, string>>): Promise<Check[]> {
  const inventory = await loadInventory(join(work, 'inventory.yaml'));
  const outcomes = await forEachHost(
    inventory,
    inventory.hosts,
    async (runner) => (await runner.run('sh', ['-c', CHECK_SCRIPT], { allowFailure: true, readOnly: true })).stdout,
    { concurrency: BOARDS },
  );
  return outcomes.map((outcome) => {
    const problems: string[] = [];
    if (!outcome.ok) return { board: outcome.host.name, problems: [`not reachable: ${outcome.error}`] };
    const lines = outcome.value.split('\n');
    const value = (key: string) => lines.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1) ?? null;
    problems.push(...lines.filter((l) => l.startsWith('problem=')).map((l) => l.slice('problem='.length)));
    const current = value('current');
    if (current !== version) problems.push(`current is ${current ?? 'nothing'}, the plain install's is ${version}`);
    if (value('dockerd') !== `dockerd version ${current ?? '?'}`)
      problems.push(`dockerd answers "${value('dockerd') ?? ''}" while current is ${current ?? 'nothing'}`);
    for (const link of ['current', 'previous']) {
      const linked = value(link);
      if (!linked) continue;
      const expected = manifests.get(linked);
      const hashes = lines.filter((l) => l.startsWith(`hash=${link} `)).map((l) => l.split(' '));
      const seen = new Map(hashes.map(([, sum, name]) => [name ?? '', sum ?? '']));
      if (!expected) problems.push(`${link} is ${linked}, a version of no dist`);
      else
        for (const [name, sum] of expected)
          if (seen.get(name) !== sum)
            problems.push(`${link} ${linked}: ${name} is ${seen.get(name) ?? 'missing'}, not ${sum.slice(0, 12)}`);
    }
    return { board: outcome.host.name, problems };
  });
}

/** crossdock left running here, and what its runs left in their temporary directory. */
function localProblems(): string[] {
  const problems: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const command = (() => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    })();
    // The campaign's own runs: their arguments name its work directory (tests may run others).
    if (command.includes(BIN) && command.includes(work)) problems.push(`crossdock still runs here (${pid})`);
  }
  for (const entry of readdirSync(temporary)) problems.push(`left in this machine's temporary directory: ${entry}`);
  return problems;
}

async function main(): Promise<void> {
  log(`seed ${String(SEED)}, ${String(BOARDS)} boards, ${String(FAULT_COUNT)} faults; work in ${work}`);
  const x86 = (await loadTargets()).targets.find((t) => t.name === 'x86_64') as Target;
  const dists = new Map<string, string>();
  const manifests = new Map<string, Map<string, string>>();
  for (const [index, version] of VERSIONS.entries()) {
    // Each version changes some binaries and keeps others: upgrades take the object store's path.
    const directory = await makeRunnableDist(join(work, `dist-${version}`), {
      version,
      targets: [x86],
      components: {
        dockerd: version,
        containerd: VERSIONS[Math.min(index, 1)] ?? version,
        runc: VERSIONS[index >= 2 ? 2 : 0] ?? version,
        docker: version,
      },
      binaryPadding: Math.round(Number(values.megabytes) * 1024 * 1024),
    });
    dists.set(version, directory);
    const parsed = parseManifest(JSON.parse(readFileSync(join(directory, 'manifest.json'), 'utf8')));
    if (!parsed.ok) throw new Error(parsed.problem);
    const bundle = parsed.manifest.artifacts.find((a) => a.kind === 'bundle');
    manifests.set(version, new Map((bundle?.binaries ?? []).map((b) => [b.name, b.sha256])));
  }
  await crossdock(['board', 'up', '--model', 'x86_64', '--count', String(BOARDS)], { env: { ...process.env, ...env } });
  let bastionPid = 0;
  try {
    const records = readdirSync(state)
      .filter((name) => existsSync(join(state, name, 'board.json')))
      .map(
        (name) =>
          JSON.parse(readFileSync(join(state, name, 'board.json'), 'utf8')) as BoardRecord & { identityFile: string },
      );
    for (const board of records) await smallDisk(board);
    const bastion = await startBastion(records[0]?.identityFile ?? '');
    bastionPid = bastion.pid;
    // Half the boards behind the bastion (one shared connection to it per run), as a site's are.
    const base = parseYaml(readFileSync(join(state, 'inventory.yaml'), 'utf8')) as {
      knownHosts: string;
      hosts: Record<string, Record<string, unknown>>;
    };
    writeFileSync(
      join(work, 'known_hosts'),
      readFileSync(join(state, base.knownHosts)).toString() + bastion.knownHosts,
    );
    const behind = new Set(records.filter((_, i) => !values.direct && i % 2 === 1).map((b) => b.name));
    const hosts = Object.fromEntries(
      Object.entries(base.hosts).map(([name, host]) => [
        name,
        behind.has(name) ? { ...host, proxyJump: `root@127.0.0.1:${String(bastion.port)}` } : host,
      ]),
    );
    const inventories = [3, 6].map((downloads) => {
      const file = join(work, `inventory-${String(downloads)}.yaml`);
      writeFileSync(
        file,
        stringifyYaml({
          knownHosts: join(work, 'known_hosts'),
          defaults: { daemon: { 'max-concurrent-downloads': downloads } },
          hosts,
        }),
      );
      return file;
    });
    writeFileSync(join(work, 'inventory.yaml'), readFileSync(inventories[0] ?? ''));
    let inventory = inventories[0] ?? '';
    const install = (version: string, extra: string[] = []) =>
      start([
        'install',
        '--inventory',
        inventory,
        '--from',
        dists.get(version) ?? '',
        '--forks',
        String(BOARDS),
        ...extra,
      ]);
    let version = VERSIONS[0] ?? '1.0.0';
    await crossdock(
      ['install', '--inventory', inventory, '--from', dists.get(version) ?? '', '--forks', String(BOARDS)],
      {
        env: { ...process.env, ...env },
      },
    );

    const byKind: Record<string, { injected: number; violations: number }> = Object.fromEntries(
      FAULTS.map((f) => [f, { injected: 0, violations: 0 }]),
    );
    const violations: Array<{ fault: number; kind: Fault; operation: Operation; problems: string[] }> = [];
    const started = performance.now();
    for (let fault = 1; fault <= FAULT_COUNT; fault += 1) {
      const kind = pick(values.direct ? FAULTS.filter((f) => f !== 'bastion-dies') : FAULTS);
      const operation = pick(OPERATIONS);
      const delay = Math.floor(next() * 2500);
      const victims = [...records].sort(() => next() - 0.5).slice(0, 1 + Math.floor(next() * 3));
      let target = version;
      if (operation === 'install') target = pick(VERSIONS);
      if (operation === 'upgrade') target = VERSIONS[(VERSIONS.indexOf(version) + 1) % VERSIONS.length] ?? version;
      if (operation === 'reconfigure') inventory = inventories[(inventories.indexOf(inventory) + 1) % 2] ?? inventory;
      const main =
        operation === 'rollback'
          ? start(['fleet', 'rollback', '--inventory', inventory, '--forks', String(BOARDS)])
          : install(target);
      const others: Array<Promise<number>> = [];
      if (kind === 'second-crossdock') {
        await sleep(delay / 4);
        others.push(install(pick(VERSIONS)).done);
      }
      await sleep(delay);
      switch (kind) {
        case 'link-cut':
          for (const board of victims) await cutLink(board);
          break;
        case 'ctrl-c':
          main.child.kill('SIGINT');
          break;
        case 'ctrl-c-twice':
          main.child.kill('SIGINT');
          await sleep(Math.floor(next() * 300));
          main.child.kill('SIGINT');
          break;
        case 'concurrent-rollback':
          others.push(start(['fleet', 'rollback', '--inventory', inventory, '--forks', String(BOARDS)]).done);
          break;
        case 'disk-full':
          for (const board of victims) await fillDisk(board);
          break;
        case 'bastion-dies':
          await run('pkill', ['-KILL', '-P', String(bastion.pid)]).catch(() => '');
          break;
        case 'second-crossdock':
          break;
      }
      await main.done;
      await Promise.all(others);
      for (const board of records) await emptyDisk(board);
      // The next plain install of the version the fleet is meant to run.
      if (operation !== 'rollback') version = target;
      writeFileSync(join(work, 'inventory.yaml'), readFileSync(inventory));
      const recovery = await install(version, ['--json']).done;
      const problems = [
        ...hung.splice(0),
        ...(recovery === 0 ? [] : [`the next plain install exited ${String(recovery)}`]),
        ...localProblems(),
        ...(await checkBoards(version, manifests)).flatMap((c) => c.problems.map((p) => `${c.board}: ${p}`)),
      ];
      const entry = byKind[kind] ?? { injected: 0, violations: 0 };
      entry.injected += 1;
      if (problems.length > 0) {
        entry.violations += 1;
        violations.push({ fault, kind, operation, problems });
        log(
          `fault ${String(fault)} (${kind} during ${operation}, ${String(delay)} ms): ${problems.slice(0, 3).join('; ')}`,
        );
      } else if (fault % 10 === 0)
        log(
          `${String(fault)} faults, ${String(violations.length)} violations, ${((performance.now() - started) / 1000).toFixed(0)} s`,
        );
    }
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `${table([
        ['fault', 'injected', 'violations'],
        ...FAULTS.map((f) => [f, String(byKind[f]?.injected ?? 0), String(byKind[f]?.violations ?? 0)]),
        ['all', String(FAULT_COUNT), String(violations.length)],
      ])}\nseed ${String(SEED)}, ${String(BOARDS)} boards, ${seconds.toFixed(0)} s\n`,
    );
    const file = writeResults('chaos', {
      chaos: {
        seed: SEED,
        boards: BOARDS,
        faults: FAULT_COUNT,
        violations: violations.length,
        byKind,
        seconds,
        bastion: !values.direct,
      },
      details: violations.slice(0, 50),
    });
    log(`wrote ${file}`);
  } finally {
    if (bastionPid)
      try {
        process.kill(bastionPid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    await crossdock(['board', 'down', '--all'], { env: { ...process.env, ...env } }).catch(() => '');
    if (process.env.CHAOS_KEEP) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

await main();
