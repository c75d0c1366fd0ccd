#!/usr/bin/env python3
"""dnsmesh-bench as a load-testing tool, each mode run briefly against a real dnsmeshd.

Loopback only, every run bounded in queries and seconds. Checks the reports, not speed:
  1. `dns --records` (the generated mix; over UDP, TCP and io_uring): no wrong answer; missing names counted as NXDOMAIN
     and right; empty non-terminals answered NOERROR without records and right; names whose
     answer exceeds 1232 bytes come back TC=1, are retried over TCP and are right;
  2. the same with one published value altered in the expected records: those answers are
     counted as wrong (unpublished data), the others right, exit status 3;
  3. a query file in dnsperf's format ("name TYPE") and fixed-rate steps (--rates): one JSON
     report per step, each at its offered rate;
  4. --write-queries writes dnsperf's format;
  5. `dmp`: users polling their slots while messages are published over HTTP: every answer
     right, empty slots NXDOMAIN, manifests found and their chunks fetched, every record 201;
  6. a target outside loopback is refused without --target-is-mine.

  7. `dmp --update-key`: the same workload publishing with TSIG-signed DNS UPDATEs (a key made
     by dnsmesh-admin), every UPDATE acknowledged and every answer right;
  8. `update --rate`: UPDATEs at a fixed offered rate, about rate x duration acknowledged.

usage: bench_tool.py DNSMESHD DNSMESH_BENCH SOURCE_DIR [DNSMESH_ADMIN]"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

DNSMESHD, BENCH, SRC = sys.argv[1:4]
ADMIN = sys.argv[4] if len(sys.argv) > 4 else None
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(args, timeout=60):
    p = subprocess.run([BENCH] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def start_node(d, extra_env=None):
    env = dict(os.environ)
    env.update({
        "DMP_DNS_HOST": "127.0.0.1", "DMP_DNS_PORT": "0", "DMP_HTTP_HOST": "127.0.0.1",
        "DMP_HTTP_PORT": "0", "DMP_DB_PATH": os.path.join(d, "db"),
        "DMP_PORTS_FILE": os.path.join(d, "ports"), "DMP_DNS_RATE": "0", "DMP_DNS_BURST": "0",
        "DMP_HTTP_RATE": "0", "DMP_HTTP_BURST": "0", "DMP_RRL_RATE": "0",
        "DMP_SERVED_ZONE": "mesh.test", "DMP_DNS_APEX_NS": "ns1.mesh.test",
        "DMP_DNS_APEX_SOA_RNAME": "hostmaster.mesh.test", "DMP_LOG_LEVEL": "warning",
    })
    env.update(extra_env or {})
    log = open(os.path.join(d, "node.log"), "w")
    p = subprocess.Popen([DNSMESHD], env=env, stdout=log, stderr=subprocess.STDOUT)
    ports = os.path.join(d, "ports")
    for _ in range(300):
        if os.path.exists(ports) and os.path.getsize(ports) > 0:
            break
        if p.poll() is not None:
            break
        time.sleep(0.1)
    f = dict(kv.split("=", 1) for kv in open(ports).read().split())
    return p, f["dns"], f["http"]


def main():
    d = tempfile.mkdtemp(prefix="bench-tool-")
    node = None
    try:
        subprocess.run([sys.executable, os.path.join(SRC, "bench", "gen_records.py"), "--count",
                        "3000", "--out-dir", d, "--formats", "jsonl"], check=True,
                       stdout=subprocess.DEVNULL)
        recs = os.path.join(d, "records.jsonl")
        node, dns, http = start_node(d)
        rc, out, err = run(["load", "--port", http.rsplit(":", 1)[1], "--file", recs, "--conns",
                            "8", "--json", "--quiet"], timeout=120)
        load = json.loads(out)
        check(rc == 0 and load["ok"] == 3000, "3000 records loaded over HTTP (%s)" % out[:80])

        # 1. the generated mix, every answer checked
        base = ["dns", "--target", dns, "--records", recs, "--json", "--quiet", "--rate", "3000",
                "--timeout-ms", "5000", "--max-queries", "6000", "--duration", "3"]
        rc, out, err = run(base)
        r = json.loads(out)
        k = r["kinds"]
        check(rc == 0, "mix: exit 0 (got %d; %s)" % (rc, err.strip()[:200]))
        check(r["checked"] and r["answered"] > 0 and r["wrong"] == 0,
              "mix: %d answered, 0 wrong (got %d)" % (r["answered"], r["wrong"]))
        check(r["right"] == r["answered"], "mix: every answer right (%d of %d)"
              % (r["right"], r["answered"]))
        check(k["nxdomain"]["right"] > 0
              and k["nxdomain"]["rcodes"].get("NXDOMAIN") == k["nxdomain"]["answered"],
              "mix: missing names answered NXDOMAIN and counted right (%s)" % k["nxdomain"])
        check(k["ent"]["right"] > 0 and k["ent"]["rcodes"].get("NOERROR") == k["ent"]["answered"],
              "mix: empty non-terminals NOERROR/NODATA, right (%s)" % k["ent"])
        check(k["tc"]["tcp_retries"] > 0 and k["tc"]["right"] == k["tc"]["answered"] > 0,
              "mix: large answers TC=1, retried over TCP, right (%s)" % k["tc"])
        check(k["exist"]["right"] > 0 and r["lost"] == 0,
              "mix: existing names right, none lost (lost %d)" % r["lost"])

        # the same over TCP and through io_uring
        for extra in (["--tcp"], ["--io", "uring"]):
            rc, out, err = run(base + extra)
            r = json.loads(out)
            check(rc == 0 and r["wrong"] == 0 and r["right"] == r["answered"] > 0
                  and r["lost"] == 0, "mix %s: every answer right, none lost" % " ".join(extra))

        # 2. a deliberately wrong expected value is counted as wrong
        lines = open(recs).read().splitlines()
        first = json.loads(lines[0])
        first["value"] = first["value"][:-4] + ("AAAA" if not first["value"].endswith("AAAA")
                                                else "BBBB")
        lines[0] = json.dumps(first)
        bad = os.path.join(d, "bad.jsonl")
        open(bad, "w").write("\n".join(lines) + "\n")
        qf = os.path.join(d, "q.txt")
        open(qf, "w").write("%s TXT\nnothing-here.mesh.test TXT\n%s\n"
                            % (first["name"], json.loads(lines[1])["name"]))
        rc, out, err = run(["dns", "--target", dns, "--names", qf, "--records", bad, "--json",
                            "--quiet", "--max-queries", "300", "--duration", "3",
                            "--timeout-ms", "5000", "--show-wrong", "1"])
        r = json.loads(out)
        k = r["kinds"]
        check(rc == 3, "altered value: exit 3 (got %d)" % rc)
        check(k["exist"]["wrong_data"] > 0 and r["wrong"] == k["exist"]["wrong_data"],
              "altered value: its answers counted as wrong data (%s)" % k["exist"])
        check(k["exist"]["right"] > 0 and k["nxdomain"]["right"] > 0,
              "altered value: the other names still right")
        check(first["name"] in err and "unpublished data" in err,
              "altered value: the wrong answer is shown on stderr")

        # 2b. bad arguments: exit 2 with an error that names the option (every subcommand
        # parses its options through one table-driven parser)
        for args, want in ((["dns", "--bogus"], "unknown option '--bogus'"),
                           (["dns", "--target", dns, "--timeout-ms"], "--timeout-ms needs a value"),
                           (["dns", "--target", dns, "--port", "70000"], "not an integer in 1..65535"),
                           (["rrl", "--port", "1", "--flood-rate", "x"], "--flood-rate: 'x'"),
                           (["sweep", "--records", "0"], "--records: '0'"),
                           (["load", "--port", "1", "--zone", "z"], "unknown option '--zone'")):
            rc, out, err = run(args)
            check(rc == 2 and want in err, "%s: exit 2 and %r (got %d, %r)"
                  % (" ".join(args), want, rc, err.strip()[:120]))

        # 3. dnsperf's format and fixed-rate steps
        rc, out, err = run(["dns", "--target", dns, "--names", qf, "--records", recs, "--json",
                            "--quiet", "--rates", "200,400", "--step-seconds", "1",
                            "--timeout-ms", "5000"])
        steps = [json.loads(l) for l in out.splitlines() if l.strip()]
        check(rc == 0 and len(steps) == 2, "steps: two reports (exit %d)" % rc)
        if len(steps) == 2:
            check([s["offered_qps"] for s in steps] == [200, 400],
                  "steps: offered 200 then 400 q/s")
            check(all(s["wrong"] == 0 and s["right"] == s["answered"] > 0 for s in steps),
                  "steps: every answer right")
            check(steps[0]["sent"] <= 200 * 1.2 + 32 and steps[1]["sent"] > steps[0]["sent"],
                  "steps: the rate caps what is sent (%d, %d)"
                  % (steps[0]["sent"], steps[1]["sent"]))

        # 4. --write-queries
        wq = os.path.join(d, "w.txt")
        rc, out, err = run(["dns", "--records", recs, "--write-queries", wq, "--queries", "500"])
        wl = open(wq).read().splitlines() if rc == 0 else []
        check(len(wl) == 500 and all(l.endswith(" TXT") and len(l.split()) == 2 for l in wl)
              and any(l.startswith("nx-") for l in wl),
              "--write-queries: 500 lines 'name TXT', some missing names")

        # 5. the DMP workload
        rc, out, err = run(["dmp", "--target", dns, "--http", http, "--users", "50",
                            "--poll-interval", "1", "--publish-rate", "10", "--duration", "3",
                            "--timeout-ms", "5000", "--json", "--quiet"], timeout=60)
        r = json.loads(out)
        k, pub = r["kinds"], r["publish"]
        check(rc == 0, "dmp: exit 0 (got %d; %s)" % (rc, err.strip()[:300]))
        check(r["wrong"] == 0 and r["lost"] == 0 and r["right"] == r["answered"] > 0,
              "dmp: every answer right, none lost (%d answered)" % r["answered"])
        # A poll counts as empty when nothing in its slot was acknowledged when it was sent; a
        # manifest being published at that moment may already be served (NOERROR, and checked
        # right against the value in flight), so a few such answers are the workload, not a bug.
        pe = k["poll-empty"]
        nx, ne = pe["rcodes"].get("NXDOMAIN", 0), pe["rcodes"].get("NOERROR", 0)
        check(pe["answered"] > 0 and pe["right"] == pe["answered"]
              and nx + ne == pe["answered"] and ne <= pe["answered"] // 20,
              "dmp: empty slots answered NXDOMAIN, bar manifests in flight (%s)" % pe)
        check(k["manifest"]["right"] > 0 and k["chunk"]["right"] > 0,
              "dmp: manifests found and chunks fetched (%d, %d)"
              % (k["manifest"]["right"], k["chunk"]["right"]))
        check(pub["messages"] >= 20 and pub["records_ok"] == pub["records"] > 0,
              "dmp: messages published, every record 201 (%s)" % pub)

        # 6. loopback only unless the operator says the target is theirs
        rc, out, err = run(["dns", "--target", "192.0.2.1:53", "--names", qf])
        check(rc == 2 and "--target-is-mine" in err, "a non-loopback target is refused")
        rc, out, err = run(["dmp", "--target", "192.0.2.1:53", "--http", http])
        check(rc == 2, "dmp: a non-loopback target is refused")
        # 7. publishing with DNS UPDATE
        if ADMIN:
            node.terminate()
            node.wait(20)
            node = None
            d2 = os.path.join(d, "upd")
            os.mkdir(d2)
            key = subprocess.run([ADMIN, "tsig", "add", "bench.mesh.test", "--scope", "mesh.test",
                                  "--db", os.path.join(d2, "db")], check=True,
                                 capture_output=True, text=True).stdout.strip()
            node, dns, http = start_node(d2, {"DMP_DNS_UPDATE_ENABLED": "1"})
            rc, out, err = run(["dmp", "--target", dns, "--update-key", key, "--users", "50",
                                "--poll-interval", "1", "--publish-rate", "10", "--duration",
                                "3", "--timeout-ms", "5000", "--json", "--quiet"], timeout=60)
            r = json.loads(out)
            pub = r["publish"]
            check(rc == 0 and r["wrong"] == 0 and r["lost"] == 0 and r["right"] == r["answered"],
                  "dmp over UPDATE: every answer right, none lost (exit %d; %s)"
                  % (rc, err.strip()[:200]))
            check(pub["messages"] >= 20 and pub["records_ok"] == pub["records"] > 0
                  and r["kinds"]["chunk"]["right"] > 0,
                  "dmp over UPDATE: every UPDATE acknowledged, chunks fetched (%s)" % pub)
            # 8. `update --rate`: a fixed offered load, not a closed loop as fast as it goes
            rc, out, err = run(["update", "--port", dns.rsplit(":", 1)[1], "--zone", "mesh.test",
                                "--key", key, "--rate", "100", "--conc", "8", "--duration",
                                "3", "--json"], timeout=60)
            u = json.loads(out) if out.strip() else {}
            check(rc == 0 and u.get("timeouts") == 0 and u.get("refused_or_other") == 0
                  and 250 <= u.get("acked", 0) <= 310 and "late" in u,
                  "update --rate 100 for 3 s: ~300 UPDATEs acked, none refused (exit %d; %s %s)"
                  % (rc, u, err.strip()[:200]))
    finally:
        if node:
            node.terminate()
            try:
                node.wait(10)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait()
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
