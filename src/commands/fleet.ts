import { ExitCode, UserError } from '../errors.js';
import { hostStatus, rollbackHost } from '../install/fleet-ops.js';
import { type FleetOptions, forEachHost } from '../remote/fleet.js';
import type { Inventory, InventoryHost } from '../remote/inventory.js';
import { formatTable, printJson } from '../ui/output.js';
import { createRunner, openFleet } from './shared.js';

export async function fleetCommand(
  action: string,
  options: {
    config?: string | undefined;
    inventory: string | undefined;
    limit?: string | undefined;
    json?: boolean;
    dryRun?: boolean;
    deep?: boolean;
    subAction?: string | undefined;
    renew?: boolean;
    restart?: boolean;
    tlsDirectory?: string | undefined;
    managers?: string[] | undefined;
    check?: boolean;
    acceptNew?: boolean;
    sshConfig?: string | undefined;
    forks?: string | undefined;
  },
): Promise<number> {
  if (!['status', 'rollback', 'swarm', 'tls'].includes(action))
    throw new UserError(`fleet ${action}: unknown action`, {
      hint: 'fleet status | rollback | swarm init|status|leave | tls enable|status|disable',
    });
  if (action === 'swarm' && !['init', 'status', 'leave'].includes(options.subAction ?? ''))
    throw new UserError(`fleet swarm ${options.subAction ?? ''}: unknown swarm action`.trimEnd(), {
      hint: 'fleet swarm init | status | leave',
    });
  if (action === 'tls' && !['enable', 'status', 'disable'].includes(options.subAction ?? ''))
    throw new UserError(`fleet tls ${options.subAction ?? ''}: unknown tls action`.trimEnd(), {
      hint: 'fleet tls enable | status | disable',
    });
  const { inventory, hosts, fleet } = await openFleet(options);
  if (action === 'swarm') return swarmCommand(options.subAction ?? '', inventory, hosts, { ...fleet, ...options });
  if (action === 'tls') return tlsCommand(options.subAction ?? '', inventory, hosts, { ...fleet, ...options });
  if (action === 'status') {
    const outcomes = await forEachHost(
      inventory,
      hosts,
      (runner) => hostStatus(runner, { deep: options.deep ?? false }),
      fleet,
    );
    if (options.json)
      printJson(
        outcomes.map((o) => (o.ok ? { ...o.value, ok: true } : { name: o.host.name, ok: false, error: o.error })),
      );
    else {
      process.stdout.write(
        `${formatTable([
          ['HOST', 'TARGET', 'ACTIVE', 'PREVIOUS', 'HEALTH', ...(options.deep ? ['CONTAINERS'] : []), 'INSTALLED'],
          ...outcomes.map((o) =>
            o.ok
              ? [
                  o.host.name,
                  o.value.target ?? '—',
                  o.value.active ?? '—',
                  o.value.previous ?? '—',
                  o.value.health,
                  ...(options.deep ? [o.value.containers] : []),
                  o.value.installed.join(' '),
                ]
              : [o.host.name, '—', '—', '—', 'unreachable', ...(options.deep ? ['—'] : []), ''],
          ),
        ])}\n`,
      );
      for (const o of outcomes) {
        if (!o.ok) process.stderr.write(`crossdock: ${o.error}\n`);
        else if (o.value.problem) process.stderr.write(`crossdock: ${o.host.name}: ${o.value.problem}\n`);
      }
    }
    return outcomes.every((o) => o.ok && o.value.health !== 'failed') ? ExitCode.Ok : ExitCode.Failure;
  }
  const outcomes = await forEachHost(
    inventory,
    hosts,
    (runner) => rollbackHost(runner, { dryRun: options.dryRun ?? false }),
    {
      ...fleet,
      dryRun: options.dryRun ?? false,
    },
  );
  if (options.json)
    printJson(outcomes.map((o) => (o.ok ? o.value : { name: o.host.name, status: 'failed', error: o.error })));
  else
    for (const o of outcomes) {
      if (!o.ok) process.stderr.write(`crossdock: ${o.error}\n`);
      else if (o.value.error) process.stderr.write(`crossdock: ${o.value.error}\n`);
      else
        process.stdout.write(
          `${o.host.name}: ${options.dryRun ? 'would roll back' : 'rolled back'} ${o.value.from ?? '—'} → ${o.value.to ?? '—'}\n`,
        );
    }
  return outcomes.every((o) => o.ok && o.value.status !== 'failed') ? ExitCode.Ok : ExitCode.Failure;
}

