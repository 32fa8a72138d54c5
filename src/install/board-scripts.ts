/**
 * The shell a board runs, pure: each function returns a whole script and touches nothing. The
 * scripts are files beside this module (scripts/*.sh, POSIX sh, shellcheck'ed by `npm run lint`):
 * each is sent with the layout and the shared library (scripts/lib.sh) in front of it, and its
 * inputs as shell variables, so a board needs nothing of crossdock's installed to run them, and a
 * package's maintainer scripts can run the same files with CROSSDOCK_LIB naming the library.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shellQuote } from '../exec/runner.js';
import { packageRoot } from '../package-root.js';
import { type BoardLayout, boardLayout } from './plan.js';

/** Where an install lives on the board. */
export const layout = boardLayout();

/** What whilePending prints when `pending` was still the install's and the body ran. */
export const PENDING_OURS = 'crossdock-pending-ours';

/** A daemon.json change waiting for its commit (version, token), as `pending` is for a switch. */
export const RECONFIGURE_PENDING = 'reconfigure-pending';

/** Where the scripts that fill incoming/, objects/ and versions/ queue (lib.sh's step_lock). */
export const STEP_LOCK_FILE = '/run/crossdock-step.lock';

/** A remote API change waiting for its commit (its token on the second line), as `pending` is for a switch. */
export const TLS_PENDING = 'tls-pending';

/** What the board lock prints once it holds the board. */
export const BOARD_LOCK_HELD = 'crossdock-board-lock-held';

/** The board lock: in /run, so taking it writes nothing under the install root before preflight. */
export const BOARD_LOCK_FILE = '/run/crossdock-install.lock';

/** The unit that settles, at boot and before the engine starts, a switch the power cut left uncommitted. */
export const BOOT_CHECK_UNIT = 'crossdock-boot-check.service';

const WATCHDOG_RUN = '/run/crossdock-watchdog-';

/** The board scripts crossdock ships (scripts/NAME.sh). */
export type BoardScriptName =
  | 'assemble'
  | 'board-lock'
  | 'boot-check'
  | 'commit'
  | 'container-health'
  | 'probe'
  | 'download'
  | 'receive'
  | 'reconfigure'
  | 'server-check'
  | 'smoke'
  | 'stage-daemon-config'
  | 'state'
  | 'swap'
  | 'swarm-join'
  | 'switch'
  | 'tls-apply'
  | 'tls-disable'
  | 'tls-state'
  | 'verify-signature';

const texts = new Map<string, string>();

/** The libraries a script may source: lib.sh changes a board, facts.sh only prints what it sees. */
type Library = 'lib' | 'facts';

/** The text of scripts/NAME.sh, read once. */
function scriptText(name: BoardScriptName | Library): string {
  let text = texts.get(name);
  if (text === undefined) {
    text = readFileSync(join(packageRoot(), 'src', 'install', 'scripts', `${name}.sh`), 'utf8');
    texts.set(name, text);
  }
  return text;
}

/**
 * The layout and names lib.sh reads, exported: the watchdog's own shell inherits them (and the
 * text the watchdog runs carries them anyway, since systemd-run passes no environment).
 */
function layoutVariables(at: BoardLayout): string {
  const variables: Record<string, string> = {
    CROSSDOCK_ROOT: at.root,
    CROSSDOCK_BIN: at.bin,
    CROSSDOCK_PLUGINS: at.plugins,
    CROSSDOCK_UNITS: at.units,
    CROSSDOCK_DAEMON_CONFIG: at.daemonConfig,
    CROSSDOCK_TLS: at.tls,
    CROSSDOCK_DROP_IN: at.dropIn,
    CROSSDOCK_PENDING_OURS: PENDING_OURS,
    CROSSDOCK_RECONFIGURE: RECONFIGURE_PENDING,
    CROSSDOCK_STEP_LOCK: STEP_LOCK_FILE,
    CROSSDOCK_BOARD_LOCK: BOARD_LOCK_FILE,
    CROSSDOCK_WATCHDOG_RUN: WATCHDOG_RUN,
  };
  return Object.entries(variables)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}`)
    .join('\n');
}

/** Inputs of a script: shell variables, each value quoted as one word. */
type Inputs = Record<string, string | number | boolean>;

function assignments(inputs: Inputs): string[] {
  return Object.entries(inputs).map(
    ([name, value]) => `${name}=${shellQuote(typeof value === 'boolean' ? (value ? '1' : '0') : String(value))}`,
  );
}

/**
 * A whole script: the layout, the library, the inputs, then `body` (a script file's text, or one
 * line calling the library's functions). Self-contained: what the watchdog runs is one of these.
 */
export function withLibrary(
  body: string,
  inputs: Inputs = {},
  at: BoardLayout = layout,
  libraries: readonly Library[] = ['lib'],
): string {
  return [layoutVariables(at), ...libraries.map(scriptText), ...assignments(inputs), body].join('\n');
}

/**
 * The libraries a script sources, as its own `# shellcheck source=` lines say: a fact script gets
 * facts.sh alone, so what only looks at a board carries nothing that could change it. Pure.
 */
