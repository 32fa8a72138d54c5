/**
 * The Runner for a board, over SSH (node-ssh on ssh2). The command line is built from an
 * argument array by `formatCommand` (one quoting function), so names, paths and versions reach
 * the board as literals. Host keys are verified against known_hosts before anything is sent;
 * a sudo password goes on stdin (`sudo -S`), never into argv or a log.
 */
import { onInterrupt, wasInterrupted } from '../interrupt.js';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { constants, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { NodeSSH } from 'node-ssh';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { briefCommand, CommandFailedError, InterruptedError, RemoteError, UserError } from '../errors.js';
import { Redactor } from '../exec/redact.js';
import { formatCommand, type Runner, type RunOptions, type RunResult, shellQuote } from '../exec/runner.js';
import { type CertificateVerdict, checkHostCertificate } from './host-certificate.js';
import type { InventoryHost } from './inventory.js';
import {
  fingerprint,
  hostKeyAlgorithms,
  type HostKeyVerdict,
  knownHostsAppendix,
  knownHostsLine,
  parseKnownHosts,
  verifyHostKey,
} from './known-hosts.js';

const CIPHERS = [
  'chacha20-poly1305@openssh.com',
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
] as const;

export interface ConnectOptions {
  /** known_hosts files to check, in order; the first is where --accept-new writes. */
  knownHosts: string[];
  /** Trust on first use: record an unknown key instead of refusing it. A changed key is always refused. */
  acceptNew?: boolean;
  /** For encrypted private keys; never from argv. */
  passphrase?: string | undefined;
  /** sudo password, when the host's sudo needs one. */
  sudoPassword?: string | undefined;
  agent?: string | undefined;
  /** How long the SSH handshake may take; 30 s by default (a Pi Zero under load is slow). */
  readyTimeoutMs?: number;
  dryRun?: boolean;
  log?: (line: string) => void;
  /**
   * Jump hosts shared by the boards behind them: one connection to the bastion carries every
   * board's forwarded stream, instead of one handshake per board against its MaxStartups.
   */
  jumps?: JumpPool;
}

/** One connection per jump host for a whole run; closed with the run. */
export class JumpPool {
  private readonly connections = new Map<string, Promise<SshRunner>>();

  acquire(key: string, connect: () => Promise<SshRunner>): Promise<SshRunner> {
    let connection = this.connections.get(key);
    if (!connection) {
      const forget = () => {
        if (this.connections.get(key) === connection) this.connections.delete(key);
      };
      // A failed connection is not kept, nor one that dies later (a bastion rebooted, a link
      // cut): the next board behind it connects again instead of failing at once.
      connection = connect().then((runner) => {
        runner.onClose(forget);
        return runner;
      });
      connection.catch(forget);
      this.connections.set(key, connection);
    }
    return connection;
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    for (const connection of all) (await connection.catch(() => null))?.dispose();
  }
}

/**
 * The known_hosts files for a host, the one --accept-new writes to first: the inventory's, then
 * what ssh_config names for the host (UserKnownHostsFile, GlobalKnownHostsFile, as ssh -G
 * resolved them), else ~/.ssh/known_hosts. Pure.
 */
export function defaultKnownHosts(
  inventoryKnownHosts: string | null,
  home = homedir(),
  sshConfigFiles?: readonly string[],
): string[] {
  const files = [
    ...(inventoryKnownHosts ? [inventoryKnownHosts] : []),
    ...(sshConfigFiles && sshConfigFiles.length > 0 ? sshConfigFiles : [join(home, '.ssh', 'known_hosts')]),
  ];
  return [...new Set(files)];
}

/** How long a jump host has to open the forwarded channel to a board behind it. */
const FORWARD_TIMEOUT_MS = 30_000;
/** How long a board has to open a session channel (an emulated Pi under load takes seconds). */
const CHANNEL_OPEN_TIMEOUT_MS = 60_000;

/** The board's sshd refused a new channel (its session limit); worth a retry. */
class ChannelRefusedError extends RemoteError {}

export class SshRunner implements Runner {
  readonly remote = true;
  readonly host: string;
  readonly dryRun: boolean;
  private readonly redactor: Redactor;
  /** OpenSSH allows 10 sessions per connection (MaxSessions); stay under it. */
  private readonly sessions = new Semaphore(8);

  private constructor(
    private readonly ssh: NodeSSH,
    /** The inventory entry this runner is connected to. */
    readonly entry: InventoryHost,
    private readonly options: ConnectOptions,
    private readonly jump: SshRunner | null,
    /** The forwarded channel through a jump host this connection rides on, if any. */
    private readonly tunnel: Duplex | null,
  ) {
    this.host = entry.name;
    this.dryRun = options.dryRun ?? false;
    // After the handshake node-ssh listens for errors no more: a reset link (a board losing
    // power) would otherwise be an uncaught exception. The commands under way fail on their own
    // when their channels close without an exit status.
    (ssh.connection as Client | null)?.on('error', (error: Error) => {
      options.log?.(`${entry.name}: connection lost: ${error.message}`);
    });
    // Ctrl-C: the connection goes, so the commands under way fail and their callers unwind.
    this.forgetInterrupt = () => undefined;
    this.forgetInterrupt = onInterrupt(() => {
      this.dispose();
    });
    this.redactor = new Redactor([options.sudoPassword ?? '', options.passphrase ?? '']);
    // Whatever still waits on this connection when it goes (a channel never opened or never
    // closed by a peer that vanished) fails then, instead of waiting for good. Its end of input
    // is enough: ssh2 reads nothing after it, yet emits 'close' only once its stream closes,
    // which a forwarded channel does only when the jump host answers our close of it.
    const lost = () => {
      this.lose(
        new RemoteError(
          tunnel
            ? `${entry.name}: lost the connection through the jump host ${entry.proxyJump ?? ''} (the board or the jump host went)`
            : `${entry.name}: the connection closed`,
        ),
      );
    };
    (ssh.connection as Client | null)?.once('end', lost);
    (ssh.connection as Client | null)?.once('close', lost);
  }

  static async connect(host: InventoryHost, options: ConnectOptions): Promise<SshRunner> {
    if (wasInterrupted()) throw new InterruptedError(`${host.name}: not reached (interrupted)`);
    const entries = (
      await Promise.all(options.knownHosts.map((file) => readFile(file, 'utf8').catch(() => '')))
    ).flatMap((text) => parseKnownHosts(text));
    let verdict: HostKeyVerdict | undefined;
    let presented: Buffer | undefined;
    let certificate: CertificateVerdict | undefined;
    const ssh = new NodeSSH();
    const privateKeys = await Promise.all(
      host.identityFiles.map(async (file) =>
        readFile(file, 'utf8').catch((caught: unknown) => {
          const error = caught as NodeJS.ErrnoException;
          // ssh -G lists every default key, most of which do not exist; a key the inventory names must.
          if (host.identityRequired)
            throw new UserError(`${host.name}: identityFile ${file}: cannot read it (${error.code ?? error.message})`, {
              hint: 'fix identityFile in the inventory (relative paths are relative to the inventory; ~ is your home)',
            });
          return null;
        }),
      ),
    );
    const privateKey = privateKeys.find((key): key is string => key !== null);
    // ProxyJump a,b,c: reach c through b through a, each hop verified like any host.
    let jump: SshRunner | null = null;
    let sock: Duplex | undefined;
    if (host.proxyJump) {
      const hops = host.proxyJump.split(',');
      const last = hops.pop() ?? '';
      const hop = jumpHost(last, hops.join(',') || null, host);
      const pool = options.jumps;
      const shared = pool
        ? await pool.acquire(`${host.proxyJump}\n${hop.user}@${hop.address}:${String(hop.port)}`, () =>
            SshRunner.connect(hop, options),
          )
        : null;
      // A pooled jump is the pool's to close; an own one goes with this runner.
      jump = shared ? null : await SshRunner.connect(hop, options);
      sock = await (shared ?? jump)?.forwardTo(host.address, host.port, host.name);
    }
    // A board behind a jump host rides on a forwarded channel. When the board's side of it goes,
    // the jump host sends only its end of input (its socket to the board sits in CLOSE-WAIT) and
    // waits for ours: the channel is closed from here, so that it closes there too and the
    // board's connection closes with it. Not through ssh2's Client.destroy(): it does nothing
    // once the stream's input has ended, and this is exactly then.
    const end = () => {
      sock?.destroy();
    };
    sock?.once('end', end);
    try {
      await ssh.connect({
        host: host.address,
        port: host.port,
        username: host.user,
        ...(privateKey ? { privateKey } : {}),
        ...(options.passphrase ? { passphrase: options.passphrase } : {}),
        ...((options.agent ?? process.env.SSH_AUTH_SOCK) ? { agent: options.agent ?? process.env.SSH_AUTH_SOCK } : {}),
        // The board decrypts every byte sent, and boards before the Raspberry Pi 5 have no AES
        // instructions: chacha20-poly1305 first, as OpenSSH orders it (ssh2 puts AES-GCM first
        // when this machine has AES-NI). Measured onto an emulated Pi 3: 64 MB in 2.2 s against 3.9 s.
        algorithms: {
          cipher: [...CIPHERS],
          serverHostKey: hostKeyAlgorithms(entries, host.address, host.port) as never,
        },
        readyTimeout: options.readyTimeoutMs ?? 30_000,
        ...(sock ? { sock } : {}),
        keepaliveInterval: 10_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer, accept: (ok: boolean) => void) => {
          presented = key;
          verdict = verifyHostKey(entries, host.address, host.port, key);
          if (verdict.kind !== 'certificate') {
            accept(verdict.kind === 'known' || (verdict.kind === 'unknown' && Boolean(options.acceptNew)));
            return;
          }
          const trusted = verdict;
          void certifiedHostKey(host, key, trusted, Boolean(sock)).then((checked) => {
            certificate = checked;
            if (checked.ok)
              options.log?.(
                `${host.name}: host certificate ${checked.keyId} (serial ${String(checked.serial)}) from a CA known_hosts trusts`,
              );
            accept(checked.ok);
          });
        },
      });
    } catch (error) {
      sock?.destroy();
      jump?.dispose();
      throw connectError(host, error, verdict, presented, options, certificate);
    }
    if (verdict?.kind === 'unknown' && presented && options.acceptNew) {
      const file = options.knownHosts[0];
      if (file && options.dryRun)
        options.log?.(`${host.name}: would record host key ${fingerprint(presented)} in ${file}`);
      else if (file) {
        await mkdir(dirname(file), { recursive: true });
        const existing = await readFile(file, 'utf8').catch(() => '');
        await appendFile(file, knownHostsAppendix(existing, knownHostsLine(host.address, host.port, presented)));
        options.log?.(`${host.name}: recorded host key ${fingerprint(presented)} in ${file}`);
      }
    }
    return new SshRunner(ssh, host, options, jump, sock ?? null);
  }

  /** The one dry-run gate of every remote effect: true (and said) when `what` is not done. */
  private skipped(what: string): boolean {
    if (this.dryRun) this.options.log?.(`${this.host}: would ${what}`);
    return this.dryRun;
  }

  private forgetInterrupt: () => void;
  private readonly waiting = new Set<(error: Error) => void>();
  private readonly closeCallbacks = new Set<() => void>();
  private gone = false;

  /** The connection is gone: whatever waits on it fails with `error`, and onClose's callbacks run. */
  private lose(error: Error): void {
    if (this.gone) return;
    this.gone = true;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const fail of waiting) fail(error);
    const callbacks = [...this.closeCallbacks];
    this.closeCallbacks.clear();
    for (const callback of callbacks) callback();
  }

  /**
   * A promise that also fails when the connection closes before it settles. `settled` registers
   * what to undo once it settles either way: a deadline left running would keep this process
   * alive long after the connection it guarded went.
   */
  private guarded<T>(
    work: (resolve: (value: T) => void, reject: (error: Error) => void, settled: (cleanup: () => void) => void) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cleanups: Array<() => void> = [];
      let over = false;
      const done = () => {
        over = true;
        this.waiting.delete(fail);
        for (const cleanup of cleanups.splice(0)) cleanup();
      };
      const fail = (error: Error) => {
        done();
        reject(error);
      };
      this.waiting.add(fail);
      work(
        (value) => {
          done();
          resolve(value);
        },
        fail,
        (cleanup) => {
          if (over) cleanup();
          else cleanups.push(cleanup);
        },
      );
    });
  }

  dispose(): void {
    this.forgetInterrupt();
    this.ssh.dispose();
    // node-ssh only ends the connection politely, and then ssh2's destroy() does nothing. A
    // forwarded channel is closed outright: the jump host then lets go of its socket to the
    // board, whether or not the board still answers.
    this.tunnel?.destroy();
    this.jump?.dispose();
  }

  /**
   * For a peer that stopped answering: its connection is torn down, not ended politely, which
   * it would never acknowledge (a bastion whose session process died keeps the TCP connection,
   * and this process, alive for good).
   */
  private abandon(): void {
    (this.ssh.connection as Client | null)?.destroy();
    this.dispose();
  }

  /** Called once the connection is gone: closed by either side, or lost. */
  onClose(callback: () => void): void {
    if (this.gone || !this.ssh.isConnected()) callback();
    else this.closeCallbacks.add(callback);
  }

  /** A TCP stream from this host to another: the next hop of a ProxyJump; errors name `board`, the host reached. */
  forwardTo(address: string, port: number, board: string): Promise<Duplex> {
    const connection = this.ssh.connection as Client | null;
    const jump = `the jump host ${this.entry.user}@${this.entry.address}:${String(this.entry.port)}`;
    if (!connection || !this.ssh.isConnected())
      return Promise.reject(new RemoteError(`${board}: ${jump} is not connected (it closed or was lost)`));
    return this.guarded<Duplex>((resolve, reject, settled) => {
      // A bastion whose session process died can keep the TCP connection open and answer
      // nothing: without a deadline the board behind it would wait forever (seen in the chaos
      // campaign). Past it the connection is given up, so the pool connects afresh.
      const timer = setTimeout(() => {
        reject(new RemoteError(`${board}: ${jump} did not open a channel to ${address}:${port} within 30 s`));
        this.abandon();
      }, FORWARD_TIMEOUT_MS);
      settled(() => {
        clearTimeout(timer);
      });
      connection.forwardOut('127.0.0.1', 0, address, port, (error: Error | undefined, stream: ClientChannel) => {
        clearTimeout(timer);
        if (error) reject(new RemoteError(`${board}: ${jump} cannot reach ${address}:${port}: ${error.message}`));
        else resolve(stream);
      });
    });
  }

  /**
   * Whether this board's sudo really asks for a password, asked once per connection with
   * `sudo -n true`. An inventory may name a password where sudo has NOPASSWD (Raspberry Pi OS's
   * default): a password written to stdin that sudo never reads would reach the command instead,
   * ending up in daemon.json, the version record, or in front of a streamed bundle.
   */
  private sudoAsks: Promise<boolean> | null = null;

  private async sudoAsksForPassword(): Promise<boolean> {
    this.sudoAsks ??= this.exec('sudo -n true', undefined, { timeoutMs: 30_000 }).then(
      (result) => result.exitCode !== 0,
    );
    return this.sudoAsks;
  }

  /** The shell line for a command: cwd and environment applied, sudo when asked for root. */
  commandLine(
    command: string,
    args: readonly string[],
    options: RunOptions & { privileged?: boolean; sudoWithoutPassword?: boolean } = {},
  ): string {
    const env = Object.entries(options.env ?? {});
    const envPart =
      env.length === 0
        ? []
        : [
            'env',
            ...env.map(([key, value]) =>
              value === undefined ? `-u ${shellQuote(key)}` : shellQuote(`${key}=${value}`),
            ),
          ];
    const sudo =
      options.privileged && this.entry.user !== 'root' && this.entry.sudo.kind !== 'none'
        ? this.entry.sudo.kind === 'password' && !options.sudoWithoutPassword
          ? "sudo -S -p '' --"
          : 'sudo -n --'
        : '';
    const line = [sudo, envPart.join(' '), formatCommand(command, args)].filter(Boolean).join(' ');
    return options.cwd ? `cd ${shellQuote(options.cwd)} && ${line}` : line;
  }

  /**
   * `inputFile` streams a local file into the command's standard input (after sudo's password,
   * when it asks for one), so a board can hash and unpack a bundle while it arrives.
   */
  async run(
    command: string,
    args: readonly string[] = [],
    options: RunOptions & {
      privileged?: boolean;
      inputFile?: string;
      onInputProgress?: (sent: number) => void;
    } = {},
  ): Promise<RunResult> {
    const shown = this.redactor.redact(formatCommand(command, args), options.secrets ?? []);
    if (!options.readOnly && this.skipped(`run: ${shown}`)) {
      return { command: shown, exitCode: 0, signal: null, stdout: '', stderr: '', skipped: true, durationMs: 0 };
    }
    const askable = options.privileged === true && this.entry.user !== 'root' && this.entry.sudo.kind === 'password';
    const line = this.commandLine(command, args, {
      ...options,
      sudoWithoutPassword: askable && !(await this.sudoAsksForPassword()),
    });
    const needsPassword = line.startsWith('sudo -S');
    if (needsPassword && !this.options.sudoPassword)
      throw new UserError(`${this.host}: sudo needs a password and none was given`, {
        hint: `export the variable named by the inventory's sudo.passwordEnv`,
      });
    const input = needsPassword
      ? Buffer.concat([Buffer.from(`${this.options.sudoPassword ?? ''}\n`), Buffer.from(options.input ?? '')])
      : options.input;
    const started = performance.now();
    const { inputFile, onInputProgress } = options;
    const result = await this.exec(
      line,
      input,
      options,
      inputFile
        ? (channel) => {
            if (needsPassword) channel.write(`${this.options.sudoPassword ?? ''}\n`);
            streamFileInto(channel, inputFile, onInputProgress);
          }
        : undefined,
    );
    const stdout = this.redactor.redact(result.stdout, options.secrets ?? []);
    const stderr = this.redactor.redact(result.stderr, options.secrets ?? []);
    if (result.timedOut)
      throw new CommandFailedError({
        command: shown,
        host: this.host,
        exitCode: undefined,
        reason: `timed out after ${options.timeoutMs} ms`,
        stderr,
        remote: true,
      });
    if (result.exitCode !== 0 && !options.allowFailure)
      throw new CommandFailedError({
        command: shown,
        host: this.host,
        exitCode: result.exitCode,
        reason: result.signal ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`,
        stderr,
        remote: true,
      });
    return {
      command: shown,
      exitCode: result.exitCode,
      signal: result.signal,
      stdout,
      stderr,
      skipped: false,
      durationMs: performance.now() - started,
    };
  }

  /**
   * Runs a script that holds something (a lock) for as long as this connection lives: it must
   * print `ready` once it holds it, then wait on its stdin. `release` closes stdin; if crossdock
   * dies or the link is cut, sshd closes the channel and the board lets go by itself.
   */
  async hold(
    script: string,
    ready: string,
    options: { privileged?: boolean } = {},
  ): Promise<{ release(): Promise<void> }> {
    // A dry run takes no lock and waits for none: it reads only.
    if (this.skipped(`hold: ${this.redactor.redact(briefCommand(script), [])}`))
      return { release: () => Promise.resolve() };
    const askable = options.privileged === true && this.entry.user !== 'root' && this.entry.sudo.kind === 'password';
    const line = this.commandLine('sh', ['-c', script], {
      ...options,
      sudoWithoutPassword: askable && !(await this.sudoAsksForPassword()),
    });
    const connection = this.ssh.connection as Client | null;
    if (!connection) throw new RemoteError(`${this.host}: not connected`);
    return this.guarded<{ release(): Promise<void> }>((resolve, reject) => {
      connection.exec(line, (error: Error | undefined, channel: ClientChannel) => {
        if (error) {
          reject(new RemoteError(`${this.host}: cannot start a command: ${error.message}`));
          return;
        }
        let output = '';
        let held = false;
        const closed = new Promise<void>((done) =>
          channel.on('close', () => {
            done();
          }),
        );
        const onData = (chunk: Buffer) => {
          output += chunk.toString('utf8');
          if (!held && output.split('\n').includes(ready)) {
            held = true;
            resolve({
              release: async () => {
                channel.end();
                // The holder exits on end of input; a board that does not let go within
                // seconds has its channel closed, which ends the lock all the same.
                const timer = setTimeout(() => {
                  channel.close();
                }, 10_000);
                // A connection already gone closes no channel: the lock went with it.
                const gone = new Promise<void>((done) => {
                  this.onClose(done);
                });
                await Promise.race([closed, gone]);
                clearTimeout(timer);
              },
            });
          }
        };
        channel.on('data', onData);
        channel.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
        void closed.then(() => {
          if (!held)
            reject(
              new RemoteError(`${this.host}: ${this.redactor.redact(output.trim().split('\n').at(-1) ?? 'closed')}`),
            );
        });
        if (line.startsWith('sudo -S')) channel.write(`${this.options.sudoPassword ?? ''}\n`);
      });
    });
  }

  /**
   * Copies a local file to the board; the file appears whole at `remote` or not at all. SFTP
   * (ssh2's pipelined fastPut) into a partial name, then one `mv`: measured 1.5× faster than
   * streaming into `cat` over an exec channel (bench/ssh-transfer.mjs: 24 against 16 MB/s to an
   * emulated board). Boards without an SFTP server get the `cat` stream.
   */
  async putFile(
    local: string,
    remote: string,
    options: { onProgress?: (sent: number) => void; mode?: string; privileged?: boolean } = {},
  ): Promise<number> {
    const size = (await stat(local)).size;
    if (this.skipped(`copy ${local} to ${remote}`)) return 0;
    const asRoot = (options.privileged ?? false) && this.entry.user !== 'root';
    // A non-root login writes to its own temp file; root moves it into place.
    // A name nobody on the board can guess, so no other user can plant a link at it in /tmp.
    const partial = asRoot
      ? `/tmp/.crossdock-${randomBytes(16).toString('hex')}.partial`
      : `${remote}.crossdock-partial`;
    try {
      await this.sftpPut(local, partial, options.onProgress);
    } catch (error) {
      if (!(error instanceof SftpUnavailableError)) throw error;
      await this.catPut(local, partial, options.onProgress);
    }
    const finish = [
      ...(options.mode ? [`chmod ${shellQuote(options.mode)} ${shellQuote(partial)}`] : []),
      ...(asRoot ? [`chown root:root ${shellQuote(partial)}`] : []),
      `mv -f ${shellQuote(partial)} ${shellQuote(remote)}`,
    ].join(' && ');
    await this.run('sh', ['-c', finish], { privileged: asRoot });
    return size;
  }

  private async sftpPut(local: string, remote: string, onProgress?: (sent: number) => void): Promise<void> {
    await this.sessions.use(() => this.sftpTransfer(local, remote, onProgress));
  }

  private async sftpTransfer(local: string, remote: string, onProgress?: (sent: number) => void): Promise<void> {
    let sftp: SFTPWrapper;
    try {
      sftp = await this.ssh.requestSFTP();
    } catch (error) {
      throw new SftpUnavailableError(error instanceof Error ? error.message : String(error));
    }
    try {
      await new Promise<void>((resolve, reject) => {
        sftp.fastPut(local, remote, { step: (sent) => onProgress?.(sent) }, (error) => {
          if (error) reject(new RemoteError(`${this.host}: copying to ${remote} failed: ${error.message}`));
          else resolve();
        });
      });
    } finally {
      sftp.end();
    }
  }

  private async catPut(local: string, remote: string, onProgress?: (sent: number) => void): Promise<void> {
    const line = `umask 077 && cat > ${shellQuote(remote)}`;
    const result = await this.exec(line, undefined, {}, (channel) => {
      streamFileInto(channel, local, onProgress);
    });
    if (result.exitCode !== 0)
      throw new CommandFailedError({
        command: `put ${local} ${remote}`,
        host: this.host,
        exitCode: result.exitCode,
        reason: `exited with ${result.exitCode}`,
        stderr: result.stderr,
        remote: true,
      });
  }

  private exec(
    line: string,
    input: string | Uint8Array | undefined,
    options: RunOptions,
    feed?: (channel: ClientChannel) => void,
  ): Promise<{ exitCode: number; signal: string | null; stdout: string; stderr: string; timedOut: boolean }> {
    // node-ssh's typings reach ssh2's through a default import some tools cannot follow.
    const connection = this.ssh.connection as Client | null;
    if (!connection) throw new RemoteError(`${this.host}: not connected`);
    return this.sessions.use(async () => {
      // sshd counts a session until its child has exited, which on a slow board lags behind the
      // channel's close here: a refused channel (MaxSessions) is retried, briefly.
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await this.execOn(connection, line, input, options, feed);
        } catch (error) {
          if (!(error instanceof ChannelRefusedError) || attempt >= 6) throw error;
          await sleep(150 * attempt);
        }
      }
    });
  }

  private execOn(
    connection: Client,
    line: string,
    input: string | Uint8Array | undefined,
    options: RunOptions,
    feed?: (channel: ClientChannel) => void,
  ): Promise<{ exitCode: number; signal: string | null; stdout: string; stderr: string; timedOut: boolean }> {
    return this.guarded((resolve, reject, settled) => {
      // A peer that stopped answering without closing (its session process gone) never opens
      // the channel: past the deadline the connection is given up instead of waited on forever.
      const opening = setTimeout(() => {
        reject(new RemoteError(`${this.host}: the board did not open a session within 60 s`));
        this.abandon();
      }, CHANNEL_OPEN_TIMEOUT_MS);
      settled(() => {
        clearTimeout(opening);
      });
      connection.exec(line, (error: Error | undefined, channel: ClientChannel) => {
        clearTimeout(opening);
        if (error) {
          const message = `${this.host}: cannot start a command: ${error.message}`;
          reject(/open failed/.test(error.message) ? new ChannelRefusedError(message) : new RemoteError(message));
          return;
        }
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        let timedOut = false;
        const timer =
          options.timeoutMs === undefined
            ? undefined
            : setTimeout(() => {
                timedOut = true;
                channel.signal('KILL');
                channel.close();
              }, options.timeoutMs);
        settled(() => {
          clearTimeout(timer);
        });
        const lines = (stream: 'stdout' | 'stderr') => {
          let pending = '';
          return (chunk: Buffer) => {
            (stream === 'stdout' ? stdout : stderr).push(chunk);
            if (!options.onOutput) return;
            pending += chunk.toString('utf8');
            const parts = pending.split('\n');
            pending = parts.pop() ?? '';
            for (const part of parts) options.onOutput(this.redactor.redact(part), stream);
          };
        };
        channel.on('data', lines('stdout'));
        channel.stderr.on('data', lines('stderr'));
        let exitCode = 0;
        let exited = false;
        let signal: string | null = null;
        channel.on('exit', (code: number | null, signalName?: string) => {
          exited = true;
          if (typeof code === 'number') exitCode = code;
          if (signalName) {
            // OpenSSH sends "ILL"; some servers send "SIGILL".
            signal = `SIG${signalName.replace(/^SIG/, '')}`;
            exitCode = 128 + ((constants.signals as Record<string, number | undefined>)[signal] ?? 0);
          }
        });
        channel.on('close', () => {
          if (timer) clearTimeout(timer);
          // A channel that closes without an exit status (the link cut mid-command) is not a
          // success: the command may not have run, or not to its end.
          if (!exited && !timedOut) {
            reject(new RemoteError(`${this.host}: the connection closed before the command reported its exit status`));
            return;
          }
          resolve({
            exitCode,
            signal,
            stdout: Buffer.concat(stdout).toString('utf8'),
            stderr: Buffer.concat(stderr).toString('utf8'),
            timedOut,
          });
        });
        if (feed) feed(channel);
        else channel.end(input === undefined ? undefined : Buffer.from(input));
      });
    });
  }
}

/** `[user@]host[:port]` of a ProxyJump, with the target's key and sudo-less defaults. */
function jumpHost(spec: string, proxyJump: string | null, target: InventoryHost): InventoryHost {
  const match = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(spec.trim());
  if (!match?.[2]) throw new UserError(`${target.name}: ProxyJump ${spec}: expected [user@]host[:port]`);
  const address = match[2].replace(/^\[|\]$/g, '');
  return {
    name: `${target.name} via ${address}`,
    address,
    port: match[3] ? Number(match[3]) : 22,
    user: match[1] ?? target.user,
    identityFiles: target.identityFiles,
    daemon: null,
    advertiseAddress: address,
    api: null,
    proxyJump,
    sudo: { kind: 'none' },
    tags: [],
    groups: [],
    model: null,
  };
}

class SftpUnavailableError extends Error {}

class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active += 1;
    try {
      return await work();
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }
}

function connectError(
  host: InventoryHost,
  error: unknown,
  verdict: HostKeyVerdict | undefined,
  key: Buffer | undefined,
  options: ConnectOptions,
  certificate?: CertificateVerdict,
): Error {
  const where = `${host.name} (${host.user}@${host.address}:${host.port})`;
  const print = key ? fingerprint(key) : 'unknown';
  if (verdict?.kind === 'certificate' && certificate && !certificate.ok)
    return new RemoteError(`${where}: host key ${print} is not certified: ${certificate.reason}`, {
      hint: `known_hosts line ${verdict.line} trusts a CA for this host: sign the board's key with it (ssh-keygen -s CA -h -n ${host.address} …) and set HostCertificate in its sshd_config`,
    });
  // Under --accept-new an unknown key was accepted: whatever failed next is not the host key.
  if (verdict?.kind === 'unknown' && !options.acceptNew)
    return new RemoteError(`${where}: host key ${print} is not in ${options.knownHosts.join(' or ')}`, {
      hint: `check the fingerprint on the board (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then run again with --accept-new`,
    });
  if (verdict?.kind === 'changed')
    return new RemoteError(
      `${where}: HOST KEY CHANGED — the board presents ${print}, known_hosts line ${verdict.line} holds another key`,
      {
        hint: `if the board was reinstalled, remove the old key (ssh-keygen -R ${host.port === 22 ? host.address : `'[${host.address}]:${host.port}'`}); otherwise someone may be in the middle`,
      },
    );
  if (verdict?.kind === 'other-type')
    return new RemoteError(
      `${where}: the board presents a ${verdict.presented} host key (${print}), but known_hosts line ${verdict.line} pins a ${verdict.pinned} key for it`,
      {
        hint: `check the board's ${verdict.presented} key (ssh-keygen -lf on the board), then add it to known_hosts yourself; --accept-new does not add a second type`,
      },
    );
  if (verdict?.kind === 'revoked')
    return new RemoteError(`${where}: host key ${print} is revoked (known_hosts line ${verdict.line})`);
  const message = error instanceof Error ? error.message : String(error);
  if (/authentication methods failed/i.test(message))
    return new RemoteError(
      `${where}: authentication failed (${host.identityFiles.length > 0 ? host.identityFiles.join(', ') : 'ssh-agent'})`,
      {
        hint: 'check the user and the key: the board must list its public half in ~/.ssh/authorized_keys',
      },
    );
  if (/passphrase/i.test(message))
    return new UserError(`${where}: the private key is encrypted`, {
      hint: 'set CROSSDOCK_SSH_PASSPHRASE, or load the key into ssh-agent',
    });
  return new RemoteError(`${where}: cannot connect: ${message}`, {
    hint: 'is the board up and sshd listening? check the address and port in the inventory',
  });
}

