#!/usr/bin/env bash
# DNS UPDATE with the real tools: a key made by dnsmesh-admin, nsupdate -y / -k and knsupdate
# add and delete records (values over 255 bytes too), dig sees them at once and after a kill -9
# restart; wrong secret -> BADSIG, unknown key -> BADKEY, out of scope / anonymous -> REFUSED,
# each with nothing written; UPDATE disabled -> NOTIMP. Skips (77) without nsupdate or dig.
# Kills only the PIDs it started.
set -euo pipefail
bin=$1
admin=$2
command -v nsupdate >/dev/null && command -v dig >/dev/null || { echo "skip: needs nsupdate and dig"; exit 77; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/dmp-upd-XXXXXX")
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [[ -f $dir/err ]] && tail -20 "$dir/err"; exit 1; }

start() { # $1 = DMP_DNS_UPDATE_ENABLED
  rm -f "$dir/ports"
  env -u DMP_OPERATOR_TOKEN -u DMP_HTTP_TOKEN DMP_DNS_UPDATE_ENABLED="$1" DMP_SERVED_ZONE=mesh.test \
    DMP_DB_PATH="$dir/db" DMP_DNS_HOST=127.0.0.1 DMP_HTTP_HOST=127.0.0.1 DMP_DNS_PORT=0 \
    DMP_HTTP_PORT=0 DMP_PORTS_FILE="$dir/ports" DMP_DNS_RATE=0 DMP_OPERATOR_TOKEN=op-secret \
    "$bin" >"$dir/out" 2>"$dir/err" &
  pid=$!
  for _ in $(seq 1 200); do [[ -s $dir/ports ]] && break; sleep 0.05; done
  [[ -s $dir/ports ]] || fail "node did not start"
  dns=$(sed -E 's/.*dns=127\.0\.0\.1:([0-9]+).*/\1/' "$dir/ports")
  http=$(sed -E 's/.*http=127\.0\.0\.1:([0-9]+).*/\1/' "$dir/ports")
}
stop_kill9() { kill -KILL "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
q() { dig @127.0.0.1 -p "$dns" +norecurse +short +time=2 +tries=1 "$@"; }
status() { dig @127.0.0.1 -p "$dns" +norecurse +time=2 +tries=1 "$@" | grep -o 'status: [A-Z]*' | cut -d' ' -f2; }
nsu() { # $1 = key args, stdin = commands; prints nsupdate's output, returns its status
  { printf 'server 127.0.0.1 %s\nzone mesh.test\n' "$dns"; cat; printf 'send\n'; } |
    nsupdate -t 3 -r 0 $1 2>&1
}

# keys: alice owns the zone; bob only id-bob.mesh.test (hmac-sha512); carol is revoked
key=$("$admin" tsig add alice.mesh.test --scope mesh.test --db "$dir/db")
[[ $key =~ ^hmac-sha256:alice\.mesh\.test:[A-Za-z0-9+/]{43}=$ ]] || fail "admin key line: $key"
bob=$("$admin" tsig add Bob.Mesh.Test. --scope id-bob.mesh.test --algorithm hmac-sha512 --db "$dir/db")
[[ $bob == hmac-sha512:bob.mesh.test:* ]] || fail "bob key line: $bob"
carol=$("$admin" tsig add carol.mesh.test --scope mesh.test --db "$dir/db")
"$admin" tsig revoke carol.mesh.test --db "$dir/db" | grep -q 'revoked carol.mesh.test'
"$admin" tsig list --db "$dir/db" | grep -q $'^alice.mesh.test\thmac-sha256\tactive\tmesh.test'
"$admin" tsig list --db "$dir/db" --include-revoked --json | grep -q '"revoked": true'

# UPDATE off (default): NOTIMP, nothing written
start 0
out=$(echo 'update add off.mesh.test 60 TXT "x"' | nsu "-y $key") && fail "update while disabled: $out"
[[ $out == *NOTIMP* ]] || fail "disabled: $out"
stop_kill9

start 1
b1=$(head -c 255 /dev/zero | tr '\0' 'x'); b2=$(head -c 45 /dev/zero | tr '\0' 'y')
printf 'update add Hello.Mesh.Test 300 TXT "v=dmp1;t=chunk;d=" "%s" "%s"\nupdate add two.mesh.test 60 TXT "a"\nupdate add two.mesh.test 60 TXT "b"\n' "$b1" "$b2" |
  nsu "-y $key" >/dev/null || fail "nsupdate add"
got=$(q hello.mesh.test TXT | tr -d '" ')
[[ $got == "v=dmp1;t=chunk;d=$b1$b2" ]] || fail "value over 255 bytes: $got"
[[ $(q two.mesh.test TXT | sort | tr '\n' ' ') == '"a" "b" ' ]] || fail "two values"
# -k with a key file
printf 'key "alice.mesh.test" {\n algorithm hmac-sha256;\n secret "%s";\n};\n' "${key##*:}" >"$dir/alice.key"
echo 'update delete two.mesh.test TXT "a"' | nsu "-k $dir/alice.key" >/dev/null || fail "nsupdate -k delete"
[[ $(q two.mesh.test TXT) == '"b"' ]] || fail "delete one value"
echo 'update delete two.mesh.test TXT' | nsu "-y $key" >/dev/null || fail "delete rrset"
[[ $(status two.mesh.test TXT) == NXDOMAIN ]] || fail "rrset gone"
# knsupdate (Knot) when present
if command -v knsupdate >/dev/null; then
  printf 'server 127.0.0.1 %s\nzone mesh.test.\nupdate add knot.mesh.test. 60 TXT "k"\nsend\nanswer\n' "$dns" |
    knsupdate -t 3 -r 0 -y "$key" >"$dir/k.out" 2>&1 || fail "knsupdate: $(cat "$dir/k.out")"
  grep -q 'status: NOERROR' "$dir/k.out" || fail "knsupdate status: $(cat "$dir/k.out")"
  [[ $(q knot.mesh.test TXT) == '"k"' ]] || fail "knsupdate add"
  printf 'server 127.0.0.1 %s\nzone mesh.test.\nupdate delete knot.mesh.test.\nsend\n' "$dns" |
    knsupdate -t 3 -r 0 -y "$key" >/dev/null 2>&1 || fail "knsupdate delete name"
  [[ $(status knot.mesh.test TXT) == NXDOMAIN ]] || fail "knsupdate delete"
fi

# failures: answer, and nothing written
bad="hmac-sha256:alice.mesh.test:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
out=$(echo 'update add bad.mesh.test 60 TXT "x"' | nsu "-y $bad") && fail "wrong secret accepted"
[[ $out == *'NOTAUTH(BADSIG)'* ]] || fail "BADSIG: $out"
out=$(echo 'update add bad.mesh.test 60 TXT "x"' | nsu "-y hmac-sha256:nobody.mesh.test:${key##*:}") && fail "unknown key accepted"
[[ $out == *'NOTAUTH(BADKEY)'* ]] || fail "BADKEY: $out"
out=$(echo 'update add bad.mesh.test 60 TXT "x"' | nsu "-y hmac-sha512:alice.mesh.test:${key##*:}") && fail "algorithm mismatch accepted"
[[ $out == *'NOTAUTH(BADKEY)'* ]] || fail "BADKEY (algorithm): $out"
out=$(echo 'update add bad.mesh.test 60 TXT "x"' | nsu "-y $carol") && fail "revoked key accepted"
[[ $out == *'NOTAUTH(BADKEY)'* ]] || fail "revoked: $out"
out=$(echo 'update add bad.mesh.test 60 TXT "x"' | nsu "-y $bob") && fail "out of scope accepted"
[[ $out == *REFUSED* ]] || fail "scope: $out"
out=$(echo 'update add bad.mesh.test 60 TXT "x"' | nsu "") && fail "anonymous accepted"
[[ $out == *REFUSED* ]] || fail "anonymous: $out"
out=$(printf 'update add ok.id-bob.mesh.test 60 TXT "x"\nupdate add bad.mesh.test 60 TXT "x"\n' | nsu "-y $bob") && fail "half in scope accepted"
[[ $(status ok.id-bob.mesh.test TXT) == NXDOMAIN ]] || fail "all-or-nothing: a refused message wrote"
[[ $(status bad.mesh.test TXT) == NXDOMAIN ]] || fail "a refused update wrote"
echo 'update add ok.id-bob.mesh.test 60 TXT "y"' | nsu "-y $bob" >/dev/null || fail "bob in scope"

# keys through the running node's admin API: add, use at once, revoke, refused at once
dave=$("$admin" --node "http://127.0.0.1:$http" --token op-secret tsig add dave.mesh.test \
  --scope dave.mesh.test --algorithm hmac-sha384) || fail "remote tsig add"
[[ $dave == hmac-sha384:dave.mesh.test:* ]] || fail "remote key line: $dave"
echo 'update add dave.mesh.test 60 TXT "d"' | nsu "-y $dave" >/dev/null || fail "remote key use"
"$admin" tsig list --node "http://127.0.0.1:$http" --token op-secret | grep -q $'^dave.mesh.test\thmac-sha384\tactive' ||
  fail "remote list"
"$admin" tsig revoke dave.mesh.test --node "http://127.0.0.1:$http" --token op-secret >/dev/null || fail "remote revoke"
out=$(echo 'update add dave.mesh.test 60 TXT "e"' | nsu "-y $dave") && fail "revoked key still writes"
[[ $out == *'NOTAUTH(BADKEY)'* ]] || fail "revoked at once: $out"
"$admin" tsig list --node "http://127.0.0.1:$http" --token wrong >/dev/null 2>&1 && fail "wrong operator token"
out=$(echo 'update add x.other.test 60 TXT "x"' | nsu "-y $key") && fail "NOTZONE accepted"
[[ $out == *NOTZONE* ]] || fail "NOTZONE: $out"

# counters
if command -v curl >/dev/null; then
  m=$(curl -s -m 5 -H 'Authorization: Bearer op-secret' "http://127.0.0.1:$http/metrics")
  grep -Eq '^dmp_tsig_errors_total\{error="badsig"\} [1-9]' <<<"$m" || fail "metrics badsig"
  grep -Eq '^dmp_tsig_errors_total\{error="badkey"\} [1-9]' <<<"$m" || fail "metrics badkey"
  grep -Eq '^dmp_dns_updates_total\{result="noerror"\} [1-9]' <<<"$m" || fail "metrics noerror"
  grep -Eq '^dmp_dns_updates_total\{result="notzone"\} 1$' <<<"$m" || fail "metrics notzone"
fi

# kill -9 right after the acknowledgements: everything acknowledged is there after restart
stop_kill9
start 1
got=$(q hello.mesh.test TXT | tr -d '" ')
[[ $got == "v=dmp1;t=chunk;d=$b1$b2" ]] || fail "after kill -9: $got"
[[ $(q ok.id-bob.mesh.test TXT) == '"y"' ]] || fail "bob's record after kill -9"
kill -TERM "$pid"; wait "$pid" || fail "exit status"; pid=
echo "update_nsupdate: ok"
