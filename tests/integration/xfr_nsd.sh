#!/usr/bin/env bash
# Zone transfers to a standard secondary: NSD (Debian package nsd) follows a dnsmeshd primary on
# loopback — AXFR at start, a new record after the NOTIFY, a delete and an expiry.
# usage: xfr_nsd.sh /path/to/dnsmeshd. Exit 77 (skip) without nsd or dig.
set -u
BIN=$1
NSD=$(command -v nsd || echo /usr/sbin/nsd)
[ -x "$NSD" ] && command -v kdig >/dev/null && command -v dig >/dev/null && command -v curl >/dev/null || { echo "skip: nsd/dig/curl missing"; exit 77; }
. "$(dirname "${BASH_SOURCE[0]}")/xfr_common.sh"
xfr_setup nsd nsd.log
xfr_check_no_apex
xfr_start_node DMP_XFR_ALLOW=127.0.0.1 DMP_CLEANUP_INTERVAL=0.5
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
xfr_check_axfr
xfr_check_notify
echo "ok: nsd follows a write after NOTIFY"
xfr_check_delete_expire
xfr_check_serial_refused dig
exit 0
