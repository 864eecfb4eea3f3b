#!/usr/bin/env bash
# Makes a small certificate authority and one certificate per node, for
# trying TLS out and for the tests (docs/security.md). Production clusters
# should use their own PKI; the layout below is what libraft expects.
#
#   scripts/make-certs.sh DIR ID...      e.g. scripts/make-certs.sh certs 1 2 3
#
# Writes into DIR (created if needed; an existing CA there is reused, so
# more nodes can be added later):
#   ca.pem, ca.key            the cluster's CA (keep ca.key offline)
#   node<ID>.pem, node<ID>.key  node ID's certificate and key; the
#                             certificate names "node<ID>" as its subject
#                             common name and DNS name (what
#                             tls_verify_peer_id checks), plus
#                             DNS:localhost and IP:127.0.0.1 so HTTPS
#                             clients on this machine can verify it
# Environment: DAYS (validity, default 825), EXTRA_SAN (more subject
# alternative names, e.g. "DNS:kv1.example.com,IP:10.0.0.7").
# Keys are ECDSA P-256: fast to make and to handshake with.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 DIR ID..." >&2
  exit 2
fi
dir=$1
shift
days=${DAYS:-825}
mkdir -p "$dir"
umask 077

if [ ! -f "$dir/ca.pem" ] || [ ! -f "$dir/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -days "$days" \
    -subj "/CN=libraft test CA $(date +%s)-$$-$RANDOM" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

ext=$(mktemp)
trap 'rm -f "$ext" "$dir"/*.csr' EXIT
for id in "$@"; do
  case $id in
    ''|*[!0-9]*) echo "$0: node id must be a positive integer: $id" >&2; exit 2 ;;
  esac
  name="node$id"
  san="DNS:$name,DNS:localhost,IP:127.0.0.1${EXTRA_SAN:+,$EXTRA_SAN}"
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=$san" >"$ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -out "$dir/$name.pem" -days "$days" -extfile "$ext" 2>/dev/null
done
chmod 644 "$dir"/*.pem
