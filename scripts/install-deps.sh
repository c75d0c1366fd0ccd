#!/usr/bin/env bash
# Installs the Debian 12 packages dnsmesh-c builds, tests and benchmarks with.
# Idempotent: packages already present are left alone and apt is not touched.
#   scripts/install-deps.sh          build + test packages (nsd and knot: the zone-transfer
#                                    tests start them as secondaries on loopback)
#   scripts/install-deps.sh --bench  also what the benchmarks need: zfec (erasure peer), dnsperf
#                                    (a DNS load client we did not write) and gnuplot (the SVG
#                                    curves of bench/dns-vs-peers.sh)
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  liburing-dev libsodium-dev libargon2-dev libldns-dev librocksdb-dev libisal-dev
  libjemalloc-dev libcmocka-dev libmicrohttpd-dev libjansson-dev libssl-dev libsystemd-dev
  libicu-dev libcurl4-openssl-dev libyaml-dev libsqlite3-dev
  dnsutils knot-dnsutils curl python3 help2man dpkg-dev fakeroot systemd
  nsd knot
)
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(python3-zfec dnsperf gnuplot-nox)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo; missing: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's nsd and knot packages try to start system services; this project only
# ever starts its own instances on loopback, so stop any the package started.
for svc in nsd knot; do
  if printf '%s\n' "${missing[@]}" | grep -qx "$svc" && command -v systemctl >/dev/null; then
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done
