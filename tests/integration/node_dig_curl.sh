#!/usr/bin/env bash
# Starts dnsmeshd on ephemeral loopback ports with a temporary store, publishes a record with
# curl and reads it back with dig over UDP and TCP, then stops the node with SIGTERM.
# Skips (77) when curl or dig is missing. Kills only the PID it started.
set -euo pipefail
bin=$1
command -v curl >/dev/null && command -v dig >/dev/null || { echo "skip: needs curl and dig"; exit 77; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/dmp-itest-XXXXXX")
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
env -u DMP_OPERATOR_TOKEN -u DMP_HTTP_TOKEN DMP_DB_PATH="$dir/db" DMP_DNS_HOST=127.0.0.1 \
  DMP_HTTP_HOST=127.0.0.1 DMP_DNS_PORT=0 DMP_HTTP_PORT=0 DMP_PORTS_FILE="$dir/ports" \
  "$bin" >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 1 200); do [[ -s $dir/ports ]] && break; sleep 0.05; done
[[ -s $dir/ports ]] || { echo "node did not start"; cat "$dir/err"; exit 1; }
grep -Eq '^dnsmeshd: listening dns=127\.0\.0\.1:[0-9]+ http=127\.0\.0\.1:[0-9]+$' "$dir/out"
dns=$(sed -E 's/.*dns=127\.0\.0\.1:([0-9]+).*/\1/' "$dir/ports")
http=$(sed -E 's/.*http=127\.0\.0\.1:([0-9]+).*/\1/' "$dir/ports")

out=$(curl -sS -m 5 -X POST "http://127.0.0.1:$http/v1/records/hello.mesh.test" \
  -H 'Content-Type: application/json' -d '{"value": "v=dmp1;t=chunk;d=aGVsbG8=", "ttl": 300}')
[[ $out == '{"ok": true}' ]] || { echo "publish: $out"; exit 1; }
udp=$(dig @127.0.0.1 -p "$dns" +norecurse +short +time=2 +tries=1 hello.mesh.test TXT)
tcp=$(dig @127.0.0.1 -p "$dns" +norecurse +short +tcp +time=2 +tries=1 HELLO.MESH.TEST TXT)
[[ $udp == '"v=dmp1;t=chunk;d=aGVsbG8="' ]] || { echo "udp: $udp"; exit 1; }
[[ $tcp == "$udp" ]] || { echo "tcp: $tcp"; exit 1; }
status=$(dig @127.0.0.1 -p "$dns" +norecurse +time=2 +tries=1 nothing.mesh.test TXT | grep -o 'status: [A-Z]*')
[[ $status == 'status: NXDOMAIN' ]] || { echo "nx: $status"; exit 1; }
health=$(curl -sS -m 5 "http://127.0.0.1:$http/health")
[[ $health == '{"status": "ok"}' ]] || { echo "health: $health"; exit 1; }

kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
wait "$pid" && rc=0 || rc=$?
pid=
[[ $rc == 0 ]] || { echo "exit status $rc after SIGTERM"; exit 1; }
echo "ok"