async function swarmCommand(
  action: string,
  inventory: Inventory,
  hosts: InventoryHost[],
  options: FleetOptions & { managers?: string[] | undefined; check?: boolean; deep?: boolean; json?: boolean },
): Promise<number> {
  const { swarmInit, swarmLeave, swarmStatus } = await import('../install/swarm.js');
  const swarmOptions = { ...options, managers: options.managers ?? [] };
  const report =
    action === 'init'
      ? await swarmInit(inventory, hosts, swarmOptions)
      : action === 'leave'
        ? await swarmLeave(inventory, hosts, swarmOptions)
        : await swarmStatus(inventory, hosts, { ...swarmOptions, check: options.deep ?? false });
  if (options.json) printJson(report);
  else {
    process.stdout.write(
      `${formatTable([['HOST', 'SWARM', 'ROLE'], ...report.hosts.map((h) => [h.name, h.action, h.role ?? '—'])])}\n`,
    );
    if (report.nodes.length > 0)
      process.stdout.write(
        `\n${formatTable([
          ['NODE', 'ARCHITECTURE', 'ROLE', 'STATE', 'ADDRESS'],
          ...report.nodes.map((n) => [
            n.hostname,
            n.architecture,
            `${n.role}${n.leader ? ' (leader)' : ''}`,
            n.state,
            n.address,
          ]),
        ])}\n`,
      );
    if (report.check)
      process.stdout.write(
        report.check.ok
          ? `\ncheck service: a task on every node, each answering (${report.check.answered.join(', ')})\n`
          : '',
      );
    for (const h of report.hosts) if (h.error) process.stderr.write(`crossdock: ${h.error}\n`);
    if (report.check && !report.check.ok)
      process.stderr.write(`crossdock: swarm check: ${report.check.problem ?? ''}\n`);
  }
  const failed = report.hosts.some((h) => h.action === 'failed') || (report.check !== null && !report.check.ok);
  return failed ? ExitCode.Failure : ExitCode.Ok;
}

async function tlsCommand(
  action: string,
  inventory: Inventory,
  hosts: InventoryHost[],
  options: FleetOptions & { renew?: boolean; restart?: boolean; tlsDirectory?: string | undefined; json?: boolean },
): Promise<number> {
  const [{ FleetCa, defaultCaDirectory }, { dockerConfigDirectory }, remoteApi] = await Promise.all([
    import('../install/fleet-ca.js'),
    import('../install/docker-context.js'),
    import('../install/remote-api.js'),
  ]);
  const directory = options.tlsDirectory ?? defaultCaDirectory();
  // Only enable makes a CA, and not under --dry-run; status and disable work with what is there.
  const dryRun = options.dryRun ?? false;
  const ca =
    action === 'enable' && !dryRun
      ? await FleetCa.open(directory, createRunner({}))
      : await FleetCa.open(directory, createRunner({}), { create: false });
  if (action === 'enable' && dryRun && !ca) options.log?.(`would make a new CA in ${directory}`);
  if (ca?.created)
    options.log?.(`made a new CA in ${ca.directory} (keep ca-key.pem safe: it admits clients to every board)`);
  const caProblem = ca?.caProblem();
  if (caProblem) options.log?.(`${caProblem}; make a new one and run tls enable --renew`);
  const work =
    action === 'enable' ? remoteApi.enableTls : action === 'disable' ? remoteApi.disableTls : remoteApi.tlsStatus;
  const tlsOptions = {
    ca,
    dockerConfig: dockerConfigDirectory(),
    renew: options.renew ?? false,
    restart: options.restart ?? false,
    dryRun,
  };
  const outcomes = await forEachHost(inventory, hosts, (runner, host) => work(runner, host, tlsOptions), options);
  const results = outcomes.map((o) =>
    o.ok
      ? o.value
      : {
          name: o.host.name,
          action: 'failed' as const,
          certificate: null,
          notAfter: null,
          endpoint: '',
          api: 'not-checked' as const,
          context: null,
          warning: null,
          error: o.error,
        },
  );
  if (options.json) printJson(results);
  else {
    process.stdout.write(
      `${formatTable([
        ['HOST', 'TLS', 'ENDPOINT', 'API', 'CERTIFICATE', 'CONTEXT'],
        ...results.map((r) => [
          r.name,
          r.action,
          r.endpoint || '—',
          r.api,
          r.certificate ? `${r.certificate}, until ${r.notAfter ?? '?'}` : '—',
          r.context ?? '—',
        ]),
      ])}\n`,
    );
    for (const r of results) {
      if (r.error) process.stderr.write(`crossdock: ${r.error}\n`);
      if (r.warning) process.stderr.write(`crossdock: ${r.warning}\n`);
    }
  }
  return results.some((r) => r.action === 'failed') ? ExitCode.Failure : ExitCode.Ok;
}
