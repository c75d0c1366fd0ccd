#!/usr/bin/env bash
# TSIG-keyed zone transfers: DMP_XFR_ALLOW=127.0.0.1=KEY. Knot, configured with the key, loads a
# zone big enough for several messages (each signed, RFC 8945 §5.3.1) and follows a NOTIFY by
# IXFR; an unsigned AXFR is REFUSED and one signed with a wrong secret gets NOTAUTH.
# usage: xfr_tsig.sh /path/to/dnsmeshd /path/to/dnsmesh-admin. Exit 77 without knotd/kdig.
set -u
BIN=$1 ADMIN=$2
KNOTD=$(command -v knotd || echo /usr/sbin/knotd)
[ -x "$KNOTD" ] && command -v kdig >/dev/null && command -v curl >/dev/null || { echo "skip: knotd/kdig/curl missing"; exit 77; }
DIR=$(mktemp -d /tmp/dmp_xfr_tsig.XXXXXX)
NODE_PID= SEC_PID=
cleanup() {
  [ -n "$SEC_PID" ] && kill "$SEC_PID" 2>/dev/null && wait "$SEC_PID" 2>/dev/null
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -n 20 "$DIR/node.log"; tail -n 20 "$DIR/knot.log"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
KPORT=$(free_port)
line=$("$ADMIN" tsig add xfr-key.mesh.test --db "$DIR/db" --scope mesh.test 2>&1 | grep -E '^hmac-') || fail "tsig add: $line"
ALG=${line%%:*}; rest=${line#*:}; KEYNAME=${rest%%:*}; SECRET=${rest#*:}

DMP_DB_PATH=$DIR/db DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT=0 DMP_HTTP_HOST=127.0.0.1 DMP_HTTP_PORT=0 \
DMP_PORTS_FILE=$DIR/ports DMP_SERVED_ZONE=mesh.test DMP_DNS_APEX_NS=ns1.mesh.test \
DMP_DNS_APEX_SOA_RNAME=hostmaster.mesh.test DMP_XFR_ALLOW=127.0.0.1=$KEYNAME \
DMP_NOTIFY=127.0.0.1:$KPORT DMP_HTTP_RATE=0 DMP_DNS_RATE=0 DMP_SHARDS=1 DMP_FRONTENDS=1 \
  "$BIN" >"$DIR/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 100); do [ -s "$DIR/ports" ] && break; sleep 0.1; done
[ -s "$DIR/ports" ] || fail "dnsmeshd did not start"
HTTP=$(sed -n 's/.*http=\([^ ]*\).*/\1/p' "$DIR/ports"); DNS=$(sed -n 's/.*dns=\([^ ]*\).*/\1/p' "$DIR/ports")
DPORT=${DNS##*:}
V=$(printf 'x%.0s' $(seq 200))
for k in $(seq 120); do
  curl -s -o /dev/null -X POST "http://$HTTP/v1/records/r$k.mesh.test" -d "{\"value\": \"$k$V\", \"ttl\": 600}"
done
# unsigned, and signed with a wrong secret
out=$(kdig @127.0.0.1 -p "$DPORT" mesh.test AXFR 2>&1)
echo "$out" | grep -q REFUSED || fail "unsigned AXFR not refused: $out"
echo "ok: an unsigned AXFR is REFUSED when the address needs a key"
out=$(kdig -y "$ALG:$KEYNAME:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" @127.0.0.1 -p "$DPORT" mesh.test AXFR 2>&1)
echo "$out" | grep -qiE 'NOTAUTH|BADSIG|failed' || fail "AXFR with a wrong secret not refused: $out"
echo "ok: a wrong secret gets NOTAUTH"
out=$(kdig -y "$ALG:$KEYNAME:$SECRET" @127.0.0.1 -p "$DPORT" mesh.test AXFR 2>&1)
echo "$out" | grep -q 'r120.mesh.test' || fail "signed AXFR failed: $out"
echo "$out" | grep -qE '^;; WARNING|failed|BADSIG|BADKEY|BADTIME' && fail "kdig complains about the signed AXFR: $out"
echo "$out" | grep -q 'TSIG' || fail "the AXFR answer carries no TSIG: $out"
msgs=$(echo "$out" | sed -n 's/.*Received .* in \([0-9]*\) messages.*/\1/p; s/.*messages \([0-9]*\).*/\1/p' | head -1)
echo "ok: kdig verified a signed AXFR ($(echo "$out" | grep -o 'Received [0-9]* B ([0-9]* messages, [0-9]* records)' || echo "$msgs"))"

cat >"$DIR/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$KPORT
    rundir: $DIR
log:
  - target: $DIR/knot.log
    any: info
database:
    storage: $DIR/kdb
key:
  - id: $KEYNAME
    algorithm: $ALG
    secret: $SECRET
remote:
  - id: primary
    address: 127.0.0.1@$DPORT
    key: $KEYNAME
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    action: notify
zone:
  - domain: mesh.test
    storage: $DIR/kzones
    master: primary
    acl: notify_from_primary
    zonefile-sync: -1
CONF
mkdir -p "$DIR/kdb" "$DIR/kzones"
"$KNOTD" -c "$DIR/knot.conf" >"$DIR/knotd.out" 2>&1 &
SEC_PID=$!
q() { kdig +short +time=1 +retry=0 @127.0.0.1 -p "$KPORT" "$1" TXT 2>/dev/null; }
for _ in $(seq 150); do q r120.mesh.test | grep -q "120x" && break; sleep 0.1; done
q r120.mesh.test | grep -q "120x" || fail "knot did not load the zone over a signed AXFR"
echo "ok: knot loaded the zone over a TSIG-signed multi-message AXFR"
curl -s -o /dev/null -X POST "http://$HTTP/v1/records/late.mesh.test" -d '{"value": "late", "ttl": 600}'
for _ in $(seq 150); do q late.mesh.test | grep -q '"late"' && break; sleep 0.1; done
q late.mesh.test | grep -q '"late"' || fail "knot did not follow the NOTIFY"
grep -q 'IXFR, incoming.*finished' "$DIR/knot.log" || fail "no signed IXFR in knot's log"
echo "ok: knot followed a NOTIFY by a signed IXFR"
exit 0
