/**
 * The operator's certificate authority for the boards' remote API, kept in one directory
 * (default `$XDG_CONFIG_HOME/crossdock/tls`, private keys 0600): the CA, one client certificate,
 * and one server certificate per board. openssl makes them (Node can read X.509 but not issue
 * it); Node's X509Certificate checks them. A certificate is made once: later runs reuse it and
 * only report when it no longer fits (names, expiry); `renew` reissues.
 *
 *   ca.pem ca-key.pem               the CA (10 years)
 *   client/cert.pem client/key.pem  clientAuth, what docker contexts present
 *   boards/<name>/cert.pem key.pem  serverAuth, subjectAltName: the board's names
 */
import { createPrivateKey, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { access, chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MissingPrerequisiteError, UserError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import { findExecutable } from '../exec/find-executable.js';
import { missingNames, RENEW_WITHIN_DAYS } from './remote-api-plan.js';

const DAY_MS = 86_400_000;
const CA_DAYS = 3650;
/** What browsers' CA/Browser Forum rules cap server certificates at; dockerd does not care. */
const LEAF_DAYS = 825;
/** `openssl req` options for a new unencrypted ECDSA P-256 key, for the CA and every leaf alike. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function defaultCaDirectory(env: Record<string, string | undefined> = process.env): string {
  return join(env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), '.config'), 'crossdock', 'tls');
}

export interface KeyPair {
  cert: string;
  key: string;
}

export interface IssuedCertificate extends KeyPair {
  /** Made in this run (new board or renew). */
  issued: boolean;
  /** Why the kept certificate no longer fits; null when it does. */
  problem: string | null;
  notAfter: string;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export class FleetCa {
  private constructor(
    readonly directory: string,
    private readonly runner: Runner,
    readonly ca: KeyPair,
    /** The CA was made in this run. */
    readonly created: boolean,
  ) {}

  /** Opens the CA in `directory`, making it there when there is none (unless `create` is false: null). */
  static async open(directory: string, runner: Runner): Promise<FleetCa>;
  static async open(directory: string, runner: Runner, options: { create: false }): Promise<FleetCa | null>;
  static async open(directory: string, runner: Runner, options: { create?: boolean } = {}): Promise<FleetCa | null> {
    if (!findExecutable('openssl'))
      throw new MissingPrerequisiteError('fleet tls needs openssl to make certificates', {
        hint: 'apt-get install openssl',
      });
    const certFile = join(directory, 'ca.pem');
    const keyFile = join(directory, 'ca-key.pem');
    const [haveCert, haveKey] = await Promise.all([exists(certFile), exists(keyFile)]);
    if (haveCert !== haveKey)
      throw new UserError(`${directory}: ${haveCert ? 'ca.pem without ca-key.pem' : 'ca-key.pem without ca.pem'}`, {
        hint: 'restore the missing file, or move the directory away to start a new CA (every board then needs enable --renew)',
      });
    let created = false;
    if (!haveCert && options.create === false) return null;
    if (!haveCert) {
      await mkdir(directory, { recursive: true, mode: 0o700 });
      await atomically(directory, async (scratch) => {
        await runner.run(
          'openssl',
          [
            'req',
            '-x509',
            '-new',
            ...NEW_KEY,
            '-keyout',
            join(scratch, 'ca-key.pem'),
            '-out',
            join(scratch, 'ca.pem'),
            '-days',
            String(CA_DAYS),
            '-subj',
            '/CN=crossdock fleet CA',
            '-addext',
            'basicConstraints=critical,CA:TRUE,pathlen:0',
            '-addext',
            'keyUsage=critical,keyCertSign,cRLSign',
          ],
          { mutates: true },
        );
        return ['ca-key.pem', 'ca.pem'];
      });
      created = true;
    }
    const ca = { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
    return new FleetCa(directory, runner, ca, created);
  }

  /** The CA's own certificate must still be good for as long as the certificates it signs. */
  caProblem(now = Date.now()): string | null {
    const ca = new X509Certificate(this.ca.cert);
    const left = (Date.parse(ca.validTo) - now) / DAY_MS;
    return left < RENEW_WITHIN_DAYS ? `the CA in ${this.directory} expires ${ca.validTo}` : null;
  }

  /** A board's server certificate as it is here, made by no one; null when there is none. */
  async existing(board: string, names: readonly string[]): Promise<IssuedCertificate | null> {
    return this.read(join(this.directory, 'boards', board), names);
  }

  async existingClient(): Promise<IssuedCertificate | null> {
    return this.read(join(this.directory, 'client'), null);
  }

  private async read(directory: string, names: readonly string[] | null): Promise<IssuedCertificate | null> {
    const certFile = join(directory, 'cert.pem');
    const keyFile = join(directory, 'key.pem');
    if (!(await exists(certFile)) || !(await exists(keyFile))) return null;
    const pair = { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
    const certificate = new X509Certificate(pair.cert);
    const problem = this.leafProblem(certificate, names) ?? keyProblem(pair);
    return { ...pair, issued: false, problem, notAfter: certificate.validTo };
  }

  async client(options: { renew?: boolean } = {}): Promise<IssuedCertificate> {
    return this.leaf(join(this.directory, 'client'), 'crossdock client', null, 'clientAuth', options);
  }

  /** A board's server certificate; `names` its subjectAltName entries (DNS:x, IP:y). */
  async server(board: string, names: readonly string[], options: { renew?: boolean } = {}): Promise<IssuedCertificate> {
    return this.leaf(join(this.directory, 'boards', board), board, names, 'serverAuth', options);
  }

  private async leaf(
    directory: string,
    commonName: string,
    names: readonly string[] | null,
    usage: 'serverAuth' | 'clientAuth',
    options: { renew?: boolean },
  ): Promise<IssuedCertificate> {
    const certFile = join(directory, 'cert.pem');
    const keyFile = join(directory, 'key.pem');
    const kept = options.renew ? null : await this.read(directory, names);
    if (kept) return kept;
    await mkdir(directory, { recursive: true, mode: 0o700 });
    await atomically(directory, async (scratch) => {
      const extensions = [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        `extendedKeyUsage=${usage}`,
        ...(names ? [`subjectAltName=${names.join(',')}`] : []),
      ];
      await writeFile(join(scratch, 'extensions.cnf'), `${extensions.join('\n')}\n`);
      await this.runner.run(
        'openssl',
        [
          'req',
          '-new',
          ...NEW_KEY,
          '-keyout',
          join(scratch, 'key.pem'),
          '-out',
          join(scratch, 'request.csr'),
          '-subj',
          `/CN=${commonName.replace(/[/\\]/g, '_')}`,
        ],
        { mutates: true },
      );
      await writeFile(join(scratch, 'ca.pem'), this.ca.cert);
      await writeFile(join(scratch, 'ca-key.pem'), this.ca.key, { mode: 0o600 });
      await this.runner.run(
        'openssl',
        [
          'x509',
          '-req',
          '-in',
          join(scratch, 'request.csr'),
          '-CA',
          join(scratch, 'ca.pem'),
          '-CAkey',
          join(scratch, 'ca-key.pem'),
          // Random serials: two certificates of one CA must never share one (RFC 5280 4.1.2.2).
          '-set_serial',
          `0x${randomBytes(16)
            .toString('hex')
            .replace(/^[89a-f]/, '7')}`,
          '-days',
          String(LEAF_DAYS),
          '-sha256',
          '-extfile',
          join(scratch, 'extensions.cnf'),
          '-out',
          join(scratch, 'cert.pem'),
        ],
        { mutates: true },
      );
      return ['key.pem', 'cert.pem'];
    });
    const pair = { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
    return { ...pair, issued: true, problem: null, notAfter: new X509Certificate(pair.cert).validTo };
  }

  private leafProblem(certificate: X509Certificate, names: readonly string[] | null, now = Date.now()): string | null {
    const ca = new X509Certificate(this.ca.cert);
    if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) return 'it was not issued by this CA';
    const left = Math.floor((Date.parse(certificate.validTo) - now) / DAY_MS);
    if (left < 0) return `it expired ${certificate.validTo}`;
    if (left < RENEW_WITHIN_DAYS) return `it expires in ${String(left)} days (${certificate.validTo})`;
    const missing = names ? missingNames(names, certificate.subjectAltName) : [];
    if (missing.length > 0) return `its names lack ${missing.join(', ')}`;
    return null;
  }
}

/** A key that is not the certificate's (a run cut between the two renames) is reported, not used silently. */
function keyProblem(pair: KeyPair): string | null {
  const fromKey = createPublicKey(createPrivateKey(pair.key)).export({ type: 'spki', format: 'der' });
  const fromCert = new X509Certificate(pair.cert).publicKey.export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCert) ? null : 'its key.pem is not the key of its cert.pem';
}

/**
 * Makes files in a scratch directory beside `directory`, then renames them in, private keys
 * 0600: an interrupted run leaves the old pair or the new one, never a key without its cert.
 */
async function atomically(directory: string, make: (scratch: string) => Promise<string[]>): Promise<void> {
  const scratch = await mkdtemp(join(directory, '.new-'));
  try {
    const files = await make(scratch);
    for (const file of files) {
      if (file.endsWith('key.pem')) await chmod(join(scratch, file), 0o600);
      await rename(join(scratch, file), join(directory, file));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
