#!/usr/bin/env bash
# make demo-cluster: the 2015 README's three-node cluster, on localhost.
#
# Starts three raft_client processes (--dir under a temporary folder,
# --port, --peers naming the other two), each in interactive mode reading
# from a FIFO; shows which one leads; sends it commands; kills the leader
# with SIGKILL; shows the new leader and that the letter count carried
# over; restarts the killed node, which catches up as a follower; quits.
# Everything it started is killed and its folder removed on exit.
#
# Usage: scripts/demo-cluster.sh [RAFT_CLIENT]   (default ./build/tools/raft_client)
set -euo pipefail

client=${1:-./build/tools/raft_client}
[ -x "$client" ] || { echo "demo-cluster: $client not found (run make build first)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/raft-demo.XXXXXX")
names=(A B C)
declare -A port pid fd

cleanup() {
  local n
  for n in "${names[@]}"; do
    [ -n "${pid[$n]:-}" ] && kill -9 "${pid[$n]}" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n==> %s\n' "$*"; }

# Nobody listens on the port (a connection to it is refused).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Three free ports: 9001-9003 as in the README when they are free, else the
# first free ones above.
pick_ports() {
  local p=9001 n
  for n in "${names[@]}"; do
    while ! port_free "$p"; do
      p=$((p + 1))
      [ "$p" -lt 10000 ] || { echo "demo-cluster: no free port in 9001-9999" >&2; exit 1; }
    done
    port[$n]=$p
    p=$((p + 1))
  done
}

peers_of() {
  local me=$1 n list=""
  for n in "${names[@]}"; do
    [ "$n" = "$me" ] || list+="${list:+,}localhost:${port[$n]}"
  done
  echo "$list"
}

# start NODE: raft_client in interactive mode, stdin from a FIFO that this
# script holds open (fd[NODE]), stdout and stderr to NODE.out.
start() {
  local n=$1 f
  rm -f "$work/$n.in"
  mkfifo "$work/$n.in"
  echo "  $client --dir $work/raft_$n --port ${port[$n]} --peers $(peers_of "$n") -i"
  "$client" --dir "$work/raft_$n" --port "${port[$n]}" --peers "$(peers_of "$n")" -i \
    <"$work/$n.in" >>"$work/$n.out" 2>&1 &
  pid[$n]=$!
  exec {f}>"$work/$n.in"
  fd[$n]=$f
}

send() { echo "$2" >&"${fd[$1]}"; }

# wait_for NODE REGEX [SECONDS]: polls NODE's output until a line matches.
wait_for() {
  local n=$1 re=$2 deadline=$((SECONDS + ${3:-30}))
  until grep -Eq -- "$re" "$work/$n.out"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "demo-cluster: timed out waiting for /$re/ from node $n; its output:" >&2
      cat "$work/$n.out" >&2
      exit 1
    fi
    sleep 0.05  # polling interval
  done
}

# The number of lines of NODE's output matching REGEX.
count() { grep -Ec -- "$2" "$work/$1.out" || true; }

# run_command NODE TEXT: sends a command and prints the count it leads to.
run_command() {
  local n=$1 before
  before=$(count "$n" '^(FSM state|Raft error)')
  send "$n" "$2"
  local deadline=$((SECONDS + 30))
  until [ "$(count "$n" '^(FSM state|Raft error)')" -gt "$before" ]; do
    [ $SECONDS -lt $deadline ] || { echo "demo-cluster: no answer from $n" >&2; exit 1; }
    sleep 0.05  # polling interval
  done
  printf '  %-24s -> %s\n' "\"$2\"" "$(grep -E '^(FSM state|Raft error)' "$work/$n.out" | tail -n 1)"
}

# snapshot NODE: sends S and prints the outcome.
snapshot() {
  local n=$1 before
  before=$(count "$n" '^Snapshot (complete|failed)')
  send "$n" "S"
  local deadline=$((SECONDS + 30))
  until [ "$(count "$n" '^Snapshot (complete|failed)')" -gt "$before" ]; do
    [ $SECONDS -lt $deadline ] || { echo "demo-cluster: no answer from $n" >&2; exit 1; }
    sleep 0.05  # polling interval
  done
  printf '  %-24s -> %s\n' '"S"' "$(grep -E '^Snapshot (complete|failed)' "$work/$n.out" | tail -n 1)"
}

# state NODE: asks NODE for its state ("?") and prints the answer.
state() {
  local n=$1 before
  before=$(count "$n" '^State: ')
  send "$n" "?"
  local deadline=$((SECONDS + 10))
  until [ "$(count "$n" '^State: ')" -gt "$before" ]; do
    [ $SECONDS -lt $deadline ] || { echo "demo-cluster: no answer from $n" >&2; exit 1; }
    sleep 0.05  # polling interval
  done
  last_state=$(grep -E '^State: ' "$work/$n.out" | tail -n 1)
  echo "  node $n (port ${port[$n]}): $last_state"
}

letters_in() { sed -E 's/.*letter count ([0-9]+).*/\1/' <<<"$1"; }

# find_leader NODES...: asks each node until one is the leader.
find_leader() {
  local deadline=$((SECONDS + 30)) n
  while [ $SECONDS -lt $deadline ]; do
    for n in "$@"; do
      send "$n" "?"
    done
    sleep 0.3  # polling interval
    for n in "$@"; do
      if grep -E '^State: ' "$work/$n.out" | tail -n 1 | grep -q '^State: Leader;'; then
        leader=$n
        return 0
      fi
    done
  done
  echo "demo-cluster: no leader elected within 30 s" >&2
  exit 1
}

pick_ports
say "Starting three nodes on localhost (state under $work)"
for n in "${names[@]}"; do start "$n"; done

say "Waiting for an election"
for n in "${names[@]}"; do wait_for "$n" '^(Leader:|No leader)' 40; done
find_leader "${names[@]}"
for n in "${names[@]}"; do state "$n"; done
echo "  node $leader leads."

say "Sending commands to the leader, node $leader (the FSM counts letters)"
run_command "$leader" "hello world"
run_command "$leader" "the quick brown fox"
snapshot "$leader"
run_command "$leader" "jumps over the lazy dog"
count_before=$(letters_in "$(grep -E '^FSM state' "$work/$leader.out" | tail -n 1)")

say "Followers apply the leader's commands, and refuse their own (nothing is forwarded)"
for n in "${names[@]}"; do
  [ "$n" = "$leader" ] && continue
  run_command "$n" "typed on a follower"
  deadline=$((SECONDS + 10))
  while state "$n" >/dev/null; [ "$(letters_in "$last_state")" != "$count_before" ]; do
    [ $SECONDS -lt $deadline ] || { echo "demo-cluster: node $n did not catch up" >&2; exit 1; }
  done
  echo "  node $n (port ${port[$n]}): $last_state"
done

old=$leader
say "Killing the leader, node $old (SIGKILL)"
kill -9 "${pid[$old]}"
wait "${pid[$old]}" 2>/dev/null || true
pid[$old]=""
eval "exec ${fd[$old]}>&-"
survivors=()
for n in "${names[@]}"; do [ "$n" = "$old" ] || survivors+=("$n"); done

say "Waiting for the others to elect a new leader"
find_leader "${survivors[@]}"
for n in "${survivors[@]}"; do [ "$n" = "$leader" ] || state "$n"; done
state "$leader"
count_after=$(letters_in "$last_state")
echo "  node $leader leads now; the letter count carried over: $count_before before the kill, $count_after now."
[ "$count_after" = "$count_before" ] || { echo "demo-cluster: the count did not carry over" >&2; exit 1; }

say "Sending more commands to the new leader, node $leader"
run_command "$leader" "after the failover"
run_command "$leader" "still counting"

say "Restarting node $old from its directory: it rejoins as a follower and catches up"
: >"$work/$old.out"
start "$old"
wait_for "$old" '^(Leader:|No leader)' 40
grep -E '^Restored from snapshot' "$work/$old.out" | sed 's/^/  node '"$old"': /' || true
final=$(letters_in "$(grep -E '^FSM state' "$work/$leader.out" | tail -n 1)")
deadline=$((SECONDS + 20))
while state "$old" >/dev/null; [ "$(letters_in "$last_state")" != "$final" ]; do
  [ $SECONDS -lt $deadline ] || { echo "demo-cluster: node $old did not catch up" >&2; exit 1; }
done
echo "  node $old (port ${port[$old]}): $last_state"

say "Quitting (Q); the new leader's statistics"
for n in "${names[@]}"; do send "$n" "Q"; done
for n in "${names[@]}"; do
  eval "exec ${fd[$n]}>&-"
  wait "${pid[$n]}" 2>/dev/null || true
  pid[$n]=""
done
sed -n '/^Raft stats:/,$p' "$work/$leader.out" |
  grep -E '^Raft stats:|^  (state|term|commit_index|applied_index|last_snapshot_index|latest_configuration|num_peers) '
say "Done: $count_before letters before the failover, $final at the end, on every node."
