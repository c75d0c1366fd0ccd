#!/usr/bin/env python3
"""A failed WAL sync (issue 10): the write was applied and is visible, so its answer must not
say "not applied" (the node answered 502): it is 503 "applied but not confirmed durable", the
value is readable, and /health reports failing writes.

usage: node_sync_fail.py DNSMESHD SYNCSHIM.so"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def req(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"} if body is not None else {})
    r = c.getresponse()
    b = r.read().decode()
    c.close()
    return r.status, b


def main():
    node, shim = sys.argv[1], sys.argv[2]
    d = tempfile.mkdtemp(prefix="dmp-syncfail-")
    fail = os.path.join(d, "fail")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMP_")}
    env.update({
        "DMP_DB_PATH": os.path.join(d, "db"), "DMP_DNS_HOST": "127.0.0.1",
        "DMP_HTTP_HOST": "127.0.0.1", "DMP_DNS_PORT": "0", "DMP_HTTP_PORT": "0",
        "DMP_PORTS_FILE": os.path.join(d, "ports"), "LD_PRELOAD": shim,
        "DMP_SYNCSHIM_FAIL": fail,
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0",
    })
    p = subprocess.Popen([node], env=env, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(d, "err"), "w"))
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not os.path.exists(os.path.join(d, "ports")):
            time.sleep(0.05)
        port = int(re.search(r"http=127\.0\.0\.1:(\d+)",
                             open(os.path.join(d, "ports")).read()).group(1))
        ok = True
        v = {"value": "v=dmp1;t=chunk;d=b2s=", "ttl": 300}
        if req(port, "POST", "/v1/records/ok.mesh.test", v)[0] != 201:
            print("FAIL: first write"); ok = False
        open(fail, "w").close()
        st, body = req(port, "POST", "/v1/records/late.mesh.test", v)
        print(f"write while syncs fail: {st} {body}")
        if st != 503 or "not confirmed durable" not in body:
            print("FAIL: not a 503 'applied but not confirmed durable'"); ok = False
        st, body = req(port, "GET", "/v1/records/late.mesh.test")
        print(f"read of it: {st} {body}")
        if st != 200 or "b2s=" not in body:
            print("FAIL: the applied write is not visible (then 503 would be wrong too)"); ok = False
        hs, hb = req(port, "GET", "/health")
        print(f"/health: {hs} {hb}")
        if hs != 503 or "writes" not in hb:
            print("FAIL: /health does not report failing writes"); ok = False
        if req(port, "GET", "/v1/records/ok.mesh.test")[0] != 200:
            print("FAIL: reads stopped"); ok = False
        return 0 if ok else 1
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(40)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
