# A new daemon.json for the running version VERSION, with a way back: the change is recorded as
# pending under TOKEN and the watchdog armed before the new settings take effect, so that if the
# link dies while dockerd restarts with them the board puts the old daemon.json back on its own,
# as the install's watchdog would. The caller has kept the old file as the record's .before and
# staged the new record.
#
# Inputs: VERSION, TOKEN, WATCHDOG_SECONDS, SYSTEMD, WATCHDOG_ACTION, and where SYSTEMD is 1
# BOOT_UNIT_NAME, BOOT_UNIT, BOOT_CHECK.
# shellcheck source=lib.sh
[ -n "${CROSSDOCK_LIB_LOADED:-}" ] || . "${CROSSDOCK_LIB:?the path of lib.sh}"
cd "$CROSSDOCK_ROOT" || exit 1
printf '%s\n%s\n' "$VERSION" "$TOKEN" >"$CROSSDOCK_RECONFIGURE"
if [ "$SYSTEMD" = 1 ]; then boot_check_setup "$BOOT_UNIT_NAME"; fi
watchdog "$TOKEN" "$WATCHDOG_SECONDS" "$SYSTEMD" "$WATCHDOG_ACTION"
sync_root
restore_daemon_config "$VERSION"
