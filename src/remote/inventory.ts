/**
 * The inventory: which boards, how to reach them. YAML with hosts, groups and defaults; a host
 * takes defaults < each of its groups < its own keys. What the inventory leaves out comes from
 * OpenSSH's own resolution (`ssh -G`: ~/.ssh/config Host aliases, HostName, User, Port,
 * IdentityFile, ProxyJump), so an inventory can name `pi-zero-1` and let ~/.ssh/config say the rest.
 */
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import * as v from 'valibot';
import { loadDocument } from '../document/document.js';
import { UserError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { type DaemonConfig, DaemonConfigSchema, layerDaemonConfig } from '../engine/daemon-config.js';

const Sudo = v.union([
  v.boolean(),
  v.strictObject({
    passwordEnv: v.pipe(
      v.string(),
      v.regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name such as BOARD_SUDO_PASSWORD'),
      v.description('Environment variable holding the sudo password (fed to sudo -S on stdin, never in argv)'),
    ),
  }),
]);

/**
 * A host name or an IPv4/IPv6 address, and nothing else: an address reaches ssh -G's argv and the
 * subjectAltName of the board's TLS certificate, where a leading "-", a comma or a newline would
 * become an option or another extension.
 */
const HOST_OR_ADDRESS = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|[0-9A-Fa-f:.]+(?:%[\w.-]+)?)$/;
const address = (description: string) =>
  v.pipe(
    v.optional(
      v.pipe(
        v.string(),
        v.regex(HOST_OR_ADDRESS, 'expected a host name or an IP address (letters, digits, ".", "-", ":")'),
      ),
    ),
    v.description(description),
  );

const Connection = {
  address: address('Host name or IP; default: what ssh -G resolves the name to'),
  port: v.pipe(
    v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535))),
    v.description('SSH port'),
  ),
  user: v.pipe(
    v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_][\w.-]*$/, 'expected a user name such as pi'))),
    v.description('Login user'),
  ),
  identityFile: v.pipe(v.optional(v.string()), v.description('Private key file, relative to the inventory')),
  proxyJump: v.pipe(
    v.optional(v.pipe(v.string(), v.regex(/^[^\s-][^\s]*$/, 'expected [user@]host[:port][,…] without spaces'))),
    v.description('[user@]host[:port] to jump through'),
  ),
  sudo: v.pipe(v.optional(Sudo), v.description('true: sudo without a password; { passwordEnv }: with one')),
};

const HostSchema = v.strictObject({
  ...Connection,
  daemon: v.optional(DaemonConfigSchema),
  advertiseAddress: address('The address other boards reach this one at (Swarm); default: address'),
  api: v.pipe(
    v.optional(v.pipe(v.string(), v.regex(/^(\[[0-9a-fA-F:]+\]|[\w.-]+)(:\d{1,5})?$/, 'expected host or host:port'))),
    v.description('Where the operator reaches the remote API (fleet tls), host[:port]; default: address:2376'),
  ),
  tags: v.optional(v.array(v.string())),
  /** The model an emulated board plays (informational). */
  model: v.optional(v.string()),
});

const GroupSchema = v.strictObject({
  ...Connection,
  daemon: v.optional(DaemonConfigSchema),
  hosts: v.array(v.string()),
});

export const InventorySchema = v.strictObject({
  $schema: v.optional(v.string()),
  knownHosts: v.pipe(
    v.optional(v.string()),
    v.description('known_hosts file checked beside ~/.ssh/known_hosts, relative to the inventory'),
  ),
  allowedSigners: v.pipe(
    v.optional(v.string()),
    v.description('ssh-keygen allowed_signers file: boards accept only a SHA256SUMS.sig made by one of these keys'),
  ),
  defaults: v.optional(v.strictObject({ ...Connection, daemon: v.optional(DaemonConfigSchema) })),
  hosts: v.record(
    v.pipe(
      v.string(),
      v.regex(/^\w[\w.-]*$/, 'host names are letters, digits, ".", "_" and "-", starting with a letter or digit'),
    ),
    HostSchema,
  ),
  groups: v.optional(v.record(v.string(), GroupSchema)),
});
export type InventoryDocument = v.InferOutput<typeof InventorySchema>;

export type SudoMode = { kind: 'none' } | { kind: 'nopasswd' } | { kind: 'password'; env: string };

