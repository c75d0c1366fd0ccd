#!/usr/bin/env python3
"""The name index's rebuild in a real dnsmeshd (docs/store.md "The name index"): a node started on
an empty store publishes the answers of new names in its index as they are written; once writes
have taken enough names out of the index's file (here a second value for 4,200 of 5,000 names),
the background thread walks the store into a new table (DMP_NAME_INDEX_REBUILD_S=1 lets it do so
a second after the first walk). After the rebuild the re-written names answer both values from
the new file (cache misses counted as index hits), and a write after it is visible over DNS right
after its 201.

usage: node_name_index.py DNSMESHD"""
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

ZONE = "mesh.test"
NAMES = 5000
REWRITTEN = 4200


def val(tag, i):
    return "v=dmp1;t=chunk;d=" + base64.b64encode(f"{tag}{i:05d}".encode()).decode()


def name(i):
    return f"n{i:05d}.{ZONE}"


def request(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return r.status, text


def publish(port, recs):
    for at in range(0, len(recs), 64):
        body = {"records": [{"name": n, "value": v, "ttl": 3600} for n, v in recs[at:at + 64]]}
        st, text = request(port, "POST", "/v1/records", body)
        assert st == 201, (st, text)


def metrics(port):
    st, text = request(port, "GET", "/metrics")
    assert st == 200
    out = {}
    for line in text.splitlines():
        m = re.match(r'^(dmp_name_index_[a-z_]+(?:\{result="[a-z]+"\})?) (\S+)$', line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def txt(port, qname):
    """(rcode, sorted TXT strings) of a UDP query, TCP when truncated."""
    q = struct.pack(">HHHHHH", 7, 0, 1, 0, 0, 0)
    for label in qname.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 16, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, ("127.0.0.1", port))
    r, _ = s.recvfrom(65535)
    s.close()
    rcode, an = struct.unpack(">H", r[2:4])[0] & 0xF, struct.unpack(">H", r[6:8])[0]
    p = 12 + len(q) - 12  # the question as sent
    vals = []
    for _ in range(an):
        while r[p] != 0 and r[p] & 0xC0 != 0xC0:
            p += r[p] + 1
        p += 2 if r[p] & 0xC0 == 0xC0 else 1
        rtype, _, _, rdlen = struct.unpack(">HHIH", r[p:p + 10])
        p += 10
        rd, p = r[p:p + rdlen], p + rdlen
        assert rtype == 16
        s_, k = b"", 0
        while k < len(rd):
            s_ += rd[k + 1:k + 1 + rd[k]]
            k += 1 + rd[k]
        vals.append(s_.decode())
    return rcode, sorted(vals)


def main():
    node = sys.argv[1]
    d = tempfile.mkdtemp(prefix="dmp-nidx-")
    errf = os.path.join(d, "err")
    p = None
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DMP_")}
        env.update({
            "DMP_DB_PATH": os.path.join(d, "db"), "DMP_DNS_HOST": "127.0.0.1",
            "DMP_HTTP_HOST": "127.0.0.1", "DMP_DNS_PORT": "0", "DMP_HTTP_PORT": "0",
            "DMP_PORTS_FILE": os.path.join(d, "ports"), "DMP_SERVED_ZONE": ZONE,
            "DMP_HTTP_RATE": "0", "DMP_DNS_RATE": "0", "DMP_DNS_BURST": "0", "DMP_RRL_RATE": "0",
            "DMP_MAX_VALUES_PER_NAME": "0", "DMP_NAME_INDEX_REBUILD_S": "1",
            "DMP_STORE_PREFETCH_MB": "0",
        })
        p = subprocess.Popen([node], env=env, stdout=subprocess.DEVNULL, stderr=open(errf, "w"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not os.path.exists(os.path.join(d, "ports")):
            time.sleep(0.05)
        m = re.search(r"dns=127\.0\.0\.1:(\d+) http=127\.0\.0\.1:(\d+)",
                      open(os.path.join(d, "ports")).read())
        dns, http = int(m.group(1)), int(m.group(2))
        deadline = time.monotonic() + 10
        while metrics(http).get("dmp_name_index_ready") != 1:
            assert time.monotonic() < deadline, "the first walk did not end"
            time.sleep(0.05)

        publish(http, [(name(i), val("a", i)) for i in range(NAMES)])
        m0 = metrics(http)
        print(f"after {NAMES} new names: {m0}")
        assert m0["dmp_name_index_written_names"] == NAMES, m0
        assert m0["dmp_name_index_rebuilds_total"] == 0, m0

        publish(http, [(name(i), val("b", i)) for i in range(REWRITTEN)])
        deadline = time.monotonic() + 30
        while metrics(http)["dmp_name_index_rebuilds_total"] < 1:
            assert time.monotonic() < deadline, "no rebuild within 30 s"
            time.sleep(0.2)
        m1 = metrics(http)
        print(f"after the rebuild: {m1}")
        assert m1["dmp_name_index_names"] == NAMES, m1
        assert m1["dmp_name_index_lost_names"] < REWRITTEN, m1

        # names nobody queried yet: each is a cache miss answered from the new file
        before = metrics(http)
        for i in range(0, REWRITTEN, 14):
            rc, got = txt(dns, name(i))
            assert rc == 0 and got == sorted([val("a", i), val("b", i)]), (i, rc, got)
        for i in range(REWRITTEN, NAMES, 7):
            rc, got = txt(dns, name(i))
            assert rc == 0 and got == [val("a", i)], (i, rc, got)
        after = metrics(http)
        hits = after['dmp_name_index_reads_total{result="hit"}'] - \
            before['dmp_name_index_reads_total{result="hit"}']
        queried = len(range(0, REWRITTEN, 14)) + len(range(REWRITTEN, NAMES, 7))
        print(f"{queried} queries after the rebuild, {hits:.0f} answered from the index")
        assert hits >= queried, (hits, queried)

        # a write after the rebuild: the next query answers it
        st, _ = request(http, "DELETE", f"/v1/records/{name(14)}")
        assert st in (200, 204), st
        publish(http, [(name(14), val("c", 14))])
        rc, got = txt(dns, name(14))
        assert rc == 0 and got == [val("c", 14)], (rc, got)
        log = open(errf).read()
        assert "name index: rebuilt" in log, log[-2000:]
        print("ok")
        return 0
    finally:
        if p is not None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
