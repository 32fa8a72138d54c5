# POST /swarm/join on dockerd's socket with the request on standard input: `docker swarm join
# --token …` would put the token in the joining board's process list for every local user to
# read. dockerd's message on stderr when it refuses.
#
# Inputs: SOCKET.
command -v curl >/dev/null || {
  echo "curl is needed to join (the token must not go into argv)" >&2
  exit 127
}
response=$(curl -sS --unix-socket "$SOCKET" -H 'Content-Type: application/json' --data-binary @- \
  -w '\n%{http_code}' http://localhost/swarm/join) || exit 1
code=$(printf '%s\n' "$response" | tail -n 1)
[ "$code" = 200 ] || {
  printf '%s\n' "$response" | head -n 1 >&2
  exit 1
}