export interface InventoryHost {
  name: string;
  address: string;
  port: number;
  user: string;
  identityFiles: string[];
  /** known_hosts files ssh_config names for this host (UserKnownHostsFile, GlobalKnownHostsFile). */
  knownHostsFiles?: string[];
  /** ssh_config's StrictHostKeyChecking accept-new (or no, which is taken as accept-new, never weaker). */
  acceptNew?: boolean;
  /** The inventory named the key: one that cannot be read is an error, not skipped like ssh -G's defaults. */
  identityRequired?: boolean;
  proxyJump: string | null;
  sudo: SudoMode;
  tags: string[];
  groups: string[];
  model: string | null;
  /** Where the other boards reach this one (Swarm's --advertise-addr). */
  advertiseAddress: string;
  /** host[:port] of the engine's remote API as the operator reaches it; null: address:2376. */
  api: string | null;
  /** daemon.json for this board (defaults < groups < host); null: crossdock leaves it alone. */
  daemon: DaemonConfig | null;
}

export interface Inventory {
  file: string;
  knownHosts: string | null;
  allowedSigners: string | null;
  hosts: InventoryHost[];
}

type ConnectionKeys = Partial<Record<keyof typeof Connection, unknown>>;

/** What `ssh -G NAME` resolves: the parts of ~/.ssh/config that apply to a host. */
export interface SshResolution {
  hostname?: string;
  user?: string;
  port?: number;
  identityFiles?: string[];
  proxyJump?: string;
  /** UserKnownHostsFile, then GlobalKnownHostsFile, as ssh reads them. */
  knownHostsFiles?: string[];
  /** StrictHostKeyChecking as ssh_config sets it (ask, yes, no, accept-new). */
  strictHostKeyChecking?: string;
}

export function parseSshG(output: string): SshResolution {
  const resolution: SshResolution = {};
  for (const line of output.split('\n')) {
    const [key, ...rest] = line.trim().split(' ');
    const value = rest.join(' ');
    if (!key || !value) continue;
    if (key === 'hostname') resolution.hostname = value;
    else if (key === 'user') resolution.user = value;
    else if (key === 'port') resolution.port = Number(value);
    else if (key === 'identityfile') (resolution.identityFiles ??= []).push(value);
    else if (key === 'proxyjump' && value !== 'none') resolution.proxyJump = value;
    else if (key === 'userknownhostsfile' || key === 'globalknownhostsfile') {
      const files = value.split(/\s+/).filter((file) => file !== 'none');
      // What ssh uses when nothing is configured says nothing: crossdock's own default applies.
      const defaults =
        key === 'userknownhostsfile'
          ? [/\/\.ssh\/known_hosts$/, /\/\.ssh\/known_hosts2$/]
          : [/^\/etc\/ssh\/ssh_known_hosts$/, /^\/etc\/ssh\/ssh_known_hosts2$/];
      if (files.length === 2 && files.every((file, index) => defaults[index]?.test(file))) continue;
      // ssh -G prints the global files first; the user's come first here (they take new keys).
      const known = (resolution.knownHostsFiles ??= []);
      if (key === 'userknownhostsfile') known.unshift(...files);
      else known.push(...files);
    } else if (key === 'stricthostkeychecking') resolution.strictHostKeyChecking = value.toLowerCase();
  }
  return resolution;
}

