#!/usr/bin/env bash
# Manifest gossip end to end: dnsmesh-admin signs a cluster manifest and publishes it to node A;
# node B (pinned operator key, base domain, A as its only configured peer) fetches it over
# /v1/sync/cluster-manifest, verifies it, stores it and takes its nodes as peers; a manifest
# signed by another key is never installed.
# usage: cluster_gossip.sh /path/to/dnsmeshd /path/to/dnsmesh-admin
set -u
BIN=$1 ADMIN=$2
command -v curl >/dev/null || { echo "skip: curl missing"; exit 77; }
DIR=$(mktemp -d /tmp/dmp_gossip.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$DIR"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$DIR"/*.log; do tail -n 5 "$f"; done; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
KEY=$(printf '07%.0s' $(seq 32)) OTHER=$(printf '09%.0s' $(seq 32))
SPK=$("$ADMIN" cluster sign --name mesh.test --seq 0 --key-hex "$KEY" --node x=http://x | sed -n 's/^operator_spk: //p')
PA=$(free_port) PB=$(free_port)
start() { # name port peers
  DMP_DB_PATH=$DIR/$1 DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT=0 DMP_HTTP_HOST=127.0.0.1 DMP_HTTP_PORT=$2 \
  DMP_SYNC_PEER_TOKEN=tok DMP_SYNC_PEERS=$3 DMP_SYNC_SELF_ENDPOINT=http://127.0.0.1:$2 \
  DMP_SYNC_OPERATOR_SPK=$SPK DMP_CLUSTER_BASE_DOMAIN=mesh.test DMP_SYNC_INTERVAL=0.3 DMP_HTTP_RATE=0 \
  DMP_LOG_LEVEL=info "$BIN" >"$DIR/$1.log" 2>&1 &
  PIDS+=($!)
}
start a "$PA" ""
start b "$PB" "http://127.0.0.1:$PA"
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PB/health" && curl -s -o /dev/null "http://127.0.0.1:$PA/health" && break; sleep 0.1; done
out=$("$ADMIN" cluster sign --name mesh.test --seq 1 --key-hex "$KEY" --node a=http://127.0.0.1:$PA \
      --node b=http://127.0.0.1:$PB --publish "http://127.0.0.1:$PA" 2>&1) || fail "publish: $out"
WIRE=$(echo "$out" | sed -n 's/^value: //p')
for _ in $(seq 100); do
  curl -s "http://127.0.0.1:$PB/v1/records/cluster.mesh.test" | grep -qF "$WIRE" && break; sleep 0.1
done
curl -s "http://127.0.0.1:$PB/v1/records/cluster.mesh.test" | grep -qF "$WIRE" || fail "B did not install the manifest"
# B gets it by gossip, or first as an ordinary replicated record (then its gossip step adopts
# the stored one): either way it must now use the manifest as its peer list
for _ in $(seq 50); do
  grep -qE 'installed cluster manifest seq 1|using the stored cluster manifest seq 1' "$DIR/b.log" && break
  sleep 0.1
done
grep -qE 'installed cluster manifest seq 1|using the stored cluster manifest seq 1' "$DIR/b.log" ||
  fail "B did not take the manifest as its peer list"
echo "ok: a signed manifest published to A reaches B, which takes it as its peer list"
# a higher seq signed by another key: A does not serve it as the best, B never installs it
"$ADMIN" cluster sign --name mesh.test --seq 9 --key-hex "$OTHER" --node a=http://127.0.0.1:$PA \
  --publish "http://127.0.0.1:$PA" >/dev/null 2>&1 || fail "publish of the foreign manifest"
sleep 1.5
grep -q 'installed cluster manifest seq 9' "$DIR/b.log" && fail "B installed a manifest of another key"
echo "ok: a manifest signed by another key is not installed"
# the data path still works both ways with the manifest's peers
curl -s -o /dev/null -X POST "http://127.0.0.1:$PB/v1/records/from-b.mesh.test" -d '{"value": "hi", "ttl": 300}'
for _ in $(seq 100); do curl -s "http://127.0.0.1:$PA/v1/records/from-b.mesh.test" | grep -q '"hi"' && break; sleep 0.1; done
curl -s "http://127.0.0.1:$PA/v1/records/from-b.mesh.test" | grep -q '"hi"' || fail "A did not get B's record"
echo "ok: A (no configured peers) syncs from B, a peer it learned from the manifest"
exit 0
