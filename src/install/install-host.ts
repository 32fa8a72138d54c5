/**
 * One board's install as facts → plan → apply. Facts: the probe and the install layout, read in
 * one round trip (a switch a dead run left pending is reverted first), and the active version's
 * health. Plan: planHost (plan.ts, pure) returns exactly the steps that will run, which is what
 * --dry-run prints. Apply: one loop runs them, each safe to interrupt: preflight → signature →
 * send (streamed, hashed and unpacked on the board as it arrives) → daemon settings → units →
 * watchdog and atomic switch of `current` → restart → health → containers → commit, or switch back.
 *
 * The watchdog switches back unless the commit comes in time: if the link dies between switch
 * and commit, the board reverts on its own.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import {
  type Manifest,
  type ManifestArtifact,
  type ManifestBinary,
  MANIFEST_FILE,
  SUMS_FILE,
} from '../artifacts/manifest.js';
import { FailureError } from '../errors.js';
import { shellQuote } from '../exec/runner.js';
import type { TargetRegistry } from '../platform/targets.js';
import { probeBoard, type ProbeReport } from './board-probe.js';
import type { SshRunner } from '../remote/ssh-runner.js';
import { sha256 } from '../artifacts/checksums.js';
import { healthy, readBoardState, readVersionRecord, type RemoteState, remoteSha256 } from './board-facts.js';
import {
  boardScript,
  commitScript,
  layout,
  PENDING_OURS,
  probeImageFile,
  receiveScript,
  reconfigureCommitScript,
  reconfigureScript,
  restartDaemonsScript,
  revertReconfigureScript,
  revertScript,
  revertWhilePending,
  switchScript,
  watchdogDeadline,
  whilePending,
} from './board-scripts.js';
import { withBoardLock } from './board-lock.js';
import { containerHealth } from './container-health.js';
import { BundleHasOtherFiles, type ObjectArchives, sendObjects } from './send-objects.js';
import { type DaemonConfig, daemonJson } from '../engine/daemon-config.js';
import {
  chooseBundle,
  type HostFacts,
  type HostStepName,
  planHost,
  preflightFindings,
  sameBinaries,
  type SendPlan,
  versionsToPrune,
} from './plan.js';

export type HostStatus =
  | 'installed'
  | 'unchanged'
  /** Same version, new daemon.json: applied, restarted and health-checked. */
  | 'reconfigured'
  | 'rolled-back'
  | 'failed'
  | 'refused'
  | 'planned'
  | 'not-reached';

export interface HostResult {
  name: string;
  target: string | null;
  version: string;
  previousVersion: string | null;
  activeVersion: string | null;
  status: HostStatus;
  health: 'ok' | 'failed' | 'unknown';
  /** The health-check image run on the board: a container, the bridge, a published port. */
  containers: 'ok' | 'failed' | 'not-run';
  bytesSent: number;
  steps: string[];
  error: string | null;
  hint: string | null;
  /** Preflight findings that did not stop the install. */
  warnings: string[];
  /** Milliseconds spent in each step. */
  timings: Record<string, number>;
}

export interface HostInstallOptions {
  dist: { directory: string; manifest: Manifest };
  registry: TargetRegistry;
  keep: number;
  dryRun: boolean;
  /** The changed-binaries archives of this rollout, made once for all its boards. */
  objectArchives?: ObjectArchives;
  /**
   * Seconds the watchdog waits for the commit before switching back; by default as long as the
   * steps it guards may take on the board (watchdogDeadline).
   */
  watchdogSeconds?: number;
  /** Seconds dockerd and containerd have to answer after the restart (install.healthTimeoutSeconds). */
  healthTimeoutSeconds?: number;
  /** allowed_signers file: SHA256SUMS.sig must verify on the board and list the bundle. */
  allowedSigners?: string | null;
  /** Public URLs of the dist's files (install --release): a board that reaches them downloads itself. */
  downloadUrls?: ReadonlyMap<string, string>;
  /** Apply the preflight fixes that are safe (the memory cgroup in cmdline.txt). */
  fix?: boolean;
  /** The board's daemon.json from the inventory; null or absent: left as it is. */
  daemon?: DaemonConfig | null;
  onStep?: (step: string) => void;
  onBytes?: (sent: number) => void;
}

