# The other way in: only the binaries the store lacks arrive (a gzip'd tar of files named by their
# sha256, on standard input when STREAMED=1); the version is then made of hard links to the store.
# Every binary of the version, sent now or kept from before, is hashed on the board and must be
# the manifest's before the directory takes its name; a mismatch leaves only .partial names.
# Prints `assembled OK|bad NAME SHA`, then the version's files.
#
# Inputs: VERSION_DIR, OBJECT_DIR, STREAMED (1 or 0), BINARIES ("sha256 size name" a line).
# shellcheck source=lib.sh
[ -n "${CROSSDOCK_LIB_LOADED:-}" ] || . "${CROSSDOCK_LIB:?the path of lib.sh}"
step_lock
d=$VERSION_DIR
o=$OBJECT_DIR
n=$o/.incoming
mkdir -p "$o" "${d%/*}" || exit 1
rm -rf "$n" "$d.partial" && mkdir "$n" "$d.partial" || exit 1
if [ "$STREAMED" = 1 ]; then
  tar -xzf - -C "$n" --no-same-owner || {
    echo "assembled tar $?"
    rm -rf "$n" "$d.partial"
    exit 3
  }
fi
while read -r object size name; do
  [ -n "$object" ] || continue
  f=$o/$object
  if [ -e "$n/$object" ]; then f=$n/$object; fi
  if [ "$(wc -c <"$f" | tr -d ' ')" != "$size" ] || [ "$(sha256sum <"$f" | cut -c1-64)" != "$object" ]; then
    echo "assembled bad $name $(sha256sum <"$f" 2>/dev/null | cut -c1-64)"
    if [ "$f" = "$o/$object" ]; then rm -f "$f"; fi
    rm -rf "$n" "$d.partial"
    exit 3
  fi
  [ "$f" = "$o/$object" ] || mv -f "$f" "$o/$object"
  ln -f "$o/$object" "$d.partial/$name" && chmod 0555 "$d.partial/$name" || exit 1
done <<LIST
$BINARIES
LIST
rm -rf "$n"
rm -rf "$d" && mv "$d.partial" "$d" || exit 1
echo assembled OK
list_files "$d"
