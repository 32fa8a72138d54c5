/**
 * OpenSSH known_hosts, read and written the way ssh does: plain and hashed (`|1|salt|hmac`) host
 * fields, `[host]:port` for other ports, patterns with `*`, `?` and `!`, `@revoked` markers.
 * Pure: text in, decisions out.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export interface KnownHostEntry {
  marker: '@revoked' | '@cert-authority' | null;
  hosts: string;
  keyType: string;
  /** base64 of the key blob, exactly as ssh writes it. */
  key: string;
  line: number;
}

export type HostKeyVerdict =
  | { kind: 'known'; line: number }
  | { kind: 'unknown' }
  /** The host is known with another key of the same type: possibly an attack, always refused. */
  | { kind: 'changed'; line: number }
  /**
   * The host is known only with keys of other types, and presents a new type: OpenSSH refuses to
   * add it silently, and so does --accept-new here (an attacker need only offer another type).
   */
  | { kind: 'other-type'; line: number; pinned: string; presented: string }
  | { kind: 'revoked'; line: number }
  /**
   * No key of the host's own, but `@cert-authority` lines trust CAs for it: the host must show
   * a certificate from one of them for the key it presented (see host-certificate.ts).
   */
  | { kind: 'certificate'; line: number; authorities: Buffer[]; revoked: Buffer[] };

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'] = null;
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority')
      marker = fields.shift() as KnownHostEntry['marker'];
    const [hosts, keyType, key] = fields;
    if (!hosts || !keyType || !key) return;
    entries.push({ marker, hosts, keyType, key, line: index + 1 });
  });
  return entries;
}

/**
 * The name ssh looks up: `host` on port 22, `[host]:port` otherwise, lower-cased as ssh does
 * before it hashes a name (a hashed `Pi-A` would never match what ssh wrote for `pi-a`).
 */
export function hostField(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

function matchesPattern(name: string, pattern: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
    'i',
  );
  return regex.test(name);
}

/** Whether an entry's host field names this host: hashed, or a list of patterns with negations. */
export function entryMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern.startsWith('!')) {
      if (matchesPattern(name, pattern.slice(1))) return false;
    } else if (matchesPattern(name, pattern)) matched = true;
  }
  return matched;
}

/** The SSH key type inside a wire-format key blob (its first string). */
export function keyTypeOf(blob: Buffer): string {
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('ascii');
}

/** `SHA256:…` as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function verifyHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  blob: Buffer,
): HostKeyVerdict {
  const names = [hostField(host, port)];
  const key = blob.toString('base64');
  const type = keyTypeOf(blob);
  const forHost = entries.filter((e) => e.marker !== '@cert-authority' && names.some((n) => entryMatches(e.hosts, n)));
  const revoked = entries.find((e) => e.marker === '@revoked' && e.key === key);
  if (revoked) return { kind: 'revoked', line: revoked.line };
  const known = forHost.find((e) => e.marker === null && e.key === key);
  if (known) return { kind: 'known', line: known.line };
  // As ssh does: a CA trusted for the host decides, whatever plain keys are pinned beside it.
  const authorities = entries.filter(
    (e) => e.marker === '@cert-authority' && names.some((n) => entryMatches(e.hosts, n)),
  );
  if (authorities[0])
    return {
      kind: 'certificate',
      line: authorities[0].line,
      authorities: authorities.map((e) => Buffer.from(e.key, 'base64')),
      revoked: entries.filter((e) => e.marker === '@revoked').map((e) => Buffer.from(e.key, 'base64')),
    };
  const changed = forHost.find((e) => e.marker === null && e.keyType === type);
  if (changed) return { kind: 'changed', line: changed.line };
  const other = forHost.find((e) => e.marker === null);
  if (other) return { kind: 'other-type', line: other.line, pinned: other.keyType, presented: type };
  return { kind: 'unknown' };
}

/** A known_hosts line for a host, hashed like `HashKnownHosts yes` unless told otherwise. */
/**
 * What --accept-new appends to a known_hosts file that holds `existing`: a file without its
 * final newline gets one first, or the key would be glued onto the last entry (corrupting it and
 * never being found again). Pure.
 */
export function knownHostsAppendix(existing: string, line: string): string {
  return existing.length > 0 && !existing.endsWith('\n') ? `\n${line}` : line;
}

export function knownHostsLine(host: string, port: number, blob: Buffer, options: { hash?: boolean } = {}): string {
  const name = hostField(host, port);
  let field = name;
  if (options.hash ?? true) {
    const salt = randomBytes(20);
    field = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  }
  return `${field} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`;
}

/** ssh2's host key algorithms, in its own order of preference. */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * The host key algorithms to offer, the types known_hosts pins for this host first, as OpenSSH
 * orders them: a board pinned by its RSA key is asked for that key, not for an ed25519 one that
 * would then be refused as another type. Pure.
 */
export function hostKeyAlgorithms(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const name = hostField(host, port);
  const pinned = new Set(entries.filter((e) => e.marker === null && entryMatches(e.hosts, name)).map((e) => e.keyType));
  const isPinned = (algorithm: string) =>
    pinned.has(algorithm) || (algorithm.startsWith('rsa-sha2-') && pinned.has('ssh-rsa'));
  return [...HOST_KEY_ALGORITHMS.filter(isPinned), ...HOST_KEY_ALGORITHMS.filter((a) => !isPinned(a))];
}
