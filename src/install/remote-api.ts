/**
 * `crossdock fleet tls enable|status|disable`: the engine's remote API on each board, over TLS
 * with client certificates (tcp://0.0.0.0:2376 --tlsverify), and a docker context per board on
 * the operator's side. Enabling again changes nothing and restarts nothing when the board already
 * serves what it should; certificates are made once and reissued only with `renew`.
 *
 * On a board (scripts/tls-apply.sh), as a switch is: the files go to a scratch directory, the
 * change is recorded as pending and a watchdog armed, then they replace the old ones by rename and
 * dockerd restarts with the drop-in; if it does not come back, or the link dies on the way, the old
 * files (or none) come back and it restarts again, so a bad change never leaves a board without
 * its engine or on certificates nobody committed.
 */
import { randomBytes } from 'node:crypto';
import { withBoardLock } from './board-lock.js';
import { boardScript, tlsApplyScript, watchdogDeadline, withLibrary } from './board-scripts.js';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { tarBuffer } from '../builder/tar.js';
import type { InventoryHost } from '../remote/inventory.js';
import type { SshRunner } from '../remote/ssh-runner.js';
import { removeDockerContext, writeDockerContext } from './docker-context.js';
import type { FleetCa, IssuedCertificate, KeyPair } from './fleet-ca.js';
import { boardLayout } from './plan.js';
import {
  apiEndpoint,
  BOARD_FILES,
  boardCannot,
  type BoardFile,
  contextName,
  type Endpoint,
  endpointUrl,
  parseBoardTlsState,
  planTls,
  remoteApiDropIn,
  subjectAltNames,
} from './remote-api-plan.js';

const DOCKER = `${boardLayout().bin}/docker`;

export interface TlsHostResult {
  name: string;
  action:
    | 'configured'
    | 'unchanged'
    | 'restarted'
    | 'skipped'
    | 'failed'
    | 'disabled'
    | 'not-configured'
    | 'enabled'
    | 'would-configure';
  /** The board's server certificate: made in this run, or kept from an earlier one. */
  certificate: 'issued' | 'kept' | null;
  notAfter: string | null;
  endpoint: string;
  /** The API seen from here: answers with our client certificate and refuses without one. */
  api: 'ok' | 'open-without-certificate' | 'unreachable' | 'not-checked';
  context: string | null;
  /** Something to act on that did not fail the run (an expiring certificate). */
  warning: string | null;
  error: string | null;
}

export interface TlsOptions {
  /** The fleet's CA; null where there is none yet (status and disable need none). */
  ca: FleetCa | null;
  dockerConfig: string;
  renew?: boolean;
  restart?: boolean;
  /** How long to keep asking the API to answer after a restart. */
  apiWaitMs?: number;
  /** Look at each board and say what enable would do; issue no certificate, write nothing. */
  dryRun?: boolean;
}

/** How many times (two seconds apart) to ask dockerd to answer after a restart: about 90 s, for an emulated board. */
const AWAIT_TRIES = 45;

export async function boardTlsState(runner: SshRunner) {
  const result = await runner.run('sh', ['-c', boardScript('tls-state', { FILES: BOARD_FILES.join(' ') })], {
    privileged: true,
    allowFailure: true,
    readOnly: true,
  });
  return parseBoardTlsState(result.stdout);
}

function boardFiles(ca: string, server: KeyPair): Record<BoardFile, string> {
  return {
    'ca.pem': ca,
    'server-cert.pem': server.cert,
    'server-key.pem': server.key,
    'remote-api.conf': remoteApiDropIn(),
  };
}

function base(host: InventoryHost): TlsHostResult {
  return {
    name: host.name,
    action: 'failed',
    certificate: null,
    notAfter: null,
    endpoint: endpointUrl(apiEndpoint(host)),
    api: 'not-checked',
    context: null,
    warning: null,
    error: null,
  };
}

/** Under the board lock: enabling writes the engine's settings and restarts it. */
export function enableTls(runner: SshRunner, host: InventoryHost, options: TlsOptions): Promise<TlsHostResult> {
  return withBoardLock(runner, () => enable(runner, host, options));
}

