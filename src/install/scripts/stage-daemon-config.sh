# Before a switch or a reconfigure: the daemon.json on standard input becomes version VERSION's
# record, checked first by that version's own dockerd where it has --validate (23.0 and later:
# exit 3 and its complaint when it refuses). The running version CURRENT gets a record too if it
# has none yet, made from the file as it is, so that switching back restores the configuration;
# with KEEP_BEFORE=1 (a reconfigure of the running version) the file as it is now is kept as the
# record's .before, for the way back.
#
# Inputs: VERSION, CURRENT (may be empty), KEEP_BEFORE (1 or 0).
cd "$CROSSDOCK_ROOT" || exit 1
record=versions/$VERSION.daemon.json
if [ "$KEEP_BEFORE" = 1 ]; then
  cp -f "$CROSSDOCK_DAEMON_CONFIG" "$record.before" 2>/dev/null || : >"$record.before"
fi
if [ -n "$CURRENT" ] && [ "$CURRENT" != "$VERSION" ] && [ ! -e "versions/$CURRENT.daemon.json" ]; then
  cp -f "$CROSSDOCK_DAEMON_CONFIG" "versions/$CURRENT.daemon.json" 2>/dev/null || : >"versions/$CURRENT.daemon.json"
fi
cat >"$record.new" || exit 1
dockerd=versions/$VERSION/dockerd
if [ -x "$dockerd" ] && "$dockerd" --help 2>&1 | grep -q -- --validate; then
  if ! "$dockerd" --validate --config-file "$record.new" 2>&1; then
    rm -f "$record.new"
    exit 3
  fi
fi
mv -f "$record.new" "$record"
