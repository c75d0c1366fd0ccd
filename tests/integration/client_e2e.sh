#!/usr/bin/env bash
# End-to-end test of the dnsmesh CLI with real processes, loopback only: two users with separate
# config homes exchange messages both ways through one dnsmeshd (1 byte, 3 KB, the maximum),
# forward secrecy (the consumed prekey is gone and the next message uses another), erasure repair
# (chunks deleted on the node), replayed manifests not shown twice, exit codes of bad input, a
# rotated key, and cluster mode over two nodes with one stopped.
#   client_e2e.sh DNSMESHD DNSMESH SIGN_CLUSTER
set -uo pipefail
NODE=$1 CLI=$2 SIGN=$3
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
T=$(mktemp -d /tmp/dnsmesh-e2e.XXXXXX)
export DNSMESH_NO_DEFAULT_PROVIDER=1 # never the public claim provider; tests stay on loopback
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# start_node NAME: dnsmeshd on ephemeral loopback ports; sets <NAME>_DNS, <NAME>_HTTP, <NAME>_PID
start_node() {
  local n=$1
  env ${NODE_ENV:-} "$NODE" --db-path="$T/$n.db" --dns-host=127.0.0.1 --dns-port=0 --http-host=127.0.0.1 \
    --http-port=0 --ports-file="$T/$n.ports" --http-burst=1000 \
    --http-rate=1000 --dns-rate=0 --log-level=warning >"$T/$n.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 100); do [[ -s $T/$n.ports ]] && break; sleep 0.05; done
  [[ -s $T/$n.ports ]] || fail "node $n did not start: $(cat "$T/$n.log")"
  eval "${n}_DNS=$(sed 's/.*dns=\([^ ]*\).*/\1/' "$T/$n.ports")"
  eval "${n}_HTTP=$(sed 's/.*http=\([^ ]*\).*/\1/' "$T/$n.ports")"
  eval "${n}_PID=$pid"
}

# as USER CMD...: runs dnsmesh in USER's config home (passphrase from its passphrase_file)
as() {
  local u=$1; shift
  DMP_CONFIG_HOME="$T/$u" DMP_TOKENS_HOME="$T/$u/tokens" "$CLI" "$@"
}

# (never `cmd | grep -q`: grep exits at the first match and, under pipefail, the command's
# SIGPIPE on its next line fails the pipeline)

# send_dbg USER TO MSG: sends, prints the send report line (stderr) to stdout
send_dbg() {
  local u=$1 to=$2 msg=$3
  DNSMESH_SEND_DEBUG=1 as "$u" send "$to" "$msg" 2>"$T/send.err" >"$T/send.out" ||
    fail "$u send to $to failed: $(cat "$T/send.err")"
  grep -q "sent → $to" "$T/send.out" || fail "no 'sent' line: $(cat "$T/send.out")"
  grep 'msg_id=' "$T/send.err"
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# recv_body USER: the single message body a recv prints (fails unless exactly one arrived)
recv_one() {
  local u=$1 out
  out=$(as "$u" recv) || fail "$u recv failed"
  [[ $(grep -c '^from ' <<<"$out") == 1 ]] || fail "$u expected one message, got: ${out:0:300}"
  sed -n '3p' <<<"$out" | sed 's/^  //'
}

prekey_ids() { # USER -> ids in prekeys.db, one per line
  python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join(str(r[0]) for r in c.execute("select prekey_id from prekeys order by 1")))' "$T/$1/prekeys.db"
}

