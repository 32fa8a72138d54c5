# fleet rollback's switch: `current` to version TO and `previous` to FROM, under the lock the
# install's commit and watchdog take and only while nothing is pending; the daemon.json the version
# ran with comes back with it. Exits non-zero, changing nothing, while a switch is pending.
#
# Inputs: TO, FROM.
# shellcheck source=lib.sh
[ -n "${CROSSDOCK_LIB_LOADED:-}" ] || . "${CROSSDOCK_LIB:?the path of lib.sh}"
cd "$CROSSDOCK_ROOT" || exit 1
exec 9>.pending.lock
if command -v flock >/dev/null 2>&1; then flock 9; fi
[ ! -e pending ] || exit 1
ln -sfn "versions/$TO" current.new && mv -T current.new current &&
  ln -sfn "versions/$FROM" previous.new && mv -T previous.new previous &&
  restore_daemon_config "$TO"
