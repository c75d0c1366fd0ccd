#!/usr/bin/env bash
# TSIG-keyed zone transfers: DMP_XFR_ALLOW=127.0.0.1=KEY. Knot, configured with the key, loads a
# zone big enough for several messages (each signed, RFC 8945 §5.3.1) and follows a NOTIFY by
# IXFR; an unsigned AXFR is REFUSED and one signed with a wrong secret gets NOTAUTH.
# usage: xfr_tsig.sh /path/to/dnsmeshd /path/to/dnsmesh-admin. Exit 77 without knotd/kdig.
set -u
BIN=$1 ADMIN=$2
KNOTD=$(command -v knotd || echo /usr/sbin/knotd)
[ -x "$KNOTD" ] && command -v kdig >/dev/null && command -v curl >/dev/null || { echo "skip: knotd/kdig/curl missing"; exit 77; }
. "$(dirname "${BASH_SOURCE[0]}")/xfr_common.sh"
xfr_setup tsig knot.log
line=$("$ADMIN" tsig add xfr-key.mesh.test --db "$DIR/db" --scope mesh.test 2>&1 | grep -E '^hmac-') || fail "tsig add: $line"
ALG=${line%%:*}; rest=${line#*:}; KEYNAME=${rest%%:*}; SECRET=${rest#*:}

xfr_start_node "DMP_XFR_ALLOW=127.0.0.1=$KEYNAME"
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

xfr_start_knot "$KEYNAME" "$ALG" "$SECRET"
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
