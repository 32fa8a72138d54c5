# The switch: `current` renamed atomically to version VERSION, the old one remembered as
# `previous`, the binaries linked into CROSSDOCK_BIN once (they name `current`, so later switches
# need no new links), and a watchdog that reverts unless the commit removes `pending` in time.
# Standard input: the version's record (what it is and how to check it), for status and rollback.
#
# Inputs: VERSION, TOKEN (16 hex), WATCHDOG_SECONDS, SYSTEMD (1 or 0), WATCHDOG_ACTION (the
# script the watchdog runs), BINARIES and PLUGINS (one name a line; the plugins are linked into
# the CLI's plugin directory instead), and where SYSTEMD is 1 BOOT_UNIT_NAME, BOOT_UNIT, BOOT_CHECK.
# shellcheck source=lib.sh
[ -n "${CROSSDOCK_LIB_LOADED:-}" ] || . "${CROSSDOCK_LIB:?the path of lib.sh}"
set -e
set -f
cd "$CROSSDOCK_ROOT"
cat >"versions/$VERSION.json.new" && mv -f "versions/$VERSION.json.new" "versions/$VERSION.json"
old=$(readlink current || true)
oldprevious=$(readlink previous || true)
# The token ties the watchdog to this install: an older watchdog still asleep leaves it alone.
printf '%s\n%s\n%s\n' "$old" "$TOKEN" "$oldprevious" >pending.new && mv -f pending.new pending
# The timer below is PID 1's and dies with a power cut; the boot check reverts at the next boot.
if [ "$SYSTEMD" = 1 ]; then boot_check_setup "$BOOT_UNIT_NAME"; fi
watchdog "$TOKEN" "$WATCHDOG_SECONDS" "$SYSTEMD" "$WATCHDOG_ACTION"
# The new version's files reach the disk before any link names them: a power cut right after
# the switch must not leave `current` pointing at empty files.
sync_root
ln -sfn "versions/$VERSION" current.new && mv -T current.new current
restore_daemon_config "$VERSION"
if [ -n "$old" ] && [ "$old" != "versions/$VERSION" ]; then ln -sfn "$old" previous.new && mv -T previous.new previous; fi
mkdir -p "$CROSSDOCK_BIN"
if [ -n "$PLUGINS" ]; then mkdir -p "$CROSSDOCK_PLUGINS"; fi
# Plugin links, like the others, name `current` and stay: a version without a plugin leaves
# its link dangling (the CLI says the command is unknown), and a switch back brings it back.
IFS='
'
for binary in $BINARIES; do
  directory=$CROSSDOCK_BIN
  for plugin in $PLUGINS; do
    if [ "$plugin" = "$binary" ]; then directory=$CROSSDOCK_PLUGINS; fi
  done
  ln -sfn "$CROSSDOCK_ROOT/current/$binary" "$directory/$binary"
done
