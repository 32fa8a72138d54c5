# crossdock's fact library, POSIX sh: what the scripts that only look at a board share (state,
# smoke, server-check). Kept apart from lib.sh, whose functions change a board, so that a fact
# script carries nothing that could. Sent in front of each such script; a script run on the board
# by itself sources it from $CROSSDOCK_FACTS.

# Scripts sent with the library in front of them find it loaded; run by themselves, they source it.
# shellcheck disable=SC2034
CROSSDOCK_FACTS_LOADED=1

# section NAME: starts fact NAME in a fact script's output; every fact script prints its facts
# this way, and one parser (splitSections) reads them all.
section() {
  printf '\n@@crossdock:%s\n' "$1"
}
