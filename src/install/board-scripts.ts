/**
 * The shell a board runs for an install, pure: each function returns a script and touches
 * nothing. The install, the watchdog and the day-2 operations (status, rollback, swarm) share them.
 */
import { shellQuote } from '../exec/runner.js';
import { boardLayout } from './plan.js';

/** Where an install lives on the board. */
export const layout = boardLayout();

/** The install root's file system to disk (sync -f where coreutils has it, else everything). */
export const SYNC_ROOT = 'sync -f . 2>/dev/null || sync';

/**
 * A failed version may have used up docker.service's start limit (Restart=always,
 * StartLimitBurst=3): without reset-failed the version switched back to would not start either.
 */
export const RESTART_DAEMONS =
  'systemctl daemon-reload; systemctl reset-failed docker.service docker.socket containerd.service 2>/dev/null; systemctl restart containerd docker.socket docker';

/**
 * Switch `current` by renaming a new symlink over it (atomic), remember the old one as
 * `previous`, link the binaries into /usr/local/bin once (they point at `current`), and leave a
 * watchdog that reverts unless `pending` is gone by then.
 */
export function switchScript(
  version: string,
  binaries: readonly string[],
  watchdog: { token: string; seconds: number; systemd: boolean },
  /** The binaries that are docker CLI plugins: linked into the CLI's plugin directory instead. */
  plugins: ReadonlySet<string> = new Set(),
): string {
  const { token, systemd } = watchdog;
  const links = binaries
    .map(
      (b) =>
        `ln -sfn ${shellQuote(`${layout.current}/${b}`)} ${shellQuote(`${plugins.has(b) ? layout.plugins : layout.bin}/${b}`)}`,
    )
    .join('; ');
  return [
    'set -e',
    `cd ${shellQuote(layout.root)}`,
    // What this version is and how to check it (standard input), for fleet status and rollback.
    `cat > ${shellQuote(`versions/${version}.json.new`)} && mv -f ${shellQuote(`versions/${version}.json.new`)} ${shellQuote(`versions/${version}.json`)}`,
    'old=$(readlink current || true)',
    'oldprevious=$(readlink previous || true)',
    // The token ties the watchdog to this install: an older watchdog still asleep leaves it alone.
    `printf '%s\\n%s\\n%s\\n' "$old" ${token} "$oldprevious" > pending.new && mv -f pending.new pending`,
    // The timer below is PID 1's and dies with a power cut; this unit reverts at the next boot.
    ...(systemd ? [bootCheckSetupScript()] : []),
    // A watchdog that reverts on a board running systemd restarts the daemons too: the link
    // alone would leave the new build running until the next restart.
    watchdogScript(token, watchdog.seconds, systemd),
    // The new version's files reach the disk before any link names them: a power cut right after
    // the switch must not leave `current` pointing at empty files.
    SYNC_ROOT,
    `ln -sfn ${shellQuote(`versions/${version}`)} current.new && mv -T current.new current`,
    restoreDaemonConfigScript(shellQuote(version)),
    `if [ -n "$old" ] && [ "$old" != ${shellQuote(`versions/${version}`)} ]; then ln -sfn "$old" previous.new && mv -T previous.new previous; fi`,
    `mkdir -p ${shellQuote(layout.bin)}${plugins.size > 0 ? ` ${shellQuote(layout.plugins)}` : ''}`,
    // Plugin links, like the others, name `current` and stay: a version without a plugin leaves
    // its link dangling (the CLI says the command is unknown), and a switch back brings it back.
    links,
  ].join('\n');
}

/**
 * The dead-man timer that switches back unless the install commits in time. Where systemd runs it
 * is a transient timer of PID 1 (systemd-run), which outlives the SSH session and logind's
 * KillUserProcesses; elsewhere, or if systemd-run fails, a detached sleeper. Pure.
 */
export function watchdogScript(
  token: string,
  seconds: number,
  systemd: boolean,
  // What it does when it fires: by default, switch back to what `pending` names.
  revert = whilePending(token, `${revertScript()}${systemd ? `; ${RESTART_DAEMONS}` : ''}`),
): string {
  // The sleeper leads a process group of its own (setsid), recorded so the commit can end it
  // rather than leave it asleep for minutes after every install.
  const pid = shellQuote(watchdogPidFile(token));
  const sleeper = `(setsid sh -c ${shellQuote(`echo $$ > ${pid}; sleep ${String(seconds)}; rm -f ${pid}; ${revert}`)} </dev/null >/dev/null 2>&1 &)`;
  if (!systemd) return sleeper;
  return `systemd-run --quiet --collect --unit=${shellQuote(`crossdock-watchdog-${token}`)} --on-active=${String(seconds)}s --timer-property=AccuracySec=1s /bin/sh -c ${shellQuote(revert)} >/dev/null 2>&1 || ${sleeper}`;
}