/** A host's result before anything happened to it. */
export function newHostResult(name: string, version: string, status: HostStatus): HostResult {
  return {
    name,
    target: null,
    version,
    previousVersion: null,
    activeVersion: null,
    status,
    health: 'unknown',
    containers: 'not-run',
    bytesSent: 0,
    steps: [],
    error: null,
    hint: null,
    warnings: [],
    timings: {},
  };
}

export async function installHost(runner: SshRunner, options: HostInstallOptions): Promise<HostResult> {
  const { manifest } = options.dist;
  const result = newHostResult(runner.host, manifest.version, 'failed');
  let stepStarted = performance.now();
  const step = (name: string) => {
    closeStep();
    result.steps.push(name);
    options.onStep?.(name);
  };
  // Milliseconds per step, for --json and for profiling a slow rollout.
  const closeStep = () => {
    const last = result.steps.at(-1);
    const now = performance.now();
    if (last) result.timings[last] = Math.round((result.timings[last] ?? 0) + now - stepStarted);
    stepStarted = now;
  };
  try {
    return await withBoardLock(runner, installSteps);
  } finally {
    closeStep();
  }

  async function installSteps(): Promise<HostResult> {
    step('probe');
    const facts = await gatherFacts(runner, options, step);
    const { state } = facts;
    result.target = facts.probe.target;
    result.previousVersion = state.current;
    result.activeVersion = state.current;
    if (facts.currentHealthy) result.health = 'ok';
    const desired = options.daemon ? daemonJson(options.daemon) : null;
    const plan = planHost(facts, manifest, {
      daemonConfigSha256: desired === null ? null : sha256(desired),
      signed: Boolean(options.allowedSigners),
      boardDownloads: Boolean(options.downloadUrls?.size),
    });
    if (plan.kind === 'refused') {
      result.status = 'refused';
      result.error = plan.reason;
      result.hint = plan.hint;
      return result;
    }
    if (plan.kind === 'unchanged') {
      result.status = 'unchanged';
      return result;
    }
    // A dry run is the plan itself: the steps a real run would take, none of them run.
    if (options.dryRun) {
      result.status = 'planned';
      result.steps.push(...plan.steps);
      return result;
    }
    if (plan.kind === 'reconfigure') {
      if (plan.steps.includes('signature')) {
        step('signature');
        await verifySignature(runner, options.dist.directory, plan.bundle, options.allowedSigners ?? '', manifest);
      }
      return reconfigure(
        runner,
        result,
        {
          version: manifest.version,
          config: desired ?? '',
          binaries: binariesOf(manifest, facts),
          systemd: state.systemd,
        },
        step,
      );
    }
    const run: InstallRun = {
      runner,
      options,
      result,
      state,
      probe: facts.probe,
      bundle: plan.bundle,
      image: plan.image,
      send: plan.send,
      binaries: plan.bundle.binaries ?? [],
      desired,
      unpacked: [],
      token: randomBytes(8).toString('hex'),
      deadline: 0,
      healthy: false,
      containerProblem: null,
      step,
    };
    for (const name of plan.steps) {
      // An unhealthy version is not container-checked, and is switched back instead of committed.
      if (name === 'containers' && !run.healthy) continue;
      step(name === 'commit' && !run.healthy ? 'rollback' : name);
      if ((await applyStep(name, run)) === 'stop') return result;
    }
    return result;
  }
}

