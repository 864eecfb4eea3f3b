#!/bin/sh
# capi.docs: the example in docs/c-api.md is examples/c/counter.c, byte for
# byte (the file is what the other tests compile and run).
# Usage: check_doc_example.sh DOC EXAMPLE
set -eu
doc=$1
example=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
awk '/^<!-- example: examples\/c\/counter.c -->$/ { marker = 1; next }
     marker && /^```c$/ { inside = 1; marker = 0; next }
     inside && /^```$/ { exit }
     inside { print }' "$doc" > "$tmp"
if ! cmp -s "$tmp" "$example"; then
  echo "the example in $doc differs from $example:"
  diff "$tmp" "$example" | head -n 20
  exit 1
fi
echo "docs example OK"
