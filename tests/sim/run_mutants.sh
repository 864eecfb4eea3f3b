#!/usr/bin/env bash
# make mutants: proves the simulator sees bugs. Each patch in
# tests/sim/mutants/ plants one known Raft bug in a scratch copy of the
# tree; the simulator must catch it within MUTANT_SEEDS seeds. The
# production code carries no switches for this.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)
seeds=${MUTANT_SEEDS:-2000}
jobs=${JOBS:-$(nproc)}
# MUTANT_SCRATCH: where the scratch tree and build go (default build-mutants).
scratch=${MUTANT_SCRATCH:-$top/build-mutants}
mkdir -p "$scratch"
rm -rf "$scratch/tree"
mkdir -p "$scratch/tree"
# A pristine copy of the sources (not of build folders).
tar -C "$top" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$scratch/tree" -xf -
cmake -S "$scratch/tree" -B "$scratch/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null

caught=0; total=0; missed=()
for patch in "$top"/tests/sim/mutants/*.patch; do
  name=$(basename "$patch" .patch)
  total=$((total + 1))
  what=$(head -1 "$patch" | sed 's/^# //')
  (cd "$scratch/tree" && patch -s -p1 < "$patch")
  if ! cmake --build "$scratch/build" --target sim >"$scratch/$name.build.log" 2>&1; then
    echo "mutant $name: does not build (see $scratch/$name.build.log)"
    (cd "$scratch/tree" && patch -s -R -p1 < "$patch")
    missed+=("$name")
    continue
  fi
  start=$(date +%s)
  if "$scratch/build/tests/sim/sim" --seeds "1-$seeds" --jobs "$jobs" --stop-on-failure \
       >"$scratch/$name.log" 2>&1; then
    echo "mutant $name: NOT CAUGHT in $seeds seeds -- $what"
    missed+=("$name")
  else
    first=$(grep -m1 -oE '^seed [0-9]+ FAILED' "$scratch/$name.log" | grep -oE '[0-9]+' || true)
    why=$(grep -m1 -E 'FAILED|aborted|assertion' "$scratch/$name.log" | sed -E 's/^seed [0-9]+ FAILED \([^)]*\): //' | cut -c1-150)
    [ -z "$first" ] && first=$(grep -m1 -oE 'running seed [0-9]+' "$scratch/$name.log" | grep -oE '[0-9]+' || echo '?')
    echo "mutant $name: caught by seed $first in $(( $(date +%s) - start )) s -- $what"
    echo "    $why"
    caught=$((caught + 1))
  fi
  (cd "$scratch/tree" && patch -s -R -p1 < "$patch")
done
echo "mutants: $caught of $total caught"
[ "$caught" -eq "$total" ]
