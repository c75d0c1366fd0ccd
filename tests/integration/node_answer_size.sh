#!/usr/bin/env bash
# A default-config dnsmeshd on ephemeral loopback ports: an 11,132-byte value (the largest
# signed manifest) is accepted; a value at the 12,288-byte cap is accepted however it is
# JSON-escaped; a name takes 12,288-byte values until the next one would make its TXT answer
# larger than one DNS message: that write gets 413 with the message the client retries on, and
# `dig +tcp` still answers the name with every earlier value. Skips (77) without curl, dig or
# python3. Kills only the PID it started.
set -euo pipefail
bin=$1
for t in curl dig python3; do command -v $t >/dev/null || { echo "skip: needs $t"; exit 77; }; done
dir=$(mktemp -d "${TMPDIR:-/tmp}/dmp-itest-XXXXXX")
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo "failed at line $LINENO"; tail -5 "$dir/err" 2>/dev/null' ERR
env -u DMP_OPERATOR_TOKEN -u DMP_HTTP_TOKEN -u DMP_MAX_VALUE_BYTES -u DMP_HTTP_BURST \
  -u DMP_MAX_VALUES_PER_NAME DMP_DB_PATH="$dir/db" DMP_DNS_HOST=127.0.0.1 \
  DMP_HTTP_HOST=127.0.0.1 DMP_DNS_PORT=0 DMP_HTTP_PORT=0 DMP_PORTS_FILE="$dir/ports" \
  "$bin" >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 1 200); do [[ -s $dir/ports ]] && break; sleep 0.05; done
[[ -s $dir/ports ]] || { echo "node did not start"; cat "$dir/err"; exit 1; }
dns=$(sed -E 's/.*dns=127\.0\.0\.1:([0-9]+).*/\1/' "$dir/ports")
http=$(sed -E 's/.*http=127\.0\.0\.1:([0-9]+).*/\1/' "$dir/ports")

# body file <name> <python expression for the value>
post() {
  python3 -c 'import json,sys; sys.stdout.write(json.dumps({"value": eval(sys.argv[1]), "ttl": 300}))' \
    "$2" >"$dir/body"
  curl -sS -m 10 -o "$dir/resp" -w '%{http_code}' -X POST \
    "http://127.0.0.1:$http/v1/records/$1" -H 'Content-Type: application/json' \
    --data-binary @"$dir/body"
}

# the largest signed manifest passes the default value cap
code=$(post manifest.mesh.test '"v=dmp1;" + "A" * 11125')
[[ $code == 201 ]] || { echo "11,132-byte value: $code $(cat "$dir/resp")"; exit 1; }
# a value at the cap whose every character is escaped (\u00e9: 36,864 bytes of JSON)
code=$(post esc.mesh.test '"\u00e9" * 6144')
[[ $code == 201 ]] || { echo "escaped value at the cap: $code $(cat "$dir/resp")"; exit 1; }
[[ $(wc -c <"$dir/body") -gt 36864 ]] || { echo "body not escaped"; exit 1; }
# one byte over the cap is still refused for its size
code=$(post esc2.mesh.test '"a" * 12289')
[[ $code == 400 ]] && grep -q 'cap of 12288 bytes' "$dir/resp" ||
  { echo "over the cap: $code $(cat "$dir/resp")"; exit 1; }

# five 12,288-byte values fit one answer (61,953 bytes at most), a sixth would not
for c in a b c d e; do
  code=$(post big.mesh.test "'$c' * 12288")
  [[ $code == 201 ]] || { echo "value $c: $code $(cat "$dir/resp")"; exit 1; }
done
code=$(post big.mesh.test "'f' * 12288")
[[ $code == 413 ]] || { echo "sixth value: $code $(cat "$dir/resp")"; exit 1; }
grep -q 'would no longer fit one DNS message' "$dir/resp" || { echo "413 text: $(cat "$dir/resp")"; exit 1; }
grep -q 'request body' "$dir/resp" && { echo "413 text would stop the client's retry"; exit 1; }
# re-publishing a stored value only refreshes it
code=$(post big.mesh.test "'a' * 12288")
[[ $code == 201 ]] || { echo "refresh: $code $(cat "$dir/resp")"; exit 1; }

# every stored value is still served, over TCP (dig sends a COOKIE; ask for NSID too)
dig @127.0.0.1 -p "$dns" +norecurse +tcp +nsid +time=10 +tries=1 big.mesh.test TXT >"$dir/dig"
grep -q 'status: NOERROR' "$dir/dig" || { echo "dig:"; cat "$dir/dig"; exit 1; }
grep -q 'ANSWER: 5,' "$dir/dig" || { echo "dig answer count:"; grep flags "$dir/dig"; exit 1; }
short=$(dig @127.0.0.1 -p "$dns" +norecurse +tcp +short +time=10 +tries=1 big.mesh.test TXT)
firsts=$(printf '%s\n' "$short" | cut -c2 | sort | tr -d '\n')
[[ $firsts == abcde ]] || { echo "values served: $firsts"; exit 1; }
len=$(printf '%s\n' "$short" | sed -n 1p | tr -d '" \n' | wc -c)
[[ $len == 12288 ]] || { echo "value length $len"; exit 1; }

kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
wait "$pid" && rc=0 || rc=$?
pid=
[[ $rc == 0 ]] || { echo "exit status $rc after SIGTERM"; exit 1; }
echo "ok"
