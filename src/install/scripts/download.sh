# An artifact fetched by the board itself from its release into INCOMING (a file of incoming/),
# no bigger than MAX_SIZE; redirects (GitHub's go to its object store) keep the scheme SCHEME, never
# down to http or file. Anything short of the whole file leaves nothing behind: crossdock then
# checks the hash and sends the file itself if the board could not fetch it.
#
# Inputs: INCOMING, URL, SCHEME (https or http), MAX_SIZE.
mkdir -p "${INCOMING%/*}"
command -v curl >/dev/null || exit 127
if ! curl -fsSL --proto "=$SCHEME" --proto-redir "=$SCHEME" --max-filesize "$MAX_SIZE" --retry 2 \
  --connect-timeout 10 -o "$INCOMING.download" "$URL" || ! mv -f "$INCOMING.download" "$INCOMING"; then
  rm -f "$INCOMING.download"
  exit 1
fi
