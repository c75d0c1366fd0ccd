#!/usr/bin/env bash
# dnsmesh-admin against a real node: tokens issued through the running node's HTTP API
# (--node + operator token) write their own names with curl and are confined to them; revoke
# and rotate take effect at once; the store is locked while the node runs (clear error); the
# same commands work on the stopped node's store (--db) and see what the running node wrote.
# Usage: admin_cli.sh DNSMESHD DNSMESH-ADMIN. Kills only the PID it started.
set -euo pipefail
bin=$1
admin=$2
command -v curl >/dev/null || { echo "skip: needs curl"; exit 77; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/dmp-itest-XXXXXX")
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
start() {
  rm -f "$dir/ports"
  env -u DMP_HTTP_TOKEN DMP_DB_PATH="$dir/db" DMP_DNS_HOST=127.0.0.1 DMP_HTTP_HOST=127.0.0.1 \
    DMP_DNS_PORT=0 DMP_HTTP_PORT=0 DMP_PORTS_FILE="$dir/ports" DMP_AUTH_MODE=multi-tenant \
    DMP_OPERATOR_TOKEN=op-secret DMP_SERVED_ZONE=example.com "$bin" >>"$dir/out" 2>>"$dir/err" &
  pid=$!
  for _ in $(seq 1 200); do [[ -s $dir/ports ]] && break; sleep 0.05; done
  [[ -s $dir/ports ]] || { cat "$dir/err"; fail "node did not start"; }
  http=$(sed -E 's/.*http=127\.0\.0\.1:([0-9]+).*/\1/' "$dir/ports")
}
stop() {
  kill -TERM "$pid"
  wait "$pid" || fail "node exit status $?"
  pid=
}
post() { # name token value -> status
  curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST "http://127.0.0.1:$http/v1/records/$1" \
    -H "Authorization: Bearer $2" -d "{\"value\": \"$3\"}"
}
start
node=(--node "http://127.0.0.1:$http" --token op-secret)
export USER=tester

# usage errors exit 2, with a message
set +e
"$admin" token issue >/dev/null 2>"$dir/e"; [[ $? == 2 ]] || fail "issue without subject"
grep -q "needs a SUBJECT" "$dir/e" || fail "issue message: $(cat "$dir/e")"
"$admin" "${node[@]}" token issue bad-subject >/dev/null 2>"$dir/e"; [[ $? == 2 ]] || fail "bad subject"
grep -q "subject invalid" "$dir/e" || fail "bad subject message"
"$admin" --node "http://127.0.0.1:$http" --token wrong token list >/dev/null 2>"$dir/e"
[[ $? == 1 ]] && grep -q unauthorized "$dir/e" || fail "wrong operator token: $(cat "$dir/e")"
# the running node holds the store's lock
"$admin" --db "$dir/db" token list >/dev/null 2>"$dir/e"; [[ $? == 1 ]] || fail "locked store"
grep -q "in use" "$dir/e" || fail "lock message: $(cat "$dir/e")"
set -e

tok=$("$admin" "${node[@]}" --json token issue Alice@Example.com --expires 1d --note first |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
[[ $tok == dmp_v1_* && ${#tok} == 59 ]] || fail "token shape: $tok"
[[ $(post dmp.alice.example.com "$tok" a1) == 201 ]] || fail "owner write"
[[ $(post dmp.bob.example.com "$tok" b1) == 401 ]] || fail "write outside scope"
"$admin" "${node[@]}" records dmp.bob.example.com | grep -q "no live values" || fail "bob written"
"$admin" "${node[@]}" records dmp.alice.example.com | grep -q "a1" || fail "records"
"$admin" "${node[@]}" records dmp.alice.example.com | grep -q "owner-exclusive: alice@example.com" ||
  fail "records scope"

# prekey scope: pk-<n>.<sha256(x25519)[:12]> only for the token issued with it
x=0707070707070707070707070707070707070707070707070707070707070707
h12=$(python3 -c "import hashlib;print(hashlib.sha256(bytes.fromhex('$x')).hexdigest()[:12])")
ptok=$("$admin" "${node[@]}" --json token issue carol@example.com --with-prekey-scope "$x" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
[[ $(post "pk-1.$h12.example.com" "$ptok" p) == 201 ]] || fail "prekey write"
[[ $(post "pk-1.$h12.example.com" "$tok" p) == 401 ]] || fail "prekey write by another token"
set +e
"$admin" "${node[@]}" token issue d@example.com --with-prekey-scope abc >/dev/null 2>"$dir/e"
[[ $? == 2 ]] || fail "bad prekey hex"
set -e

# list, rotate, revoke
"$admin" "${node[@]}" token list | grep -q "alice@example.com .*live" || fail "list"
new=$("$admin" "${node[@]}" --json token rotate alice@example.com |
  python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["revoked"]==1; print(d["token"])')
[[ $(post dmp.alice.example.com "$tok" a2) == 401 ]] || fail "rotated-out token still writes"
[[ $(post dmp.alice.example.com "$new" a3) == 201 ]] || fail "rotated token"
hash=$("$admin" "${node[@]}" --json token list --subject alice@example.com |
  python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["token_hash"])')
"$admin" "${node[@]}" token revoke "${hash:0:12}" | grep -q "revoked token ${hash:0:16}" ||
  fail "revoke by prefix"
[[ $(post dmp.alice.example.com "$new" a4) == 401 ]] || fail "revoked token still writes"
[[ $("$admin" "${node[@]}" --json token list --include-revoked |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') == 3 ]] || fail "include-revoked"
[[ $("$admin" "${node[@]}" --json token list |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') == 1 ]] || fail "live list"

# the audit log holds the writes (shared-pool rows anonymous) and the refusals
"$admin" "${node[@]}" audit tail --limit 100 >"$dir/audit"
grep -q "used .*subject=alice@example.com" "$dir/audit" || fail "audit used"
grep -q "rejected" "$dir/audit" || fail "audit rejected"
[[ $("$admin" "${node[@]}" --json audit tail --event issued | python3 -c \
  'import json,sys; print(len(json.load(sys.stdin)))') == 3 ]] || fail "audit --event"
"$admin" "${node[@]}" registration show | grep -q "closed because: *DMP_REGISTRATION_ENABLED" ||
  fail "registration show"

# stopped node: the same answers from the store
stop
"$admin" --db "$dir/db" records dmp.alice.example.com | grep -q "a3" || fail "local records"
[[ $("$admin" --db "$dir/db" --json token list --include-revoked |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') == 3 ]] || fail "local list"
tok2=$("$admin" --db "$dir/db" --json token issue dave@example.com |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
"$admin" --db "$dir/db" audit tail --event issued | grep -q "admin:tester" || fail "local issuer"
start
[[ $(post dmp.dave.example.com "$tok2" d1) == 201 ]] || fail "token issued offline"
stop
echo "ok"