/**
 * The host's certificates, fetched beside the session with ssh-keyscan -c (ssh2 negotiates plain
 * keys only), checked against the CAs known_hosts trusts for it and bound to `presented`, the
 * key of this very session, so a certificate replayed from another host proves nothing.
 */
async function certifiedHostKey(
  host: InventoryHost,
  presented: Buffer,
  trusted: Extract<HostKeyVerdict, { kind: 'certificate' }>,
  throughJump: boolean,
): Promise<CertificateVerdict> {
  if (throughJump)
    return { ok: false, reason: "certificates are not fetched through a ProxyJump; pin the board's own key for it" };
  const scan = await execa('ssh-keyscan', ['-c', '-T', '10', '-p', String(host.port), '--', host.address], {
    reject: false,
    timeout: 20_000,
  }).catch((error: unknown) => ({ stdout: '', stderr: (error as Error).message }));
  const blobs = scan.stdout
    .split('\n')
    // `-c` prints "TYPE BASE64" with no host field before it (OpenSSH 9.2); either is read.
    .map((line) => line.trim().split(/\s+/))
    .map((fields) => {
      const at = fields.findIndex((f) => f.endsWith('-cert-v01@openssh.com'));
      return at >= 0 ? fields[at + 1] : undefined;
    })
    .filter((base64): base64 is string => Boolean(base64))
    .map((base64) => Buffer.from(base64, 'base64'));
  if (blobs.length === 0)
    return {
      ok: false,
      reason: `the host shows no certificate (ssh-keyscan -c found none${scan.stderr.trim() ? `: ${scan.stderr.trim().split('\n').at(-1) ?? ''}` : ''})`,
    };
  let last: CertificateVerdict = { ok: false, reason: 'no certificate' };
  for (const blob of blobs) {
    last = checkHostCertificate(blob, {
      principal: host.address,
      presented,
      authorities: trusted.authorities,
      revoked: trusted.revoked,
    });
    if (last.ok) return last;
  }
  return last;
}

/**
 * A local file into a channel's standard input with one chunk in hand at a time. pipe() would let
 * ssh2's channel queue up to its 2 MiB window of plaintext on top of what is in flight: at a
 * hundred boards at once that was most of the controller's memory (57 MiB of buffers at 100).
 * The command may stop reading early (a bad archive): the channel closes, and so does the file;
 * a file that cannot be read ends the input, which the board's size and hash checks then refuse.
 */
function streamFileInto(channel: ClientChannel, file: string, onProgress?: (sent: number) => void): void {
  const stream = createReadStream(file, { highWaterMark: 1 << 16 });
  let sent = 0;
  channel.on('close', () => stream.destroy());
  stream.on('data', (chunk) => {
    sent += chunk.length;
    onProgress?.(sent);
    stream.pause();
    channel.write(chunk, () => stream.resume());
  });
  stream.on('end', () => channel.end());
  stream.on('error', () => channel.end());
}
