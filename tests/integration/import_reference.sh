#!/usr/bin/env bash
# dnsmesh-admin import-reference: builds SQLite files in the reference node's schema (node.md
# §4.1, §5.2, §5.4) with python3's sqlite3, imports them into a fresh store, then runs dnsmeshd
# on it: live records answer over DNS and HTTP with their expiry kept, expired ones stay
# behind, imported tokens write their names (revoked ones do not), the audit log came along.
# TSIG keys come along too and sign nsupdate UPDATEs within their scope.
# Usage: import_reference.sh DNSMESHD DNSMESH-ADMIN. Kills only the PID it started.
set -euo pipefail
bin=$1
admin=$2
command -v python3 >/dev/null && command -v curl >/dev/null && command -v dig >/dev/null ||
  { echo "skip: needs python3, curl and dig"; exit 77; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/dmp-itest-XXXXXX")
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

live_tok=dmp_v1_AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHHIIIIJJJJKKKKLLLLMMMM
dead_tok=dmp_v1_ZZZZYYYYXXXXWWWWVVVVUUUUTTTTSSSSRRRRQQQQPPPPOOOONNNN
mkdir -p "$dir/ref"
python3 - "$dir/ref" "$live_tok" "$dead_tok" <<'PY'
import hashlib, sqlite3, sys, time
d, live, dead = sys.argv[1:4]
now = int(time.time())
h = lambda s: hashlib.sha256(s.encode()).hexdigest()
db = sqlite3.connect(d + "/dmp.db")
db.execute("CREATE TABLE records(name TEXT NOT NULL, value TEXT NOT NULL, ttl INTEGER NOT NULL,"
           " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
           " stored_ts INTEGER NOT NULL DEFAULT 0, value_hash TEXT NOT NULL DEFAULT '',"
           " PRIMARY KEY (name, value))")
def rec(name, value, ttl, created, stored_ms):
    db.execute("INSERT INTO records VALUES(?,?,?,?,?,?,?)",
               (name, value, ttl, created, created + ttl, stored_ms, h(value)))
rec("dmp.alice.example.com", "v=dmp1;t=identity;a", 3600, now - 100, (now - 100) * 1000 + 250)
rec("slot-0.mb-0123456789ab.example.com", "m0", 600, now - 10, (now - 10) * 1000)
rec("slot-0.mb-0123456789ab.example.com", "m1", 600, now - 5, now - 5)  # seconds: migrated
rec("Upper.Example.com", "case", 600, now, now * 1000)
rec("gone.example.com", "old", 60, now - 1000, (now - 1000) * 1000)    # expired
rec("bad name!.example.com", "x", 600, now, now * 1000)                 # invalid name
db.commit()
t = sqlite3.connect(d + "/dmp_tokens.db")
t.executescript("""
CREATE TABLE tokens(token_hash TEXT PRIMARY KEY, subject TEXT NOT NULL,
  subject_type INTEGER NOT NULL, subject_hash12 TEXT, rate_per_sec REAL NOT NULL DEFAULT 10.0,
  rate_burst INTEGER NOT NULL DEFAULT 50, issued_at INTEGER NOT NULL, expires_at INTEGER,
  revoked_at INTEGER, issuer TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',
  registered_spk TEXT);
CREATE TABLE token_audit(id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,
  event TEXT NOT NULL, token_hash TEXT, subject TEXT, remote_addr TEXT, detail TEXT);
PRAGMA user_version = 2;
""")
t.execute("INSERT INTO tokens VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
          (h(live), "alice@example.com", 1, None, 10.0, 50, now - 500, now + 86400, None,
           "self-service", "", "ab" * 32))
t.execute("INSERT INTO tokens VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
          (h(dead), "bob@example.com", 1, None, 10.0, 50, now - 500, None, now - 100,
           "admin:root", "gone", None))
t.execute("INSERT INTO token_audit(ts,event,token_hash,subject,remote_addr,detail) "
          "VALUES(?,?,?,?,?,?)", (now - 500, "issued", h(live), "alice@example.com",
                                 "203.0.113.7", "self-service"))
t.execute("INSERT INTO token_audit(ts,event,token_hash,subject,remote_addr,detail) "
          "VALUES(?,?,?,?,?,?)", (now - 100, "revoked", h(dead), "bob@example.com", None, None))
t.commit()
k = sqlite3.connect(d + "/dmp_tsig.db")
k.execute("CREATE TABLE tsig_keys(name TEXT PRIMARY KEY, algorithm TEXT NOT NULL DEFAULT "
          "'hmac-sha256', secret BLOB NOT NULL, allowed_suffixes TEXT NOT NULL DEFAULT '', "
          "created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL DEFAULT 0, revoked INTEGER "
          "NOT NULL DEFAULT 0, subject TEXT NOT NULL DEFAULT '', registered_spk TEXT NOT NULL "
          "DEFAULT '', registered_x25519_pub TEXT NOT NULL DEFAULT '')")
k.execute("INSERT INTO tsig_keys(name, secret, created_at) VALUES('k.example.com.', x'00', 1)")
k.execute("INSERT INTO tsig_keys(name, algorithm, secret, allowed_suffixes, created_at, "
          "expires_at, subject, registered_spk) VALUES('Alice-1.Example.Com.', 'hmac-sha256', ?, "
          "?, ?, 0, 'alice@example.com', ?)",
          (b"dnsmesh-test-secret-0123456789ab", "id-abc.example.com\nslot-*.mb-*.example.com",
           now - 100, "ab" * 32))
k.execute("INSERT INTO tsig_keys(name, algorithm, secret, created_at) "
          "VALUES('bad.example.com.', 'gss-tsig', x'01', 1)")
k.commit()
PY

# usage: the store must be named, and the node must not be asked
set +e
"$admin" import-reference "$dir/ref/dmp.db" >/dev/null 2>"$dir/e"; [[ $? == 2 ]] || fail "no --db"
"$admin" --db "$dir/store" import-reference "$dir/ref/nope.db" >/dev/null 2>"$dir/e"
[[ $? == 1 ]] && grep -q "is not a file" "$dir/e" || fail "missing ref db: $(cat "$dir/e")"
set -e
"$admin" --db "$dir/store" --json import-reference "$dir/ref/dmp.db" >"$dir/rep" 2>"$dir/warn"
python3 - "$dir/rep" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["records"] == {"imported": 4, "expired_skipped": 1, "invalid_skipped": 1}, r
assert r["tokens"]["imported"] == 2 and r["tokens"]["audit_rows"] == 2, r
# k.example.com. (a 1-byte hmac-sha256 secret) and Alice-1 import; gss-tsig cannot be a key
assert r["tsig_keys"] == {"found": 3, "imported": 2, "invalid_skipped": 1}, r
PY
"$admin" --db "$dir/store" import-reference "$dir/ref/dmp.db" | grep -q "tsig keys: 2 imported" ||
  fail "tsig summary"
"$admin" tsig list --db "$dir/store" --json | python3 -c '
import json,sys; rows = {r["name"]: r for r in json.load(sys.stdin)}
assert sorted(rows) == ["alice-1.example.com", "k.example.com"], rows
a = rows["alice-1.example.com"]
assert a["allowed_suffixes"] == ["id-abc.example.com", "slot-*.mb-*.example.com"], a
assert a["subject"] == "alice@example.com" and a["registered_spk"] == "ab" * 32 and a["active"], a'
"$admin" --db "$dir/store" token list --json | python3 -c '
import json,sys; rows = json.load(sys.stdin)
assert [r["subject"] for r in rows] == ["alice@example.com"], rows
assert rows[0]["registered_spk"] == "ab" * 32 and rows[0]["issuer"] == "self-service", rows'
"$admin" --db "$dir/store" audit tail --event revoked | grep -q "bob@example.com" || fail "audit"

env -u DMP_HTTP_TOKEN DMP_DB_PATH="$dir/store" DMP_DNS_HOST=127.0.0.1 DMP_HTTP_HOST=127.0.0.1 \
  DMP_DNS_PORT=0 DMP_HTTP_PORT=0 DMP_PORTS_FILE="$dir/ports" DMP_AUTH_MODE=multi-tenant \
  DMP_OPERATOR_TOKEN=op DMP_SERVED_ZONE=example.com DMP_DNS_UPDATE_ENABLED=1 \
  "$bin" >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 1 200); do [[ -s $dir/ports ]] && break; sleep 0.05; done
