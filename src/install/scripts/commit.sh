# The commit of a switch, only while `pending` is still this run's (the watchdog may have fired
# while the checks ran on a slow board): pending gone, the versions the plan pruned removed, the
# store and incoming/ tidied, the watchdog disarmed, all on disk before crossdock reports it.
#
# Inputs: TOKEN, PRUNE (the versions to remove, space-separated: semver names).
# shellcheck source=lib.sh
[ -n "${CROSSDOCK_LIB_LOADED:-}" ] || . "${CROSSDOCK_LIB:?the path of lib.sh}"
commit_switch() {
  rm -f pending
  # shellcheck disable=SC2086 # one version a word
  prune_versions $PRUNE
  collect_objects
  clear_incoming
  disarm "$TOKEN"
  sync_root
}
while_pending "$TOKEN" pending commit_switch