start_node A
step "init, publish, fetch --add both ways (node dns=$A_DNS http=$A_HTTP)"
for u in alice bob; do
  mkdir -p "$T/$u"
  echo "$u-passphrase" >"$T/$u.pass"
  as $u init "$u" --domain mesh.test --endpoint "http://$A_HTTP" --dns-resolvers "$A_DNS" \
    --no-probe-local-dns >/dev/null 2>&1 || fail "init $u"
  sed -i "s|^passphrase_file: null|passphrase_file: $T/$u.pass|" "$T/$u/config.yaml"
  [[ $(stat -c %a "$T/$u/config.yaml") == 600 ]] || fail "config.yaml not 0600"
  as $u identity publish >"$T/pub.out" 2>&1 || fail "identity publish $u: $(cat "$T/pub.out")"
  as $u identity refresh-prekeys --count 12 >"$T/pk.out" 2>&1; grep -q "published 12/12" "$T/pk.out" || fail "prekeys $u: $(cat "$T/pk.out")"
done
as alice identity fetch bob --add >"$T/o" 2>&1; grep -q "added contact bob (pinned signing key)" "$T/o" || fail "fetch bob"
as bob identity fetch alice --add >"$T/o" 2>&1; grep -q "added contact alice" "$T/o" || fail "fetch alice"
as bob init bob 2>"$T/err"; [[ $? == 1 ]] && grep -q "config already exists" "$T/err" || fail "init refuses an existing config"

step "doctor, resolvers, tokens, peers (all on loopback)"
as alice doctor >"$T/o" 2>&1 || fail "doctor: $(cat "$T/o")"
grep -q "\[ OK \] node health" "$T/o" || fail "doctor health: $(cat "$T/o")"
DNSMESH_DISCOVER_CANDIDATES="$A_DNS,127.0.0.1:9" as alice resolvers discover --save --timeout 1 >"$T/o" 2>&1
grep -q "discovered 1 working resolver(s)" "$T/o" || fail "resolvers discover: $(cat "$T/o")"
[[ $(as alice resolvers list) == "$A_DNS" ]] || fail "resolvers list"
as alice token list >"$T/o" 2>&1; grep -q "(no saved tokens)" "$T/o" || fail "token list"
as alice token forget nowhere.test 2>/dev/null; [[ $? == 1 ]] || fail "token forget of nothing"
as alice peers mesh.test >"$T/o" 2>&1 || fail "peers: $(cat "$T/o")"
grep -q "(no peers seen yet)" "$T/o" || fail "peers output: $(cat "$T/o")"

step "messages both ways: 1 byte, 3 KB, the maximum (24,724 bytes)"
head -c 2300 /dev/urandom | base64 -w0 | head -c 3072 >"$T/m3k"
head -c 20000 /dev/urandom | base64 -w0 | head -c 24724 >"$T/mmax"
for pair in "alice bob" "bob alice"; do
  set -- $pair
  send_dbg "$1" "$2" "x" >/dev/null
  [[ $(recv_one "$2") == "x" ]] || fail "1-byte message $1 -> $2"
  send_dbg "$1" "$2" "@$T/m3k" >/dev/null
  [[ $(recv_one "$2") == "$(cat "$T/m3k")" ]] || fail "3 KB message $1 -> $2"
  line=$(send_dbg "$1" "$2" "@$T/mmax")
  [[ $(field k <<<"$line") == 196 && $(field n <<<"$line") == 255 ]] || fail "max message k/n: $line"
  # the chunks went in batch publishes (docs/client.md "Publishing"), none fell back
  [[ $(field batches <<<"$line") -ge 4 && $(field batch_fallbacks <<<"$line") == 0 &&
     $(field http_requests <<<"$line") -le 8 ]] || fail "max message not batched: $line"
  [[ $(recv_one "$2") == "$(cat "$T/mmax")" ]] || fail "max message $1 -> $2"
done
head -c 24725 "$T/mmax" >/dev/null
{ cat "$T/mmax"; echo -n y; } >"$T/mover"
as alice send bob "@$T/mover" 2>"$T/err"; rc=$?
[[ $rc == 1 ]] && grep -q "largest message DMP carries is 24724" "$T/err" || fail "oversize message: rc=$rc $(cat "$T/err")"
echo -n "from stdin" | as alice send bob - >/dev/null || fail "send from stdin"
[[ $(recv_one bob) == "from stdin" ]] || fail "stdin message"

