/**
 * OpenSSH host certificates (PROTOCOL.certkeys), checked the way ssh checks them against a
 * known_hosts `@cert-authority` line: signed by that CA, a host certificate, valid now, naming the
 * host among its principals, with no critical option it does not know, and certifying the very
 * key the host presented in the session. Pure: bytes in, a verdict out.
 *
 * ssh2 negotiates plain host keys only, so the certificate is fetched beside the session (the
 * board sends it to anyone who asks, as it does its key): it proves nothing until it is bound to
 * the session's key, which is the last check here.
 */
import { createPublicKey, verify as verifySignature } from 'node:crypto';
// ssh2 is CommonJS: Node gives ESM its module.exports as the default export only.
import ssh2 from 'ssh2';

export interface HostCertificate {
  certType: string;
  /** The plain key blob the certificate certifies (what the host shows in a session). */
  publicKey: Buffer;
  serial: bigint;
  kind: 'host' | 'user';
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: string[];
  /** The CA's key blob, and its signature over every byte before the signature. */
  signatureKey: Buffer;
  signature: Buffer;
  signed: Buffer;
}

class Reader {
  offset = 0;
  constructor(private readonly data: Buffer) {}
  string(): Buffer {
    if (this.offset + 4 > this.data.length) throw new Error('the certificate is truncated');
    const length = this.data.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.data.length) throw new Error('the certificate is truncated');
    this.offset = start + length;
    return this.data.subarray(start, start + length);
  }
  uint32(): number {
    if (this.offset + 4 > this.data.length) throw new Error('the certificate is truncated');
    const value = this.data.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  uint64(): bigint {
    if (this.offset + 8 > this.data.length) throw new Error('the certificate is truncated');
    const value = this.data.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }
}

function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function strings(packed: Buffer): string[] {
  const reader = new Reader(packed);
  const out: string[] = [];
  while (reader.offset < packed.length) out.push(reader.string().toString('utf8'));
  return out;
}

/** The key fields of each certificate type, and the plain key type they certify. */
const CERTIFIED: Record<string, { plain: string; fields: number }> = {
  'ssh-ed25519-cert-v01@openssh.com': { plain: 'ssh-ed25519', fields: 1 },
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': { plain: 'ecdsa-sha2-nistp256', fields: 2 },
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': { plain: 'ecdsa-sha2-nistp384', fields: 2 },
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': { plain: 'ecdsa-sha2-nistp521', fields: 2 },
  // RSA's fields are e then n, in the plain key's own order.
  'ssh-rsa-cert-v01@openssh.com': { plain: 'ssh-rsa', fields: 2 },
};

export function parseHostCertificate(blob: Buffer): HostCertificate {
  const reader = new Reader(blob);
  const certType = reader.string().toString('ascii');
  const layout = CERTIFIED[certType];
  if (!layout) throw new Error(`${certType} is not a certificate type crossdock knows`);
  reader.string(); // nonce
  const fields = Array.from({ length: layout.fields }, () => reader.string());
  const publicKey = Buffer.concat([sshString(layout.plain), ...fields.map((f) => sshString(f))]);
  const serial = reader.uint64();
  const kind = reader.uint32() === 2 ? 'host' : 'user';
  const keyId = reader.string().toString('utf8');
  const principals = strings(reader.string());
  const validAfter = reader.uint64();
  const validBefore = reader.uint64();
  const criticalOptions = strings(reader.string()).filter((_, index) => index % 2 === 0);
  reader.string(); // extensions
  reader.string(); // reserved
  const signatureKey = Buffer.from(reader.string());
  const signed = blob.subarray(0, reader.offset);
  const signature = Buffer.from(reader.string());
  return {
    certType,
    publicKey,
    serial,
    kind,
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    signatureKey,
    signature,
    signed: Buffer.from(signed),
  };
}

const SIGNATURE_HASH: Record<string, string | null> = {
  'ssh-ed25519': null,
  'rsa-sha2-512': 'sha512',
  'rsa-sha2-256': 'sha256',
  'ecdsa-sha2-nistp256': 'sha256',
  'ecdsa-sha2-nistp384': 'sha384',
  'ecdsa-sha2-nistp521': 'sha512',
};