/** What an install carries from one step to the next. */
interface InstallRun {
  runner: SshRunner;
  options: HostInstallOptions;
  result: HostResult;
  state: RemoteState;
  probe: ProbeReport;
  bundle: ManifestArtifact;
  image: ManifestArtifact | null;
  send: SendPlan;
  binaries: readonly ManifestBinary[];
  desired: string | null;
  /** Files of the bundle as unpacked on the board. */
  unpacked: string[];
  /** Ties the watchdog, the commit and the rollback to this install. */
  token: string;
  deadline: number;
  healthy: boolean;
  containerProblem: string | null;
  step: (name: string) => void;
}

const ROOT = { privileged: true } as const;

/** The board's facts: probe and layout (one round trip), a dead run's switch reverted, the active version's health. */
async function gatherFacts(
  runner: SshRunner,
  options: HostInstallOptions,
  step: (name: string) => void,
): Promise<HostFacts & { state: RemoteState }> {
  const { manifest } = options.dist;
  const [probe, layoutState] = await Promise.all([
    probeBoard(runner, options.registry, { installPath: layout.root }),
    readBoardState(runner),
  ]);
  let state = layoutState;
  // A board refused (no bundle it can run) gets no plan and is left as it is.
  if (!chooseBundle(manifest, probe).ok) return { probe, state, currentHealthy: false };
  step('plan');
  if (state.pending) {
    // A run died between switch and commit and its watchdog has not fired yet: revert now.
    step('revert-pending');
    const reverted = await runner.run('sh', ['-c', revertScript()], ROOT);
    if (!reverted.skipped) state = await readBoardState(runner);
  }
  if (state.reconfigurePending) {
    // A daemon.json change whose run died before its commit: its old settings back now, and its
    // watchdog (still asleep, or gone) ended, as the watchdog itself would have done.
    step('revert-reconfigure');
    const { version, token } = state.reconfigurePending;
    const reverted = await runner.run('sh', ['-c', revertReconfigureScript(token, version, state.systemd)], ROOT);
    if (!reverted.skipped) state = await readBoardState(runner);
  }
  // Whether the board already runs this build is decided from the board's own record of its
  // active version (written at its switch), never by running what this manifest names: the
  // manifest is not trusted yet here (no signature step has run on the board, and a dry run
  // must run nothing it names).
  const record = state.current === manifest.version ? await readVersionRecord(runner, state.current) : null;
  const currentHealthy =
    record !== null &&
    state.current !== null &&
    sameBinaries(record.binaries, binariesOf(manifest, { probe, state, currentHealthy: false })) &&
    (await healthy(runner, state.current, record.binaries, state.systemd));
  return { probe, state, currentHealthy };
}

/** The binaries of the bundle this board gets (none when it gets none). */
function binariesOf(manifest: Manifest, facts: HostFacts): readonly ManifestBinary[] {
  const choice = chooseBundle(manifest, facts.probe);
  return choice.ok ? (choice.bundle.binaries ?? []) : [];
}

/** Runs one planned step; 'stop' ends the install with the result as the step left it. */
async function applyStep(name: HostStepName, run: InstallRun): Promise<'next' | 'stop'> {
  const { runner, options, result } = run;
  const { manifest } = options.dist;
  switch (name) {
    case 'preflight':
      return preflight(run);
    case 'signature':
      // Before anything is sent: the signed SHA256SUMS must list the bundle with the hash the
      // board then requires of what arrives.
      await verifySignature(runner, options.dist.directory, run.bundle, options.allowedSigners ?? '', manifest);
      return 'next';
    case 'send':
      await sendBinaries(run);
      await sendImage(run);
      return 'next';
    case 'configure':
      await stageDaemonConfig(runner, {
        version: manifest.version,
        config: run.desired ?? '',
        current: run.state.current,
      });
      return 'next';
    case 'units':
      await installUnits(runner, options.dist, manifest);
      return 'next';
    case 'switch':
      await switchVersion(run);
      return 'next';
    case 'restart':
      await runner.run('sh', ['-c', restartDaemonsScript()], { ...ROOT, allowFailure: true });
      return 'next';
    case 'health':
      run.healthy = await healthy(
        runner,
        manifest.version,
        run.binaries,
        run.state.systemd,
        options.healthTimeoutSeconds,
      );
      return 'next';
    case 'containers': {
      if (!run.image?.image) return 'next';
      const containers = await containerHealth(
        runner,
        { file: probeImageFile(manifest.version), ...run.image.image },
        `${layout.bin}/docker`,
      );
      result.containers = containers.ok ? 'ok' : 'failed';
      if (!containers.ok) {
        run.healthy = false;
        run.containerProblem = containers.problem;
      }
      return 'next';
    }
    case 'commit':
      await (run.healthy ? commit(run) : rollBack(run));
      return 'stop';
  }
}