export function librariesOf(script: string): Library[] {
  return [...script.matchAll(/^# shellcheck source=(lib|facts)\.sh$/gm)].map((match) => match[1] as Library);
}

/** scripts/NAME.sh as a whole script with its inputs (on a board laid out as `at`). Pure. */
export function boardScript(name: BoardScriptName, inputs: Inputs = {}, at: BoardLayout = layout): string {
  const text = scriptText(name);
  return withLibrary(text, inputs, at, librariesOf(text));
}

/** One line per entry, for the list inputs the scripts read with `read` or split on newlines. */
function lines(entries: readonly string[]): string {
  return entries.join('\n');
}

/** The boot check's inputs where systemd runs (the switch and the reconfigure put it in place). */
function bootCheckInputs(systemd: boolean): Inputs {
  return systemd ? { BOOT_UNIT_NAME: BOOT_CHECK_UNIT, BOOT_UNIT: bootCheckUnit(), BOOT_CHECK: bootCheckScript() } : {};
}

/**
 * Switch `current` by renaming a new symlink over it (atomic), remember the old one as
 * `previous`, link the binaries into /usr/local/bin once (they point at `current`), and leave a
 * watchdog that reverts unless `pending` is gone by then (scripts/switch.sh).
 */
export function switchScript(
  version: string,
  binaries: readonly string[],
  watchdog: { token: string; seconds: number; systemd: boolean },
  /** The binaries that are docker CLI plugins: linked into the CLI's plugin directory instead. */
  plugins: ReadonlySet<string> = new Set(),
): string {
  const { token, seconds, systemd } = watchdog;
  return boardScript('switch', {
    VERSION: version,
    TOKEN: token,
    WATCHDOG_SECONDS: seconds,
    SYSTEMD: systemd,
    // A watchdog that reverts on a board running systemd restarts the daemons too: the link
    // alone would leave the new build running until the next restart.
    WATCHDOG_ACTION: revertWhilePending(token, systemd),
    BINARIES: lines(binaries),
    PLUGINS: lines(binaries.filter((b) => plugins.has(b))),
    ...bootCheckInputs(systemd),
  });
}

/** Back to what `pending` names, only while it is still this install's; the daemons restarted where systemd runs. */
export function revertWhilePending(token: string, systemd: boolean): string {
  return whilePending(token, systemd ? 'revert; restart_daemons' : 'revert');
}

/**
 * The dead-man timer alone (lib.sh's watchdog): it runs `action`, a whole script, unless the
 * commit disarms it in time; by default, the switch back to what `pending` names.
 */
export function watchdogScript(
  token: string,
  seconds: number,
  systemd: boolean,
  action = revertWhilePending(token, systemd),
): string {
  return withLibrary(`watchdog "$TOKEN" "$WATCHDOG_SECONDS" "$SYSTEMD" "$WATCHDOG_ACTION"`, {
    TOKEN: token,
    WATCHDOG_SECONDS: seconds,
    SYSTEMD: systemd,
    WATCHDOG_ACTION: action,
  });
}

/** Where a board without systemd records its watchdog sleeper's process group. */
export function watchdogPidFile(token: string): string {
  return `${WATCHDOG_RUN}${token}.pid`;
}

/**
 * Runs `body` (a line of the library's functions) in the install root only while `file` still
 * names this install's token, under the lock the watchdog, the commit and the rollback all take:
 * of the three, exactly one acts on a change, and it prints PENDING_OURS.
 */
export function whilePending(token: string, body: string, root = layout.root, file = 'pending'): string {
  return withLibrary(
    `while_pending "$TOKEN" "$PENDING_FILE" "$BODY"`,
    { TOKEN: token, PENDING_FILE: file, BODY: body },
    { ...layout, root },
  );
}

/** The commit of a switch (scripts/commit.sh): pending gone, the pruned versions removed, the watchdog disarmed. */
export function commitScript(token: string, prune: readonly string[]): string {
  return boardScript('commit', { TOKEN: token, PRUNE: prune.join(' ') });
}

/** A daemon.json change undone while it is still this run's: the old file back, the daemons restarted, the watchdog ended. */
export function revertReconfigureScript(token: string, version: string, systemd: boolean): string {
  return whilePending(
    token,
    `restore_daemon_config_before ${shellQuote(version)} ${systemd ? '1' : '0'}; disarm ${shellQuote(token)}`,
    layout.root,
    RECONFIGURE_PENDING,
  );
}

/** What a daemon.json change's watchdog runs: the old file back, the daemons restarted where systemd runs. */
export function reconfigureWatchdogAction(token: string, version: string, systemd: boolean): string {
  return whilePending(
    token,
    `restore_daemon_config_before ${shellQuote(version)} ${systemd ? '1' : '0'}`,
    layout.root,
    RECONFIGURE_PENDING,
  );
}

/**
 * A daemon.json change armed and applied (scripts/reconfigure.sh): pending under `token`, the
 * watchdog that puts the old file back, then the new file in place.
 */
export function reconfigureScript(change: {
  version: string;
  token: string;
  seconds: number;
  systemd: boolean;
}): string {
  return boardScript('reconfigure', {
    VERSION: change.version,
    TOKEN: change.token,
    WATCHDOG_SECONDS: change.seconds,
    SYSTEMD: change.systemd,
    WATCHDOG_ACTION: reconfigureWatchdogAction(change.token, change.version, change.systemd),
    ...bootCheckInputs(change.systemd),
  });
}

/** The commit of a daemon.json change, only while it is still this run's. */
export function reconfigureCommitScript(token: string, version: string): string {
  return whilePending(
    token,
    `rm -f "$CROSSDOCK_RECONFIGURE" ${shellQuote(`versions/${version}.daemon.json.before`)}; disarm ${shellQuote(token)}; sync_root`,
    layout.root,
    RECONFIGURE_PENDING,
  );
}

/**
 * The remote API's new files (a tar on standard input) put in place with a way back
 * (scripts/tls-apply.sh): the same pending record, watchdog and boot check as a switch, so a link
 * cut while dockerd restarts with them leaves the board on its old certificates. `systemd` is
 * false only where a test has none (the watchdog is then the sleeper).
 */
export function tlsApplyScript(
  change: { token: string; seconds: number; docker: string; awaitTries: number; systemd?: boolean },
  at: BoardLayout = layout,
): string {
  const systemd = change.systemd ?? true;
  return boardScript(
    'tls-apply',
    {
      TOKEN: change.token,
      WATCHDOG_SECONDS: change.seconds,
      SYSTEMD: systemd,
      WATCHDOG_ACTION: tlsWatchdogAction(change.token, systemd, at),
      DOCKER: change.docker,
      AWAIT_TRIES: change.awaitTries,
      ...bootCheckInputs(systemd),
    },
    at,
  );
}

/** What a remote API change's watchdog runs: the old files back, dockerd restarted where systemd runs. */
export function tlsWatchdogAction(token: string, systemd: boolean, at: BoardLayout = layout): string {
  const body = `tls_revert${systemd ? '; systemctl daemon-reload; systemctl restart docker' : ''}`;
  return withLibrary(`while_pending "$TOKEN" ${TLS_PENDING} ${shellQuote(body)}`, { TOKEN: token }, at);
}

/** The daemons restarted (systemd), their start limits reset first. */
export function restartDaemonsScript(): string {
  return withLibrary('restart_daemons');
}

/** How long dockerd and containerd have to answer after the restart, unless the config says otherwise. */
export const DEFAULT_HEALTH_SECONDS = 90;

/** The longest each step between switch and commit may take, in seconds (their timeouts below). */
export const GUARDED_STEP_SECONDS = { restart: 120, smoke: 120, containers: 15 * 60, margin: 60 };

/**
 * The watchdog's deadline: as long as the steps it guards may take on this board (a slow Pi's
 * health and container checks outlast a fixed 300 s). Pure.
 */
export function watchdogDeadline(board: { systemd: boolean; containers: boolean; healthSeconds?: number }): number {
  const steps = GUARDED_STEP_SECONDS;
  const server = serverCheckSeconds(board.healthSeconds ?? DEFAULT_HEALTH_SECONDS);
  const guarded =
    steps.smoke +
    steps.margin +
    (board.systemd ? steps.restart + server : 0) +
    (board.containers ? steps.containers : 0);
  return guarded;
}

/** Back to what `pending` (or else `previous`) names, atomically (lib.sh's revert). */
export function revertScript(): string {
  return withLibrary('revert');
}

/** Where a version's health-check image stays on the board, for `fleet status --deep`. */
export function probeImageFile(version: string): string {
  return `${layout.versions}/${version}.probe.tar`;
}

/** The server check's own timeout: the wait for an answer plus the docker and ctr calls after it. Pure. */
export function serverCheckSeconds(healthSeconds: number): number {
  return healthSeconds + 60;
}

/**
 * A bundle in, hashed, unpacked into VERSION.partial and renamed only when it is the manifest's,
 * its binaries linked into the object store (scripts/receive.sh). Prints `received SHA SIZE
 * TAR_STATUS`, then the unpacked files. (The version's record goes with the switch: stdin is the
 * bundle's here.)
 */
export function receiveScript(o: {
  incoming: string;
  versionDirectory: string;
  sha256: string;
  size: number;
  /** The bundle comes on standard input; else it is already at `incoming`. */
  streamed: boolean;
  /** The object store, and the binaries (with the manifest's hashes) to link into it. */
  objects?: { directory: string; binaries: readonly { name: string; sha256: string }[] };
}): string {
  return boardScript('receive', {
    INCOMING: o.incoming,
    VERSION_DIR: o.versionDirectory,
    BUNDLE_SHA256: o.sha256,
    BUNDLE_SIZE: o.size,
    STREAMED: o.streamed,
    OBJECT_DIR: o.objects?.directory ?? layout.objects,
    OBJECTS: lines((o.objects?.binaries ?? []).map((b) => `${b.sha256} ${b.name}`)),
  });
}

/**
 * The other way in (scripts/assemble.sh): only the binaries the store lacks arrive; the version
 * is made of hard links to the store, each hashed on the board first. Prints `assembled OK|bad
 * NAME SHA`, then the version's files. Pure.
 */
export function assembleScript(o: {
  versionDirectory: string;
  binaries: readonly { name: string; sha256: string; size: number }[];
  /** Some binaries come on standard input. */
  streamed: boolean;
}): string {
  return boardScript('assemble', {
    VERSION_DIR: o.versionDirectory,
    OBJECT_DIR: layout.objects,
    STREAMED: o.streamed,
    BINARIES: lines(o.binaries.map((b) => `${b.sha256} ${String(b.size)} ${b.name}`)),
  });
}

/** The prune of a commit alone, run in the install root (lib.sh's prune_versions). Pure. */
export function pruneScript(versions: readonly string[]): string {
  return withLibrary(`prune_versions ${versions.map(shellQuote).join(' ')}`);
}

/** The daemon.json a version runs with, beside it: `versions/<v>.daemon.json`; empty = none. */
export function daemonRecord(version: string): string {
  return `${layout.versions}/${version}.daemon.json`;
}

/** What the boot check runs (scripts/boot-check.sh), as the file the boot check unit starts. Pure. */
export function bootCheckScript(): string {
  return `#!/bin/sh\n# Written by crossdock: undoes a switch or a daemon.json change the board went down before committing.\n${boardScript('boot-check')}`;
}

/** Ordered before containerd and docker, so the engine never starts on a version nobody committed. Pure. */
export function bootCheckUnit(): string {
  return [
    '[Unit]',
    'Description=crossdock: undo a Docker engine switch left uncommitted when the board went down',
    'DefaultDependencies=no',
    'After=local-fs.target',
    'Before=containerd.service docker.socket docker.service sysinit.target',
    `ConditionPathExists=|${layout.root}/pending`,
    `ConditionPathExists=|${layout.root}/${RECONFIGURE_PENDING}`,
    `ConditionPathExists=|${layout.root}/${TLS_PENDING}`,
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=/bin/sh ${layout.root}/boot-check`,
    '',
    '[Install]',
    'WantedBy=sysinit.target',
    '',
  ].join('\n');
}

/** One change at a time on a board (board-lock.ts, scripts/board-lock.sh). Pure. */
export function boardLockScript(): string {
  return boardScript('board-lock', { HELD: BOARD_LOCK_HELD });
}
