#!/bin/sh
# capi.pkgconfig: a user building with plain cc and pkg-config.
# Usage: check_pkgconfig.sh PREFIX EXAMPLE.c WORKDIR [SANITIZER_FLAGS]
set -eu
prefix=$1
example=$2
work=$3
san=${4:-}
pc=$(dirname "$(find "$prefix" -name raft.pc | head -n 1)")
[ -d "$pc" ] || { echo "no raft.pc under $prefix"; exit 1; }
export PKG_CONFIG_PATH="$pc"
rm -rf "$work"
mkdir -p "$work"
cc=${CC:-cc}
version=$(pkg-config --modversion raft)
[ -n "$version" ] || { echo "raft.pc has no version"; exit 1; }
libdir=$(pkg-config --variable=libdir raft)
[ -f "$libdir/libraft.so" ] || { echo "pkg-config libdir $libdir has no libraft.so"; exit 1; }

# Shared: -lraft from pkg-config, found at run time through the rpath.
$cc -std=c11 -Wall -Wextra -Werror -pedantic $san $(pkg-config --cflags raft) -c "$example" -o "$work/example.o"
$cc $san "$work/example.o" $(pkg-config --libs raft) -Wl,-rpath,"$libdir" -o "$work/example_shared"
readelf -d "$work/example_shared" | grep -q 'NEEDED.*libraft.so' || { echo "not linked to libraft.so"; exit 1; }
"$work/example_shared" > "$work/shared.out"

# Static: libraft.a plus what Libs.private lists (the C++ runtime).
static_libs=$(pkg-config --static --libs raft | sed 's/-lraft\b/-Wl,-Bstatic -lraft -Wl,-Bdynamic/')
$cc $san "$work/example.o" $static_libs -o "$work/example_static"
if readelf -d "$work/example_static" | grep -q 'NEEDED.*libraft'; then
  echo "the static link still needs libraft.so"
  exit 1
fi
"$work/example_static" > "$work/static.out"
echo "pkg-config OK: raft $version"