/** An SSH ECDSA signature (mpint r, mpint s) as the r‖s that node's ieee-p1363 encoding reads. */
function ecdsaP1363(blob: Buffer, algorithm: string): Buffer {
  const size = { 'ecdsa-sha2-nistp256': 32, 'ecdsa-sha2-nistp384': 48, 'ecdsa-sha2-nistp521': 66 }[algorithm] ?? 32;
  const reader = new Reader(blob);
  const fixed = (mpint: Buffer) => {
    const trimmed = mpint.subarray(Math.max(0, mpint.length - size));
    return Buffer.concat([Buffer.alloc(size - trimmed.length), trimmed]);
  };
  return Buffer.concat([fixed(reader.string()), fixed(reader.string())]);
}

/** Whether `signature` (an SSH signature blob) is the CA key's over `data`. */
function signedBy(caBlob: Buffer, data: Buffer, signature: Buffer): boolean {
  const reader = new Reader(signature);
  const algorithm = reader.string().toString('ascii');
  const bytes = reader.string();
  if (!(algorithm in SIGNATURE_HASH)) return false;
  // ssh-rsa (SHA-1) signatures are refused, as OpenSSH 8.8 and later refuse them by default.
  const parsed = ssh2.utils.parseKey(`${keyTypeName(caBlob)} ${caBlob.toString('base64')}`);
  if (parsed instanceof Error) return false;
  const publicKey = createPublicKey(parsed.getPublicPEM());
  const ecdsa = algorithm.startsWith('ecdsa-');
  try {
    return verifySignature(
      SIGNATURE_HASH[algorithm] ?? null,
      data,
      ecdsa ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : publicKey,
      ecdsa ? ecdsaP1363(bytes, algorithm) : bytes,
    );
  } catch {
    return false;
  }
}

function keyTypeName(blob: Buffer): string {
  return new Reader(blob).string().toString('ascii');
}

export type CertificateVerdict = { ok: true; keyId: string; serial: bigint } | { ok: false; reason: string };

/**
 * Checks a host certificate for `principal` (the name ssh looked up: the host's address) against
 * the CAs trusted for that host, and that it certifies `presented`, the session's key.
 */
export function checkHostCertificate(
  blob: Buffer,
  input: {
    principal: string;
    presented: Buffer;
    authorities: readonly Buffer[];
    revoked: readonly Buffer[];
    now?: Date;
  },
): CertificateVerdict {
  let cert: HostCertificate;
  try {
    cert = parseHostCertificate(blob);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  const now = BigInt(Math.floor((input.now ?? new Date()).getTime() / 1000));
  if (cert.kind !== 'host') return { ok: false, reason: `certificate ${cert.keyId} is a user certificate` };
  if (!input.authorities.some((ca) => ca.equals(cert.signatureKey)))
    return {
      ok: false,
      reason: `certificate ${cert.keyId} is signed by a CA known_hosts does not trust for this host`,
    };
  if (input.revoked.some((key) => key.equals(cert.signatureKey) || key.equals(cert.publicKey)))
    return { ok: false, reason: `certificate ${cert.keyId}: its key or its CA is @revoked` };
  if (!signedBy(cert.signatureKey, cert.signed, cert.signature))
    return { ok: false, reason: `certificate ${cert.keyId}: the CA's signature does not verify` };
  if (now < cert.validAfter || now >= cert.validBefore)
    return { ok: false, reason: `certificate ${cert.keyId} is not valid now (${validity(cert)})` };
  // An empty list would mean "any host": OpenSSH refuses that for host certificates, and so do we.
  if (!cert.principals.some((p) => p.toLowerCase() === input.principal.toLowerCase()))
    return {
      ok: false,
      reason: `certificate ${cert.keyId} names ${cert.principals.join(', ') || 'no host'}, not ${input.principal}`,
    };
  if (cert.criticalOptions.length > 0)
    return { ok: false, reason: `certificate ${cert.keyId} has critical options: ${cert.criticalOptions.join(', ')}` };
  if (!cert.publicKey.equals(input.presented))
    return { ok: false, reason: `certificate ${cert.keyId} certifies another key than the one the host presented` };
  return { ok: true, keyId: cert.keyId, serial: cert.serial };
}

function validity(cert: HostCertificate): string {
  const date = (seconds: bigint) =>
    seconds >= 0xffffffffffffffffn ? 'forever' : new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${date(cert.validAfter)} to ${date(cert.validBefore)}`;
}