async function preflight(run: InstallRun): Promise<'next' | 'stop'> {
  const { runner, options, result } = run;
  const findings = preflightFindings(run.probe, run.bundle.size, layout.root);
  if (options.fix)
    for (const finding of findings) {
      if (!finding.autoFix) continue;
      run.step('fix');
      await applyCmdlineFix(runner, finding.autoFix.file, finding.autoFix.line);
      finding.message = `the memory cgroup is disabled; ${finding.autoFix.file} now enables it (the original kept as ${finding.autoFix.file}.crossdock-orig)`;
      finding.fix = 'reboot the board for it to take effect, then run again';
    }
  result.warnings = findings.filter((f) => f.severity === 'warning').map((f) => `${f.message}; ${f.fix}`);
  const blocking = findings.filter((f) => f.severity === 'error');
  if (blocking.length === 0) return 'next';
  result.status = 'failed';
  result.error = `${runner.host}: ${blocking.map((f) => f.message).join('; ')}`;
  result.hint = blocking.map((f) => f.fix).join('; ');
  return 'stop';
}

/**
 * Only the binaries the board's store lacks, where it holds some already; else the whole bundle,
 * whose verified binaries then go into the store for the next upgrade.
 */
async function sendBinaries(run: InstallRun): Promise<void> {
  const { runner, options, result, bundle } = run;
  if (run.send.kind === 'download') {
    if (await fetchOnBoard(runner, bundle, options, run.step)) return sendBundle(run, true);
    // The board could not reach the release: the link carries only what its store lacks.
    run.send = run.send.fallback;
  }
  if (run.send.kind === 'objects') {
    try {
      const sent = await sendObjects(runner, {
        bundle,
        distDirectory: options.dist.directory,
        version: options.dist.manifest.version,
        plan: run.send,
        onBytes: options.onBytes,
        archives: options.objectArchives,
      });
      result.bytesSent += sent.bytesSent;
      run.unpacked = sent.unpacked;
      return;
    } catch (error) {
      // A bundle with files beyond its binaries goes whole, as before.
      if (!(error instanceof BundleHasOtherFiles)) throw error;
    }
  }
  await sendBundle(
    run,
    run.state.incoming.includes(bundle.file) && (await fetchOnBoard(runner, bundle, options, run.step)),
  );
}