async function enable(runner: SshRunner, host: InventoryHost, options: TlsOptions): Promise<TlsHostResult> {
  const result = base(host);
  const { ca } = options;
  if (!ca && !options.dryRun) throw new Error('fleet tls enable needs the CA');
  const state = await boardTlsState(runner);
  const possible = boardCannot(state);
  if (possible?.action === 'skip') {
    result.action = 'skipped';
    result.warning = `${host.name}: ${possible.reason}; left as it is`;
    return result;
  }
  if (possible?.action === 'refuse') {
    result.error = `${host.name}: ${possible.reason}; ${possible.hint}`;
    return result;
  }
  if (options.dryRun || !ca) {
    result.action = 'would-configure';
    return result;
  }
  const server = await ca.server(host.name, subjectAltNames(host), { renew: options.renew ?? false });
  const client = await ca.client();
  noteCertificate(result, host, server);
  const wanted = boardFiles(ca.ca.cert, server);
  const plan = planTls(wanted, state, { restart: options.restart ?? false });
  if (plan.action === 'skip' || plan.action === 'refuse') throw new Error('unreachable: checked above');
  if (plan.action === 'write') {
    const archive = await tarBuffer(
      BOARD_FILES.map((file) => ({
        path: file,
        type: 'file' as const,
        mode: file.endsWith('key.pem') ? 0o600 : 0o644,
        content: Buffer.from(wanted[file]),
      })),
      0,
    );
    // The same dead-man as a switch: the link cut while dockerd restarts leaves the old files.
    const script = tlsApplyScript({
      token: randomBytes(8).toString('hex'),
      seconds: watchdogDeadline({ systemd: true, containers: false }),
      docker: DOCKER,
      awaitTries: AWAIT_TRIES,
    });
    const applied = await runner.run('sh', ['-c', script], {
      privileged: true,
      input: archive,
      allowFailure: true,
      timeoutMs: 5 * 60_000,
      mutates: true,
    });
    if (applied.exitCode !== 0) {
      result.error = `${host.name}: dockerd did not come back with the remote API (${
        applied.stderr.trim().split('\n').at(-1) ?? `exit ${String(applied.exitCode)}`
      }); the board runs with its earlier settings`;
      return result;
    }
    result.action = state.files['server-cert.pem'] === null ? 'enabled' : 'configured';
  } else if (plan.action === 'restart') {
    const restart = withLibrary(`systemctl restart docker && await_engine "$DOCKER" ${String(AWAIT_TRIES)}`, {
      DOCKER,
    });
    const restarted = await runner.run('sh', ['-c', restart], {
      privileged: true,
      allowFailure: true,
      timeoutMs: 5 * 60_000,
      mutates: true,
    });
    if (restarted.exitCode !== 0) {
      result.error = `${host.name}: dockerd does not answer after a restart`;
      return result;
    }
    result.action = 'restarted';
  } else result.action = 'unchanged';

  const endpoint = apiEndpoint(host);
  result.api = await checkApi(
    endpoint,
    { ca: ca.ca.cert, client },
    plan.action === 'unchanged' ? 5_000 : (options.apiWaitMs ?? 60_000),
  );
  if (result.api === 'open-without-certificate')
    result.error = `${host.name}: ${result.endpoint} answers without a client certificate`;
  else if (result.api === 'unreachable')
    result.warning = `${host.name}: ${result.endpoint} does not answer from here; set the host's api: in the inventory to where this machine reaches port 2376`;
  result.context = contextName(host);
  await writeDockerContext(
    options.dockerConfig,
    result.context,
    endpoint,
    { ca: ca.ca.cert, client },
    `crossdock: ${host.name}'s engine over TLS`,
  );
  if (result.error) result.action = 'failed';
  return result;
}

