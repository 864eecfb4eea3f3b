#!/bin/sh
# capi.exports: what libraft.so exports. Usage: check_exports.sh PREFIX RAFT_H
#  - every defined dynamic symbol is a raft_* function or one of the 2015
#    API's names (alloc_raft_buffer, free_raft_buffer, is_raft_option), plus
#    the version node LIBRAFT_0 of the version script;
#  - no C++ symbol (_Z...) is exported;
#  - every function raft.h declares is exported;
#  - the SONAME is libraft.so.<major>;
#  - libraft.a holds the objects of every layer.
set -eu
prefix=$1
header=$2
lib=$(find "$prefix" -name 'libraft.so' | head -n 1)
archive=$(find "$prefix" -name 'libraft.a' | head -n 1)
[ -n "$lib" ] || { echo "no libraft.so under $prefix"; exit 1; }
[ -n "$archive" ] || { echo "no libraft.a under $prefix"; exit 1; }

exported=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u)
bad=$(printf '%s\n' "$exported" |
      grep -Ev '^(raft_[A-Za-z0-9_]+|alloc_raft_buffer|free_raft_buffer|is_raft_option|LIBRAFT_0)$' || true)
if [ -n "$bad" ]; then
  echo "libraft.so exports symbols outside the C API:"
  printf '%s\n' "$bad" | head -n 50
  exit 1
fi
if printf '%s\n' "$exported" | grep -q '^_Z'; then
  echo "libraft.so exports C++ symbols"
  exit 1
fi

declared=$(grep -oE '^RAFT_API [^(]*\(' "$header" | sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' | sort -u)
count=0
for f in $declared; do
  count=$((count + 1))
  printf '%s\n' "$exported" | grep -qx "$f" || { echo "raft.h declares $f but libraft.so does not export it"; exit 1; }
done
[ "$count" -gt 80 ] || { echo "found only $count functions in $header"; exit 1; }

soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
case "$soname" in
  libraft.so.[0-9]*) ;;
  *) echo "libraft.so has SONAME '$soname', wanted libraft.so.<major>"; exit 1 ;;
esac

# One symbol of each layer, defined in the archive.
defined=$(nm --defined-only "$archive" 2>/dev/null | awk '{print $NF}')
for want in raft_node_start crc32c Node5start WalLogStore TcpTransport; do
  printf '%s\n' "$defined" | grep -q "$want" || { echo "libraft.a lacks a symbol matching $want"; exit 1; }
done
echo "exports OK: $count C API functions, SONAME $soname"
