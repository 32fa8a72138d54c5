import { ExitCode } from '../errors.js';
import { forEachHost } from '../remote/fleet.js';
import { probeBoard } from '../install/board-probe.js';
import { formatTable, printJson } from '../ui/output.js';
import { openFleet } from './shared.js';

export async function probeCommand(options: {
  config?: string | undefined;
  inventory: string | undefined;
  limit?: string | undefined;
  acceptNew?: boolean;
  json?: boolean;
  sshConfig?: string | undefined;
  forks?: string | undefined;
}): Promise<number> {
  const { context, inventory, hosts, fleet } = await openFleet(options);
  const outcomes = await forEachHost(inventory, hosts, (runner) => probeBoard(runner, context.registry), fleet);
  if (options.json) {
    printJson(
      outcomes.map((o) =>
        o.ok ? { ...o.value, ok: true } : { name: o.host.name, target: null, ok: false, error: o.error, hint: o.hint },
      ),
    );
  } else {
    const rows = outcomes.map((o) => {
      if (!o.ok) return [o.host.name, 'error', o.error];
      const r = o.value;
      const docker = r.docker.crossdockVersion
        ? `crossdock ${r.docker.crossdockVersion}`
        : r.docker.packages.map((p) => `${p.name} ${p.version}`).join(', ') || '—';
      return [
        r.name,
        r.target ?? 'unsupported',
        r.model ?? '—',
        `${r.kernel.machine} ${r.kernel.bits ?? '?'}-bit / ${r.userland.dpkgArchitecture ?? '?'} ${r.userland.bits ?? '?'}-bit`,
        r.os ?? '—',
        r.init ?? '?',
        r.freeDiskBytes === null ? '?' : `${(r.freeDiskBytes / 1024 ** 3).toFixed(1)} GiB`,
        r.memoryCgroup.enabled ? 'on' : 'off',
        r.iptables ?? 'none',
        docker,
        r.sudo,
      ];
    });
    process.stdout.write(
      `${formatTable([['HOST', 'TARGET', 'MODEL', 'KERNEL/USERLAND', 'OS', 'INIT', 'DISK', 'MEMCG', 'IPTABLES', 'DOCKER', 'SUDO'], ...rows])}\n`,
    );
    for (const o of outcomes) {
      if (o.ok && o.value.refused) process.stderr.write(`crossdock: ${o.host.name}: ${o.value.refused}\n`);
      if (o.ok && o.value.memoryCgroup.fix)
        process.stderr.write(`crossdock: ${o.host.name}: ${o.value.memoryCgroup.fix}\n`);
      if (!o.ok) process.stderr.write(`crossdock: ${o.error}\n${o.hint ? `  hint: ${o.hint}\n` : ''}`);
    }
  }
  const failed = outcomes.filter((o): o is Extract<typeof o, { ok: false }> => !o.ok);
  if (failed.length === 0) return outcomes.some((o) => o.ok && o.value.refused) ? ExitCode.Failure : ExitCode.Ok;
  return failed.every((o) => o.exitCode === ExitCode.Remote) ? ExitCode.Remote : ExitCode.Failure;
}
