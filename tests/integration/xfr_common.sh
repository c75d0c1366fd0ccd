# shellcheck shell=bash
# Shared set-up of the zone-transfer tests (xfr_knot.sh, xfr_nsd.sh, xfr_tsig.sh), sourced by
# them after they set BIN (the dnsmeshd binary): a temporary directory removed on exit together
# with the processes started here (only their own PIDs; XFR_DEBUG=1 keeps both), a free loopback
# port for the secondary, dnsmeshd started as a primary on ephemeral loopback ports, and the
# checks the Knot and NSD tests make alike. The tests define q NAME (the secondary's TXT answer).

# xfr_setup NAME SECONDARY_LOG: DIR, fail, free_port, KPORT (the secondary's port); SEC=NAME names
# the secondary in messages.
xfr_setup() {
  SEC=$1
  DIR=$(mktemp -d "/tmp/dmp_xfr_$1.XXXXXX")
  SEC_LOG=$2
  NODE_PID='' SEC_PID=''
  trap xfr_cleanup EXIT
  [ -n "${XFR_DEBUG:-}" ] && trap - EXIT
  KPORT=$(free_port)
}
xfr_cleanup() {
  [ -n "$SEC_PID" ] && kill "$SEC_PID" 2>/dev/null && wait "$SEC_PID" 2>/dev/null
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
  rm -rf "$DIR"
}
fail() {
  echo "FAIL: $*"
  echo "--- dnsmeshd log"; tail -n 20 "$DIR/node.log"
  echo "--- $SEC_LOG"; tail -n 20 "$DIR/$SEC_LOG"
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# transfers configured without an apex SOA/NS: refuse to start, exit 2, say what is missing
xfr_check_no_apex() {
  DMP_DB_PATH=$DIR/db0 DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT=0 DMP_HTTP_HOST=127.0.0.1 \
  DMP_HTTP_PORT=0 DMP_SERVED_ZONE=mesh.test DMP_XFR_ALLOW=127.0.0.1 timeout 10 "$BIN" \
    >"$DIR/noapex.log" 2>&1
  local rc=$?
  [ $rc = 2 ] && grep -q 'DMP_DNS_APEX_NS' "$DIR/noapex.log" || fail "no apex: exit $rc, $(cat "$DIR/noapex.log")"
  echo "ok: transfers without an apex SOA/NS refuse to start"
}

# xfr_start_node VAR=VALUE...: dnsmeshd serving mesh.test with an apex, NOTIFY to KPORT, one
# shard, no rate limits, plus the given settings (DMP_XFR_ALLOW at least). Sets NODE_PID, DNS,
# HTTP (host:port) and DPORT.
xfr_start_node() {
  env DMP_DB_PATH="$DIR/db" DMP_DNS_HOST=127.0.0.1 DMP_DNS_PORT=0 DMP_HTTP_HOST=127.0.0.1 \
    DMP_HTTP_PORT=0 DMP_PORTS_FILE="$DIR/ports" DMP_SERVED_ZONE=mesh.test \
    DMP_DNS_APEX_NS=ns1.mesh.test DMP_DNS_APEX_SOA_RNAME=hostmaster.mesh.test \
    DMP_NOTIFY="127.0.0.1:$KPORT" DMP_HTTP_RATE=0 DMP_DNS_RATE=0 DMP_SHARDS=1 DMP_FRONTENDS=1 \
    "$@" "$BIN" >"$DIR/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 100); do [ -s "$DIR/ports" ] && break; sleep 0.1; done
  [ -s "$DIR/ports" ] || fail "dnsmeshd did not start"
  DNS=$(sed -n 's/.*dns=\([^ ]*\).*/\1/p' "$DIR/ports"); HTTP=$(sed -n 's/.*http=\([^ ]*\).*/\1/p' "$DIR/ports")
  DPORT=${DNS##*:}
}
pub() { curl -s -o /dev/null -w '%{http_code}' -X POST "http://$HTTP/v1/records/$1" -d "{\"value\": \"$2\", \"ttl\": $3}"; }

# xfr_start_knot [KEYNAME ALG SECRET]: knotd on KPORT, a secondary of mesh.test taking NOTIFY
# from the primary; with a key, transfers are TSIG-signed with it. Sets SEC_PID.
xfr_start_knot() {
  local key="" keyref=""
  if [ $# = 3 ]; then
    key="key:
  - id: $1
    algorithm: $2
    secret: $3"
    keyref="    key: $1"
  fi
  cat >"$DIR/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$KPORT
    rundir: $DIR
log:
  - target: $DIR/knot.log
    any: info
database:
    storage: $DIR/kdb
$key
remote:
  - id: primary
    address: 127.0.0.1@$DPORT
$keyref
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
}

wait_for() { # name expected(present|absent) value
  for _ in $(seq 150); do
    got=$(q "$1")
    if [ "$2" = present ] && echo "$got" | grep -qx "\"$3\""; then return 0; fi
    if [ "$2" = absent ] && ! echo "$got" | grep -qx "\"$3\""; then return 0; fi
    sleep 0.1
  done
  return 1
}

# The checks xfr_knot.sh and xfr_nsd.sh share. After xfr_start_node and publishing r1..r3
# (v1..v3): the secondary serves the zone after AXFR.
xfr_check_axfr() {
  wait_for r2.mesh.test present v2 || fail "$SEC did not AXFR the zone"
  echo "ok: $SEC serves the zone after AXFR"
}
# a new record reaches the secondary after the NOTIFY (the caller says "ok")
xfr_check_notify() {
  [ "$(pub r4.mesh.test v4 600)" = 201 ] || fail "publish r4"
  wait_for r4.mesh.test present v4 || fail "$SEC did not follow the NOTIFY (r4)"
}
# a deleted record and an expired one (after the sweep) leave the secondary
xfr_check_delete_expire() {
  code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$HTTP/v1/records/r1.mesh.test")
  [ "$code" = 204 ] || fail "delete r1: $code"
  wait_for r1.mesh.test absent v1 || fail "$SEC still serves the deleted r1"
  echo "ok: $SEC drops a deleted record"
  [ "$(pub brief.mesh.test soon 2)" = 201 ] || fail "publish brief"
  wait_for brief.mesh.test present soon || fail "$SEC did not get the short-lived record"
  wait_for brief.mesh.test absent soon || fail "$SEC still serves the expired record after the sweep"
  echo "ok: $SEC drops an expired record after the sweep"
}
# xfr_check_serial_refused DIG: the primary's own answer and the secondary's agree on the serial
# (asked with DIG); anyone not in DMP_XFR_ALLOW is refused
xfr_check_serial_refused() {
  s1=$($1 +short @127.0.0.1 -p "$DPORT" mesh.test SOA | awk '{print $3}')
  s2=$($1 +short @127.0.0.1 -p "$KPORT" mesh.test SOA | awk '{print $3}')
  [ -n "$s1" ] && [ "$s1" = "$s2" ] || fail "serials differ: primary $s1, $SEC $s2"
  echo "ok: same serial $s1 on both"
  out=$(kdig -b 127.0.0.2 @127.0.0.1 -p "$DPORT" mesh.test AXFR 2>&1)
  echo "$out" | grep -q 'REFUSED' || fail "AXFR from 127.0.0.2 not refused: $out"
  echo "ok: AXFR from an address outside DMP_XFR_ALLOW is REFUSED"
}
