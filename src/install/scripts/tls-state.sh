# The remote API's state on a board, changing nothing: the sha256 of each TLS file and of the
# systemd drop-in, whether systemd runs, whether a docker.service unit is there and whether it is
# active, as facts file:NAME, dropin, systemd, engine and docker.
#
# Inputs: FILES (the TLS files' names, space-separated).
# shellcheck source=facts.sh
[ -n "${CROSSDOCK_FACTS_LOADED:-}" ] || . "${CROSSDOCK_FACTS:?the path of facts.sh}"
for f in $FILES; do
  section "file:$f"
  sha256sum "$CROSSDOCK_TLS/$f" 2>/dev/null | cut -d' ' -f1
done
section dropin
sha256sum "$CROSSDOCK_DROP_IN" 2>/dev/null | cut -d' ' -f1
section systemd
if [ -d /run/systemd/system ]; then echo yes; else echo no; fi
section engine
if [ -e "$CROSSDOCK_UNITS/docker.service" ]; then echo yes; else echo no; fi
section docker
systemctl is-active docker 2>/dev/null
section end
