#!/usr/bin/env bash
# A 2015 program compiles unchanged against the installed library: build
# tools/raft_client.c with plain cc (C99, -Wall -Werror -pedantic) against
# the headers and libraft that `cmake --install` put in PREFIX (by the
# capi.install fixture), shared and static, and run both.
# Usage: installed_client.sh PREFIX RAFT_CLIENT_C WORKDIR [SANITIZER_FLAGS]
# (the sanitizer flags of the build, which an instrumented libraft needs)
set -euo pipefail
prefix=$1
source=$2
work=$3
san=${4:-}
. "$(dirname "$0")/common.sh"
rm -rf "$work"
mkdir -p "$work"
cc=${CC:-cc}

for h in raft_if.h raft_c_if.h raft_defs.h; do
  [ -f "$prefix/include/raft/$h" ] || fail "$h is not installed in $prefix/include/raft"
done
pc=$(find "$prefix" -name raft.pc | head -n 1)
[ -n "$pc" ] || fail "no raft.pc under $prefix"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir raft)
includedir=$(pkg-config --variable=includedir raft)

# The 2015 program includes "raft_c_if.h": the include/raft folder goes on
# the include path; the library is -lraft.
flags="-std=c99 -Wall -Wextra -Werror -pedantic $san -I$includedir/raft"
$cc $flags -c "$source" -o "$work/raft_client.o"
$cc $san "$work/raft_client.o" -L"$libdir" -lraft -lpthread -Wl,-rpath,"$libdir" -o "$work/raft_client"
$cc $san "$work/raft_client.o" $(pkg-config --static --libs raft | sed 's/-lraft\b/-Wl,-Bstatic -lraft -Wl,-Bdynamic/') \
  -lpthread -o "$work/raft_client_static"
if readelf -d "$work/raft_client_static" | grep -q 'NEEDED.*libraft'; then
  fail "the static build still needs libraft.so"
fi

for exe in raft_client raft_client_static; do
  port=$(free_port)
  "$work/$exe" --single --port "$port" -n 3 -w 0 >"$work/$exe.out" 2>"$work/$exe.err" ||
    fail "$exe: exit $? ($(cat "$work/$exe.err"))"
  expect "$work/$exe.out" "^FSM state: letter count 33\.$"
  expect "$work/$exe.out" "^Raft stats:$"
done
echo "PASS installed client"