/** The bundle: from the board's incoming/ or the release when it has it, else streamed; hashed and unpacked on the board. */
async function sendBundle(run: InstallRun, onBoard: boolean): Promise<void> {
  const { runner, options, result, bundle } = run;
  const { manifest } = options.dist;
  const received = await runner.run(
    'sh',
    [
      '-c',
      receiveScript({
        incoming: `${layout.incoming}/${bundle.file}`,
        versionDirectory: `${layout.versions}/${manifest.version}`,
        sha256: bundle.sha256,
        size: bundle.size,
        streamed: !onBoard,
        objects: { directory: layout.objects, binaries: run.binaries.filter((b) => /^[0-9a-f]{64}$/.test(b.sha256)) },
      }),
    ],
    {
      ...ROOT,
      allowFailure: true,
      timeoutMs: 60 * 60_000,
      ...(onBoard
        ? {}
        : {
            inputFile: join(options.dist.directory, bundle.file),
            ...(options.onBytes ? { onInputProgress: options.onBytes } : {}),
          }),
    },
  );
  const arrived = /^received (\S*) (\S*) (\S*)$/m.exec(received.stdout);
  if (received.exitCode !== 0 || !arrived) {
    const [, sum = '', size = '', tar = ''] = arrived ?? [];
    throw new FailureError(
      arrived && sum !== bundle.sha256
        ? `${runner.host}: ${bundle.file} arrived with sha256 ${sum || 'none'}, not ${bundle.sha256}`
        : arrived && size !== String(bundle.size)
          ? `${runner.host}: ${bundle.file} arrived with ${size} bytes, not ${String(bundle.size)}`
          : `${runner.host}: ${bundle.file} did not unpack${tar ? ` (tar exited ${tar})` : ''}: ${received.stderr.trim().split('\n').at(-1) ?? ''}`,
      { hint: 'nothing was installed; run again (the transfer is retried from the start)' },
    );
  }
  if (!onBoard) result.bytesSent += bundle.size;
  run.unpacked = received.stdout
    .split('\n')
    .filter((line) => line.startsWith('file '))
    .map((line) => line.slice('file '.length));
}

/** The health-check image, checked against its sha256 on the board. */
async function sendImage(run: InstallRun): Promise<void> {
  const { runner, options, result, image } = run;
  if (!image) return;
  result.bytesSent += await deliver(runner, image, options, run.step);
  const imageFile = `${layout.incoming}/${image.file}`;
  const imageSum = await remoteSha256(runner, imageFile);
  if (imageSum !== image.sha256) {
    await runner.run('rm', ['-f', imageFile], ROOT);
    throw new FailureError(
      `${runner.host}: ${image.file} arrived with sha256 ${imageSum ?? 'none'}, not ${image.sha256}`,
      {
        hint: 'nothing was switched; run again (the transfer is retried from the start)',
      },
    );
  }
  await runner.run('cp', ['-f', imageFile, probeImageFile(options.dist.manifest.version)], ROOT);
}

/** Arms the watchdog and switches `current`, with the version's record for status and rollback. */
async function switchVersion(run: InstallRun): Promise<void> {
  const { runner, options, state, bundle, image } = run;
  const { manifest } = options.dist;
  run.deadline =
    options.watchdogSeconds ??
    watchdogDeadline({
      systemd: state.systemd,
      containers: state.systemd && !!image?.image,
      healthSeconds: options.healthTimeoutSeconds,
    });
  const record = `${JSON.stringify({ version: manifest.version, target: bundle.target, bundle: bundle.file, sha256: bundle.sha256, binaries: run.binaries, ...(image?.image ? { image: { file: probeImageFile(manifest.version), ...image.image } } : {}) }, null, 2)}\n`;
  await runner.run(
    'sh',
    [
      '-c',
      switchScript(
        manifest.version,
        run.unpacked,
        { token: run.token, seconds: run.deadline, systemd: state.systemd },
        new Set((bundle.binaries ?? []).filter((b) => b.plugin).map((b) => b.name)),
      ),
    ],
    // The version's record on standard input: a real build's is more than argv may carry.
    { ...ROOT, input: record },
  );
}

/** The watchdog may have fired while the checks ran (a slow board): commit acts only while `pending` is still ours. */
async function commit(run: InstallRun): Promise<void> {
  const { runner, options, result, state } = run;
  const { manifest } = options.dist;
  const doomed = pruneList(state, manifest.version, options.keep);
  // Synced before it is reported: after a power cut the boot check must not undo a commit.
  const committed = await runner.run('sh', ['-c', commitScript(run.token, doomed)], ROOT);
  result.health = 'ok';
  if (!committed.stdout.includes(PENDING_OURS)) {
    result.status = state.current ? 'rolled-back' : 'failed';
    result.activeVersion = state.current;
    result.error = tooLate(run, 'commit');
    result.hint = 'give the watchdog more time (watchdogSeconds) than the checks take, and install again';
    return;
  }
  result.status = 'installed';
  result.activeVersion = manifest.version;
}

