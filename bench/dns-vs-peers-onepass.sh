# dns-vs-peers-onepass.sh: the --one-pass mode of dns-vs-peers.sh (one dnsperf pass over every
# record name, servers interleaved, dnsmeshd restarted before each run). Sourced by
# dns-vs-peers.sh after its servers are up; it uses that script's variables and functions
# (start_dnsmeshd, only_run, cpu_ticks, ...) and ends the run. Not a script of its own.
[[ -n "${DVP_MAIN:-}" ]] || { echo "dns-vs-peers-onepass.sh: run bench/dns-vs-peers.sh --one-pass" >&2; exit 2; }

# mem_kib PID: "RSS_of_largest_process PSS_of_tree" in KiB over PID's process tree (NSD forks
# its server process, which shares the zone with its parent: PSS counts shared pages once).
mem_kib() {
    local p rss pss maxr=0 sump=0
    for p in $(tree_pids "$1"); do
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        pss=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        if ((${rss:-0} > maxr)); then maxr=${rss:-0}; fi
        sump=$((sump + ${pss:-0}))
    done
    echo "$maxr $sump"
}
command -v dnsperf >/dev/null || die "--one-pass needs dnsperf (scripts/install-deps.sh --bench)"
ONEQ="$WORK/one-pass.txt"
python3 - "$NAMES" "$ONEQ" <<'PY'
import random, sys
names = [l.strip() for l in open(sys.argv[1]) if l.strip()]
random.Random(11).shuffle(names)
open(sys.argv[2], "w").write("".join(n + " TXT\n" for n in names))
PY
echo "== one pass over every name: $(wc -l <"$ONEQ") names, shuffled, no warm-up; dnsperf -n 1 -t 0.5 -c 8 -q 200 (unlimited rate; 200 in flight stay within the server socket's receive buffer, so the first burst is not dropped) on CPU $GEN_CPU; $RUNS runs per server, interleaved; dnsmeshd restarted before each run (empty answer cache)"
for ((r = 1; r <= RUNS; r++)); do
    for s in "${ACTIVE[@]}"; do
        if [[ "$s" == dnsmeshd ]]; then
            stop_pid "${PID[dnsmeshd]}"
            if ! start_dnsmeshd "$WORK/node" || ! wait_dns "${PORT[dnsmeshd]}" "$PROBE" dnsmeshd; then
                die "dnsmeshd did not restart (log: $WORK/node/stdout.log)"
            fi
        fi
        only_run "$s"
        t="$WORK/one-$s-$r"
        c0=$(cpu_ticks "${PID[$s]}")
        {
            TIMEFORMAT='%R %U %S'
            time taskset -c "$GEN_CPU" dnsperf -s 127.0.0.1 -p "${PORT[$s]}" -d "$ONEQ" -n 1 -t 0.5 \
                -c 8 -q 200 >"$t.dnsperf" 2>&1
        } 2>"$t.time" || true
        c1=$(cpu_ticks "${PID[$s]}")
        echo "$(((c1 - c0) * 1000 / CLK_TCK))" >"$t.cpu_ms"
        mem_kib "${PID[$s]}" >"$t.mem"
        if [[ -n "$OUT" ]]; then cp "$t.dnsperf" "$OUT/one-pass-$s-$r.dnsperf"; fi
        python3 - "$t" "$s" "$r" <<'PY' || echo "  run $r $s: no result"
import re, sys
t, s, r = sys.argv[1:4]
d = open(t + ".dnsperf").read()
done = int(re.search(r"Queries completed:\s+(\d+)", d).group(1))
lost = int(re.search(r"Queries lost:\s+(\d+)", d).group(1))
qps = float(re.search(r"Queries per second:\s+([\d.]+)", d).group(1))
cpu = int(open(t + ".cpu_ms").read()) / 1000.0
wall, usr, sy = map(float, open(t + ".time").read().split()[-3:])
rss, pss = map(int, open(t + ".mem").read().split())
print("  run %s %-9s answered %8d lost %6d  %8.0f q/s  server CPU %6.2f s = %5.2f us/answer  dnsperf CPU %3.0f%%  RSS %6.0f MiB  PSS %6.0f MiB"
      % (r, s, done, lost, qps, cpu, 1e6 * cpu / done if done else 0, 100.0 * (usr + sy) / wall if wall else 0, rss / 1024, pss / 1024))
PY
    done
done
thaw_all
python3 - "$WORK" "$RUNS" "${OUT:-}" "${ACTIVE[@]}" <<'PY'
import os, re, statistics, sys
work, runs, out, servers = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
med = {}
lines = ["server\tanswered_qps\tcpu_us_per_answer\tlost\trss_mib\tpss_mib"]
print("== one pass: medians of %d runs" % runs)
print("  %-9s %12s %12s %8s %9s %9s" % ("server", "answered/s", "CPU/answer", "lost", "RSS MiB", "PSS MiB"))
for s in servers:
    q, c, l, rs, ps = [], [], [], [], []
    for r in range(1, runs + 1):
        t = "%s/one-%s-%d" % (work, s, r)
        try:
            d = open(t + ".dnsperf").read()
            done = int(re.search(r"Queries completed:\s+(\d+)", d).group(1))
            l.append(int(re.search(r"Queries lost:\s+(\d+)", d).group(1)))
            q.append(float(re.search(r"Queries per second:\s+([\d.]+)", d).group(1)))
            c.append(1e6 * int(open(t + ".cpu_ms").read()) / 1000.0 / max(done, 1))
            a, b = map(int, open(t + ".mem").read().split())
            rs.append(a / 1024)
            ps.append(b / 1024)
        except Exception as e:
            print("  %-9s run %d: no result (%s)" % (s, r, e))
    if not q:
        continue
    m = [statistics.median(x) for x in (q, c, l, rs, ps)]
    med[s] = m
    print("  %-9s %12.0f %9.2f us %8.0f %9.0f %9.0f" % (s, m[0], m[1], m[2], m[3], m[4]))
    lines.append("%s\t%.0f\t%.2f\t%.0f\t%.0f\t%.0f" % (s, m[0], m[1], m[2], m[3], m[4]))
for peer, name in (("nsd", "NSD"), ("knot", "Knot")):
    if "dnsmeshd" in med and peer in med:
        d, p = med["dnsmeshd"], med[peer]
        print("  dnsmeshd / %s: answered q/s %.2f, CPU per answer %.2f, RSS %.2f, PSS %.2f (goals vs Knot: q/s >= 1, RSS <= 0.5)"
              % (name, d[0] / p[0] if p[0] else 0, d[1] / p[1] if p[1] else 0,
                 d[3] / p[3] if p[3] else 0, d[4] / p[4] if p[4] else 0))
if out:
    open(os.path.join(out, "one-pass.tsv"), "w").write("\n".join(lines) + "\n")
PY
exit 0
