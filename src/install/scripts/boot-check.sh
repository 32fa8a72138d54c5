# At boot, before the engine starts (crossdock-boot-check.service): no install survives a reboot,
# so a switch, a daemon.json change or a remote API change still pending is undone. The daemons
# start after this.
# shellcheck source=lib.sh
[ -n "${CROSSDOCK_LIB_LOADED:-}" ] || . "${CROSSDOCK_LIB:?the path of lib.sh}"
cd "$CROSSDOCK_ROOT" || exit 0
if [ -e pending ]; then revert; fi
if [ -e "$CROSSDOCK_RECONFIGURE" ]; then
  restore_daemon_config_before "$(sed -n 1p "$CROSSDOCK_RECONFIGURE")" 0
fi
if [ -e tls-pending ]; then tls_revert; fi
sync
