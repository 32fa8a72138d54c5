/**
 * The engine's remote API over TLS, pure: what a board serves (dockerd with `-H tcp://0.0.0.0:2376
 * --tlsverify`, as Docker's "Protect the Docker daemon socket" guide sets it up), which names its
 * certificate must carry, the systemd drop-in, the client's docker context, and what to do on a
 * board given what is there. Off unless `crossdock fleet tls enable` is run.
 *
 * A drop-in and not daemon.json: dockerd refuses `hosts` in daemon.json together with the unit's
 * `-H fd://` ("the following directives are specified both as a flag and in the configuration
 * file"), and the drop-in survives version switches, which replace docker.service.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { UNITS } from '../builder/units.js';
import type { InventoryHost } from '../remote/inventory.js';
import { splitSections } from './fact-sections.js';
import { boardLayout } from './plan.js';

/** IANA's port for Docker over TLS. */
export const API_PORT = 2376;
export const BOARD_TLS_DIRECTORY = boardLayout().tls;
export const DROP_IN_FILE = boardLayout().dropIn;
/** Certificates that expire within this many days are reported (and reissued with --renew). */
export const RENEW_WITHIN_DAYS = 30;

/** The files a board gets, by their name in BOARD_TLS_DIRECTORY. */
export const BOARD_FILES = ['ca.pem', 'server-cert.pem', 'server-key.pem', 'remote-api.conf'] as const;
export type BoardFile = (typeof BOARD_FILES)[number];

export interface Endpoint {
  host: string;
  port: number;
}

/** Where the operator reaches the board's API: the inventory's `api`, else its address on 2376. */
export function apiEndpoint(host: Pick<InventoryHost, 'address' | 'api'>): Endpoint {
  if (!host.api) return { host: host.address, port: API_PORT };
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(host.api);
  if (match) return { host: match[1] ?? match[2] ?? host.address, port: Number(match[3]) };
  return { host: host.api, port: API_PORT };
}

export function endpointUrl(endpoint: Endpoint): string {
  const host = isIP(endpoint.host) === 6 ? `[${endpoint.host}]` : endpoint.host;
  return `tcp://${host}:${String(endpoint.port)}`;
}

/**
 * subjectAltName of a board's server certificate: every name a client may use for it (its
 * inventory name, address, LAN address, the API endpoint) and loopback, for checks on the board.
 */
export function subjectAltNames(host: Pick<InventoryHost, 'name' | 'address' | 'advertiseAddress' | 'api'>): string[] {
  const names = [host.name, host.address, host.advertiseAddress, apiEndpoint(host).host, 'localhost', '127.0.0.1'];
  const seen = new Set<string>();
  const entries: string[] = [];
  for (const name of names) {
    const entry = isIP(name) ? `IP:${name}` : `DNS:${name}`;
    if (seen.has(entry)) continue;
    seen.add(entry);
    entries.push(entry);
  }
  return entries;
}

/**
 * Node's X509Certificate.subjectAltName ("DNS:a, IP Address:1.2.3.4") in the form above; a
 * certificate whose names lack one of the wanted ones no longer fits the inventory.
 */
export function missingNames(wanted: readonly string[], subjectAltName: string | undefined): string[] {
  const have = new Set(
    (subjectAltName ?? '')
      .split(/,\s*/)
      .filter(Boolean)
      .map((entry) => entry.replace(/^IP Address:/, 'IP:')),
  );
  return wanted.filter((entry) => !have.has(entry));
}

/** docker.service's own ExecStart, so the drop-in changes only what it adds. */
export function dockerdExecStart(): string {
  const unit = UNITS.find((u) => u.file === 'docker.service');
  const line = unit?.content.split('\n').find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error('docker.service has no ExecStart');
  return line.slice('ExecStart='.length);
}

export function remoteApiDropIn(directory = BOARD_TLS_DIRECTORY): string {
  return [
    '# Written by crossdock fleet tls enable: the remote API, TLS with client certificates only.',
    '# crossdock fleet tls disable removes it.',
    '[Service]',
    'ExecStart=',
    `ExecStart=${dockerdExecStart()} -H tcp://0.0.0.0:${String(API_PORT)} --tlsverify --tlscacert=${directory}/ca.pem --tlscert=${directory}/server-cert.pem --tlskey=${directory}/server-key.pem`,
    '',
  ].join('\n');
}