export async function loadInventory(
  file: string,
  /** runner: resolve with `ssh -G`; sshConfig: an ssh_config file instead of ~/.ssh/config (ssh -F). */
  options: { runner?: Runner; home?: string; sshConfig?: string | undefined } = {},
): Promise<Inventory> {
  const document = await loadDocument(file, InventorySchema);
  if (Object.keys(document.hosts).length === 0)
    throw new UserError(`${file}: hosts lists no board`, {
      hint: 'add a board under hosts (e.g. pi-1: { address: 192.168.1.20 }), or crossdock board up for emulated ones',
    });
  const base = dirname(resolve(file));
  // `~/.ssh/id_ed25519` (README's own example, and how ssh -G prints its defaults) is the home
  // directory's, never a folder named ~ beside the inventory.
  const home = options.home ?? homedir();
  const path = (value: string) => {
    const expanded = value === '~' ? home : value.replace(/^~(?=\/)/, home);
    return isAbsolute(expanded) ? expanded : resolve(base, expanded);
  };
  const groupsOf = new Map<string, string[]>();
  for (const [group, definition] of Object.entries(document.groups ?? {})) {
    for (const host of definition.hosts) {
      if (!(host in document.hosts))
        throw new UserError(`${file}: group ${group} lists ${host}, which is not under hosts`, {
          hint: `add ${host} under hosts, or remove it from the group`,
        });
      groupsOf.set(host, [...(groupsOf.get(host) ?? []), group]);
    }
  }
  const hosts: InventoryHost[] = [];
  for (const [name, host] of Object.entries(document.hosts)) {
    const groups = groupsOf.get(name) ?? [];
    const layers: ConnectionKeys[] = [document.defaults ?? {}, ...groups.map((g) => document.groups?.[g] ?? {}), host];
    const pick = (key: keyof typeof Connection) =>
      layers.reduce<unknown>((value, layer) => layer[key] ?? value, undefined);
    const ssh = options.runner ? await resolveWithSsh(options.runner, name, options.sshConfig) : {};
    const identityFile = pick('identityFile') as string | undefined;
    const sudo = pick('sudo') as v.InferOutput<typeof Sudo> | undefined;
    hosts.push({
      name,
      address: (pick('address') as string | undefined) ?? ssh.hostname ?? name,
      advertiseAddress: host.advertiseAddress ?? (pick('address') as string | undefined) ?? ssh.hostname ?? name,
      api: host.api ?? null,
      port: (pick('port') as number | undefined) ?? ssh.port ?? 22,
      user: (pick('user') as string | undefined) ?? ssh.user ?? 'root',
      identityFiles: identityFile ? [path(identityFile)] : (ssh.identityFiles ?? []).map(path),
      identityRequired: identityFile !== undefined,
      ...(ssh.knownHostsFiles ? { knownHostsFiles: ssh.knownHostsFiles.map(path) } : {}),
      ...(['accept-new', 'no', 'off', 'false'].includes(ssh.strictHostKeyChecking ?? '') ? { acceptNew: true } : {}),
      proxyJump: (pick('proxyJump') as string | undefined) ?? ssh.proxyJump ?? null,
      sudo:
        sudo === undefined || sudo === false
          ? { kind: 'none' }
          : sudo === true
            ? { kind: 'nopasswd' }
            : { kind: 'password', env: sudo.passwordEnv },
      tags: host.tags ?? [],
      groups,
      model: host.model ?? null,
      daemon: layerDaemonConfig([
        document.defaults?.daemon,
        ...groups.map((g) => document.groups?.[g]?.daemon),
        host.daemon,
      ]),
    });
  }
  return {
    file,
    knownHosts: document.knownHosts ? path(document.knownHosts) : null,
    allowedSigners: document.allowedSigners ? path(document.allowedSigners) : null,
    hosts,
  };
}

async function resolveWithSsh(runner: Runner, name: string, config: string | undefined): Promise<SshResolution> {
  const result = await runner.run('ssh', [...(config ? ['-F', config] : []), '-G', '--', name], { allowFailure: true });
  return result.exitCode === 0 ? parseSshG(result.stdout) : {};
}

/** `--limit`: host names, group names, `tag:x`, globs; comma-separated; `!` excludes. */
export function limitHosts(hosts: readonly InventoryHost[], pattern: string | undefined): InventoryHost[] {
  if (!pattern) return [...hosts];
  const terms = pattern
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const matches = (host: InventoryHost, term: string) => {
    if (term.startsWith('tag:')) return host.tags.includes(term.slice(4));
    const regex = new RegExp(
      `^${term
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    return regex.test(host.name) || host.groups.some((g) => regex.test(g));
  };
  const include = terms.filter((t) => !t.startsWith('!'));
  const exclude = terms.filter((t) => t.startsWith('!')).map((t) => t.slice(1));
  const chosen = hosts.filter(
    (host) => (include.length === 0 || include.some((t) => matches(host, t))) && !exclude.some((t) => matches(host, t)),
  );
  if (chosen.length === 0)
    throw new UserError(`--limit ${pattern}: matches no host`, {
      hint: `hosts: ${hosts.map((h) => h.name).join(', ')}`,
    });
  return chosen;
}
