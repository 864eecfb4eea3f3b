#!/usr/bin/env bash
# raftkv.tls: one raftkv node with --tls-ca, --tls-cert, --tls-key and
# --tls-verify-peer-id, on certificates made here by scripts/make-certs.sh:
#   - the HTTP API answers over HTTPS (curl --cacert: the certificate is
#     checked against the CA and 127.0.0.1); a PUT and a GET over it;
#   - plain http:// to the same port fails;
#   - node1's certificate and key are made anew in place, SIGHUP, and a new
#     HTTPS connection presents the new certificate (its serial);
#   - a key that does not match, SIGHUP: refused, logged, and the
#     certificate in use stays;
#   - SIGTERM: exit code 0.
# Every wait polls with a deadline. Exit 77 (skipped) without curl or
# openssl.
#
# Usage: tls_test.sh RAFTKV MAKE_CERTS WORKDIR
set -euo pipefail
raftkv=$1
make_certs=$2
work=$3

for tool in curl openssl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed"
    exit 77
  fi
done

rm -rf "$work"
mkdir -p "$work"
log=$work/n1.log
certs=$work/certs
pid=""

# free_port (and a plain fail, redefined below).
. "$(dirname "$0")/../compat/common.sh"

fail() {
  echo "FAIL: $*" >&2
  if [ -f "$log" ]; then
    echo "--- raftkv's log:" >&2
    cat "$log" >&2
  fi
  exit 1
}
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true' EXIT

# poll SECONDS CMD...: runs CMD until it succeeds, every 50 ms; fails the
# test if raftkv exits meanwhile, returns 1 after SECONDS.
poll() {
  local limit=$1
  shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    kill -0 "$pid" 2>/dev/null || fail "raftkv exited while waiting for: $*"
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

https() { curl -fsS --max-time 5 --cacert "$certs/ca.pem" "$@"; }
is_leader() { https "https://127.0.0.1:$http/status" 2>/dev/null | grep -q '"state":"leader"'; }
# The serial of the certificate a new TLS connection to the HTTP port gets.
served_serial() {
  timeout 10 openssl s_client -connect "127.0.0.1:$http" </dev/null 2>/dev/null | openssl x509 -noout -serial
}
file_serial() { openssl x509 -in "$certs/node1.pem" -noout -serial; }
serves() { [ "$(served_serial 2>/dev/null)" = "$1" ]; }
sighup_lines() { grep -c 'SIGHUP: TLS' "$log" || true; }
sighup_lines_reach() { [ "$(sighup_lines)" -ge "$1" ]; }

bash "$make_certs" "$certs" 1 || fail "make-certs.sh failed"
raft=$(free_port)
http=$(free_port)
[ "$raft" != "$http" ] || http=$(free_port)

"$raftkv" --id n1 --raft "127.0.0.1:$raft" --http "127.0.0.1:$http" --dir "$work/n1" \
  --peers "n1=127.0.0.1:$raft" --heartbeat-ms 50 --election-ms 500 \
  --tls-ca "$certs/ca.pem" --tls-cert "$certs/node1.pem" --tls-key "$certs/node1.key" --tls-verify-peer-id \
  2>"$log" &
pid=$!

# HTTPS answers, and the node leads (a single voter elects itself).
poll 20 is_leader || fail "no HTTPS answer from a leader at https://127.0.0.1:$http/status within 20 s"
grep -q "serving HTTP on https://127.0.0.1:$http" "$log" || fail "no 'serving HTTP on https://' line"

out=$(https -X PUT "https://127.0.0.1:$http/kv/greeting" --data-binary 'hello over tls') || fail "PUT over HTTPS failed"
echo "$out" | grep -Eq '^\{"index":[0-9]+\}$' || fail "PUT answered $out"
out=$(https "https://127.0.0.1:$http/kv/greeting") || fail "GET over HTTPS failed"
[ "$out" = "hello over tls" ] || fail "GET answered '$out'"

# Plain HTTP to the HTTPS port: refused at the handshake.
if curl -sS --max-time 5 "http://127.0.0.1:$http/status" >/dev/null 2>&1; then
  fail "plain http:// to the HTTPS port answered"
fi

# Rotation: a new certificate (new serial, new key) in place, SIGHUP, and
# new connections get it.
old=$(served_serial) || fail "openssl s_client could not read the served certificate"
[ "$old" = "$(file_serial)" ] || fail "served $old, but node1.pem is $(file_serial)"
bash "$make_certs" "$certs" 1 || fail "make-certs.sh failed (second certificate)"
new=$(file_serial)
[ "$new" != "$old" ] || fail "make-certs.sh made a certificate with the same serial $old"
kill -HUP "$pid"
poll 10 serves "$new" || fail "after SIGHUP the server still presents $(served_serial), not $new"
poll 10 sighup_lines_reach 1 || fail "no 'SIGHUP: TLS' log line"
grep 'SIGHUP: TLS' "$log" | tail -n 1 | grep -q "HTTPS: now presents certificate serial ${new#serial=}" ||
  fail "the reload's log line does not name the new serial"
# The Raft transport reloaded them too.
grep 'SIGHUP: TLS' "$log" | tail -n 1 | grep -q "Raft transport: reloaded" ||
  fail "the reload's log line does not say the Raft transport reloaded: $(grep 'SIGHUP: TLS' "$log" | tail -n 1)"
out=$(https "https://127.0.0.1:$http/kv/greeting") || fail "GET over HTTPS after the reload failed"
[ "$out" = "hello over tls" ] || fail "GET after the reload answered '$out'"

# A key that does not belong to the certificate: refused, logged, and the
# certificate in use stays.
cp "$certs/node1.key" "$work/node1.key.good"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$certs/node1.key" \
  -out "$work/other.pem" -days 1 -subj /CN=other 2>/dev/null || fail "could not make another key"
kill -HUP "$pid"
poll 10 sighup_lines_reach 2 || fail "no log line for the second SIGHUP"
grep 'SIGHUP: TLS' "$log" | tail -n 1 | grep -q "does not belong to the certificate" ||
  fail "the failed reload's log line does not say why"
serves "$new" || fail "after a bad reload the server presents $(served_serial), not $new"
cp "$work/node1.key.good" "$certs/node1.key"

# SIGTERM: a clean stop, exit code 0.
kill -TERM "$pid"
code=0
wait "$pid" || code=$?
pid=""
[ "$code" = 0 ] || fail "raftkv exited with $code after SIGTERM"
grep -q "stopped" "$log" || fail "no 'stopped' line"
rm -rf "$work"
echo "PASS raftkv.tls"
