/**
 * The engine's daemon.json as code: the inventory sets, per defaults, group or host, the keys
 * fleets set (registry mirrors, insecure registries, logging and its limits, data root, cgroup
 * driver through exec-opts, …), under the names dockerd itself uses so a key can be copied from
 * Docker's documentation. Each version on a board keeps the daemon.json it ran with, so a switch
 * back restores the configuration together with the binaries. Pure: schema, layering, text.
 */
import * as v from 'valibot';

const Url = v.pipe(
  v.string(),
  v.regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'expected an http(s) URL such as https://mirror.example'),
);
const Size = v.pipe(v.string(), v.regex(/^\d+[kmg]?$/, 'expected a size such as "10m" (dockerd wants a string)'));

export const DaemonConfigSchema = v.pipe(
  v.strictObject({
    'registry-mirrors': v.pipe(v.optional(v.array(Url)), v.description('Registry mirrors tried before Docker Hub')),
    'insecure-registries': v.pipe(
      v.optional(v.array(v.pipe(v.string(), v.regex(/^[\w.:[\]/-]+$/, 'expected host[:port] or a CIDR')))),
      v.description('Registries reached over plain HTTP or with unverified TLS (host[:port] or CIDR)'),
    ),
    'log-driver': v.pipe(
      v.optional(v.string()),
      v.description('Default logging driver: json-file, local, journald, …'),
    ),
    'log-opts': v.pipe(
      v.optional(
        v.strictObject({
          'max-size': v.optional(Size),
          'max-file': v.optional(v.pipe(v.string(), v.regex(/^\d+$/, 'expected a count as a string, e.g. "3"'))),
          compress: v.optional(v.picklist(['true', 'false'])),
          mode: v.optional(v.picklist(['blocking', 'non-blocking'])),
          'max-buffer-size': v.optional(Size),
          tag: v.optional(v.string()),
        }),
      ),
      v.description('Options of the logging driver (strings, as dockerd wants them)'),
    ),
    'data-root': v.pipe(
      v.optional(v.pipe(v.string(), v.regex(/^\/\S*$/, 'expected an absolute path'))),
      v.description('Where images and containers live (e.g. on a USB disk rather than the SD card)'),
    ),
    'exec-opts': v.pipe(
      v.optional(v.array(v.string())),
      v.description('Runtime options, e.g. native.cgroupdriver=systemd'),
    ),
    'storage-driver': v.pipe(v.optional(v.string()), v.description('overlay2, vfs, …')),
    'live-restore': v.pipe(v.optional(v.boolean()), v.description('Keep containers running while dockerd restarts')),
    dns: v.pipe(v.optional(v.array(v.string())), v.description('DNS servers for containers')),
    mtu: v.pipe(
      v.optional(v.pipe(v.number(), v.integer(), v.minValue(68))),
      v.description('MTU of the default bridge'),
    ),
    'default-address-pools': v.pipe(
      v.optional(v.array(v.strictObject({ base: v.string(), size: v.pipe(v.number(), v.integer()) }))),
      v.description('Address pools for new networks'),
    ),
    'max-concurrent-downloads': v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    'max-concurrent-uploads': v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    experimental: v.optional(v.boolean()),
    features: v.optional(v.record(v.string(), v.boolean())),
    ipv6: v.optional(v.boolean()),
    'fixed-cidr-v6': v.optional(v.string()),
  }),
  v.description('daemon.json keys for dockerd on these boards (dockerd names; layered defaults < groups < host)'),
);
export type DaemonConfig = v.InferOutput<typeof DaemonConfigSchema>;

/** Later layers replace earlier ones key by key (a host's log-opts replaces its group's whole). */
export function layerDaemonConfig(layers: ReadonlyArray<DaemonConfig | undefined>): DaemonConfig | null {
  const present = layers.filter((layer): layer is DaemonConfig => layer !== undefined);
  if (present.length === 0) return null;
  return Object.assign({}, ...present) as DaemonConfig;
}

/** The file as the board gets it: keys sorted at every depth, so equal settings are equal bytes. */
export function daemonJson(config: DaemonConfig): string {
  return `${JSON.stringify(sortKeys(config), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, item]) => [key, sortKeys(item)]),
    );
  return value;
}