/** Switched back once: by this run, or already by the watchdog (never twice, or `previous` would go two back). */
async function rollBack(run: InstallRun): Promise<void> {
  const { runner, result, state } = run;
  const { version } = run.options.dist.manifest;
  const why = `${version} failed its health check${run.containerProblem ? ` (${run.containerProblem})` : ''}`;
  result.health = 'failed';
  if (state.current) {
    await runner.run('sh', ['-c', revertWhilePending(run.token, state.systemd)], { ...ROOT, allowFailure: true });
    result.status = 'rolled-back';
    result.activeVersion = state.current;
    result.error = `${runner.host}: ${why}; switched back to ${state.current}`;
  } else {
    await runner.run('sh', ['-c', whilePending(run.token, 'rm -f current pending')], ROOT);
    result.status = 'failed';
    result.activeVersion = null;
    result.error = `${runner.host}: ${why}; nothing to switch back to`;
  }
  result.hint = 'crossdock fleet status shows each board; fix the build and install again';
}

function tooLate(run: InstallRun, what: string): string {
  return `${run.runner.host}: the watchdog switched back to ${run.state.current ?? 'nothing'} before the ${what} (its deadline, ${String(run.deadline)} s, passed during the checks)`;
}

/**
 * On the board: SHA256SUMS.sig is a signature by one of the allowed signers (ssh-keygen -Y,
 * namespace crossdock) and SHA256SUMS lists the bundle with the manifest's hash, which the board then
 * requires of the bundle that arrives.
 */
/**
 * The signature covers the whole dist, not only the bundle: the signed SHA256SUMS must list this
 * manifest.json (which names the version and every file's hash) and every file the board will get
 * from it (bundle, systemd units, health-check image) with the manifest's hash. The files
 * themselves were checked against the manifest on this machine (readDist) and on the board as they
 * arrive, so a unit or a version changed after signing is refused before a byte is sent.
 */
async function verifySignature(
  runner: SshRunner,
  distDirectory: string,
  bundle: { file: string; sha256: string },
  allowedSigners: string,
  manifest: Manifest,
) {
  const bundleFile = bundle.file;
  const local = (name: string) => join(distDirectory, name);
  if (!existsSync(local(SUMS_FILE)) || !existsSync(local(`${SUMS_FILE}.sig`)))
    throw new FailureError(
      `${runner.host}: the inventory asks for signed builds and ${distDirectory} has no ${SUMS_FILE}.sig`,
      {
        hint: 'set build.signingKey in crossdock.yaml and build again',
      },
    );
  const directory = `${layout.incoming}/check-${randomBytes(4).toString('hex')}`;
  await runner.run('mkdir', ['-p', directory], { privileged: true });
  try {
    await runner.putFile(local(SUMS_FILE), `${directory}/${SUMS_FILE}`, { privileged: true });
    await runner.putFile(local(`${SUMS_FILE}.sig`), `${directory}/${SUMS_FILE}.sig`, { privileged: true });
    await runner.putFile(allowedSigners, `${directory}/allowed_signers`, { privileged: true });
    await runner.putFile(local(MANIFEST_FILE), `${directory}/${MANIFEST_FILE}`, { privileged: true });
    const listed = manifest.artifacts.filter((a) => a.kind === 'unit' || a.kind === 'image');
    const script = boardScript('verify-signature', {
      DIRECTORY: directory,
      SUMS: SUMS_FILE,
      MANIFEST: MANIFEST_FILE,
      BUNDLE: `${bundle.sha256}  ${bundleFile}`,
      LISTED: listed.map((a) => `${a.sha256}  ${a.file}`).join('\n'),
    });
    const check = await runner.run('sh', ['-c', script], { privileged: true, allowFailure: true });
    if (check.exitCode !== 0)
      throw new FailureError(
        `${runner.host}: ${bundleFile}: ${(check.stdout + check.stderr).trim().split('\n')[0] ?? 'signature check failed'}`,
        {
          hint: "nothing was installed; publish builds signed by a key in the inventory's allowedSigners",
        },
      );
  } finally {
    await runner.run('rm', ['-rf', directory], { privileged: true, allowFailure: true });
  }
}

