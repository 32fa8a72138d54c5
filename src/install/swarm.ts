/**
 * Docker Swarm over the fleet: `fleet swarm init|status|leave`. The managers are the hosts of
 * the inventory's `managers` group (or `--manager`, or else the first host); the first of them
 * initialises the swarm, advertising the address the other boards reach it at, and every other
 * board joins with the worker or manager token, read over SSH and handed to `docker swarm join`
 * on its standard input, so it appears in no command line crossdock sends and in no output.
 * A board already in this swarm is left alone; a board in another swarm is refused.
 *
 * The proof is a service across the mixed-architecture fleet: a global service of the build's
 * health-check image (each board has its own architecture's image under one local tag, so no
 * registry is needed), a task running on every node, each answering on its published port.
 */
import { randomBytes } from 'node:crypto';
import { FailureError, RemoteError, UserError } from '../errors.js';
import { shellQuote } from '../exec/runner.js';
import type { Inventory, InventoryHost } from '../remote/inventory.js';
import { connectHost, type FleetOptions } from '../remote/fleet.js';
import type { SshRunner } from '../remote/ssh-runner.js';
import type { ProbeImageOnBoard } from './container-health.js';
import { readBoardState } from './board-facts.js';
import { boardScript, layout } from './board-scripts.js';
import { takeBoardLock } from './board-lock.js';

const DOCKER = `${layout.bin}/docker`;
const SWARM_PORT = 2377;
const CHECK_SERVICE = 'crossdock-swarm-check';
const CHECK_TAG = 'crossdock/probe:swarm-check';
const CHECK_PORT = 18080;

export interface SwarmInfo {
  state: string;
  nodeId: string | null;
  clusterId: string | null;
  manager: boolean;
}

export interface SwarmNode {
  hostname: string;
  architecture: string;
  os: string;
  role: string;
  state: string;
  availability: string;
  address: string;
  leader: boolean;
}

export interface SwarmHostResult {
  name: string;
  action: 'initialised' | 'joined' | 'already-in' | 'left' | 'not-in' | 'failed';
  role: 'manager' | 'worker' | null;
  error: string | null;
}

export interface SwarmReport {
  clusterId: string | null;
  hosts: SwarmHostResult[];
  nodes: SwarmNode[];
  check: { ok: boolean; answered: string[]; problem: string | null } | null;
}

function roleOf(info: SwarmInfo): 'manager' | 'worker' {
  return info.manager ? 'manager' : 'worker';
}

/** `docker info --format '{{json .Swarm}}'`, reduced to what the plan needs. */
export function parseSwarmInfo(json: string): SwarmInfo {
  const info = JSON.parse(json || '{}') as {
    LocalNodeState?: string;
    NodeID?: string;
    ControlAvailable?: boolean;
    Cluster?: { ID?: string } | null;
  };
  return {
    state: info.LocalNodeState ?? 'inactive',
    nodeId: info.NodeID || null,
    clusterId: info.Cluster?.ID ?? null,
    manager: info.ControlAvailable ?? false,
  };
}

/** `docker node inspect --format '{{json .}}'` lines. */
export function parseNodes(text: string): SwarmNode[] {
  return text
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => {
      const node = JSON.parse(line) as {
        Description?: { Hostname?: string; Platform?: { Architecture?: string; OS?: string } };
        Spec?: { Role?: string; Availability?: string };
        Status?: { State?: string; Addr?: string };
        ManagerStatus?: { Leader?: boolean; Addr?: string };
      };
      return {
        hostname: node.Description?.Hostname ?? '',
        architecture: node.Description?.Platform?.Architecture ?? '',
        os: node.Description?.Platform?.OS ?? '',
        role: node.Spec?.Role ?? '',
        state: node.Status?.State ?? '',
        availability: node.Spec?.Availability ?? '',
        address: node.Status?.Addr ?? '',
        leader: node.ManagerStatus?.Leader ?? false,
      };
    })
    .sort((a, b) => (a.hostname < b.hostname ? -1 : 1));
}

/** The managers: --manager, else the inventory's `managers` group, else the first host. */
export function chooseManagers(hosts: readonly InventoryHost[], requested: readonly string[]): InventoryHost[] {
  if (requested.length > 0) {
    const chosen = requested.map((name) => hosts.find((h) => h.name === name));
    const missing = requested.filter((_, index) => !chosen[index]);
    if (missing.length > 0)
      throw new UserError(`--manager ${missing.join(',')}: not among the hosts`, {
        hint: `hosts: ${hosts.map((h) => h.name).join(', ')}`,
      });
    return chosen.filter((h): h is InventoryHost => h !== undefined);
  }
  const group = hosts.filter((h) => h.groups.includes('managers'));
  if (group.length > 0) return group;
  const first = hosts[0];
  if (!first) throw new UserError('no hosts to make a swarm of');
  return [first];
}

