# On the board, in DIRECTORY: SUMS.sig is a signature by one of the allowed signers (ssh-keygen -Y,
# namespace crossdock), the signed SUMS lists the bundle as BUNDLE says ("sha256  file", the hash the
# board then requires of what arrives), MANIFEST as it is here (it names the version and every
# file's hash), and each line of LISTED (the units and image the board will get, with the
# manifest's hashes). Prints the first reason it fails.
#
# Inputs: DIRECTORY, SUMS, MANIFEST, BUNDLE, LISTED.
cd "$DIRECTORY" || exit 1
principal=$(ssh-keygen -Y find-principals -s "$SUMS.sig" -f allowed_signers) || {
  echo "signed by no allowed signer"
  exit 1
}
ssh-keygen -Y verify -f allowed_signers -I "$principal" -n crossdock -s "$SUMS.sig" <"$SUMS" >/dev/null || {
  echo "signature does not verify"
  exit 1
}
listed() {
  grep -qxF "$1" "$SUMS" || {
    echo "$SUMS does not list ${1#*  } with sha256 ${1%%  *}"
    exit 1
  }
}
listed "$BUNDLE"
digest=$(sha256sum "$MANIFEST")
grep -qxF "${digest%% *}  $MANIFEST" "$SUMS" || {
  echo "$MANIFEST is not the one $SUMS lists (changed after signing)"
  exit 1
}
while IFS= read -r line; do
  [ -z "$line" ] || listed "$line"
done <<LIST
$LISTED
LIST
