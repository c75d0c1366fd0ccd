#!/usr/bin/env bash
# Zone transfers to a standard secondary: Knot (knotd, Debian package knot) follows a dnsmeshd
# primary on loopback — AXFR at start, a new record after the NOTIFY, a delete and an expiry.
# usage: xfr_knot.sh /path/to/dnsmeshd. Exit 77 (skip) without knotd or kdig.
set -u
BIN=$1
KNOTD=$(command -v knotd || echo /usr/sbin/knotd)
[ -x "$KNOTD" ] && command -v kdig >/dev/null && command -v curl >/dev/null || { echo "skip: knotd/kdig/curl missing"; exit 77; }
. "$(dirname "${BASH_SOURCE[0]}")/xfr_common.sh"
xfr_setup knot knot.log
xfr_check_no_apex
xfr_start_node DMP_XFR_ALLOW=127.0.0.1 DMP_CLEANUP_INTERVAL=0.5
for k in 1 2 3; do [ "$(pub r$k.mesh.test v$k 600)" = 201 ] || fail "publish r$k"; done
xfr_start_knot

q() { kdig +short +time=1 +retry=0 @127.0.0.1 -p "$KPORT" "$1" TXT 2>/dev/null; }
xfr_check_axfr
xfr_check_notify
grep -q 'IXFR, incoming.*finished' "$DIR/knot.log" || fail "knot did not get the change by IXFR"
echo "ok: knot follows a write after NOTIFY, by IXFR from the journal"
xfr_check_delete_expire
xfr_check_serial_refused kdig
exit 0
