#!/usr/bin/env bash
# Wall time of `dnsmesh send` and `dnsmesh recv` for a 1 KB and the largest message (24,724
# bytes), our CLI beside the reference's CLI, in the same run against the same local dnsmeshd.
# Each figure is the command's wall time minus that CLI's `identity show` (which only derives
# the keys), so Argon2id and process start are left out; best of ROUNDS (default 3).
#   bench/client_vs_reference.sh BUILD_DIR [REFERENCE_DIR]
# REFERENCE_DIR: a tree made by ../shared/tools/setup-reference.sh (default /tmp/dmp-reference);
# without it only our CLI is timed. Loopback only; the public claim provider is turned off.
set -uo pipefail
B=${1:?usage: client_vs_reference.sh BUILD_DIR [REFERENCE_DIR]}
REF=${2:-/tmp/dmp-reference}
ROUNDS=${ROUNDS:-3}
B=$(cd "$B" && pwd)
T=$(mktemp -d /tmp/dnsmesh-cvr.XXXXXX)
trap 'kill $NODE_PID 2>/dev/null; wait $NODE_PID 2>/dev/null; rm -rf "$T"' EXIT
export DNSMESH_NO_DEFAULT_PROVIDER=1
"$B/src/node/dnsmeshd" --db-path="$T/db" --dns-host=127.0.0.1 --dns-port=0 --http-host=127.0.0.1 \
  --http-port=0 --ports-file="$T/ports" --http-burst=100000 \
  --http-rate=100000 --dns-rate=0 --log-level=warning >"$T/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 100); do [[ -s $T/ports ]] && break; sleep 0.05; done
DNS=$(sed 's/.*dns=\([^ ]*\).*/\1/' "$T/ports"); HTTP=$(sed 's/.*http=\([^ ]*\).*/\1/' "$T/ports")
head -c 1024 /dev/zero | tr '\0' 'k' >"$T/m1k"
head -c 24724 /dev/zero | tr '\0' 'm' >"$T/mmax"

ours() { "$B/tools/dnsmesh/dnsmesh" "$@"; }
ref() { PYTHONPATH="$REF/shim:$REF" /usr/bin/python3 -m dmp.cli "$@"; }
now() { date +%s%N; }

# setup CLI TAG: two users (TAG-a, TAG-b) with their own config homes, pinned both ways
setup() {
  local cli=$1 tag=$2
  for u in a b; do
    export DMP_CONFIG_HOME="$T/$tag-$u" DMP_PASSPHRASE="$tag-$u-pass"
    $cli init "$tag$u" --domain mesh.test --endpoint "http://$HTTP" --dns-resolvers "$DNS" \
      --no-probe-local-dns >/dev/null 2>&1
    # the reference always publishes claims: point it at loopback instead of dnsmesh.io
    sed -i "s|^claim_provider_override: ''|claim_provider_override: http://127.0.0.1:1|; s|^claim_provider_zone: ''|claim_provider_zone: claims.test|" "$T/$tag-$u/config.yaml"
    $cli identity publish >/dev/null
  done
  DMP_CONFIG_HOME="$T/$tag-a" DMP_PASSPHRASE="$tag-a-pass" $cli identity fetch "${tag}b" --add >/dev/null
  DMP_CONFIG_HOME="$T/$tag-b" DMP_PASSPHRASE="$tag-b-pass" $cli identity fetch "${tag}a" --add >/dev/null
}

# best send and recv wall time (ms) minus the best KDF-only baseline (each a minimum over
# ROUNDS, so one slow Argon2id on a busy machine does not skew the difference)
measure() {
  local cli=$1 tag=$2 file=$3 bb=0 bs=0 br=0 t0 t1 d
  for _ in $(seq "$ROUNDS"); do
    t0=$(now); DMP_CONFIG_HOME="$T/$tag-a" DMP_PASSPHRASE="$tag-a-pass" $cli identity show >/dev/null; t1=$(now)
    d=$(((t1 - t0) / 1000000)); ((bb == 0 || d < bb)) && bb=$d
    t0=$(now); DMP_CONFIG_HOME="$T/$tag-a" DMP_PASSPHRASE="$tag-a-pass" $cli send "${tag}b" "@$file" >/dev/null 2>&1 ||
      DMP_CONFIG_HOME="$T/$tag-a" DMP_PASSPHRASE="$tag-a-pass" $cli send "${tag}b" "$(cat "$file")" >/dev/null 2>&1 ||
      echo "send failed ($tag)" >&2
    t1=$(now); d=$(((t1 - t0) / 1000000)); ((bs == 0 || d < bs)) && bs=$d
    t0=$(now); DMP_CONFIG_HOME="$T/$tag-b" DMP_PASSPHRASE="$tag-b-pass" $cli recv >"$T/out" 2>&1; t1=$(now)
    grep -q "^from " "$T/out" || echo "recv got nothing ($tag)" >&2
    d=$(((t1 - t0) / 1000000)); ((br == 0 || d < br)) && br=$d
  done
  echo "$((bs - bb)) $((br - bb)) $bb"
}

setup ours o
have_ref=0
if [[ -d $REF/dmp ]] && PYTHONPATH="$REF/shim:$REF" /usr/bin/python3 -c 'import dmp.cli' 2>/dev/null; then
  setup ref r
  have_ref=1
fi
printf '%-10s %12s %12s %12s %12s %14s\n' message "send ours" "send ref" "recv ours" "recv ref" "kdf ours/ref"
for f in m1k mmax; do
  read -r os or ob < <(measure ours o "$T/$f")
  rs="-" rr="-" rb="-"
  ((have_ref)) && read -r rs rr rb < <(measure ref r "$T/$f")
  printf '%-10s %9s ms %9s ms %9s ms %9s ms %7s/%s ms\n' "$(stat -c %s "$T/$f") B" "$os" "$rs" "$or" "$rr" "$ob" "$rb"
done
