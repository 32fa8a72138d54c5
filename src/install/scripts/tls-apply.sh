# The remote API's files in place with a way back, as a switch is: the new files (a tar on standard
# input) staged beside the old, the change recorded as pending under TOKEN and the watchdog armed
# (a timer of PID 1, and the boot check for a power cut) before anything takes effect, then the
# files swapped by rename and dockerd restarted with the drop-in. If dockerd answers again the
# change is committed (the old files go, the watchdog is disarmed); if not, or if the link dies on
# the way and this script with it, the old files (or none) come back and dockerd restarts with
# them. Exits 3 when it switched back, 4 when its watchdog had done so first.
#
# Inputs: TOKEN, WATCHDOG_SECONDS, SYSTEMD (1 on a board; 0 only where a test has no systemd),
# WATCHDOG_ACTION, BOOT_UNIT_NAME, BOOT_UNIT, BOOT_CHECK, DOCKER, AWAIT_TRIES (two seconds each).
# shellcheck source=lib.sh
[ -n "${CROSSDOCK_LIB_LOADED:-}" ] || . "${CROSSDOCK_LIB:?the path of lib.sh}"
set -e
d=$CROSSDOCK_TLS
rm -rf "$d.new" "$d.old"
mkdir -p "${d%/*}" "${CROSSDOCK_DROP_IN%/*}" "$CROSSDOCK_ROOT"
mkdir -m 700 "$d.new"
tar -xf - -C "$d.new"
chmod 600 "$d.new/server-key.pem"
cd "$CROSSDOCK_ROOT"
printf '\n%s\n' "$TOKEN" >tls-pending.new && mv -f tls-pending.new tls-pending
if [ "$SYSTEMD" = 1 ]; then boot_check_setup "$BOOT_UNIT_NAME"; fi
watchdog "$TOKEN" "$WATCHDOG_SECONDS" "$SYSTEMD" "$WATCHDOG_ACTION"
sync_root
if [ -d "$d" ]; then mv "$d" "$d.old"; fi
mv "$d.new" "$d"
cp "$d/remote-api.conf" "$CROSSDOCK_DROP_IN.new"
mv "$CROSSDOCK_DROP_IN.new" "$CROSSDOCK_DROP_IN"
# From here on a failure is answered by putting the old files back, not by stopping.
set +e
systemctl daemon-reload
systemctl restart docker
# shellcheck disable=SC2317 # called through while_pending
commit_tls() {
  rm -rf "$CROSSDOCK_TLS.old" tls-pending
  disarm "$TOKEN"
  sync_root
}
# shellcheck disable=SC2317 # called through while_pending
revert_tls() {
  tls_revert
  disarm "$TOKEN"
  systemctl daemon-reload
  systemctl restart docker
}
if await_engine "$DOCKER" "$AWAIT_TRIES"; then
  [ "$(while_pending "$TOKEN" tls-pending commit_tls)" = "$CROSSDOCK_PENDING_OURS" ] || exit 4
  exit 0
fi
acted=$(while_pending "$TOKEN" tls-pending revert_tls)
journalctl -u docker -n 5 --no-pager -o cat 2>/dev/null | tail -n 3 >&2
[ "$acted" = "$CROSSDOCK_PENDING_OURS" ] || exit 4
exit 3
