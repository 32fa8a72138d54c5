# The engine runs containers, changing nothing that stays: the version's health-check image loaded
# (unless the engine has it already), a container run without a network, then one serving on a port
# published on the default bridge's gateway, reached from a container on the bridge and from the
# host. Prints facts run, bridge and published (what each answered), or problem and exit 1.
#
# Inputs: DOCKER, TAG and ID (the image), IMAGE_FILE (its docker-load archive), TOKEN (hex: names
# the server container and is what it answers), CONTAINER_PORT (inside the container).
# shellcheck source=facts.sh
[ -n "${CROSSDOCK_FACTS_LOADED:-}" ] || . "${CROSSDOCK_FACTS:?the path of facts.sh}"
set -u
name=crossdock-health-$TOKEN
err=$(mktemp)
trap '"$DOCKER" rm -f "$name" >/dev/null 2>&1; rm -f "$err"' EXIT
fail() {
  section problem
  printf '%s\n' "$*"
  exit 1
}
last() { tail -n 1 "$err"; }
if [ "$("$DOCKER" image inspect --format '{{.Id}}' "$TAG" 2>/dev/null)" != "$ID" ]; then
  "$DOCKER" load -i "$IMAGE_FILE" >/dev/null 2>"$err" || fail "docker load: $(last)"
fi
# stderr apart: docker run warns there when the image's variant differs from the board's.
out=$(timeout 180 "$DOCKER" run --rm --network none "$TAG" 2>"$err") || fail "docker run: $(last)"
case "$out" in "crossdock-probe ok "*) ;; *) fail "docker run printed: $out" ;; esac
section run
printf '%s\n' "$out"
gw=$("$DOCKER" network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>"$err") ||
  fail "no default bridge: $(last)"
# dockerd 20.10 leaves the default bridge's gateway out of its IPAM config: ask the bridge itself.
if [ -z "$gw" ]; then
  br=$("$DOCKER" network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}')
  gw=$(ip -4 -o addr show dev "${br:-docker0}" 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
fi
[ -n "$gw" ] || fail "the default bridge has no gateway address"
"$DOCKER" run -d --rm --name "$name" -p "$gw::$CONTAINER_PORT" "$TAG" serve "$CONTAINER_PORT" "$TOKEN" >/dev/null 2>"$err" ||
  fail "docker run -p: $(last)"
host_port=$("$DOCKER" port "$name" "$CONTAINER_PORT/tcp" 2>"$err" | head -n 1 | sed 's/.*://')
[ -n "$host_port" ] || fail "the published port has no host port: $(last)"
out=$(timeout 120 "$DOCKER" run --rm "$TAG" connect "$gw" "$host_port" 2>"$err") ||
  fail "a container on the default bridge does not reach the host at $gw:$host_port: $(last)"
[ "$out" = "crossdock-probe $TOKEN" ] || fail "bridge: $gw:$host_port answered $out"
section bridge
printf '%s\n' "$out"
out=$(timeout 120 "$DOCKER" run --rm --network host "$TAG" connect "$gw" "$host_port" 2>"$err") ||
  fail "the host does not reach the published port $gw:$host_port: $(last)"
[ "$out" = "crossdock-probe $TOKEN" ] || fail "published port: $gw:$host_port answered $out"
section published
printf '%s\n' "$out"