async function swarmInfo(runner: SshRunner): Promise<SwarmInfo> {
  const result = await runner.run(DOCKER, ['info', '--format', '{{json .Swarm}}'], {
    privileged: true,
    allowFailure: true,
    readOnly: true,
  });
  if (result.exitCode !== 0)
    throw new FailureError(
      `${runner.host}: the engine does not answer: ${result.stderr.trim().split('\n').at(-1) ?? ''}`,
      {
        hint: 'crossdock install the engine first; crossdock fleet status shows its health',
      },
    );
  return parseSwarmInfo(result.stdout.trim());
}

export interface SwarmOptions extends FleetOptions {
  managers?: readonly string[];
  /** Skip the proof service. */
  check?: boolean;
}

type Connected = { host: InventoryHost; runner: SshRunner; info: SwarmInfo };

/**
 * Every host connected at once, the connections kept for the whole operation (a join needs the
 * leader's token while the joiners wait); any host out of reach stops it before anything changes.
 */
async function withFleet<T>(
  inventory: Inventory,
  hosts: readonly InventoryHost[],
  options: FleetOptions & { changes?: boolean },
  work: (connected: Connected[]) => Promise<T>,
): Promise<T> {
  const attempts = await Promise.allSettled(hosts.map((host) => connectHost(inventory, host, options)));
  const runners = attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
  const locks: Array<{ release(): Promise<void> }> = [];
  try {
    // Init and leave change every board: each under its board lock for the whole operation.
    if (options.changes) for (const runner of runners) locks.push(await takeBoardLock(runner));
    const problems: string[] = [];
    const connected: Connected[] = [];
    for (const [index, attempt] of attempts.entries()) {
      const host = hosts[index];
      if (!host) continue;
      if (attempt.status === 'rejected') {
        problems.push(attempt.reason instanceof Error ? attempt.reason.message : String(attempt.reason));
        continue;
      }
      try {
        connected.push({ host, runner: attempt.value, info: await swarmInfo(attempt.value) });
      } catch (error) {
        problems.push(error instanceof Error ? error.message : String(error));
      }
    }
    if (problems.length > 0)
      throw new RemoteError(`swarm: ${problems.join('; ')}`, {
        hint: 'crossdock probe and fleet status show what is wrong with each board; --limit leaves boards out',
      });
    return await work(connected);
  } finally {
    for (const lock of locks) await lock.release();
    for (const runner of runners) runner.dispose();
  }
}

export async function swarmInit(
  inventory: Inventory,
  hosts: readonly InventoryHost[],
  options: SwarmOptions = {},
): Promise<SwarmReport> {
  const managers = chooseManagers(hosts, options.managers ?? []);
  return withFleet(inventory, hosts, { ...options, changes: true }, async (fleet) => {
    const clusters = new Set(
      fleet.flatMap((c) => (c.info.state === 'active' && c.info.clusterId ? [c.info.clusterId] : [])),
    );
    if (clusters.size > 1)
      throw new FailureError(
        `swarm: the boards are in ${String(clusters.size)} different swarms (${fleet
          .filter((c) => c.info.clusterId)
          .map((c) => `${c.host.name}: ${c.info.clusterId ?? ''}`)
          .join(', ')})`,
        { hint: 'crossdock fleet swarm leave --limit the boards of the other swarm, then init again' },
      );
    const results = new Map<string, SwarmHostResult>();
    const isManager = (c: Connected) => managers.includes(c.host);
    // The leader: a manager already in the swarm, else the first chosen manager, which creates it.
    let leader = fleet.find((c) => c.info.state === 'active' && c.info.manager);
    if (!leader) {
      const first = fleet.find((c) => c.host === managers[0]);
      if (!first) throw new Error('no first manager');
      await first.runner.run(
        DOCKER,
        [
          'swarm',
          'init',
          '--advertise-addr',
          first.host.advertiseAddress,
          '--listen-addr',
          `${first.host.advertiseAddress}:${String(SWARM_PORT)}`,
        ],
        { privileged: true },
      );
      first.info = await swarmInfo(first.runner);
      results.set(first.host.name, { name: first.host.name, action: 'initialised', role: 'manager', error: null });
      leader = first;
    }
    const tokens = {
      worker: (
        await leader.runner.run(DOCKER, ['swarm', 'join-token', '-q', 'worker'], { privileged: true })
      ).stdout.trim(),
      manager: (
        await leader.runner.run(DOCKER, ['swarm', 'join-token', '-q', 'manager'], { privileged: true })
      ).stdout.trim(),
    };
    const leaderAddress = `${leader.host.advertiseAddress}:${String(SWARM_PORT)}`;
    await Promise.all(
      fleet.map(async (c) => {
        if (results.has(c.host.name)) return;
        const role = isManager(c) ? 'manager' : 'worker';
        if (c.info.state === 'active') {
          results.set(c.host.name, {
            name: c.host.name,
            action: 'already-in',
            role: roleOf(c.info),
            error: null,
          });
          return;
        }
        const token = tokens[role];
        const join = await c.runner.run('sh', ['-c', swarmJoinScript()], {
          privileged: true,
          input: swarmJoinRequest(token, c.host.advertiseAddress, leaderAddress),
          secrets: [tokens.worker, tokens.manager],
          allowFailure: true,
        });
        results.set(c.host.name, {
          name: c.host.name,
          action: join.exitCode === 0 ? 'joined' : 'failed',
          role,
          error:
            join.exitCode === 0
              ? null
              : `${c.host.name}: docker swarm join: ${join.stderr.trim().split('\n').at(-1) ?? ''}`,
        });
      }),
    );
    const nodes = await listNodes(leader.runner);
    const check = options.check === false ? null : await checkService(fleet, leader, nodes.length);
    return {
      clusterId: leader.info.clusterId,
      hosts: fleet.map(
        (c) => results.get(c.host.name) ?? { name: c.host.name, action: 'failed', role: null, error: 'no result' },
      ),
      nodes,
      check,
    };
  });
}

