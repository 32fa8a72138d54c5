import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  apiEndpoint,
  type BoardTlsState,
  contextMeta,
  contextStoreId,
  dockerdExecStart,
  endpointUrl,
  missingNames,
  parseBoardTlsState,
  planTls,
  remoteApiDropIn,
  sha256,
  subjectAltNames,
} from '../../src/install/remote-api-plan.js';
import { loadInventory } from '../../src/remote/inventory.js';
import { tempTree } from '../helpers/temp.js';

const host = { name: 'pi-a', address: '192.0.2.10', advertiseAddress: '10.203.0.1', api: null };

describe('remote API planning', () => {
  it('reaches the API at the inventory api: (host, host:port, [v6]:port), else address:2376', async () => {
    expect(apiEndpoint(host)).toEqual({ host: '192.0.2.10', port: 2376 });
    expect(apiEndpoint({ ...host, api: '127.0.0.1:40123' })).toEqual({ host: '127.0.0.1', port: 40123 });
    expect(apiEndpoint({ ...host, api: 'pi-a.lan' })).toEqual({ host: 'pi-a.lan', port: 2376 });
    expect(apiEndpoint({ ...host, api: '[2001:db8::5]:2376' })).toEqual({ host: '2001:db8::5', port: 2376 });
    expect(endpointUrl({ host: '2001:db8::5', port: 2376 })).toBe('tcp://[2001:db8::5]:2376');

    const directory = await tempTree({
      'inventory.yaml': 'hosts:\n  pi-a: { address: 10.0.0.1, api: "pi a:99" }\n',
    });
    await expect(loadInventory(join(directory, 'inventory.yaml'))).rejects.toThrow(/api.*expected host or host:port/);
  });

  it('names every address a client may use in the server certificate, once each, IPs as IP', () => {
    expect(subjectAltNames({ ...host, api: 'pi-a.example.net:2376' })).toEqual([
      'DNS:pi-a',
      'IP:192.0.2.10',
      'IP:10.203.0.1',
      'DNS:pi-a.example.net',
      'DNS:localhost',
      'IP:127.0.0.1',
    ]);
    // A board on loopback (an emulated one) gives 127.0.0.1 once.
    expect(subjectAltNames({ name: 'vm-1', address: '127.0.0.1', advertiseAddress: '127.0.0.1', api: null })).toEqual([
      'DNS:vm-1',
      'IP:127.0.0.1',
      'DNS:localhost',
    ]);
  });

  it("reads Node's subjectAltName and says which wanted names a certificate lacks", () => {
    const have = 'DNS:pi-a, IP Address:192.0.2.10, DNS:localhost, IP Address:127.0.0.1';
    expect(missingNames(['DNS:pi-a', 'IP:192.0.2.10'], have)).toEqual([]);
    expect(missingNames(['DNS:pi-a', 'IP:192.0.2.11', 'IP:10.203.0.1'], have)).toEqual([
      'IP:192.0.2.11',
      'IP:10.203.0.1',
    ]);
    expect(missingNames(['DNS:pi-a'], undefined)).toEqual(['DNS:pi-a']);
  });

  it("keeps docker.service's own ExecStart in the drop-in and adds the TLS listener", () => {
    const dropIn = remoteApiDropIn();
    const lines = dropIn.split('\n');
    expect(lines).toContain('[Service]');
    // An empty ExecStart= first: systemd otherwise refuses a second ExecStart for Type=notify.
    expect(lines.indexOf('ExecStart=')).toBeGreaterThan(lines.indexOf('[Service]'));
    const exec = lines.find((l) => l.startsWith('ExecStart=/'));
    expect(exec).toBe(
      `ExecStart=${dockerdExecStart()} -H tcp://0.0.0.0:2376 --tlsverify --tlscacert=/etc/crossdock/tls/ca.pem --tlscert=/etc/crossdock/tls/server-cert.pem --tlskey=/etc/crossdock/tls/server-key.pem`,
    );
    expect(dockerdExecStart()).toMatch(/^\/usr\/local\/bin\/dockerd -H fd:\/\//);
  });

  describe('what to do on a board', () => {
    const wanted = {
      'ca.pem': 'CA',
      'server-cert.pem': 'CERT',
      'server-key.pem': 'KEY',
      'remote-api.conf': remoteApiDropIn(),
    };
    const done: BoardTlsState = {
      systemd: true,
      files: {
        'ca.pem': sha256('CA'),
        'server-cert.pem': sha256('CERT'),
        'server-key.pem': sha256('KEY'),
        'remote-api.conf': sha256(remoteApiDropIn()),
      },
      dropIn: sha256(remoteApiDropIn()),
      dockerActive: true,
      engine: true,
    };
    const none: BoardTlsState = {
      systemd: true,
      files: { 'ca.pem': null, 'server-cert.pem': null, 'server-key.pem': null, 'remote-api.conf': null },
      dropIn: null,
      dockerActive: true,
      engine: true,
    };

    it.each([
      ['a board without systemd', { ...none, systemd: false }, {}, 'skip'],
      ['a board without the engine', { ...none, engine: false }, {}, 'refuse'],
      ['a board never set up', none, {}, 'write'],
      ['a board with exactly these files and its engine up', done, {}, 'unchanged'],
      ['the same, with --restart', done, { restart: true }, 'restart'],
      ['the same, with its engine down', { ...done, dockerActive: false }, {}, 'restart'],
      [
        'a new server certificate',
        { ...done, files: { ...done.files, 'server-cert.pem': sha256('OLD') } },
        {},
        'write',
      ],
      ['its drop-in removed by hand', { ...done, dropIn: null }, {}, 'write'],
    ] as const)('%s: %s', (_, board, options, action) => {
      expect(planTls(wanted, board, options).action).toBe(action);
    });

    it('says which files differ', () => {
      const plan = planTls(wanted, { ...done, files: { ...done.files, 'ca.pem': sha256('OTHER CA') } });
      expect(plan).toEqual({ action: 'write', reason: 'new ca.pem' });
      expect(planTls(wanted, none)).toEqual({ action: 'write', reason: 'not set up' });
    });

    it("parses the board's state facts, with missing files as null", () => {
      const hash = sha256('CERT');
      const fact = (name: string, value: string) => `\n@@crossdock:${name}\n${value}\n`;
      expect(
        parseBoardTlsState(
          [
            fact('file:ca.pem', ''),
            fact('file:server-cert.pem', hash),
            fact('file:server-key.pem', 'not a hash'),
            fact('dropin', ''),
            fact('systemd', 'yes'),
            fact('engine', 'yes'),
            fact('docker', 'active'),
          ].join(''),
        ),
      ).toEqual({
        systemd: true,
        files: { 'ca.pem': null, 'server-cert.pem': hash, 'server-key.pem': null, 'remote-api.conf': null },
        dropIn: null,
        dockerActive: true,
        engine: true,
      });
      expect(parseBoardTlsState('\n@@crossdock:systemd\nno\n@@crossdock:docker\ninactive\n')).toMatchObject({
        systemd: false,
        dockerActive: false,
      });
    });
  });

  it("writes the docker CLI's context metadata, stored under sha256 of the name", () => {
    // docker/cli's context store: digest.FromString(name).Encoded().
    expect(contextStoreId('default')).toBe('37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f');
    expect(JSON.parse(contextMeta('crossdock-pi-a', { host: '192.0.2.10', port: 2376 }, 'pi-a'))).toEqual({
      Name: 'crossdock-pi-a',
      Metadata: { Description: 'pi-a' },
      Endpoints: { docker: { Host: 'tcp://192.0.2.10:2376', SkipTLSVerify: false } },
    });
  });
});
