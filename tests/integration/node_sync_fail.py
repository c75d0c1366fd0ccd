#!/usr/bin/env python3
"""A failed WAL sync (issue 10): the write was applied and is visible, so its answer must not
say "not applied" (the node answered 502): it is 503 "applied but not confirmed durable", the
value is readable, and /health reports failing writes. A batch publish answers the same: as the
first write after the failure (503, every record visible) and later, while the store refuses
writes (the single POST's status and body, nothing written).

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


def run(node, shim, batch_first):
    """One node: its first write after syncs start failing is a single POST (or a batch)."""
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
        if batch_first:
            # the batch publish: the same 503, and every record of it applied and visible
            st, body = req(port, "POST", "/v1/records",
                           {"records": [dict(v, name="late.mesh.test"),
                                        dict(v, name="late2.mesh.test")]})
        else:
            st, body = req(port, "POST", "/v1/records/late.mesh.test", v)
        print(f"{'batch' if batch_first else 'write'} while syncs fail: {st} {body}")
        if st != 503 or json.loads(body) != {
                "ok": False, "error": "applied but not confirmed durable (WAL sync failed): retry"}:
            print("FAIL: not a 503 'applied but not confirmed durable'"); ok = False
        for n in ("late", "late2") if batch_first else ("late",):
            st, body = req(port, "GET", f"/v1/records/{n}.mesh.test")
            print(f"read of {n}: {st} {body}")
            if st != 200 or "b2s=" not in body:
                print("FAIL: the applied write is not visible (then 503 would be wrong too)")
                ok = False
        if not batch_first:
            # later writes are refused while the store is failing: a batch as a single POST,
            # and a batch refused as not written wrote none of its records
            sst, sbody = req(port, "POST", "/v1/records/after.mesh.test", v)
            bst, bbody = req(port, "POST", "/v1/records",
                             {"records": [dict(v, name="b0.mesh.test"),
                                          dict(v, name="b1.mesh.test")]})
            print(f"then a single / a batch: {sst} {sbody} / {bst} {bbody}")
            if sst not in (503, 507) or (bst, json.loads(bbody)) != (sst, json.loads(sbody)):
                print("FAIL: the batch's answer differs from the single POST's"); ok = False
            if "not written" in bbody and any(
                    req(port, "GET", f"/v1/records/{n}.mesh.test")[0] != 404 for n in ("b0", "b1")):
                print("FAIL: a batch answered 'not written' wrote records"); ok = False
        hs, hb = req(port, "GET", "/health")
        print(f"/health: {hs} {hb}")
        if hs != 503 or "writes" not in hb:
            print("FAIL: /health does not report failing writes"); ok = False
        if req(port, "GET", "/v1/records/ok.mesh.test")[0] != 200:
            print("FAIL: reads stopped"); ok = False
        return ok
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(40)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    node, shim = sys.argv[1], sys.argv[2]
    ok = run(node, shim, False)
    ok = run(node, shim, True) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
