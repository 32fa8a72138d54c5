/**
 * The operator's side of the remote API, with real parts: openssl makes the CA and certificates
 * (checked by `openssl verify` for the purposes dockerd's Go TLS checks), a real TLS server
 * stands in for the board's listener, and the real docker CLI reads the contexts we write. The
 * board's side (dockerd on 2376) runs in the whole-machine e2e, which needs a real kernel.
 */
import { X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { findExecutable } from '../../src/exec/find-executable.js';
import { LocalRunner } from '../../src/exec/local-runner.js';
import { contextPaths, removeDockerContext, writeDockerContext } from '../../src/install/docker-context.js';
import { FleetCa } from '../../src/install/fleet-ca.js';
import { checkApi } from '../../src/install/remote-api.js';
import { subjectAltNames } from '../../src/install/remote-api-plan.js';
import { tempTree } from '../helpers/temp.js';

const runner = new LocalRunner();
const board = { name: 'pi-a', address: '127.0.0.1', advertiseAddress: '10.203.0.1', api: null };
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function verify(directory: string, file: string, purpose: 'sslserver' | 'sslclient') {
  return execa('openssl', ['verify', '-purpose', purpose, '-CAfile', join(directory, 'ca.pem'), file], {
    reject: false,
  });
}

/** A TLS listener answering /_ping like dockerd, with or without --tlsverify. */
async function listener(ca: FleetCa, server: { cert: string; key: string }, requireClient: boolean): Promise<number> {
  const https = createServer(
    {
      cert: server.cert,
      key: server.key,
      ca: ca.ca.cert,
      requestCert: requireClient,
      rejectUnauthorized: requireClient,
    },
    (request, response) => {
      response.writeHead(request.url === '/_ping' ? 200 : 404, { 'content-type': 'text/plain' });
      response.end(request.url === '/_ping' ? 'OK' : 'no');
    },
  );
  servers.push(https);
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  return (https.address() as AddressInfo).port;
}

describe('the fleet CA and the client side of the remote API', () => {
  it('makes a CA once, then server and client certificates openssl verifies for their purposes', async () => {
    const directory = await tempTree();
    const ca = await FleetCa.open(join(directory, 'tls'), runner);
    expect(ca.created).toBe(true);
    expect((await stat(join(directory, 'tls/ca-key.pem'))).mode & 0o777).toBe(0o600);
    const again = await FleetCa.open(join(directory, 'tls'), runner);
    expect(again.created).toBe(false);
    expect(again.ca.cert).toBe(ca.ca.cert);

    const server = await ca.server('pi-a', subjectAltNames(board));
    expect(server).toMatchObject({ issued: true, problem: null });
    const serverFile = join(directory, 'tls/boards/pi-a/cert.pem');
    expect((await verify(join(directory, 'tls'), serverFile, 'sslserver')).exitCode).toBe(0);
    // A server certificate cannot pose as a client, nor the client's as a server.
    expect((await verify(join(directory, 'tls'), serverFile, 'sslclient')).exitCode).not.toBe(0);
    const certificate = new X509Certificate(server.cert);
    expect(certificate.subjectAltName).toBe('DNS:pi-a, IP Address:127.0.0.1, IP Address:10.203.0.1, DNS:localhost');
    expect(certificate.checkIssued(new X509Certificate(ca.ca.cert))).toBe(true);
    expect((await stat(join(directory, 'tls/boards/pi-a/key.pem'))).mode & 0o777).toBe(0o600);

    const client = await ca.client();
    const clientFile = join(directory, 'tls/client/cert.pem');
    expect((await verify(join(directory, 'tls'), clientFile, 'sslclient')).exitCode).toBe(0);
    expect((await verify(join(directory, 'tls'), clientFile, 'sslserver')).exitCode).not.toBe(0);
    expect(client.issued).toBe(true);
    expect((await ca.client()).issued).toBe(false);
  });

  it('keeps a certificate that still fits, reports one that does not, and reissues only on renew', async () => {
    const directory = await tempTree();
    const ca = await FleetCa.open(directory, runner);
    const first = await ca.server('pi-a', subjectAltNames(board));
    const kept = await ca.server('pi-a', subjectAltNames(board));
    expect(kept).toMatchObject({ issued: false, problem: null, cert: first.cert, key: first.key });

    // The board moved to a new address: the old certificate is kept, and the run says so.
    const moved = subjectAltNames({ ...board, address: '192.0.2.44' });
    const stale = await ca.server('pi-a', moved);
    expect(stale.issued).toBe(false);
    expect(stale.cert).toBe(first.cert);
    expect(stale.problem).toBe('its names lack IP:192.0.2.44');

    const renewed = await ca.server('pi-a', moved, { renew: true });
    expect(renewed.issued).toBe(true);
    expect(renewed.cert).not.toBe(first.cert);
    expect(new X509Certificate(renewed.cert).serialNumber).not.toBe(new X509Certificate(first.cert).serialNumber);
    expect((await ca.server('pi-a', moved)).problem).toBeNull();

    // A certificate of another CA, or a key that is not its own, is named, not used silently.
    const other = await FleetCa.open(join(directory, 'other'), runner);
    const foreign = await other.server('pi-a', moved);
    await writeFile(join(directory, 'boards/pi-a/cert.pem'), foreign.cert);
    expect((await ca.server('pi-a', moved)).problem).toBe('it was not issued by this CA');
    await writeFile(join(directory, 'boards/pi-a/cert.pem'), renewed.cert);
    await writeFile(join(directory, 'boards/pi-a/key.pem'), foreign.key);
    expect((await ca.server('pi-a', moved)).problem).toBe('its key.pem is not the key of its cert.pem');
  });

  it('only looks when asked to: no CA or certificate is made for status', async () => {
    const directory = await tempTree();
    expect(await FleetCa.open(join(directory, 'tls'), runner, { create: false })).toBeNull();
    const ca = await FleetCa.open(join(directory, 'tls'), runner);
    expect(await ca.existing('pi-a', subjectAltNames(board))).toBeNull();
    expect(await ca.existingClient()).toBeNull();
    const issued = await ca.server('pi-a', subjectAltNames(board));
    expect(await ca.existing('pi-a', subjectAltNames(board))).toMatchObject({ issued: false, cert: issued.cert });
  });

  it('refuses a CA directory with a certificate but no key, naming the file', async () => {
    const directory = await tempTree({ 'ca.pem': 'x' });
    await expect(FleetCa.open(directory, runner)).rejects.toThrow(`${directory}: ca.pem without ca-key.pem`);
  });

  it('checks the API over TLS: OK with our client certificate, refused without; open or absent is named', async () => {
    const directory = await tempTree();
    const ca = await FleetCa.open(directory, runner);
    const server = await ca.server('pi-a', subjectAltNames(board));
    const client = await ca.client();
    const material = { ca: ca.ca.cert, client };
    const verifying = await listener(ca, server, true);
    expect(await checkApi({ host: '127.0.0.1', port: verifying }, material, 0)).toBe('ok');
    // dockerd without --tlsverify would answer anyone: that is a failure, not a success.
    const open = await listener(ca, server, false);
    expect(await checkApi({ host: '127.0.0.1', port: open }, material, 0)).toBe('open-without-certificate');
    // A certificate of another CA is not trusted, so the board does not "answer".
    const other = await FleetCa.open(join(directory, 'other'), runner);
    const impostor = await listener(other, await other.server('pi-a', subjectAltNames(board)), true);
    expect(await checkApi({ host: '127.0.0.1', port: impostor }, material, 0)).toBe('unreachable');
    // Nothing listening any more.
    await new Promise((resolve) => servers.at(1)?.close(resolve));
    expect(await checkApi({ host: '127.0.0.1', port: open }, material, 0)).toBe('unreachable');
  });

  it.runIf(findExecutable('docker'))('writes docker contexts the docker CLI reads, and removes them', async () => {
    const directory = await tempTree();
    const ca = await FleetCa.open(join(directory, 'tls'), runner);
    const client = await ca.client();
    const config = join(directory, 'docker');
    const paths = await writeDockerContext(
      config,
      'crossdock-pi-a',
      { host: '192.0.2.10', port: 2376 },
      { ca: ca.ca.cert, client },
      "crossdock: pi-a's engine over TLS",
    );
    expect((await stat(join(paths.tls, 'docker/key.pem'))).mode & 0o777).toBe(0o600);
    const env = { DOCKER_CONFIG: config };
    const inspected = await execa('docker', ['context', 'inspect', 'crossdock-pi-a'], { env, reject: false });
    expect(inspected.exitCode, inspected.stderr).toBe(0);
    const [context] = JSON.parse(inspected.stdout) as Array<{
      Endpoints: { docker: { Host: string; SkipTLSVerify: boolean } };
      TLSMaterial: { docker: string[] };
      Metadata: { Description: string };
    }>;
    expect(context?.Endpoints.docker).toEqual({ Host: 'tcp://192.0.2.10:2376', SkipTLSVerify: false });
    expect(context?.TLSMaterial.docker.sort()).toEqual(['ca.pem', 'cert.pem', 'key.pem']);
    expect(context?.Metadata.Description).toBe("crossdock: pi-a's engine over TLS");
    expect(await readFile(join(paths.tls, 'docker/cert.pem'), 'utf8')).toBe(client.cert);

    await removeDockerContext(config, 'crossdock-pi-a');
    const gone = await execa('docker', ['context', 'inspect', 'crossdock-pi-a'], { env, reject: false });
    expect(gone.exitCode).not.toBe(0);
    expect(contextPaths(config, 'crossdock-pi-a').meta).toContain('contexts/meta/');
  });
});
