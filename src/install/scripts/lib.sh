# crossdock's board library, POSIX sh (dash, busybox sh, bash): the pieces every script that
# changes a board shares. crossdock sends it in front of each script (board-scripts.ts), after the
# layout variables below; a script run on the board by itself sources it from $CROSSDOCK_LIB.
#
# Layout, set by the caller: CROSSDOCK_ROOT (the install root, /opt/crossdock), CROSSDOCK_BIN,
# CROSSDOCK_PLUGINS, CROSSDOCK_UNITS, CROSSDOCK_DAEMON_CONFIG, and the names below.
#   CROSSDOCK_PENDING_OURS   what while_pending prints when the guarded change was still this run's
#   CROSSDOCK_RECONFIGURE    the file a daemon.json change waits for its commit in (in the root)
#   CROSSDOCK_STEP_LOCK      the lock scripts that write scratch names queue on
#   CROSSDOCK_BOARD_LOCK     the lock one change at a time holds
#   CROSSDOCK_WATCHDOG_RUN   the prefix of a watchdog sleeper's pid file (then TOKEN.pid)
# Functions never use names of their own outside a leading underscore: POSIX sh has no locals.
# No dollar-brace expansion anywhere here: the watchdog's script is an argument of systemd-run,
# and PID 1 replaces each one in a command's arguments from its own environment (with nothing),
# operators and all, before the shell sees it.

# Scripts sent with the library in front of them find it loaded; run by themselves, they source it.
# shellcheck disable=SC2034
CROSSDOCK_LIB_LOADED=1

# The install root's file system to disk (sync -f where coreutils has it, else everything).
sync_root() {
  sync -f . 2>/dev/null || sync
}

# A failed version may have used up docker.service's start limit (Restart=always,
# StartLimitBurst=3): without reset-failed the version switched back to would not start either.
restart_daemons() {
  systemctl daemon-reload
  systemctl reset-failed docker.service docker.socket containerd.service 2>/dev/null
  systemctl restart containerd docker.socket docker
}

# In the root: /etc/docker/daemon.json becomes what version $1 recorded, atomically; an empty
# record means the version ran with none. A version with no record (installed while the
# inventory set nothing) leaves the file alone.
restore_daemon_config() {
  _record="versions/$1.daemon.json"
  if [ -e "$_record" ]; then
    if [ -s "$_record" ]; then
      mkdir -p "$(dirname "$CROSSDOCK_DAEMON_CONFIG")" &&
        cp -f "$_record" "$CROSSDOCK_DAEMON_CONFIG.new" &&
        mv -f "$CROSSDOCK_DAEMON_CONFIG.new" "$CROSSDOCK_DAEMON_CONFIG"
    else
      rm -f "$CROSSDOCK_DAEMON_CONFIG"
    fi
  fi
}

# In the root: back to the daemon.json version $1 ran with before a change (kept as
# <record>.before), the change's record gone, and the daemons restarted when $2 is 1.
restore_daemon_config_before() {
  mv -f "versions/$1.daemon.json.before" "versions/$1.daemon.json"
  restore_daemon_config "$1"
  rm -f "$CROSSDOCK_RECONFIGURE"
  if [ "$2" = 1 ]; then restart_daemons; fi
}

# Ends the sleeper of watchdog $1 if it sleeps still: a process group of its own (sh and its
# sleep). The pid file is named by the token, checked to be hex before it names a path.
end_sleeper() {
  case $1 in *[!0-9a-f]* | '') return 0 ;; esac
  _pidfile="$CROSSDOCK_WATCHDOG_RUN$1.pid"
  if [ -s "$_pidfile" ]; then
    _group=$(cat "$_pidfile")
    rm -f "$_pidfile"
    kill -TERM "-$_group" 2>/dev/null
  fi
  return 0
}

# The commit's end of a watchdog: its systemd timer stopped, or its sleeper ended.
disarm() {
  if command -v systemctl >/dev/null 2>&1; then
    systemctl stop "crossdock-watchdog-$1.timer" >/dev/null 2>&1
  fi
  end_sleeper "$1"
}

# Back to what `pending` (or else `previous`) names, atomically: rollback and the watchdog.
# pending holds the current and previous links as they were before the switch, and the token of
# the watchdog that guards it, whose sleeper has nothing left to do once this reverts.
revert() {
  cd "$CROSSDOCK_ROOT" || exit 1
  if [ -e pending ]; then
    _target=$(sed -n 1p pending)
    _before=$(sed -n 3p pending)
    end_sleeper "$(sed -n 2p pending)"
  else
    _target=$(readlink previous || true)
    _before=
  fi
  if [ -n "$_target" ]; then
    ln -sfn "$_target" current.new && mv -T current.new current
    restore_daemon_config "$(basename "$_target")"
  else
    rm -f current
  fi
  if [ -e pending ]; then
    if [ -n "$_before" ]; then ln -sfn "$_before" previous.new && mv -T previous.new previous; else rm -f previous; fi
  fi
  rm -f pending
}

# while_pending TOKEN FILE ACTION: runs the shell text ACTION in the root only while FILE
# (pending, or the reconfigure's) still names token TOKEN, under a lock (flock, where the board
# has it) that the watchdog, the commit and the rollback all take: of the three, exactly one acts
# on a change, and it prints CROSSDOCK_PENDING_OURS.
while_pending() {
  cd "$CROSSDOCK_ROOT" || exit 1
  exec 9>.pending.lock
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  if [ "$(sed -n 2p "$2" 2>/dev/null)" = "$1" ]; then
    eval "$3"
    echo "$CROSSDOCK_PENDING_OURS"
  fi
}

