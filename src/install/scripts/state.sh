# The install layout as facts, changing nothing: current, previous, the token of a pending switch,
# a pending daemon.json change (version and token), what incoming/, objects/ and versions/ hold,
# whether systemd runs, and the sha256 of daemon.json. Builtins and globs rather than ls, grep and
# sed: each program started costs a Pi Zero (or an emulated board) some 50 ms, and this runs on
# every install and status.
# shellcheck source=facts.sh
[ -n "${CROSSDOCK_FACTS_LOADED:-}" ] || . "${CROSSDOCK_FACTS:?the path of facts.sh}"
# The layout part runs in a subshell: on a fresh board it stops early, the rest must not.
(
  cd "$CROSSDOCK_ROOT" 2>/dev/null || exit 0
  if [ -L current ]; then
    section current
    readlink current
  fi
  if [ -L previous ]; then
    section previous
    readlink previous
  fi
  if [ -f pending ]; then
    { read -r _ && read -r token; } <pending
    section pending
    printf '%s\n' "$token"
  fi
  if [ -f "$CROSSDOCK_RECONFIGURE" ]; then
    { read -r version && read -r token; } <"$CROSSDOCK_RECONFIGURE"
    section reconfigure
    printf '%s %s\n' "$version" "$token"
  fi
  section incoming
  for f in incoming/*; do
    if [ -f "$f" ]; then printf '%s\n' "${f#incoming/}"; fi
  done
  section objects
  for f in objects/*; do
    if [ -f "$f" ]; then printf '%s\n' "${f#objects/}"; fi
  done
  section versions
  for f in versions/*; do
    case $f in *.partial) continue ;; esac
    if [ -d "$f" ]; then printf '%s\n' "${f#versions/}"; fi
  done
)
if [ -d /run/systemd/system ]; then
  section systemd
  echo 1
fi
if [ -f "$CROSSDOCK_DAEMON_CONFIG" ]; then
  section daemon
  sha256sum "$CROSSDOCK_DAEMON_CONFIG"
fi
section end
