#!/usr/bin/env bash
# Installs the Debian packages the build needs. Idempotent: when everything
# is present it prints nothing and exits 0 at once.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libgtest-dev libgmock-dev libbenchmark-dev
  libasio-dev libssl-dev
  clang libclang-rt-dev
  nlohmann-json3-dev libcpp-httplib-dev
  iproute2 openssl curl python3
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
install() { $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; }
if ! install; then
  $sudo apt-get update -qq >"$log" 2>&1 || true
  if ! install; then
    cat "$log" >&2
    echo "setup: apt-get install failed" >&2
    exit 1
  fi
fi