# watchdog TOKEN SECONDS SYSTEMD ACTION: the dead-man timer that runs the shell text ACTION (a
# whole script: it runs in a shell of its own) unless the commit disarms it in time. Where
# systemd runs it is a transient timer of PID 1 (systemd-run), which outlives the SSH session and
# logind's KillUserProcesses; elsewhere, or if systemd-run fails, a detached sleeper that leads a
# process group of its own, recorded so the commit can end it rather than leave it asleep.
watchdog() {
  if [ "$3" = 1 ] && systemd-run --quiet --collect --unit="crossdock-watchdog-$1" --on-active="$2s" \
    --timer-property=AccuracySec=1s /bin/sh -c "$4" >/dev/null 2>&1; then
    return 0
  fi
  _pidfile="$CROSSDOCK_WATCHDOG_RUN$1.pid"
  # shellcheck disable=SC2016 # expanded by the sleeper's own shell
  (setsid sh -c 'echo $$ > "$1"; sleep "$2"; rm -f "$1"; eval "$3"' sh "$_pidfile" "$2" "$4" </dev/null >/dev/null 2>&1 &)
}

# The first lines of a script that writes scratch names (`*.partial`, `objects/.incoming`): it
# waits for any such script still running, so one a dead run left behind on the board (the link
# cut, crossdock killed: the board lock is free again, the script is not done) finishes before
# the next run's starts, instead of the two sharing a scratch name. Holds fd 7.
step_lock() {
  exec 7>"$CROSSDOCK_STEP_LOCK" || exit 1
  if command -v flock >/dev/null 2>&1; then
    flock -w 3600 7 || {
      echo "a crossdock step still runs on this board ($CROSSDOCK_STEP_LOCK)"
      exit 75
    }
  fi
}

# put FILE CONTENT: writes FILE only when it differs (atomically), so a board that has it is not
# touched again.
put() {
  if [ "$(cat "$1" 2>/dev/null; echo .)" != "$2." ]; then
    printf '%s' "$2" >"$1.new" && mv -f "$1.new" "$1"
  fi
}

# The boot check in place (its script BOOT_CHECK, its unit BOOT_UNIT named $1, the wants link):
# it settles, at boot and before the engine starts, a change the power cut left uncommitted.
boot_check_setup() {
  put "$CROSSDOCK_ROOT/boot-check" "$BOOT_CHECK"
  mkdir -p "$CROSSDOCK_UNITS/sysinit.target.wants"
  put "$CROSSDOCK_UNITS/$1" "$BOOT_UNIT"
  ln -sfn "../$1" "$CROSSDOCK_UNITS/sysinit.target.wants/$1"
}

# In the root, at commit: the versions named, each with its record, daemon settings and
# health-check image, but never what `current` or `previous` resolve to now, whatever changed them
# since the facts were read.
prune_versions() {
  for _version in "$@"; do
    case " $(readlink current) $(readlink previous) " in *" versions/$_version "*) continue ;; esac
    rm -rf "versions/$_version" "versions/$_version.json" "versions/$_version.daemon.json" "versions/$_version.probe.tar"
  done
}

# Store entries no version links any more (a link count of one).
collect_objects() {
  if [ -d objects ]; then find objects -maxdepth 1 -type f -links 1 -delete; fi
  return 0
}

# At commit: the bundles and images in incoming/ are in the version directory, the store and the
# probe image by now, and a Pi's SD card would otherwise keep one bundle per upgrade. Kept only
# until then, so that an interrupted or rolled-back run resumes without sending them again. After
# any step a dead run left on the board is done (step_lock) its scratch names go too, fifos and
# check folders included. Never waited for: the commit runs against the watchdog's deadline; a
# step still running keeps its scratch names until a later commit finds the lock free.
clear_incoming() {
  exec 7>"$CROSSDOCK_STEP_LOCK"
  if ! command -v flock >/dev/null 2>&1 || flock -n 7; then
    if [ -d incoming ]; then find incoming -mindepth 1 -maxdepth 1 -exec rm -rf {} +; fi
    rm -rf versions/*.partial objects/.incoming
  fi
  exec 7>&-
  return 0
}

# `file NAME` for each entry of directory $1, sorted: what a version directory holds.
list_files() {
  (cd "$1" && find . -mindepth 1 -maxdepth 1 | sed 's|^\./|file |' | LC_ALL=C sort)
}

# The remote API's files as they were before a change (CROSSDOCK_TLS.old, or none), the drop-in
# with them, and the change's pending record gone: the TLS apply's way back, its watchdog's and
# the boot check's. The caller restarts dockerd where it runs.
tls_revert() {
  rm -rf "$CROSSDOCK_TLS"
  if [ -d "$CROSSDOCK_TLS.old" ]; then
    mv "$CROSSDOCK_TLS.old" "$CROSSDOCK_TLS"
    cp "$CROSSDOCK_TLS/remote-api.conf" "$CROSSDOCK_DROP_IN"
  else
    rm -f "$CROSSDOCK_DROP_IN"
  fi
  rm -f "$CROSSDOCK_ROOT/tls-pending"
}

# await_engine DOCKER TRIES: true once dockerd answers on its local socket, asked every two
# seconds, TRIES times at most (an emulated board is slow to start it).
await_engine() {
  _try=0
  while [ "$_try" -lt "$2" ]; do
    if "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; then return 0; fi
    sleep 2
    _try=$((_try + 1))
  done
  return 1
}