/** The kernel command line, still one line, replaced whole; the original is kept once. */
async function applyCmdlineFix(runner: SshRunner, file: string, line: string): Promise<void> {
  const f = shellQuote(file);
  await runner.run(
    'sh',
    [
      '-c',
      `set -e; [ -e ${f}.crossdock-orig ] || cp -p ${f} ${f}.crossdock-orig; cat > ${f}.new; mv -f ${f}.new ${f}; sync`,
    ],
    { privileged: true, input: `${line}\n` },
  );
}

/**
 * One artifact into incoming/: kept if already there with the right hash (a resumed run), else
 * downloaded by the board from the release when it can reach it, else sent. Returns bytes sent.
 */
async function deliver(
  runner: SshRunner,
  artifact: { file: string; sha256: string; size: number },
  options: HostInstallOptions,
  step: (name: string) => void,
): Promise<number> {
  if (await fetchOnBoard(runner, artifact, options, step)) return 0;
  return runner.putFile(join(options.dist.directory, artifact.file), `${layout.incoming}/${artifact.file}`, {
    privileged: true,
    ...(options.onBytes ? { onProgress: options.onBytes } : {}),
  });
}

/**
 * The artifact is in incoming/ with the right hash: left there by an interrupted run, or
 * downloaded now by the board from the release URL when there is one (anything short of the
 * right file is sent instead).
 */
async function fetchOnBoard(
  runner: SshRunner,
  artifact: { file: string; sha256: string; size: number },
  options: HostInstallOptions,
  step: (name: string) => void,
): Promise<boolean> {
  const incoming = `${layout.incoming}/${artifact.file}`;
  const url = options.downloadUrls?.get(artifact.file);
  if (url && (await remoteSha256(runner, incoming)) !== artifact.sha256) {
    step('download');
    // Redirects (GitHub's go to its object store) keep the scheme: never down to http or file.
    const scheme = new URL(url).protocol === 'http:' ? 'http' : 'https';
    await runner.run(
      'sh',
      ['-c', boardScript('download', { INCOMING: incoming, URL: url, SCHEME: scheme, MAX_SIZE: artifact.size })],
      { privileged: true, allowFailure: true, timeoutMs: 30 * 60_000 },
    );
  }
  return (await remoteSha256(runner, incoming)) === artifact.sha256;
}

/**
 * Health: each binary answers its smoke command with the first line the build recorded; where
 * systemd runs, dockerd answers on its socket with the server version of this build.
 */

async function installUnits(runner: SshRunner, dist: HostInstallOptions['dist'], manifest: Manifest): Promise<void> {
  for (const unit of manifest.artifacts.filter((a) => a.kind === 'unit')) {
    const name = unit.file.split('/').at(-1) ?? unit.file;
    await runner.putFile(join(dist.directory, unit.file), `${layout.units}/${name}`, {
      privileged: true,
      mode: '0644',
    });
  }
  await runner.run('sh', ['-c', 'getent group docker >/dev/null || groupadd --system docker'], { privileged: true });
  await runner.run('systemctl', ['enable', 'containerd', 'docker.socket', 'docker'], {
    privileged: true,
    allowFailure: true,
  });
}

/**
 * What to delete at commit, from the state read at the start (nothing else changed the versions
 * since): after the switch the new version is active and the old active one is previous.
 */
