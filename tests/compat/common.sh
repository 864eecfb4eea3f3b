# Helpers for the compat shell tests (sourced).

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# A TCP port on 127.0.0.1 nobody listens on now (a connection to it is
# refused). Below the usual ephemeral range, so that outgoing connections
# do not take it meanwhile.
free_port() {
  local p
  for p in $(shuf -i 12000-30000 -n 200); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  fail "no free port found"
}

# expect FILE PATTERN: FILE has a line matching the extended regex.
expect() {
  grep -Eq -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "no line matching /$2/ in $1"; }
}

# expect_not FILE PATTERN
expect_not() {
  if grep -Eq -- "$2" "$1"; then
    echo "--- $1:"; cat "$1"; fail "unexpected line matching /$2/ in $1"
  fi
}
