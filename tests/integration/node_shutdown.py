#!/usr/bin/env python3
"""SIGTERM while a write waits on a stalled WAL sync (issue 10): libmicrohttpd used to abort
(`MHD_stop_daemon() called while we have suspended connections`, exit 134) once the HTTP drain
window passed, leaving the client unanswered (and, without that panic, a use-after-free of the
request). Now: the writer is answered 503 when the drain window (DMP_SHUTDOWN_TIMEOUT) ends, the
node waits for the sync, and exits 0.

usage: node_shutdown.py DNSMESHD SYNCSHIM.so"""
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time


def main():
    node, shim = sys.argv[1], sys.argv[2]
    d = tempfile.mkdtemp(prefix="dmp-stop-")
    stall = os.path.join(d, "stall")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMP_")}
    env.update({
        "DMP_DB_PATH": os.path.join(d, "db"), "DMP_DNS_HOST": "127.0.0.1",
        "DMP_HTTP_HOST": "127.0.0.1", "DMP_DNS_PORT": "0", "DMP_HTTP_PORT": "0",
        "DMP_PORTS_FILE": os.path.join(d, "ports"), "DMP_SHUTDOWN_TIMEOUT": "2",
        "LD_PRELOAD": shim, "DMP_SYNCSHIM_STALL": stall, "DMP_SYNCSHIM_DELAY_MS": "7000",
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0",
    })
    p = subprocess.Popen([node], env=env, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(d, "err"), "w"))
    try:
        ports = os.path.join(d, "ports")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not os.path.exists(ports) and p.poll() is None:
            time.sleep(0.05)
        m = re.search(r"http=127\.0\.0\.1:(\d+)", open(ports).read())
        port = int(m.group(1))
        res = {}

        def write():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            t0 = time.monotonic()
            try:
                c.request("POST", "/v1/records/stall.mesh.test",
                          body='{"value": "v=dmp1;t=chunk;d=aGk=", "ttl": 300}',
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                res["status"] = r.status
                res["body"] = r.read().decode()
            except Exception as e:  # noqa: BLE001
                res["status"] = repr(e)
            res["took"] = time.monotonic() - t0

        open(stall, "w").close()
        t = threading.Thread(target=write)
        t.start()
        time.sleep(0.7)
        t_term = time.monotonic()
        p.send_signal(signal.SIGTERM)
        t.join(30)
        try:
            rc = p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = "hung"
        took_exit = time.monotonic() - t_term
        err = open(os.path.join(d, "err")).read()
        print(f"writer: {res}; node exit {rc} {took_exit:.1f}s after SIGTERM")
        ok = True
        if rc != 0:
            print("FAIL: exit status", rc, err[-800:])
            ok = False
        if res.get("status") not in (201, 503):
            print("FAIL: the writer got no HTTP answer")
            ok = False
        if res.get("status") == 503 and res.get("took", 99) > 5:
            print("FAIL: the 503 came after the sync, not at the end of the drain window")
            ok = False
        if "suspended connections" in err:
            print("FAIL: libmicrohttpd panic")
            ok = False
        return 0 if ok else 1
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