/** Where a board without systemd records its watchdog sleeper's process group. */
export function watchdogPidFile(token: string): string {
  return `/run/crossdock-watchdog-${token}.pid`;
}

/** The commit disarms its systemd timer, or ends its sleeper's process group (sh and its sleep). Pure. */
export function disarmScript(token: string): string {
  return [
    `{ command -v systemctl >/dev/null 2>&1 && systemctl stop ${shellQuote(`crossdock-watchdog-${token}.timer`)} >/dev/null 2>&1; :; }`,
    endSleeperScript(shellQuote(token)),
  ].join('; ');
}

/** Ends the sleeper of the watchdog whose token the shell word names, if it sleeps still. Pure. */
function endSleeperScript(tokenWord: string): string {
  // The file's name is the token's: a word checked to be hex before it names a path.
  return `{ t=${tokenWord}; case $t in *[!0-9a-f]*|'') ;; *) f=/run/crossdock-watchdog-$t.pid; if [ -s "$f" ]; then p=$(cat "$f"); rm -f "$f"; kill -TERM "-$p" 2>/dev/null; fi ;; esac; :; }`;
}

/** What whilePending prints when `pending` was still the install's and the body ran. */
export const PENDING_OURS = 'crossdock-pending-ours';

/**
 * Runs `body` in the install root only while `pending` still names this install's token, under
 * a lock (flock, where the board has it) that the watchdog, the commit and the rollback all take:
 * of the three, exactly one acts on a switch.
 */
export function whilePending(token: string, body: string, root = layout.root, file = 'pending'): string {
  return [
    `cd ${shellQuote(root)} || exit 1`,
    'exec 9>.pending.lock',
    'command -v flock >/dev/null 2>&1 && flock 9',
    `if [ "$(sed -n 2p ${shellQuote(file)} 2>/dev/null)" = ${shellQuote(token)} ]; then { ${body}; }; echo ${PENDING_OURS}; fi`,
  ].join('\n');
}

/** A daemon.json change waiting for its commit (version, token), as `pending` is for a switch. */
export const RECONFIGURE_PENDING = 'reconfigure-pending';

/**
 * Back to the daemon.json a version ran with before a change (kept as `<record>.before`), and
 * the daemons restarted; the reconfigure's rollback and its watchdog both run it. Pure.
 */