[[ -s $dir/ports ]] || { cat "$dir/err"; fail "node did not start"; }
dns=$(sed -E 's/.*dns=127\.0\.0\.1:([0-9]+).*/\1/' "$dir/ports")
http=$(sed -E 's/.*http=127\.0\.0\.1:([0-9]+).*/\1/' "$dir/ports")
q() { dig @127.0.0.1 -p "$dns" +norecurse +short +time=2 +tries=1 "$1" TXT | sort | tr '\n' ' '; }
[[ $(q dmp.alice.example.com) == '"v=dmp1;t=identity;a" ' ]] || fail "alice: $(q dmp.alice.example.com)"
[[ $(q slot-0.mb-0123456789ab.example.com) == '"m0" "m1" ' ]] || fail "slot"
[[ $(q upper.example.com) == '"case" ' ]] || fail "lowercased name"
[[ $(q gone.example.com) == '' ]] || fail "expired record came back"
# the expiry is kept: about an hour minus 100 s left, not a fresh hour
"$admin" --node "http://127.0.0.1:$http" --token op --json records dmp.alice.example.com |
  python3 -c '
import json,sys,time; v = json.load(sys.stdin)["values"][0]
left = v["expires_ms"] / 1000 - time.time()
assert 3400 < left < 3505, left'
post() {
  curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST "http://127.0.0.1:$http/v1/records/$1" \
    -H "Authorization: Bearer $2" -d '{"value": "new"}'
}
[[ $(post dmp.alice.example.com "$live_tok") == 201 ]] || fail "imported token"
[[ $(post dmp.bob.example.com "$live_tok") == 401 ]] || fail "imported token outside scope"
[[ $(post dmp.bob.example.com "$dead_tok") == 401 ]] || fail "revoked token"
# the imported TSIG key signs UPDATEs for its scope
if command -v nsupdate >/dev/null; then
  printf 'server 127.0.0.1 %s\nzone example.com\nupdate add x.id-abc.example.com 60 TXT "k"\nsend\n' \
    "$dns" | nsupdate -t 3 -r 0 -y "hmac-sha256:alice-1.example.com:$(printf dnsmesh-test-secret-0123456789ab | base64)" ||
    fail "imported TSIG key"
  [[ $(q x.id-abc.example.com) == '"k" ' ]] || fail "imported TSIG key: record"
fi
kill -TERM "$pid"
wait "$pid" || fail "node exit status"
pid=
echo "ok"