export async function swarmStatus(
  inventory: Inventory,
  hosts: readonly InventoryHost[],
  options: SwarmOptions = {},
): Promise<SwarmReport> {
  return withFleet(inventory, hosts, options, async (fleet) => {
    const leader = fleet.find((c) => c.info.state === 'active' && c.info.manager);
    const nodes = leader ? await listNodes(leader.runner) : [];
    const check = leader && options.check ? await checkService(fleet, leader, nodes.length) : null;
    return {
      clusterId: leader?.info.clusterId ?? null,
      hosts: fleet.map((c) => ({
        name: c.host.name,
        action: c.info.state === 'active' ? 'already-in' : 'not-in',
        role: c.info.state === 'active' ? roleOf(c.info) : null,
        error: null,
      })),
      nodes,
      check,
    };
  });
}

/** Workers leave first, managers last (the last one with --force, which ends the swarm). */
export async function swarmLeave(
  inventory: Inventory,
  hosts: readonly InventoryHost[],
  options: SwarmOptions = {},
): Promise<SwarmReport> {
  return withFleet(inventory, hosts, { ...options, changes: true }, async (fleet) => {
    const results: SwarmHostResult[] = [];
    const leave = async (c: Connected) => {
      if (c.info.state !== 'active') {
        results.push({ name: c.host.name, action: 'not-in', role: null, error: null });
        return;
      }
      const result = await c.runner.run(DOCKER, ['swarm', 'leave', ...(c.info.manager ? ['--force'] : [])], {
        privileged: true,
        allowFailure: true,
      });
      results.push({
        name: c.host.name,
        action: result.exitCode === 0 ? 'left' : 'failed',
        role: roleOf(c.info),
        error: result.exitCode === 0 ? null : `${c.host.name}: ${result.stderr.trim().split('\n').at(-1) ?? ''}`,
      });
    };
    await Promise.all(fleet.filter((c) => !c.info.manager).map(leave));
    for (const c of fleet.filter((m) => m.info.manager)) await leave(c);
    return {
      clusterId: null,
      hosts: fleet.map(
        (c) =>
          results.find((r) => r.name === c.host.name) ?? {
            name: c.host.name,
            action: 'failed',
            role: null,
            error: null,
          },
      ),
      nodes: [],
      check: null,
    };
  });
}

async function listNodes(runner: SshRunner): Promise<SwarmNode[]> {
  const ids = (await runner.run(DOCKER, ['node', 'ls', '-q'], { privileged: true, readOnly: true })).stdout
    .split('\n')
    .filter(Boolean);
  if (ids.length === 0) return [];
  return parseNodes(
    (
      await runner.run(DOCKER, ['node', 'inspect', '--format', '{{json .}}', ...ids], {
        privileged: true,
        readOnly: true,
      })
    ).stdout,
  );
}

/**
 * A global service of the health-check image: one task per node, each of its own board's
 * architecture, each answering on the node's published port; removed afterwards.
 */
