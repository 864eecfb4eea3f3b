#!/usr/bin/env bash
# Runs a three-node raftkv cluster on localhost, in the background, until
# Ctrl-C (which stops the nodes cleanly).
#
#   examples/raftkv/run-cluster.sh [DIR] [RAFTKV FLAGS...]
#
# DIR (default ./raftkv-cluster) holds each node's data (DIR/n1 ...) and
# log (DIR/n1.log ...). Run it again with the same DIR and the cluster
# comes back with its data. Extra flags go to every node, for example
#   examples/raftkv/run-cluster.sh /tmp/kv --snapshot-threshold 1000
#
# Environment: RAFTKV (the binary; default: the newest one built), RAFT_PORT
# and HTTP_PORT (the first ports; default 7001 and 8001; nN uses +N-1).
# TLS=1: mutual TLS between the nodes and HTTPS for the API, with
# certificates made in DIR/certs by scripts/make-certs.sh (kept for the
# next run; delete the folder for new ones). Rotate one with
#   scripts/make-certs.sh DIR/certs 2 && kill -HUP <n2's pid>
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${1:-./raftkv-cluster}
[[ $# -gt 0 ]] && shift
raft_port=${RAFT_PORT:-7001}
http_port=${HTTP_PORT:-8001}

# The binary: $RAFTKV, else build/'s (`make raftkv` builds it).
bin=${RAFTKV:-$root/build/examples/raftkv/raftkv}
if [[ ! -x $bin ]]; then
  echo "run-cluster.sh: $bin not found; run \`make raftkv\` first, or set RAFTKV=/path/to/raftkv" >&2
  exit 1
fi

mkdir -p "$dir"

scheme=http
curl_tls=()
if [[ ${TLS:-0} == 1 ]]; then
  certs=$dir/certs
  for i in 1 2 3; do
    if [[ ! -f $certs/node$i.pem ]]; then
      "$root/scripts/make-certs.sh" "$certs" 1 2 3
      break
    fi
  done
  scheme=https
  curl_tls=(--cacert "$certs/ca.pem")
fi

peers=""
for i in 1 2 3; do
  peers+="${peers:+,}n$i=127.0.0.1:$((raft_port + i - 1))"
done

pids=()
stop_nodes() {
  trap - INT TERM EXIT
  if [[ ${#pids[@]} -gt 0 ]]; then
    echo
    echo "stopping the nodes..."
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    echo "stopped; data and logs are in $dir"
  fi
}
trap 'stop_nodes; exit 0' INT TERM
trap stop_nodes EXIT

# Job control: each node gets a process group of its own, so a Ctrl-C in
# this terminal reaches this script only, which then stops the nodes with
# one SIGTERM each.
set -m

for i in 1 2 3; do
  # --peers bootstraps the cluster on the first run; it is ignored once
  # DIR/nN holds state.
  tls=()
  if [[ $scheme == https ]]; then
    tls=(--tls-ca "$certs/ca.pem" --tls-cert "$certs/node$i.pem" --tls-key "$certs/node$i.key" --tls-verify-peer-id)
  fi
  "$bin" --id "n$i" --raft "127.0.0.1:$((raft_port + i - 1))" --http "127.0.0.1:$((http_port + i - 1))" \
    --dir "$dir/n$i" --peers "$peers" "${tls[@]}" "$@" 2>>"$dir/n$i.log" &
  pids+=($!)
done

echo "raftkv: 3 nodes ($bin)${curl_tls[*]:+, TLS with certificates in $dir/certs}"
for i in 1 2 3; do
  echo "  n$i  $scheme://127.0.0.1:$((http_port + i - 1))  pid ${pids[$((i - 1))]}  log $dir/n$i.log"
done

# Wait (up to 10 s) for a leader, and print where it is.
leader=""
deadline=$((SECONDS + 10))
while [[ -z $leader && $SECONDS -lt $deadline ]]; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "a node exited early (a port in use?); see the logs in $dir" >&2
      exit 1
    fi
  done
  for i in 1 2 3; do
    if curl -fsS --max-time 1 "${curl_tls[@]}" "$scheme://127.0.0.1:$((http_port + i - 1))/status" 2>/dev/null |
        grep -q '"state":"leader"'; then
      leader="127.0.0.1:$((http_port + i - 1))"
      break
    fi
  done
  [[ -z $leader ]] && sleep 0.1
done
if [[ -z $leader ]]; then
  echo "no leader after 10 s; see the logs in $dir" >&2
  leader="127.0.0.1:$http_port"
else
  echo "leader: $scheme://$leader"
fi

c="curl${curl_tls[*]:+ ${curl_tls[*]}}"
cat <<EOF

Try (a follower answers writes with 503 and names the leader):
  $c -X PUT $scheme://$leader/kv/hello --data-binary world
  $c $scheme://$leader/kv/hello
  $c '$scheme://127.0.0.1:$http_port/kv/hello?stale=true'
  $c -X POST '$scheme://$leader/kv/hello?cas=world' --data-binary there
  $c -X DELETE $scheme://$leader/kv/hello
  $c $scheme://$leader/status
  $c $scheme://$leader/metrics

Ctrl-C stops the cluster.
EOF

# Until Ctrl-C, or until a node exits by itself.
wait -n "${pids[@]}" || true
echo "a node exited; see the logs in $dir" >&2
exit 1
