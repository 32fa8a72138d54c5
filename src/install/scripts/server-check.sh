# The engine answers, changing nothing: dockerd on its socket (systemd restarted it and waited for
# its ready signal, but socket activation may still be starting it), client and server the same
# build, and with CTR=1 containerd on its own socket. Prints why when it does not.
#
# Inputs: TRIES (two seconds each), CTR (1 or 0).
# shellcheck source=facts.sh
[ -n "${CROSSDOCK_FACTS_LOADED:-}" ] || . "${CROSSDOCK_FACTS:?the path of facts.sh}"
i=0
v=
while [ "$i" -lt "$TRIES" ]; do
  v=$("$CROSSDOCK_BIN/docker" version --format '{{.Client.Version}} {{.Server.Version}}' 2>/dev/null) && break
  sleep 2
  i=$((i + 1))
done
client=${v%% *}
server=${v#* }
if [ -z "$v" ] || [ "$server" = "$v" ] || [ -z "$server" ] || [ "$client" != "$server" ]; then
  echo "docker version: ${v:-no answer}"
  exit 1
fi
if [ "$CTR" = 1 ] && ! "$CROSSDOCK_BIN/ctr" --address /run/containerd/containerd.sock version >/dev/null; then
  echo "containerd does not answer"
  exit 1
fi
