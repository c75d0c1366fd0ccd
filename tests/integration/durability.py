#!/usr/bin/env python3
"""Durability: no write is acknowledged before a WAL sync that covers it.

Starts dnsmeshd with the syncshim LD_PRELOAD library, which logs every fsync/fdatasync with its
CLOCK_MONOTONIC start and end. Sends writes (POST and DELETE, several connections at once) and
records, on the same clock, when each request was sent and when its 2xx arrived. Then checks
that for every acknowledged write some sync of a RocksDB WAL file (*.log in the store) started
after the request was sent and ended before the acknowledgement: a sync that began earlier
cannot have made the write durable. A kill -9 test cannot see this (a killed process keeps the
page cache); this one fails when the sync is skipped or comes after the answer.

usage: durability.py DNSMESHD SYNCSHIM.so   (exit 77 = cannot run here)
Env: DMP_SYNCSHIM_NOOP=1 passes through to the shim (syncs become no-ops): the test must fail."""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

WRITERS = 4
PER_WRITER = 40


def main():
    node, shim = sys.argv[1], sys.argv[2]
    if not os.path.exists(shim):
        print("skip: no shim")
        return 77
    d = tempfile.mkdtemp(prefix="dmp-durab-")
    log = os.path.join(d, "syncs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMP_") or k == "DMP_SYNCSHIM_NOOP"}
    env.update({
        "DMP_DB_PATH": os.path.join(d, "db"), "DMP_DNS_HOST": "127.0.0.1",
        "DMP_HTTP_HOST": "127.0.0.1", "DMP_DNS_PORT": "0", "DMP_HTTP_PORT": "0",
        "DMP_PORTS_FILE": os.path.join(d, "ports"), "DMP_HTTP_RATE": "0",
        "DMP_SYNCSHIM_LOG": log, "LD_PRELOAD": shim,
        # an ASan build links its runtime first; the shim only wraps two libc calls
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0",
    })
    p = subprocess.Popen([node], env=env, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(d, "err"), "w"))
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not os.path.exists(os.path.join(d, "ports")):
            if p.poll() is not None:
                break
            time.sleep(0.05)
        if not os.path.exists(os.path.join(d, "ports")):
            print("node did not start:", open(os.path.join(d, "err")).read())
            return 1
        ports = open(os.path.join(d, "ports")).read().split()
        http_port = int(ports[1].rsplit(":", 1)[1])
        acks = []  # (sent_ns, acked_ns, what)
        errors = []
        lock = threading.Lock()

        def writer(w):
            c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
            for i in range(PER_WRITER):
                name = f"d{w}-{i % 8}.durab.test"
                if i % 5 == 4:
                    method, body = "DELETE", None
                else:
                    method = "POST"
                    body = json.dumps({"value": f"v=dmp1;t=chunk;d={w}-{i}", "ttl": 300})
                t0 = time.monotonic_ns()
                c.request(method, f"/v1/records/{name}", body=body,
                          headers={"Content-Type": "application/json"} if body else {})
                r = c.getresponse()
                r.read()
                t1 = time.monotonic_ns()
                with lock:
                    if 200 <= r.status < 300:
                        acks.append((t0, t1, f"{method} {name} -> {r.status}"))
                    elif not (method == "DELETE" and r.status == 404):
                        errors.append(f"{method} {name} -> {r.status}")
            c.close()

        ts = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        if errors:
            print("unexpected statuses:", errors[:5])
            return 1
        if len(acks) < WRITERS * PER_WRITER // 2:
            print(f"too few acknowledged writes: {len(acks)}")
            return 1
        syncs = []
        if os.path.exists(log):
            for line in open(log):
                parts = line.split(" ", 4)
                if len(parts) == 5 and parts[3] == "0" and parts[4].strip().endswith(".log") \
                        and d in parts[4]:
                    syncs.append((int(parts[1]), int(parts[2])))
        syncs.sort(key=lambda s: s[1])
        bad = []
        for sent, acked, what in acks:
            if not any(s0 >= sent and s1 <= acked for s0, s1 in syncs):
                bad.append(what)
        print(f"{len(acks)} acknowledged writes, {len(syncs)} WAL syncs, {len(bad)} acknowledged "
              "without a covering sync")
        if bad:
            print("first:", bad[:5])
            return 1
        return 0
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