export function sha256(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/** What is on the board now. */
export interface BoardTlsState {
  systemd: boolean;
  /** sha256 of each file in BOARD_TLS_DIRECTORY, null where missing. */
  files: Record<BoardFile, string | null>;
  /** sha256 of the installed drop-in, null where missing. */
  dropIn: string | null;
  dockerActive: boolean;
  /** docker.service is installed (crossdock install puts it there). */
  engine: boolean;
}

export type TlsPlan =
  | { action: 'skip'; reason: string }
  | { action: 'refuse'; reason: string; hint: string }
  | { action: 'unchanged' }
  | { action: 'restart'; reason: string }
  | { action: 'write'; reason: string };

/** Why a board cannot serve the remote API at all, before any certificate is made for it. */
export function boardCannot(
  board: Pick<BoardTlsState, 'systemd' | 'engine'>,
): Extract<TlsPlan, { action: 'skip' | 'refuse' }> | null {
  if (!board.systemd) return { action: 'skip', reason: 'the remote API needs systemd on the board' };
  if (!board.engine)
    return {
      action: 'refuse',
      reason: 'no engine is installed here',
      hint: 'crossdock install a build with dockerd first',
    };
  return null;
}

/**
 * The files the board should have against those it has. Nothing changes, and the daemon is not
 * restarted, when the board already has exactly these bytes and its engine runs: enabling twice
 * is a no-op. `restart` asks for a restart anyway.
 */
export function planTls(
  wanted: Record<BoardFile, string>,
  board: BoardTlsState,
  options: { restart?: boolean } = {},
): TlsPlan {
  const cannot = boardCannot(board);
  if (cannot) return cannot;
  const differing = BOARD_FILES.filter((file) => board.files[file] !== sha256(wanted[file]));
  if (board.dropIn !== sha256(wanted['remote-api.conf']) && !differing.includes('remote-api.conf'))
    differing.push('remote-api.conf');
  if (differing.length > 0)
    return {
      action: 'write',
      reason: board.files['server-cert.pem'] === null ? 'not set up' : `new ${differing.join(', ')}`,
    };
  if (options.restart) return { action: 'restart', reason: 'asked' };
  if (!board.dockerActive) return { action: 'restart', reason: 'the engine is not running' };
  return { action: 'unchanged' };
}

/**
 * `BoardTlsState` from the state script's lines: `file NAME SHA`, `dropin SHA`, `systemd yes|no`,
 * `engine yes|no`, `docker active|…` (an empty SHA: the file is missing).
 */
export function parseBoardTlsState(output: string): BoardTlsState {
  const facts = splitSections(output);
  const hash = (key: string) => {
    const value = facts.get(key) ?? '';
    return /^[0-9a-f]{64}$/.test(value) ? value : null;
  };
  const files = Object.fromEntries(BOARD_FILES.map((file) => [file, hash(`file:${file}`)])) as Record<
    BoardFile,
    string | null
  >;
  return {
    systemd: facts.get('systemd') === 'yes',
    files,
    dropIn: hash('dropin'),
    dockerActive: facts.get('docker') === 'active',
    engine: facts.get('engine') === 'yes',
  };
}

/** The docker context crossdock writes for a board. */
export function contextName(host: Pick<InventoryHost, 'name'>): string {
  return `crossdock-${host.name}`;
}

/**
 * The docker CLI's context store: `contexts/meta/<sha256(name)>/meta.json` and the TLS material
 * in `contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem` (docker/cli context/store).
 */
export function contextStoreId(name: string): string {
  return sha256(name);
}

export function contextMeta(name: string, endpoint: Endpoint, description: string): string {
  return `${JSON.stringify({
    Name: name,
    Metadata: { Description: description },
    Endpoints: { docker: { Host: endpointUrl(endpoint), SkipTLSVerify: false } },
  })}\n`;
}