function pruneList(state: RemoteState, version: string, keep: number): string[] {
  const order = (a: string, b: string) =>
    semver.valid(a) && semver.valid(b) ? semver.compare(a, b) : a < b ? -1 : a > b ? 1 : 0;
  const previous = state.current && state.current !== version ? state.current : state.previous;
  const installed = [...new Set([...state.versions, version])];
  return versionsToPrune(installed, version, previous, keep, order);
}

/**
 * Before a switch: the new version's record, checked by its own dockerd where it has
 * --validate (23.0 and later), and a record for the running version if it has none yet, made
 * from the file as it is, so that switching back restores the configuration too
 * (scripts/stage-daemon-config.sh). A reconfigure keeps the file as it is as the way back.
 */
async function stageDaemonConfig(
  runner: SshRunner,
  change: { version: string; config: string; current: string | null; keepBefore?: boolean },
): Promise<void> {
  const check = await runner.run(
    'sh',
    [
      '-c',
      boardScript('stage-daemon-config', {
        VERSION: change.version,
        CURRENT: change.current ?? '',
        KEEP_BEFORE: change.keepBefore ?? false,
      }),
    ],
    { privileged: true, allowFailure: true, input: change.config },
  );
  if (check.exitCode === 3)
    throw new FailureError(
      `${runner.host}: dockerd --validate refuses the inventory's daemon settings: ${check.stdout.trim().split('\n').at(-1) ?? ''}`,
      { hint: 'fix daemon: in the inventory; nothing was switched' },
    );
  if (check.exitCode !== 0)
    throw new FailureError(
      `${runner.host}: could not stage the daemon settings: ${check.stderr.trim().split('\n').at(-1) ?? `exit ${String(check.exitCode)}`}`,
      { hint: 'nothing was switched; run again' },
    );
}

/**
 * Same version, new daemon.json: stage it as the version's record, apply it, restart, check;
 * if the engine is not healthy with it, the old file comes back and the daemons restart again.
 */
async function reconfigure(
  runner: SshRunner,
  result: HostResult,
  change: { version: string; config: string; binaries: readonly ManifestBinary[]; systemd: boolean },
  step: (name: string) => void,
): Promise<HostResult> {
  const root = { privileged: true } as const;
  step('configure');
  const token = randomBytes(8).toString('hex');
  await stageDaemonConfig(runner, { version: change.version, config: change.config, current: null, keepBefore: true });
  // Armed before the new settings take effect: if the link dies while dockerd restarts with
  // them, the board puts the old daemon.json back on its own, as the install's watchdog would.
  const deadline = watchdogDeadline({ systemd: change.systemd, containers: false });
  await runner.run(
    'sh',
    ['-c', reconfigureScript({ version: change.version, token, seconds: deadline, systemd: change.systemd })],
    root,
  );
  if (change.systemd) {
    step('restart');
    await runner.run('sh', ['-c', restartDaemonsScript()], { ...root, allowFailure: true });
  }
  step('health');
  if (await healthy(runner, change.version, change.binaries, change.systemd)) {
    step('commit');
    const committed = await runner.run('sh', ['-c', reconfigureCommitScript(token, change.version)], root);
    if (committed.stdout.includes(PENDING_OURS)) {
      result.status = 'reconfigured';
      return result;
    }
    result.status = 'rolled-back';
    result.error = `${runner.host}: the watchdog put the old daemon.json back before the commit (its deadline, ${String(deadline)} s, passed during the checks)`;
    result.hint = 'install again';
    return result;
  }
  step('rollback');
  await runner.run('sh', ['-c', revertReconfigureScript(token, change.version, change.systemd)], {
    ...root,
    allowFailure: true,
  });
  result.status = 'rolled-back';
  result.health = (await healthy(runner, change.version, change.binaries, change.systemd)) ? 'ok' : 'failed';
  result.error = `${runner.host}: ${change.version} is not healthy with the new daemon settings; the old daemon.json is back`;
  result.hint = 'fix daemon: in the inventory and install again';
  return result;
}