step "forward secrecy: send, recv, send"
before=$(prekey_ids bob)
l1=$(send_dbg alice bob "fs one"); p1=$(field prekey_id <<<"$l1")
[[ $p1 != 0 ]] || fail "first message did not use a prekey"
[[ $(recv_one bob) == "fs one" ]] || fail "fs one"
after=$(prekey_ids bob)
grep -qx "$p1" <<<"$before" || fail "prekey $p1 was not bob's"
grep -qx "$p1" <<<"$after" && fail "consumed prekey $p1 is still in prekeys.db"
l2=$(send_dbg alice bob "fs two"); p2=$(field prekey_id <<<"$l2")
[[ $p2 != 0 && $p2 != "$p1" ]] || fail "second message reused prekey $p1 (got $p2)"
[[ $(recv_one bob) == "fs two" ]] || fail "fs two"

step "replay: a manifest already delivered is not shown twice"
l=$(send_dbg alice bob "only once")
[[ $(recv_one bob) == "only once" ]] || fail "replay first delivery"
as bob recv >"$T/o" 2>&1; grep -q "(no new messages)" "$T/o" || fail "manifest shown twice"
as bob recv >"$T/o" 2>&1; grep -q "(no new messages)" "$T/o" || fail "replayed manifest shown again"

step "first contact: an unpinned sender's claim becomes an intro"
mkdir -p "$T/erin"; echo "erin-passphrase" >"$T/erin.pass"
as erin init erin --domain mesh.test --endpoint "http://$A_HTTP" --dns-resolvers "$A_DNS" --no-probe-local-dns >/dev/null 2>&1
sed -i "s|^passphrase_file: null|passphrase_file: $T/erin.pass|; s|^claim_provider_override: ''|claim_provider_override: http://$A_HTTP|; s|^claim_provider_zone: ''|claim_provider_zone: mesh.test|" "$T/erin/config.yaml"
as erin identity publish >/dev/null || fail "erin publish"
as bob identity publish --advertise-v2 >/dev/null || fail "bob publish v2"
as erin identity fetch bob --add >/dev/null || fail "erin fetch bob (two records, same keys)"
DNSMESH_SEND_DEBUG=1 as erin send bob "hello from erin" >"$T/send.out" 2>"$T/send.err"
grep -q "(+ 1/1 claim publishes)" "$T/send.out" || fail "erin's claim not published"
grep -q "v2=1" "$T/send.err" || fail "no DMPv2 envelope to a v2 recipient: $(cat "$T/send.err")"
out=$(as bob recv); grep -q "1 new intro(s)" <<<"$out" || fail "no intro: $out"
grep -q "hello from erin" <<<"$out" && fail "an unpinned sender's message was delivered"
as bob intro list >"$T/intros"; grep -q "message:    hello from erin" "$T/intros" || fail "intro list: $(cat "$T/intros")"
grep -q "^#[0-9]*  erin@mesh.test  \[fresh\]" "$T/intros" || fail "verified sender label: $(cat "$T/intros")"
id=$(sed -n 's/^#\([0-9]*\) .*/\1/p' "$T/intros" | head -1)
as bob intro trust "$id" --label erin >"$T/trust.out"; grep -q "trusted intro #$id as \`erin\`" "$T/trust.out" && grep -q "hello from erin" "$T/trust.out" || fail "intro trust: $(cat "$T/trust.out")"
as bob contacts list >"$T/o" 2>&1; grep -q "^erin .*(pinned)" "$T/o" || fail "erin not pinned"
as bob intro list >"$T/o" 2>&1; grep -q "(no pending intros)" "$T/o" || fail "intro still queued"
send_dbg erin bob "second from erin" >/dev/null
[[ $(recv_one bob) == "second from erin" ]] || fail "pinned erin not delivered"

