# One change at a time on a board: a lock (flock) held while the SSH channel that took it lives
# (its standard input stays open), so a crashed crossdock or a cut link frees it by itself. In
# /run, so taking it writes nothing under the install root before preflight.
#
# Inputs: HELD (what to print once the lock is held).
exec 8>"$CROSSDOCK_BOARD_LOCK" || exit 1
if command -v flock >/dev/null 2>&1; then
  flock -n 8 || {
    echo "another crossdock is changing this board (an install, rollback, swarm or tls; $CROSSDOCK_BOARD_LOCK is held)"
    exit 75
  }
fi
echo "$HELD"
cat >/dev/null
