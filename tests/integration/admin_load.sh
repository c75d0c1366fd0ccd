#!/usr/bin/env bash
# dnsmesh-admin load against real processes: records from bench/gen_records.py bulk-loaded as
# JSON lines and as a zone file answer over DNS (dig) with exactly the published values; a
# running node's store is refused (its lock) and left as it was; bad input is reported as
# FILE:LINE and writes nothing (not even a new store); the node's caps apply.
# Usage: admin_load.sh DNSMESHD DNSMESH-ADMIN GEN_RECORDS_PY. Kills only the PID it started.
set -euo pipefail
bin=$1
admin=$2
gen=$3
command -v dig >/dev/null || { echo "skip: needs dig"; exit 77; }
command -v python3 >/dev/null || { echo "skip: needs python3"; exit 77; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/dmp-itest-XXXXXX")
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
start() { # store
  rm -f "$dir/ports"
  env -u DMP_HTTP_TOKEN DMP_DB_PATH="$1" DMP_DNS_HOST=127.0.0.1 DMP_HTTP_HOST=127.0.0.1 \
    DMP_DNS_PORT=0 DMP_HTTP_PORT=0 DMP_PORTS_FILE="$dir/ports" DMP_SERVED_ZONE=mesh.test \
    "$bin" >>"$dir/out" 2>>"$dir/err" &
  pid=$!
  for _ in $(seq 1 200); do [[ -s $dir/ports ]] && break; sleep 0.05; done
  [[ -s $dir/ports ]] || { cat "$dir/err"; fail "node did not start"; }
  dns=$(sed -E 's/.*dns=127\.0\.0\.1:([0-9]+).*/\1/' "$dir/ports")
}
stop() {
  kill -TERM "$pid"
  wait "$pid" || fail "node exit status $?"
  pid=
}
# every name of the records file: the TXT strings dig returns, joined, equal the published set
check_dns() { # records.jsonl
  python3 - "$1" "$dns" <<'EOF'
import json, subprocess, sys
want = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    want.setdefault(r["name"], set()).add(r["value"])
names = sorted(want)
def ask(batch):
    args = ["dig", "+tries=2", "+time=2", "+noall", "+answer", "+nocookie", "-p", sys.argv[2], "@127.0.0.1"]
    for n in batch:
        args += [n, "TXT"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    got = {}
    for l in out.splitlines():
        f = l.split(None, 4)
        if len(f) == 5 and f[3] == "TXT":
            # "s1" "s2" -> s1s2 (our values hold no quotes, spaces or backslashes)
            got.setdefault(f[0].rstrip(".").lower(), set()).add("".join(f[4].split('" "')).strip('"'))
    return got
bad = 0
for i in range(0, len(names), 50):
    batch = names[i:i + 50]
    got = ask(batch)
    for n in batch:
        tries = 0
        while got.get(n) != want[n] and tries < 3:  # a reply lost on a busy machine: ask again
            got.update(ask([n]))
            tries += 1
        if got.get(n) != want[n]:
            bad += 1
            if bad < 5:
                print("mismatch at", n, "want", sorted(want[n])[:2], "got", sorted(got.get(n, []))[:2])
print("names", len(names), "bad", bad)
sys.exit(1 if bad else 0)
EOF
}

python3 "$gen" --count 3000 --out-dir "$dir/g" --formats zone,jsonl,names >/dev/null

# JSON lines into a new store
"$admin" --db "$dir/a" load "$dir/g/records.jsonl" >"$dir/sum" 2>"$dir/progress" ||
  fail "load jsonl: $(cat "$dir/progress")"
grep -q "loaded 3000 records" "$dir/sum" || fail "summary: $(cat "$dir/sum")"
grep -q "3000 new rows" "$dir/sum" || fail "summary rows: $(cat "$dir/sum")"
grep -q "journaled as one change set" "$dir/sum" || fail "journal: $(cat "$dir/sum")"
grep -q "records/s" "$dir/progress" || fail "no progress on stderr"
grep -q "phases (wall/CPU seconds): read .*, sort .*, write .*, commit " "$dir/sum" ||
  fail "phases: $(cat "$dir/sum")"
start "$dir/a"
check_dns "$dir/g/records.jsonl" || fail "DNS answers after the jsonl load"
# an absent name is NXDOMAIN, the empty non-terminal above a slot is NODATA
dig +noall +comments -p "$dns" @127.0.0.1 nothing-here.mesh.test TXT | grep NXDOMAIN >/dev/null ||
  fail "NXDOMAIN"
mb=$(awk -F. '/^slot-/ {print $2 ".mesh.test"; exit}' "$dir/g/names.txt")
dig +noall +comments -p "$dns" @127.0.0.1 "$mb" TXT | grep "status: NOERROR" >/dev/null || fail "ENT"

# the running node holds the lock: refused, clearly, and nothing changes
printf '{"name": "late.mesh.test", "value": "x", "ttl": 60}\n' >"$dir/one.jsonl"
set +e
"$admin" --db "$dir/a" load "$dir/one.jsonl" >/dev/null 2>"$dir/e"
st=$?
set -e
[[ $st == 1 ]] || fail "load into a running node's store: exit $st"
grep -q "in use (is dnsmeshd running?)" "$dir/e" || fail "lock message: $(cat "$dir/e")"
dig +noall +comments -p "$dns" @127.0.0.1 late.mesh.test TXT | grep NXDOMAIN >/dev/null ||
  fail "a refused load wrote"
stop

# the zone file (SOA, NS, A skipped) into another store: the same answers
"$admin" --db "$dir/z" load "$dir/g/mesh.test.zone" >"$dir/sum" 2>/dev/null || fail "load zone"
grep -q "3000 new rows" "$dir/sum" || fail "zone summary: $(cat "$dir/sum")"
grep -q "3 non-TXT records skipped" "$dir/sum" || fail "zone skipped: $(cat "$dir/sum")"
start "$dir/z"
check_dns "$dir/g/records.jsonl" || fail "DNS answers after the zone load"
stop

# bad input: FILE:LINE, exit 1, nothing written (a new store is not even created)
{
  printf '{"name": "ok1.mesh.test", "value": "a", "ttl": 60}\n'
  printf '\n'
  printf '{"name": "ok2.mesh.test", "value": "b"}\n'
  printf '{"name": "bad name!.mesh.test", "value": "c", "ttl": 60}\n'
} >"$dir/bad.jsonl"
set +e
"$admin" --db "$dir/new" load "$dir/bad.jsonl" >/dev/null 2>"$dir/e"; st=$?
set -e
[[ $st == 1 ]] || fail "bad jsonl exit $st"
grep -qF "bad.jsonl:4: invalid record name" "$dir/e" || fail "bad jsonl message: $(cat "$dir/e")"
grep -q "nothing was written" "$dir/e" || fail "nothing-written note"
[[ ! -e $dir/new ]] || fail "a failed load created the store"
printf '{"name": "x.mesh.test", "value": "v", "ttl": true}\n' >"$dir/bad2.jsonl"
set +e
"$admin" --db "$dir/a" load "$dir/bad2.jsonl" >/dev/null 2>"$dir/e"; st=$?
set -e
[[ $st == 1 ]] && grep -qF "bad2.jsonl:1: expected" "$dir/e" || fail "ttl true: $(cat "$dir/e")"
# a NUL byte names its line (the parser finds the first one in one pass); an earlier bad line
# is still the one reported
printf '{"name": "a.mesh.test", "value": "v"}\n{"name": "b.mesh.test", "value": "v\0w"}\n' >"$dir/nul.jsonl"
set +e
"$admin" --db "$dir/a" load "$dir/nul.jsonl" >/dev/null 2>"$dir/e"; st=$?
set -e
[[ $st == 1 ]] && grep -qF "nul.jsonl:2: a NUL byte" "$dir/e" || fail "NUL: $(cat "$dir/e")"
printf '{"name": "a!.mesh.test", "value": "v"}\n{"name": "b.mesh.test", "value": "v\0w"}\n' >"$dir/nul2.jsonl"
set +e
"$admin" --db "$dir/a" load "$dir/nul2.jsonl" >/dev/null 2>"$dir/e"; st=$?
set -e
[[ $st == 1 ]] && grep -qF "nul2.jsonl:1: invalid record name" "$dir/e" || fail "NUL after: $(cat "$dir/e")"
printf '$ORIGIN mesh.test.\n$TTL 60\na TXT "ok"\nb TXT "unterminated\n' >"$dir/bad.zone"
set +e
"$admin" --db "$dir/a" load "$dir/bad.zone" >/dev/null 2>"$dir/e"; st=$?
set -e
[[ $st == 1 ]] && grep -qF "bad.zone:4: an unterminated quoted string" "$dir/e" ||
  fail "bad zone: $(cat "$dir/e")"
# the node's caps: a third value at one name over DMP_MAX_VALUES_PER_NAME=2, at its line
printf '$ORIGIN mesh.test.\n$TTL 60\ncap TXT "1"\ncap TXT "2"\nother TXT "x"\ncap TXT "3"\n' \
  >"$dir/cap.zone"
set +e
DMP_MAX_VALUES_PER_NAME=2 "$admin" --db "$dir/a" load "$dir/cap.zone" >/dev/null 2>"$dir/e"
st=$?
set -e
[[ $st == 1 ]] && grep -qF "cap.zone:6: cap.mesh.test would hold 3 values" "$dir/e" ||
  fail "cap: $(cat "$dir/e")"
# JSON lines of 4 MiB and more are read in two halves on two threads: errors and cap refusals
# in the second half still name their line in the whole file
python3 - "$dir/big.jsonl" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(40000):  # ~5 MB
        f.write('{"name": "big-%d.mesh.test", "value": "%s", "ttl": 60}\n' % (i, "v" * 80))
EOF
cp "$dir/big.jsonl" "$dir/big-bad.jsonl"
printf '{"name": "bad name!.mesh.test", "value": "c", "ttl": 60}\n' >>"$dir/big-bad.jsonl"
set +e
"$admin" --db "$dir/a" load "$dir/big-bad.jsonl" >/dev/null 2>"$dir/e"; st=$?
set -e
[[ $st == 1 ]] && grep -qF "big-bad.jsonl:40001: invalid record name" "$dir/e" ||
  fail "big bad jsonl: $(cat "$dir/e")"
cp "$dir/big.jsonl" "$dir/big-cap.jsonl"
printf '{"name": "big-39990.mesh.test", "value": "w", "ttl": 60}\n' >>"$dir/big-cap.jsonl"
set +e
DMP_MAX_VALUES_PER_NAME=1 "$admin" --db "$dir/a" load "$dir/big-cap.jsonl" >/dev/null 2>"$dir/e"
st=$?
set -e
[[ $st == 1 ]] && grep -qF "big-cap.jsonl:40001: big-39990.mesh.test would hold 2 values" "$dir/e" ||
  fail "big cap: $(cat "$dir/e")"
# the failed loads left store a as it was: ok1 and other were not written
"$admin" --db "$dir/a" records ok1.mesh.test | grep "no live values" >/dev/null || fail "ok1 written"
"$admin" --db "$dir/a" records other.mesh.test | grep "no live values" >/dev/null || fail "other written"
"$admin" --db "$dir/a" records big-1.mesh.test | grep "no live values" >/dev/null || fail "big-1 written"
# and a good load into the existing store adds to it
"$admin" --db "$dir/a" load "$dir/one.jsonl" >"$dir/sum" 2>/dev/null || fail "second load"
grep -q "1 new rows" "$dir/sum" || fail "second load summary: $(cat "$dir/sum")"
start "$dir/a"
dig +short -p "$dns" @127.0.0.1 late.mesh.test TXT | grep -x '"x"' >/dev/null || fail "second load answer"
check_dns "$dir/g/records.jsonl" || fail "first load's answers after the second"
stop
# the big file itself loads (both halves), every record answered
"$admin" --db "$dir/big" load "$dir/big.jsonl" >"$dir/sum" 2>/dev/null || fail "big load"
grep -q "40000 new rows" "$dir/sum" || fail "big load summary: $(cat "$dir/sum")"
start "$dir/big"
for i in 0 19999 20000 20001 39999; do
  dig +short -p "$dns" @127.0.0.1 "big-$i.mesh.test" TXT | grep -q '"vvvv' || fail "big-$i answer"
done
stop
echo "admin_load: ok"
