# A bundle in, in one round trip: from standard input (STREAMED=1), or from incoming/ when it is
# there already, it goes through tee to its incoming file, to sha256sum through a fifo, and to tar,
# which unpacks into VERSION_DIR.partial; only when the hash and size are the manifest's do the
# file and the directory take their real names. An interrupted or corrupt transfer leaves only
# .partial names, which the next run removes. The version's binaries then go into the object store
# by their manifest hashes (hard links: no copy, no second hash: the bundle's hash vouched for them,
# and assemble.sh hashes every entry again before a version is made of it), so the next upgrade
# sends only what changed. Prints `received SHA SIZE TAR_STATUS`, then the unpacked files.
#
# Inputs: INCOMING (the bundle's file), VERSION_DIR, BUNDLE_SHA256, BUNDLE_SIZE, STREAMED (1 or 0), OBJECT_DIR,
# OBJECTS ("sha256 name" a line: the binaries to link into the store; may be empty).
# shellcheck source=lib.sh
[ -n "${CROSSDOCK_LIB_LOADED:-}" ] || . "${CROSSDOCK_LIB:?the path of lib.sh}"
step_lock
i=$INCOMING
d=$VERSION_DIR
mkdir -p "${i%/*}" "${d%/*}" || exit 1
# The file the bytes go to while they arrive: the incoming file itself only when it is already whole.
if [ "$STREAMED" = 1 ]; then into=$i.partial; else into=$i; fi
rm -rf "$d.partial" "$i.fifo" "$i.sum"
if [ "$STREAMED" = 1 ]; then rm -f "$i.partial"; fi
mkdir "$d.partial" && mkfifo "$i.fifo" || exit 1
# The hasher must not hold the step lock: if tee never opens the fifo (a cut link), it would wait
# on it for good, and the lock with it.
sha256sum <"$i.fifo" >"$i.sum" 7>&- &
hash=$!
if [ "$STREAMED" = 1 ]; then
  tee "$i.partial" "$i.fifo" | tar -xzf - -C "$d.partial" --strip-components=1 --no-same-owner
  tar=$?
else
  tee "$i.fifo" <"$i" | tar -xzf - -C "$d.partial" --strip-components=1 --no-same-owner
  tar=$?
fi
wait "$hash"
sum=$(cut -c1-64 "$i.sum" 2>/dev/null)
size=$(wc -c <"$into" | tr -d ' ')
rm -f "$i.fifo" "$i.sum"
echo "received ${sum:--} ${size:--} $tar"
if [ "$tar" != 0 ] || [ "$sum" != "$BUNDLE_SHA256" ] || [ "$size" != "$BUNDLE_SIZE" ]; then
  rm -rf "$d.partial"
  if [ "$STREAMED" = 1 ]; then rm -f "$i.partial"; fi
  exit 3
fi
if [ "$STREAMED" = 1 ]; then mv -f "$i.partial" "$i"; fi
# A version's folder is flat whatever the bundle's layout: its CLI plugins (docker/cli-plugins/)
# sit beside the other binaries, where the store, the health check and the links find them.
if [ -d "$d.partial/cli-plugins" ]; then
  if ! { mv -f "$d.partial"/cli-plugins/* "$d.partial"/ && rmdir "$d.partial/cli-plugins"; }; then
    rm -rf "$d.partial"
    exit 1
  fi
fi
rm -rf "$d" && mv "$d.partial" "$d" || exit 1
# The store is an optimisation: a link that fails costs the next upgrade bytes, not this install.
# Read-only: the store's inode is every version's binary, so nothing writes through it.
if [ -n "$OBJECTS" ]; then
  mkdir -p "$OBJECT_DIR"
  while read -r object name; do
    [ -n "$object" ] || continue
    [ -e "$OBJECT_DIR/$object" ] || ln -f "$d/$name" "$OBJECT_DIR/$object" 2>/dev/null
    chmod a-w "$OBJECT_DIR/$object" 2>/dev/null
  done <<LIST
$OBJECTS
LIST
fi
list_files "$d"
