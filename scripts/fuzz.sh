#!/usr/bin/env bash
# Builds every libFuzzer target and runs each for SECONDS (default 60).
#
#   ./scripts/fuzz.sh [SECONDS]        (what `make fuzz` runs)
#
# A fuzz target is any CMake executable named fuzz_* that a layer defines
# under `if(RAFT_FUZZ)`, compiled with -fsanitize=fuzzer; this script finds
# them all, so a new layer only adds its target. It configures build-fuzz/
# with clang, ASan+UBSan (RAFT_SANITIZE=address) and coverage
# instrumentation everywhere (-fsanitize=fuzzer-no-link), builds only the
# fuzz targets, and runs each one on a corpus kept in build-fuzz/corpus/<target>/
# (seeded from any tests/**/fuzz_corpus/<target>/ folder). A crash leaves
# its input in build-fuzz/artifacts/ and the script exits non-zero;
# replay it with `build-fuzz/<path>/<target> <artifact>`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
build=build-fuzz

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (scripts/setup.sh installs it)" >&2
  exit 1
fi

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja \
  -DRAFT_FUZZ=ON -DRAFT_SANITIZE=address -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link >/dev/null

# Executables whose name starts with fuzz_, as "path/to/fuzz_x".
mapfile -t paths < <(ninja -C "$build" -t targets all |
  sed -n 's/^\([^:]*\/\)\{0,1\}\(fuzz_[A-Za-z0-9_]*\): CXX_EXECUTABLE_LINKER.*/\1\2/p' | sort -u)
if [ ${#paths[@]} -eq 0 ]; then
  echo "fuzz: no fuzz_* targets found" >&2
  exit 1
fi
names=()
for p in "${paths[@]}"; do names+=("$(basename "$p")"); done
cmake --build "$build" --target "${names[@]}"

mkdir -p "$build/artifacts"
failed=()
for p in "${paths[@]}"; do
  name=$(basename "$p")
  corpus="$build/corpus/$name"
  mkdir -p "$corpus"
  while IFS= read -r seeds; do
    cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
  done < <(find tests -type d -path "*/fuzz_corpus/$name" 2>/dev/null)
  echo "fuzz: $name for ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "$build/$p" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="$build/artifacts/$name-" "$corpus" 2>"$build/$name.log"; then
    tail -n 40 "$build/$name.log" >&2
    failed+=("$name")
  else
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$build/$name.log" | sed "s/^/  /" || true
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#paths[@]} target(s) ran ${seconds}s each without a failure"