async function checkService(
  fleet: readonly Connected[],
  leader: Connected,
  nodeCount: number,
): Promise<NonNullable<SwarmReport['check']>> {
  const token = randomBytes(6).toString('hex');
  for (const c of fleet) {
    const image = await activeProbeImage(c.runner);
    if (!image)
      return {
        ok: false,
        answered: [],
        problem: `${c.host.name}: the active version has no health-check image; install a build with the engine`,
      };
    const tagged = await c.runner.run(
      'sh',
      [
        '-c',
        `if [ "$(${DOCKER} image inspect --format '{{.Id}}' ${shellQuote(image.tag)} 2>/dev/null)" != ${shellQuote(image.id)} ]; then ${DOCKER} load -i ${shellQuote(image.file)} >/dev/null || exit 1; fi; ${DOCKER} tag ${shellQuote(image.tag)} ${CHECK_TAG}`,
      ],
      { privileged: true, allowFailure: true },
    );
    if (tagged.exitCode !== 0)
      return {
        ok: false,
        answered: [],
        problem: `${c.host.name}: could not load the health-check image: ${tagged.stderr.trim()}`,
      };
  }
  const service = `${CHECK_SERVICE}-${token}`;
  const run = (command: string) =>
    leader.runner.run('sh', ['-c', command], { privileged: true, allowFailure: true, timeoutMs: 10 * 60_000 });
  try {
    const created = await run(
      `${DOCKER} service create --detach --quiet --mode global --no-resolve-image --name ${service} --publish mode=host,target=8080,published=${String(CHECK_PORT)} ${CHECK_TAG} serve 8080 ${token}`,
    );
    if (created.exitCode !== 0)
      return { ok: false, answered: [], problem: `docker service create: ${created.stderr.trim()}` };
    // Every node's task running (emulated boards start containers slowly).
    const waited = await run(
      `for i in $(seq 1 150); do n=$(${DOCKER} service ps --filter desired-state=running --format '{{.CurrentState}}' ${service} | grep -c '^Running'); [ "$n" -ge ${String(nodeCount)} ] && exit 0; sleep 2; done; ${DOCKER} service ps --no-trunc ${service}; exit 1`,
    );
    if (waited.exitCode !== 0)
      return {
        ok: false,
        answered: [],
        problem: `not every node runs the check service: ${waited.stdout.trim().split('\n').slice(-3).join(' | ')}`,
      };
    const answers = await Promise.all(
      fleet.map(async (c) => {
        const result = await c.runner.run(
          DOCKER,
          ['run', '--rm', '--network', 'host', CHECK_TAG, 'connect', '127.0.0.1', String(CHECK_PORT)],
          { privileged: true, allowFailure: true, timeoutMs: 5 * 60_000 },
        );
        return {
          name: c.host.name,
          ok: result.stdout.trim() === `crossdock-probe ${token}`,
          detail: result.stderr.trim(),
        };
      }),
    );
    const failed = answers.filter((a) => !a.ok);
    return {
      ok: failed.length === 0,
      answered: answers.filter((a) => a.ok).map((a) => a.name),
      problem:
        failed.length === 0
          ? null
          : `${failed.map((f) => f.name).join(', ')}: the service's task does not answer on port ${String(CHECK_PORT)}`,
    };
  } finally {
    await run(`${DOCKER} service rm ${service} >/dev/null 2>&1`);
  }
}

/** The active version's health-check image on the board (from the record install wrote). */
async function activeProbeImage(runner: SshRunner): Promise<ProbeImageOnBoard | null> {
  const state = await readBoardState(runner);
  if (!state.current) return null;
  const record = await runner.run('cat', [`${layout.versions}/${state.current}.json`], {
    allowFailure: true,
    readOnly: true,
  });
  if (record.exitCode !== 0) return null;
  return (JSON.parse(record.stdout) as { image?: ProbeImageOnBoard }).image ?? null;
}

/**
 * The join as an Engine API request, sent on stdin to dockerd's socket: `docker swarm join
 * --token …` would put the token in the joining board's process list for every local user to
 * read. Pure.
 */
export function swarmJoinRequest(token: string, advertiseAddress: string, leaderAddress: string): string {
  return `${JSON.stringify({
    ListenAddr: `${advertiseAddress}:${String(SWARM_PORT)}`,
    AdvertiseAddr: advertiseAddress,
    RemoteAddrs: [leaderAddress],
    JoinToken: token,
  })}\n`;
}

/** POST /swarm/join with the request from stdin (scripts/swarm-join.sh); dockerd's message on stderr when it refuses. Pure. */
export function swarmJoinScript(socket = '/run/docker.sock'): string {
  return boardScript('swarm-join', { SOCKET: socket });
}