export async function tlsStatus(runner: SshRunner, host: InventoryHost, options: TlsOptions): Promise<TlsHostResult> {
  const result = base(host);
  const state = await boardTlsState(runner);
  if (state.files['server-cert.pem'] === null && state.dropIn === null) {
    result.action = 'not-configured';
    return result;
  }
  // Only looks: a certificate missing here is reported, never made.
  const server = options.ca ? await options.ca.existing(host.name, subjectAltNames(host)) : null;
  if (!options.ca || !server) {
    result.error = `${host.name}: the board serves the remote API, but ${options.ca ? 'its certificate is not' : 'no CA is'} in ${options.ca?.directory ?? 'the tls directory'}`;
    return result;
  }
  noteCertificate(result, host, server);
  const plan = planTls(boardFiles(options.ca.ca.cert, server), state);
  if (plan.action !== 'unchanged')
    result.error = `${host.name}: ${plan.action === 'write' ? `the board has ${plan.reason.replace(/^new /, 'another ')}` : plan.reason}; crossdock fleet tls enable brings it back`;
  const client = await options.ca.existingClient();
  if (client) {
    result.api = await checkApi(apiEndpoint(host), { ca: options.ca.ca.cert, client }, 5_000);
    if (result.api === 'open-without-certificate')
      result.error = `${host.name}: ${result.endpoint} answers without a client certificate`;
  }
  result.action = result.error ? 'failed' : 'unchanged';
  return result;
}

/** Under the board lock, as enabling is. */
export function disableTls(runner: SshRunner, host: InventoryHost, options: TlsOptions): Promise<TlsHostResult> {
  return withBoardLock(runner, () => disable(runner, host, options));
}

async function disable(runner: SshRunner, host: InventoryHost, options: TlsOptions): Promise<TlsHostResult> {
  const result = base(host);
  const state = await boardTlsState(runner);
  if (state.files['server-cert.pem'] === null && state.dropIn === null) result.action = 'not-configured';
  else {
    const disabled = await runner.run('sh', ['-c', boardScript('tls-disable', { DOCKER, AWAIT_TRIES })], {
      privileged: true,
      allowFailure: true,
      timeoutMs: 5 * 60_000,
      mutates: true,
    });
    if (disabled.exitCode !== 0) {
      result.error = `${host.name}: dockerd does not answer after the remote API was removed`;
      return result;
    }
    result.action = 'disabled';
  }
  await removeDockerContext(options.dockerConfig, contextName(host));
  return result;
}

function noteCertificate(result: TlsHostResult, host: InventoryHost, server: IssuedCertificate): void {
  result.certificate = server.issued ? 'issued' : 'kept';
  result.notAfter = server.notAfter;
  if (server.problem)
    result.warning = `${host.name}: its server certificate no longer fits: ${server.problem}; crossdock fleet tls enable --renew --limit ${host.name} reissues it`;
}

/**
 * `/_ping` over TLS from this machine, as the docker CLI would ask it: with our client
 * certificate it must answer OK, and without one the board must refuse (--tlsverify).
 */
export async function checkApi(
  endpoint: Endpoint,
  material: { ca: string; client: KeyPair },
  waitMs: number,
): Promise<TlsHostResult['api']> {
  const deadline = Date.now() + waitMs;
  let answered = false;
  for (;;) {
    answered = await ping(endpoint, { ca: material.ca, cert: material.client.cert, key: material.client.key });
    if (answered || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (!answered) return 'unreachable';
  return (await ping(endpoint, { ca: material.ca })) ? 'open-without-certificate' : 'ok';
}

function ping(endpoint: Endpoint, tls: { ca: string; cert?: string; key?: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: endpoint.host,
        port: endpoint.port,
        path: '/_ping',
        method: 'GET',
        ...tls,
        // SNI carries host names only (RFC 6066 3); the certificate is still checked against the IP.
        ...(isIP(endpoint.host) ? {} : { servername: endpoint.host }),
        timeout: 10_000,
        agent: false,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          resolve(response.statusCode === 200 && body.trim() === 'OK');
        });
        response.on('error', () => {
          resolve(false);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      resolve(false);
    });
    req.end();
  });
}
