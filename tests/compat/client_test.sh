#!/usr/bin/env bash
# The raft_client demo, end to end.
# Usage: client_test.sh interactive|auto|flags RAFT_CLIENT WORKDIR
set -euo pipefail
mode=$1
client=$2
work=$3
. "$(dirname "$0")/common.sh"
rm -rf "$work"
mkdir -p "$work"
out=$work/out
err=$work/err

case $mode in
interactive)
  # Commands, a snapshot, the state and Q, fed through a pipe.
  port=$(free_port)
  printf 'hello world\nS\nfoo bar\n?\nQ\n' |
    "$client" --dir "$work/node" --port "$port" -i >"$out" 2>"$err" || fail "exit $? (stderr: $(cat "$err"))"
  expect "$out" "^Leader: 127\.0\.0\.1:$port \(this node\)\.$"
  expect "$out" "^FSM state: letter count 10\.$"
  expect "$out" "^Snapshot complete\.$"
  expect "$out" "^FSM state: letter count 16\.$"
  expect "$out" "^State: Leader; leader: 127\.0\.0\.1:$port; letter count 16;"
  expect "$out" "^Raft stats:$"
  expect "$out" "^  state +Leader$"

  # A restart with the same --dir restores the snapshot (10) and replays
  # the command after it (16), then goes on; the end of input quits.
  printf '?\nxyz\n' |
    "$client" --dir "$work/node" --port "$port" -i >"$out" 2>"$err" || fail "restart: exit $? (stderr: $(cat "$err"))"
  expect "$out" "^Restored from snapshot: letter count 10\.$"
  expect "$out" "^State: Leader; leader: 127\.0\.0\.1:$port; letter count 16;"
  expect "$out" "^FSM state: letter count 19\.$"
  ls "$work/node/snapshots" >/dev/null || fail "no snapshots folder in --dir"
  ;;
auto)
  port=$(free_port)
  "$client" --single --port "$port" -n 3 -w 0 >"$out" 2>"$err" || fail "exit $? (stderr: $(cat "$err"))"
  expect "$out" "^3 runs,"
  expect "$out" "^FSM state: letter count 11\.$"
  expect "$out" "^FSM state: letter count 33\.$"
  expect_not "$out" "letter count 44"
  expect "$out" "^  last_snapshot_index +0$"

  # Snapshots every 2 commands; the in-memory backend.
  port=$(free_port)
  "$client" --single --backend-type inmem --port "$port" -n 4 -s 2 -w 0 >"$out" 2>"$err" ||
    fail "-s: exit $? (stderr: $(cat "$err"))"
  [ "$(grep -c '^Snapshot complete\.$' "$out")" = 2 ] || { cat "$out"; fail "expected 2 snapshots"; }
  expect "$out" "^FSM state: letter count 44\.$"
  expect "$out" "^  snapshots_taken +2$"
  ;;
flags)
  # usage_error ARGS...: exit status 2, a message and the usage on stderr.
  usage_error() {
    local rc=0
    "$client" "$@" >"$out" 2>"$err" </dev/null || rc=$?
    [ "$rc" = 2 ] || { cat "$err"; fail "raft_client $*: exit $rc, expected 2"; }
    expect "$err" "^Usage: "
    expect "$err" "^raft_client: "
  }
  usage_error --bogus
  expect "$err" "unknown option --bogus"
  usage_error -x
  expect "$err" "unknown option -x"
  usage_error -n abc
  expect "$err" "--runs needs a non-negative whole number"
  usage_error -n
  expect "$err" "needs a value"
  usage_error -w -5
  usage_error --snapshots=1x
  usage_error --port 0
  expect "$err" "invalid value for --port"
  usage_error --port 70000
  usage_error --peers localhost
  expect "$err" "invalid value for --peers"
  usage_error --backend-type nosuch
  expect "$err" "unknown backend"
  usage_error --single stray-argument
  expect "$err" "unexpected argument"

  "$client" --help >"$out" 2>"$err" || fail "--help: exit $?"
  expect "$out" "^Usage: "
  expect "$out" "--interactive"
  expect "$out" "--peers"

  # A node that cannot start (its port is taken): exit 1, raft_init says why.
  port=$(free_port)
  mkfifo "$work/in"
  "$client" --single --port "$port" -i <"$work/in" >"$work/first" 2>&1 &
  first=$!
  exec 4>"$work/in"
  deadline=$((SECONDS + 20))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "the first client never listened on $port"
    sleep 0.01  # polling interval
  done
  rc=0
  "$client" --single --port "$port" -n 1 >"$out" 2>"$err" </dev/null || rc=$?
  echo Q >&4
  exec 4>&-
  wait "$first" || fail "the first client failed: $(cat "$work/first")"
  [ "$rc" = 1 ] || { cat "$err"; fail "port in use: exit $rc, expected 1"; }
  expect "$err" "^raft_init: "
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
echo "PASS client $mode"
