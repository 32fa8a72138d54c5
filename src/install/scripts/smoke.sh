# A version's health, changing nothing: every check at once, in one round trip (on an emulated or
# slow board each start of a Go binary costs the better part of a second), each one's standard
# output, standard error and exit status printed as facts INDEX.out, INDEX.err and INDEX.rc.
#
# Inputs: CHECKS, one a line:
#   run INDEX PATH [ARGS...]   the binary's own smoke command (the args are plain words)
#   exists INDEX PATH          only that it is there and executable
#   plugin INDEX DOCKER PLUGIN COMMAND
#                              `DOCKER COMMAND version` with PLUGIN alone in a plugin directory:
#                              the CLI asks the plugin for its metadata first, the call that broke
#                              Pi Zeros.
# shellcheck source=facts.sh
[ -n "${CROSSDOCK_FACTS_LOADED:-}" ] || . "${CROSSDOCK_FACTS:?the path of facts.sh}"
# Removed however the script ends: a cut link makes the output's writes fail (SIGPIPE is ignored
# so the script goes on to exit), and the folder must not stay in the board's /tmp.
d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
trap '' PIPE
trap 'exit 1' HUP INT TERM
set -f
indexes=
while read -r kind index path rest; do
  [ -n "$kind" ] || continue
  indexes="$indexes $index"
  case $kind in
  run)
    # shellcheck disable=SC2086 # the smoke args, one word each
    (timeout 60 "$path" $rest >"$d/$index.out" 2>"$d/$index.err" </dev/null; echo $? >"$d/$index.rc") &
    ;;
  exists)
    if [ -x "$path" ]; then echo 0; else echo 1; fi >"$d/$index.rc"
    ;;
  plugin)
    (
      # shellcheck disable=SC2086 # the plugin's path and its command, one word each
      set -- $rest
      c="$d/cli$index"
      mkdir -p "$c/cli-plugins" && ln -s "$1" "$c/cli-plugins/" &&
        DOCKER_CONFIG="$c" HOME="$c" DOCKER_CLI_HINTS=false timeout 60 "$path" "$2" version \
          >"$d/$index.out" 2>"$d/$index.err" </dev/null
      echo $? >"$d/$index.rc"
    ) &
    ;;
  esac
done <<LIST
$CHECKS
LIST
wait
for i in $indexes; do
  section "$i.out"
  cat "$d/$i.out" 2>/dev/null
  section "$i.err"
  cat "$d/$i.err" 2>/dev/null
  section "$i.rc"
  cat "$d/$i.rc" 2>/dev/null
done
section end
