/**
 * Host certificates made by the real ssh-keygen (ed25519, ECDSA and RSA CAs), checked the way
 * ssh checks them: each way a certificate can be wrong is refused with its reason.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHostCertificate, parseHostCertificate } from '../../src/remote/host-certificate.js';
import { requireTools } from '../helpers/tools.js';

let work: string;

async function key(name: string, type: string): Promise<Buffer> {
  const file = join(work, name);
  await execa('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', file]);
  return blobOf(`${file}.pub`);
}

async function blobOf(file: string): Promise<Buffer> {
  const [, base64] = (await readFile(file, 'utf8')).trim().split(/\s+/);
  return Buffer.from(base64 ?? '', 'base64');
}

/** Signs host key `name` with CA `ca`; returns the certificate's blob. */
async function certify(ca: string, name: string, flags: string[]): Promise<Buffer> {
  await execa('ssh-keygen', ['-q', '-s', join(work, ca), '-I', `${name}-id`, ...flags, join(work, `${name}.pub`)]);
  return blobOf(join(work, `${name}-cert.pub`));
}

describe.runIf(requireTools('ssh-keygen'))('OpenSSH host certificates', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'crossdock-cert-'));
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it.each([
    ['ed25519', 'ed25519'],
    ['ecdsa', 'ecdsa'],
    ['rsa', 'ed25519'],
  ])('a %s CA over a %s host key: accepted for its principal and its own key', async (caType, hostType) => {
    const ca = await key(`ca-${caType}`, caType);
    const host = await key(`host-${caType}`, hostType);
    const cert = await certify(`ca-${caType}`, `host-${caType}`, ['-h', '-n', 'pi-a.lan,10.0.0.5', '-V', '-5m:+1d']);
    expect(parseHostCertificate(cert)).toMatchObject({ kind: 'host', principals: ['pi-a.lan', '10.0.0.5'] });
    expect(parseHostCertificate(cert).publicKey.equals(host)).toBe(true);
    expect(
      checkHostCertificate(cert, { principal: '10.0.0.5', presented: host, authorities: [ca], revoked: [] }),
    ).toEqual({ ok: true, keyId: `host-${caType}-id`, serial: 0n });
  });

  it('refuses: another CA, another principal, expired, a user certificate, another key, a revoked CA, a bad signature', async () => {
    const ca = await key('ca', 'ed25519');
    const other = await key('other-ca', 'ed25519');
    const host = await key('host', 'ed25519');
    const stranger = await key('stranger', 'ed25519');
    const good = await certify('ca', 'host', ['-h', '-n', 'pi-a.lan', '-V', '-5m:+1d']);
    const input: { principal: string; presented: Buffer; authorities: Buffer[]; revoked: Buffer[]; now?: Date } = {
      principal: 'pi-a.lan',
      presented: host,
      authorities: [ca],
      revoked: [],
    };
    const reason = (blob: Buffer, change: Partial<typeof input> = {}) => {
      const verdict = checkHostCertificate(blob, { ...input, ...change });
      return verdict.ok ? 'accepted' : verdict.reason;
    };
    expect(reason(good)).toBe('accepted');
    expect(reason(good, { authorities: [other] })).toMatch(/signed by a CA known_hosts does not trust/);
    expect(reason(good, { principal: 'pi-b.lan' })).toMatch(/names pi-a\.lan, not pi-b\.lan/);
    expect(reason(good, { presented: stranger })).toMatch(/certifies another key/);
    expect(reason(good, { revoked: [ca] })).toMatch(/@revoked/);
    expect(reason(good, { now: new Date(Date.now() + 2 * 86_400_000) })).toMatch(/not valid now/);
    const user = await certify('ca', 'host', ['-n', 'pi-a.lan']);
    expect(reason(user)).toMatch(/user certificate/);
    const anyone = await certify('ca', 'host', ['-h']);
    expect(reason(anyone)).toMatch(/names no host/);
    // One byte of the signed part changed (the key id): the CA's signature no longer holds.
    const forged = Buffer.from(good);
    const at = forged.indexOf(Buffer.from('host-id'));
    forged[at] = 'H'.charCodeAt(0);
    expect(reason(forged)).toMatch(/signature does not verify/);
  });
});
