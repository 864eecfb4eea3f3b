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
  "$bin" --id "n$i" --raft "127.0.0.1:$((raft_port + i - 1))" --http "127.0.0.1:$((http_port + i - 1))" \
    --dir "$dir/n$i" --peers "$peers" "$@" 2>>"$dir/n$i.log" &
  pids+=($!)
done

echo "raftkv: 3 nodes ($bin)"
for i in 1 2 3; do
  echo "  n$i  http://127.0.0.1:$((http_port + i - 1))  log $dir/n$i.log"
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
    if curl -fsS --max-time 1 "http://127.0.0.1:$((http_port + i - 1))/status" 2>/dev/null |
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
  echo "leader: http://$leader"
fi

cat <<EOF

Try (a follower answers writes with 503 and names the leader):
  curl -X PUT http://$leader/kv/hello --data-binary world
  curl http://$leader/kv/hello
  curl 'http://127.0.0.1:$http_port/kv/hello?stale=true'
  curl -X POST 'http://$leader/kv/hello?cas=world' --data-binary there
  curl -X DELETE http://$leader/kv/hello
  curl http://$leader/status
  curl http://$leader/metrics

Ctrl-C stops the cluster.
EOF

# Until Ctrl-C, or until a node exits by itself.
wait -n "${pids[@]}" || true
echo "a node exited; see the logs in $dir" >&2
exit 1
