# The remote API off: the drop-in and the TLS files gone, dockerd restarted without them and
# answering on its local socket again.
#
# Inputs: DOCKER, AWAIT_TRIES (two seconds each).
# shellcheck source=lib.sh
[ -n "${CROSSDOCK_LIB_LOADED:-}" ] || . "${CROSSDOCK_LIB:?the path of lib.sh}"
set -e
rm -f "$CROSSDOCK_DROP_IN"
rmdir "${CROSSDOCK_DROP_IN%/*}" 2>/dev/null || true
rm -rf "$CROSSDOCK_TLS" "$CROSSDOCK_TLS.old" "$CROSSDOCK_TLS.new"
systemctl daemon-reload
systemctl restart docker
await_engine "$DOCKER" "$AWAIT_TRIES"