step "zone-anchored identity: dmp.<identity_domain>, fetched as user@host"
mkdir -p "$T/frank"; echo "frank-passphrase" >"$T/frank.pass"
as frank init frank --domain mesh.test --identity-domain frank.test --endpoint "http://$A_HTTP" --dns-resolvers "$A_DNS" --no-probe-local-dns >/dev/null 2>&1
sed -i "s|^passphrase_file: null|passphrase_file: $T/frank.pass|" "$T/frank/config.yaml"
as frank identity publish >"$T/pub.out" 2>&1; grep -q "published identity to dmp.frank.test" "$T/pub.out" || fail "zone-anchored publish: $(cat "$T/pub.out")"
as bob identity fetch frank@frank.test --add >"$T/o" 2>&1; grep -q "added contact frank@frank.test (pinned signing key)" "$T/o" || fail "fetch frank@frank.test"
grep -q "remote_username: frank" "$T/bob/config.yaml" || fail "remote_username not stored"
as frank identity fetch bob --add >/dev/null || fail "frank fetch bob"
send_dbg bob frank@frank.test "to a zone-anchored identity" >/dev/null
[[ $(recv_one frank) == "to a zone-anchored identity" ]] || fail "zone-anchored delivery"

step "erasure repair: chunks deleted on the node, a bogus value in front of another"
l=$(send_dbg alice bob "@$T/m3k"); c0=$(field chunk0 <<<"$l"); k=$(field k <<<"$l"); n=$(field n <<<"$l")
key=${c0#chunk-0000-}
for i in 0 $((k - 1)); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$A_HTTP/v1/records/chunk-$(printf %04d "$i")-$key")
  [[ $code == 204 ]] || fail "delete chunk $i: HTTP $code"
done
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d '{"value":"v=dmp1;t=chunk;d=AAAA","ttl":300}' "http://$A_HTTP/v1/records/chunk-0001-$key"
[[ $(recv_one bob) == "$(cat "$T/m3k")" ]] || fail "message with $((n - k)) lost chunks not repaired"

step "bad input: unknown contact, missing config, wrong passphrase, unreachable node"
as alice send nobody hi 2>"$T/err"; [[ $? == 1 ]] && grep -q "unknown contact" "$T/err" || fail "unknown contact"
DMP_CONFIG_HOME="$T/none" "$CLI" recv 2>"$T/err"; [[ $? == 1 ]] && grep -q "no config at" "$T/err" || fail "missing config"
DMP_PASSPHRASE=wrong as alice recv 2>"$T/err"; [[ $? == 1 ]] && grep -q "passphrase mismatch" "$T/err" || fail "wrong passphrase"
cp -r "$T/alice" "$T/alice-off"
sed -i "s|^endpoint: .*|endpoint: http://127.0.0.1:9|" "$T/alice-off/config.yaml"
as alice-off send bob hi 2>"$T/err"; [[ $? == 2 ]] || fail "unreachable node: $(cat "$T/err")"
sed -i "s|^- 127.0.0.1:.*|- 127.0.0.1:9|" "$T/alice-off/config.yaml"
as alice-off recv 2>"$T/err"; [[ $? == 2 ]] && grep -q "no DNS resolver answered" "$T/err" || fail "unreachable resolver: $(cat "$T/err")"
printf 'contacts: [\n' >"$T/alice-off/config.yaml"
as alice-off recv 2>"$T/err"; [[ $? == 1 ]] || fail "corrupt config"
bob_contacts=$(as bob contacts list)
as bob send alice "@$T/nonexistent" 2>/dev/null
[[ $(as bob contacts list) == "$bob_contacts" ]] || fail "a failed command changed the contacts"

step "rotated key: bob follows alice's rotation chain (send and recv)"
echo "alice-new-passphrase" >"$T/alice.newpass"
as alice identity rotate --experimental --yes --new-passphrase-file "$T/alice.newpass" \
  >"$T/rot.out" 2>&1 || fail "rotate: $(cat "$T/rot.out")"
grep -q "published RotationRecord" "$T/rot.out" || fail "no rotation published"
as bob send alice "after rotation" >/dev/null 2>"$T/err" || fail "send after rotation: $(cat "$T/err")"
grep -q "rotated its key" "$T/err" || fail "bob did not follow the rotation"
[[ $(recv_one alice) == "after rotation" ]] || fail "alice (new key) did not get the message"
send_dbg alice bob "signed by the new key" >/dev/null
[[ $(recv_one bob) == "signed by the new key" ]] || fail "bob refused the rotated key"
echo "alice-third-passphrase" >"$T/alice.pass3"
as alice identity rotate --experimental --yes --reason compromise --new-passphrase-file "$T/alice.pass3" >/dev/null 2>&1 || fail "rotate (compromise)"
as bob send alice "to a revoked key" 2>"$T/err"; [[ $? == 2 ]] && grep -q "revoked" "$T/err" || fail "revoked key not refused: $(cat "$T/err")"

step "multi-tenant node: tsig register (writes by TSIG UPDATE) and register (per-user token)"
NODE_ENV="DMP_AUTH_MODE=multi-tenant DMP_REGISTRATION_ENABLED=1 DMP_NODE_HOSTNAME=127.0.0.1 DMP_SERVED_ZONE=mesh.test DMP_DNS_UPDATE_ENABLED=1 DMP_OPERATOR_TOKEN=op-secret" start_node C
for u in gina hank; do
  mkdir -p "$T/$u"; echo "$u-passphrase" >"$T/$u.pass"
  as $u init "$u" --domain mesh.test --endpoint "http://$C_HTTP" --dns-resolvers "$C_DNS" --no-probe-local-dns >/dev/null 2>&1
  sed -i "s|^passphrase_file: null|passphrase_file: $T/$u.pass|" "$T/$u/config.yaml"
done
as gina tsig register --node "$C_HTTP" --scheme http --dns-server 127.0.0.1 --dns-port "${C_DNS#*:}" >"$T/o" 2>&1 || fail "tsig register: $(cat "$T/o")"
grep -q "TSIG key:  gina-" "$T/o" || fail "tsig register output: $(cat "$T/o")"
grep -q "^tsig_key_name: gina-" "$T/gina/config.yaml" || fail "TSIG block not saved"
sed -i "s|^endpoint: .*|endpoint: http://127.0.0.1:9|" "$T/gina/config.yaml" # UPDATE only from now on
as hank register --node "$C_HTTP" --scheme http >"$T/o" 2>&1 || fail "register: $(cat "$T/o")"
[[ -s $T/hank/tokens/${C_HTTP%:*}.json ]] || fail "token not saved: $(cat "$T/o")"
for u in gina hank; do
  as $u identity publish >"$T/o" 2>&1 || fail "$u publish on the multi-tenant node: $(cat "$T/o")"
  as $u identity refresh-prekeys --count 2 >"$T/o" 2>&1; grep -q "published 2/2" "$T/o" || fail "$u prekeys: $(cat "$T/o")"
done
as gina identity fetch hank --add >/dev/null || fail "gina fetch hank"
as hank identity fetch gina --add >/dev/null || fail "hank fetch gina"
send_dbg gina hank "@$T/m3k" >/dev/null
[[ $(recv_one hank) == "$(cat "$T/m3k")" ]] || fail "message written by TSIG UPDATE"
send_dbg hank gina "over the token" >/dev/null
[[ $(recv_one gina) == "over the token" ]] || fail "message written with the token"

step "cluster mode: two nodes, one stopped"
start_node B
mapfile -t signed < <("$SIGN" mesh.test $(( $(date +%s) + 86400 )) n1 "http://$A_HTTP" "$A_DNS" n2 "http://$B_HTTP" "$B_DNS")
opspk=${signed[0]}
for h in "$A_HTTP" "$B_HTTP"; do
  body=$(python3 -c 'import json,sys; print(json.dumps({"value":sys.argv[1],"ttl":86400}))' "${signed[1]}")
  [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$body" "http://$h/v1/records/cluster.mesh.test") == 201 ]] || fail "publish cluster manifest to $h"
done
for u in carol dave; do
  mkdir -p "$T/$u"; echo "$u-passphrase" >"$T/$u.pass"
  as $u init "$u" --domain mesh.test --endpoint "http://$A_HTTP" --dns-resolvers "$A_DNS" --no-probe-local-dns >/dev/null 2>&1
  sed -i "s|^passphrase_file: null|passphrase_file: $T/$u.pass|" "$T/$u/config.yaml"
  as $u cluster pin "$opspk" mesh.test >/dev/null || fail "cluster pin"
  as $u cluster enable >"$T/ce.out" 2>&1; grep -q "cluster mode enabled" "$T/ce.out" || fail "cluster enable: $(cat "$T/ce.out")"
  as $u identity publish >/dev/null || fail "cluster identity publish $u"
  as $u identity refresh-prekeys --count 2 >"$T/pk.out" 2>&1; grep -q "published 2/2" "$T/pk.out" || fail "cluster prekeys $u: $(cat "$T/pk.out")"
done
# --via-bootstrap: a user with no cluster pinned finds dave through example.test's bootstrap record
mapfile -t boot < <("$SIGN" --bootstrap example.test $(( $(date +%s) + 86400 )) mesh.test "$opspk")
body=$(python3 -c 'import json,sys; print(json.dumps({"value":sys.argv[1],"ttl":86400}))' "${boot[1]}")
[[ $(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$body" "http://$A_HTTP/v1/records/_dmp.example.test") == 201 ]] || fail "publish bootstrap record"
as bob bootstrap pin example.test "${boot[0]}" >/dev/null || fail "bootstrap pin"
as bob bootstrap fetch >"$T/o" 2>&1; grep -q "cluster=mesh.test" "$T/o" || fail "bootstrap fetch: $(cat "$T/o")"
cp "$T/bob/config.yaml" "$T/bob-before.yaml"
as bob identity fetch dave@example.test --via-bootstrap >"$T/o" 2>&1 && fail "dave has no dmp.example.test record yet"
grep -q "no identity record at dmp.example.test" "$T/o" || fail "via-bootstrap lookup: $(cat "$T/o")"
sed -i "s|^identity_domain: ''|identity_domain: example.test|" "$T/dave/config.yaml"
as dave identity publish >"$T/o" 2>&1; grep -q "published identity to dmp.example.test" "$T/o" || fail "dave zone-anchored publish: $(cat "$T/o")"
as bob identity fetch dave@example.test --via-bootstrap >"$T/o" 2>&1 || fail "via-bootstrap fetch: $(cat "$T/o")"
grep -q "address:            dave@example.test" "$T/o" || fail "via-bootstrap output: $(cat "$T/o")"
cmp -s "$T/bob/config.yaml" "$T/bob-before.yaml" || fail "--via-bootstrap changed the config"
as carol identity fetch dave --add >/dev/null || fail "cluster fetch dave"
as dave identity fetch carol --add >/dev/null || fail "cluster fetch carol"
send_dbg carol dave "both nodes up" >/dev/null
[[ $(recv_one dave) == "both nodes up" ]] || fail "cluster both up"
as carol cluster status >"$T/o" 2>&1; grep -q "n2  http://$B_HTTP  healthy" "$T/o" || fail "cluster status: $(cat "$T/o")"
kill "$B_PID"; wait "$B_PID" 2>/dev/null
as carol cluster status >"$T/o" 2>&1; grep -q "n2  http://$B_HTTP  unreachable" "$T/o" || fail "cluster status after stop: $(cat "$T/o")"
send_dbg carol dave "one node stopped" >/dev/null
[[ $(recv_one dave) == "one node stopped" ]] || fail "cluster with a node stopped"
send_dbg dave carol "and back" >/dev/null
[[ $(recv_one carol) == "and back" ]] || fail "cluster reply with a node stopped"
echo "client_e2e: ok"
