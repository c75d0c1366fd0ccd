#!/usr/bin/env bash
# Zone transfers to a standard secondary: NSD (Debian package nsd) follows a dnsmeshd primary on
# loopback — AXFR at start, a new record after the NOTIFY, a delete and an expiry.
# usage: xfr_nsd.sh /path/to/dnsmeshd. Exit 77 (skip) without nsd or dig.
set -u
BIN=$1
NSD=$(command -v nsd || echo /usr/sbin/nsd)
[ -x "$NSD" ] && command -v kdig >/dev/null && command -v dig >/dev/null && command -v curl >/dev/null || { echo "skip: nsd/dig/curl missing"; exit 77; }
DIR=$(mktemp -d /tmp/dmp_xfr_nsd.XXXXXX)
NODE_PID= SEC_PID=
cleanup() {
  [ -n "$SEC_PID" ] && kill "$SEC_PID" 2>/dev/null && wait "$SEC_PID" 2>/dev/null
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
[ -n "${XFR_DEBUG:-}" ] && trap - EXIT
fail() { echo "FAIL: $*"; echo "--- dnsmeshd log"; tail -20 "$DIR/node.log"; echo "--- nsdd log"; tail -20 "$DIR/nsd.log"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
KPORT=$(free_port)

# transfers configured without an apex SOA/NS: refuse to start, exit 2, say what is missing
DMP_DB_PATH=$DIR/db0 DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT=0 DMP_HTTP_HOST=127.0.0.1 \
DMP_HTTP_PORT=0 DMP_SERVED_ZONE=mesh.test DMP_XFR_ALLOW=127.0.0.1 timeout 10 "$BIN" \
  >"$DIR/noapex.log" 2>&1
rc=$?
[ $rc = 2 ] && grep -q 'DMP_DNS_APEX_NS' "$DIR/noapex.log" || fail "no apex: exit $rc, $(cat "$DIR/noapex.log")"
echo "ok: transfers without an apex SOA/NS refuse to start"

DMP_DB_PATH=$DIR/db DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT=0 DMP_HTTP_HOST=127.0.0.1 DMP_HTTP_PORT=0 \
DMP_PORTS_FILE=$DIR/ports DMP_SERVED_ZONE=mesh.test DMP_DNS_APEX_NS=ns1.mesh.test \
DMP_DNS_APEX_SOA_RNAME=hostmaster.mesh.test DMP_XFR_ALLOW=127.0.0.1 DMP_NOTIFY=127.0.0.1:$KPORT \
DMP_CLEANUP_INTERVAL=0.5 DMP_HTTP_RATE=0 DMP_DNS_RATE=0 DMP_SHARDS=1 DMP_FRONTENDS=1 \
  "$BIN" >"$DIR/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 100); do [ -s "$DIR/ports" ] && break; sleep 0.1; done
[ -s "$DIR/ports" ] || fail "dnsmeshd did not start"
DNS=$(sed -n 's/.*dns=\([^ ]*\).*/\1/p' "$DIR/ports"); HTTP=$(sed -n 's/.*http=\([^ ]*\).*/\1/p' "$DIR/ports")
DPORT=${DNS##*:}
pub() { curl -s -o /dev/null -w '%{http_code}' -X POST "http://$HTTP/v1/records/$1" -d "{\"value\": \"$2\", \"ttl\": $3}"; }
for k in 1 2 3; do [ "$(pub r$k.mesh.test v$k 600)" = 201 ] || fail "publish r$k"; done

cat >"$DIR/nsd.conf" <<CONF
server:
    ip-address: 127.0.0.1@$KPORT
    port: $KPORT
    zonesdir: "$DIR"
    zonelistfile: "$DIR/zone.list"
    database: ""
    pidfile: "$DIR/nsd.pid"
    xfrdfile: "$DIR/xfrd.state"
    xfrdir: "$DIR"
    username: ""
    chroot: ""
    logfile: "$DIR/nsd.log"
    verbosity: 2
    xfrd-reload-timeout: 0
remote-control:
    control-enable: no
zone:
    name: mesh.test
    zonefile: "mesh.test.zone"
    allow-notify: 127.0.0.1 NOKEY
    request-xfr: 127.0.0.1@$DPORT NOKEY
CONF
"$NSD" -d -c "$DIR/nsd.conf" >"$DIR/nsd.out" 2>&1 &
SEC_PID=$!

q() { dig +short +time=1 +tries=1 @127.0.0.1 -p "$KPORT" "$1" TXT 2>/dev/null; }
wait_for() { # name expected(present|absent) value
  for _ in $(seq 150); do
    got=$(q "$1")
    if [ "$2" = present ] && echo "$got" | grep -qx "\"$3\""; then return 0; fi
    if [ "$2" = absent ] && ! echo "$got" | grep -qx "\"$3\""; then return 0; fi
    sleep 0.1
  done
  return 1
}
wait_for r2.mesh.test present v2 || fail "nsd did not AXFR the zone"
echo "ok: nsd serves the zone after AXFR"
[ "$(pub r4.mesh.test v4 600)" = 201 ] || fail "publish r4"
wait_for r4.mesh.test present v4 || fail "nsd did not follow the NOTIFY (r4)"
echo "ok: nsd follows a write after NOTIFY"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$HTTP/v1/records/r1.mesh.test")
[ "$code" = 204 ] || fail "delete r1: $code"
wait_for r1.mesh.test absent v1 || fail "nsd still serves the deleted r1"
echo "ok: nsd drops a deleted record"
[ "$(pub brief.mesh.test soon 2)" = 201 ] || fail "publish brief"
wait_for brief.mesh.test present soon || fail "nsd did not get the short-lived record"
wait_for brief.mesh.test absent soon || fail "nsd still serves the expired record after the sweep"
echo "ok: nsd drops an expired record after the sweep"
# the primary's own answer and the secondary's agree on the serial
s1=$(dig +short @127.0.0.1 -p "$DPORT" mesh.test SOA | awk '{print $3}')
s2=$(dig +short @127.0.0.1 -p "$KPORT" mesh.test SOA | awk '{print $3}')
[ -n "$s1" ] && [ "$s1" = "$s2" ] || fail "serials differ: primary $s1, nsd $s2"
echo "ok: same serial $s1 on both"
# anyone not in DMP_XFR_ALLOW is refused
out=$(kdig -b 127.0.0.2 @127.0.0.1 -p "$DPORT" mesh.test AXFR 2>&1)
echo "$out" | grep -q 'REFUSED' || fail "AXFR from 127.0.0.2 not refused: $out"
echo "ok: AXFR from an address outside DMP_XFR_ALLOW is REFUSED"
exit 0