export function restoreDaemonConfigBefore(versionExpression: string, systemd: boolean): string {
  // A shell word for the version: quoted by the caller, or "$v" at boot.
  const record = `${shellQuote(layout.versions)}/${versionExpression}.daemon.json`;
  return [
    `mv -f ${record}.before ${record}`,
    restoreDaemonConfigScript(versionExpression),
    `rm -f ${RECONFIGURE_PENDING}`,
    ...(systemd ? [RESTART_DAEMONS] : []),
  ].join('; ');
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

/** Back to what `pending` (or else `previous`) names, atomically; used by rollback and the watchdog. */
export function revertScript(): string {
  return [
    `cd ${shellQuote(layout.root)} || exit 1`,
    // pending: the current and previous links as they were before the switch, and the token of
    // the watchdog that guards it, whose sleeper has nothing left to do once this reverts.
    `if [ -e pending ]; then target=$(sed -n 1p pending); before=$(sed -n 3p pending); ${endSleeperScript('"$(sed -n 2p pending)"')}; else target=$(readlink previous || true); before=; fi`,
    'if [ -n "$target" ]; then ln -sfn "$target" current.new && mv -T current.new current; else rm -f current; fi',
    `if [ -n "$target" ]; then ${restoreDaemonConfigScript('"${target##*/}"')}; fi`,
    'if [ -e pending ]; then if [ -n "$before" ]; then ln -sfn "$before" previous.new && mv -T previous.new previous; else rm -f previous; fi; fi',
    'rm -f pending',
  ].join('; ');
}

/** Where a version's health-check image stays on the board, for `fleet status --deep`. */
export function probeImageFile(version: string): string {
  return `${layout.versions}/${version}.probe.tar`;
}

/** The server check's own timeout: the wait for an answer plus the docker and ctr calls after it. Pure. */
export function serverCheckSeconds(healthSeconds: number): number {
  return healthSeconds + 60;
}

/** Where the scripts that fill incoming/, objects/ and versions/ queue (STEP_LOCK). */
export const STEP_LOCK_FILE = '/run/crossdock-step.lock';

/**
 * The first lines of a script that writes scratch names (`*.partial`, `objects/.incoming`): it
 * waits for any such script still running, so one a dead run left behind on the board (the link
 * cut, crossdock killed: the board lock is free again, the script is not done) finishes before
 * the next run's starts, instead of the two sharing a scratch name.
 */
export const STEP_LOCK = [
  `exec 7>${STEP_LOCK_FILE} || exit 1`,
  `if command -v flock >/dev/null 2>&1; then flock -w 3600 7 || { echo "a crossdock step still runs on this board (${STEP_LOCK_FILE})"; exit 75; }; fi`,
].join('\n');

/**
 * On the board, in one round trip: the bundle (from standard input, or from incoming/ when it is
 * there already) goes through tee to its incoming file, to sha256sum through a fifo, and to tar,
 * which unpacks into VERSION.partial; only when the hash and size are the manifest's do the
 * file and the directory take their real names. An interrupted or corrupt transfer leaves only
 * .partial names, which the next run removes. The version's binaries then go into the object
 * store by their manifest hashes (hard links: no copy, no second hash: the bundle's hash vouched
 * for them, and assembleScript hashes every entry again before a version is made of it), so the
 * next upgrade sends only what changed. Prints `received SHA SIZE TAR_STATUS`, then the unpacked
 * files. (The version's record goes with the switch: stdin is the bundle's here.)
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
  const store = o.objects && o.objects.binaries.length > 0 ? o.objects : null;
  return [
    STEP_LOCK,
    `i=${shellQuote(o.incoming)}; d=${shellQuote(o.versionDirectory)}`,
    'mkdir -p "${i%/*}" "${d%/*}" || exit 1',
    `rm -rf "$d.partial" "$i.fifo" "$i.sum"${o.streamed ? ' "$i.partial"' : ''}`,
    'mkdir "$d.partial" && mkfifo "$i.fifo" || exit 1',
    // The hasher must not hold the step lock: if tee never opens the fifo (a cut link), it would
    // wait on it for good, and the lock with it.
    'sha256sum < "$i.fifo" > "$i.sum" 7>&- & hash=$!',
    o.streamed
      ? 'tee "$i.partial" "$i.fifo" | tar -xzf - -C "$d.partial" --strip-components=1 --no-same-owner; tar=$?'
      : 'tee "$i.fifo" < "$i" | tar -xzf - -C "$d.partial" --strip-components=1 --no-same-owner; tar=$?',
    'wait $hash',
    `sum=$(cut -c1-64 "$i.sum" 2>/dev/null); size=$(wc -c < "$i${o.streamed ? '.partial' : ''}" | tr -d ' ')`,
    'rm -f "$i.fifo" "$i.sum"',
    'echo "received ${sum:--} ${size:--} $tar"',
    `if [ "$tar" != 0 ] || [ "$sum" != ${shellQuote(o.sha256)} ] || [ "$size" != ${shellQuote(String(o.size))} ]; then rm -rf "$d.partial"${o.streamed ? ' "$i.partial"' : ''}; exit 3; fi`,
    ...(o.streamed ? ['mv -f "$i.partial" "$i"'] : []),
    // A version's folder is flat whatever the bundle's layout: its CLI plugins (docker/cli-plugins/)
    // sit beside the other binaries, where the store, the health check and the links find them.
    'if [ -d "$d.partial/cli-plugins" ]; then mv -f "$d.partial"/cli-plugins/* "$d.partial"/ && rmdir "$d.partial/cli-plugins" || { rm -rf "$d.partial"; exit 1; }; fi',
    'rm -rf "$d" && mv "$d.partial" "$d" || exit 1',
    // The store is an optimisation: a link that fails costs the next upgrade bytes, not this install.
    ...(store
      ? [
          `o=${shellQuote(store.directory)}; mkdir -p "$o"`,
          ...store.binaries.map(
            // Read-only: the store's inode is every version's binary, so nothing writes through it.
            ({ name, sha256 }) =>
              `{ [ -e "$o"/${sha256} ] || ln -f "$d"/${shellQuote(name)} "$o"/${sha256} 2>/dev/null; chmod a-w "$o"/${sha256} 2>/dev/null; }`,
          ),
        ]
      : []),
    'ls -1 "$d" | sed "s/^/file /"',
  ].join('\n');
}

/**
 * The other way in: only the binaries the store lacks arrive (a gzip'd tar of files named by
 * their sha256, on standard input); the version is then made of hard links to the store. Every
 * binary of the version, sent now or kept from before, is hashed on the board and must be the
 * manifest's before the directory takes its name; a mismatch leaves only .partial names. Prints
 * `assembled OK|bad NAME SHA`, then the version's files. Pure.
 */
export function assembleScript(o: {
  versionDirectory: string;
  binaries: readonly { name: string; sha256: string; size: number }[];
  /** Some binaries come on standard input. */
  streamed: boolean;
}): string {
  const store = shellQuote(layout.objects);
  const check = ({ name, sha256, size }: { name: string; sha256: string; size: number }) =>
    [
      `f=${store}/${sha256}; [ -e "$n/${sha256}" ] && f="$n/${sha256}"`,
      `if [ "$(wc -c < "$f" | tr -d ' ')" != ${shellQuote(String(size))} ] || [ "$(sha256sum < "$f" | cut -c1-64)" != ${shellQuote(sha256)} ]; then echo assembled bad ${shellQuote(name)} "$(sha256sum < "$f" 2>/dev/null | cut -c1-64)"; [ "$f" = ${store}/${sha256} ] && rm -f "$f"; rm -rf "$n" "$d.partial"; exit 3; fi`,
      `[ "$f" = ${store}/${sha256} ] || mv -f "$f" ${store}/${sha256}`,
      `ln -f ${store}/${sha256} "$d.partial"/${shellQuote(name)} && chmod 0555 "$d.partial"/${shellQuote(name)} || exit 1`,
    ].join('\n');
  return [
    STEP_LOCK,
    `d=${shellQuote(o.versionDirectory)}; n=${store}/.incoming`,
    `mkdir -p ${store} "\${d%/*}" || exit 1`,
    'rm -rf "$n" "$d.partial" && mkdir "$n" "$d.partial" || exit 1',
    ...(o.streamed
      ? ['tar -xzf - -C "$n" --no-same-owner || { echo "assembled tar $?"; rm -rf "$n" "$d.partial"; exit 3; }']
      : []),
    ...o.binaries.map(check),
    'rm -rf "$n"',
    'rm -rf "$d" && mv "$d.partial" "$d" || exit 1',
    'echo assembled OK',
    'ls -1 "$d" | sed "s/^/file /"',
  ].join('\n');
}

/**
 * At commit, in the install root: the versions the plan pruned, each with its record, daemon
 * settings and health-check image, but never what `current` or `previous` resolve to now,
 * whatever changed them since the facts were read. Pure.
 */
export function pruneScript(versions: readonly string[]): string {
  if (versions.length === 0) return ':';
  return [
    `for v in ${versions.map(shellQuote).join(' ')}; do`,
    '  case " $(readlink current) $(readlink previous) " in *" versions/$v "*) continue ;; esac',
    '  rm -rf "versions/$v" "versions/$v.json" "versions/$v.daemon.json" "versions/$v.probe.tar"',
    'done',
  ].join('\n');
}

/** Store entries no version links any more (a link count of one): removed with the versions pruned. Pure. */
export function collectObjectsScript(): string {
  return `{ [ -d ${shellQuote(layout.objects)} ] && find ${shellQuote(layout.objects)} -maxdepth 1 -type f -links 1 -delete; :; }`;
}

/**
 * At commit: the bundles and images in incoming/ are in the version directory, the store and the
 * probe image by now, and a Pi's SD card would otherwise keep one bundle per upgrade. Kept only
 * until then, so that an interrupted or rolled-back run resumes without sending them again. Pure.
 */
export function clearIncomingScript(): string {
  // After any step a dead run left on the board is done (STEP_LOCK): its scratch names go too,
  // fifos and check folders included, so nothing of an interrupted run outlives the next commit.
  // Never waited for: the commit runs against the watchdog's deadline. A step still running
  // keeps its scratch names until a later commit finds the lock free.
  return [
    `{ exec 7>${STEP_LOCK_FILE}; if ! command -v flock >/dev/null 2>&1 || flock -n 7; then`,
    `[ -d ${shellQuote(layout.incoming)} ] && find ${shellQuote(layout.incoming)} -mindepth 1 -maxdepth 1 -exec rm -rf {} +;`,
    `rm -rf ${shellQuote(layout.versions)}/*.partial ${shellQuote(layout.objects)}/.incoming;`,
    'fi; exec 7>&-; :; }',
  ].join(' ');
}

/** The daemon.json a version runs with, beside it: `versions/<v>.daemon.json`; empty = none. */
export function daemonRecord(version: string): string {
  return `${layout.versions}/${version}.daemon.json`;
}

/**
 * Shell (run in the install root): make /etc/docker/daemon.json what version VERSION_EXPR
 * recorded, atomically; an empty record means the version ran with none. A version with no
 * record (installed while the inventory set nothing) leaves the file alone.
 */
export function restoreDaemonConfigScript(versionExpression: string): string {
  const record = `versions/${versionExpression}.daemon.json`;
  const file = layout.daemonConfig;
  return `if [ -e ${record} ]; then if [ -s ${record} ]; then mkdir -p ${file.replace(/\/[^/]*$/, '')} && cp -f ${record} ${file}.new && mv -f ${file}.new ${file}; else rm -f ${file}; fi; fi`;
}

/** The unit that settles, at boot and before the engine starts, a switch the power cut left uncommitted. */
export const BOOT_CHECK_UNIT = 'crossdock-boot-check.service';

/** What the boot check runs: no install survives a reboot, so anything still pending is undone. Pure. */
export function bootCheckScript(): string {
  return [
    '#!/bin/sh',
    '# Written by crossdock: undoes a switch or a daemon.json change the board went down before committing.',
    `cd ${shellQuote(layout.root)} || exit 0`,
    `if [ -e pending ]; then ${revertScript()}; fi`,
    // The daemons start after this unit: no restart here.
    `if [ -e ${RECONFIGURE_PENDING} ]; then v=$(sed -n 1p ${RECONFIGURE_PENDING}); ${restoreDaemonConfigBefore('"$v"', false)}; fi`,
    'sync',
    '',
  ].join('\n');
}

/** Ordered before containerd and docker, so the engine never starts on a version nobody committed. Pure. */
export function bootCheckUnit(): string {
  return [
    '[Unit]',
    'Description=crossdock: undo a Docker engine switch left uncommitted when the board went down',
    'DefaultDependencies=no',
    'After=local-fs.target',
    'Before=containerd.service docker.socket docker.service sysinit.target',
    'ConditionPathExists=|/opt/crossdock/pending',
    `ConditionPathExists=|/opt/crossdock/${RECONFIGURE_PENDING}`,
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

/**
 * Puts the boot check in place (the script, the unit, its wants link), writing only what
 * differs, so a board that has it is not touched again. Pure.
 */
export function bootCheckSetupScript(): string {
  const unit = `${layout.units}/${BOOT_CHECK_UNIT}`;
  const put = (file: string, content: string) =>
    `if [ "$(cat ${shellQuote(file)} 2>/dev/null; echo .)" != ${shellQuote(`${content}.`)} ]; then printf '%s' ${shellQuote(content)} > ${shellQuote(`${file}.new`)} && mv -f ${shellQuote(`${file}.new`)} ${shellQuote(file)}; fi`;
  return [
    put(`${layout.root}/boot-check`, bootCheckScript()),
    `mkdir -p ${shellQuote(`${layout.units}/sysinit.target.wants`)}`,
    put(unit, bootCheckUnit()),
    `ln -sfn ../${BOOT_CHECK_UNIT} ${shellQuote(`${layout.units}/sysinit.target.wants/${BOOT_CHECK_UNIT}`)}`,
  ].join('\n');
}

/** What the board lock prints once it holds the board. */
export const BOARD_LOCK_HELD = 'crossdock-board-lock-held';

/** The board lock: in /run, so taking it writes nothing under the install root before preflight. */
export const BOARD_LOCK_FILE = '/run/crossdock-install.lock';

/**
 * One change at a time on a board (board-lock.ts): a lock (flock) held while the SSH channel
 * that took it lives, so a crashed crossdock or a cut link frees it by itself. Pure.
 */
export function boardLockScript(): string {
  return [
    `exec 8>${BOARD_LOCK_FILE} || exit 1`,
    `if command -v flock >/dev/null 2>&1; then flock -n 8 || { echo "another crossdock is changing this board (an install, rollback, swarm or tls; ${BOARD_LOCK_FILE} is held)"; exit 75; }; fi`,
    `echo ${BOARD_LOCK_HELD}`,
    'cat >/dev/null',
  ].join('\n');
}
