#!/usr/bin/env python3
"""Response rate limiting and DNS Cookies against a real dnsmeshd (issue 10).

A spoofed-source-style flood (many identical queries from 127.0.0.1) is limited and slipped
(TC=1) while 127.0.1.1, in another /24, is answered in full throughout; a client in the flooded
/24 that presents a valid server cookie is exempt; `dig +cookie` completes a cookie round trip
(dig checks our echo of its client cookie: "(good)"); /metrics counts drops, slips and cookie
exemptions; NSID and the TCP keepalive option come back to dig.

The frontends answer cached names themselves and apply RRL there with the same table as the
shards: FRONTEND_CACHE 1 (the default) tests that path, 0 the one where every query crosses to
its shard (DMP_DNS_FRONTEND_CACHE); both must limit identically.

usage: node_rrl.py DNSMESHD [FRONTEND_CACHE]   (exit 77 when dig is missing)"""
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
import urllib.request


def query(qid, name, cookie=None):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 16, 1)
    opts = b""
    if cookie is not None:
        opts = struct.pack(">HH", 10, len(cookie)) + cookie
    return q + b"\0" + struct.pack(">HHIH", 41, 1232, 0, len(opts)) + opts


def reply_cookie(r):
    """The COOKIE option data of a reply's OPT (None when absent)."""
    i = r.rfind(b"\x00\x00\x29")
    if i < 0:
        return None
    rdlen = struct.unpack(">H", r[i + 9:i + 11])[0]
    p, end = i + 11, i + 11 + rdlen
    while p + 4 <= end:
        code, ln = struct.unpack(">HH", r[p:p + 4])
        if code == 10:
            return r[p + 4:p + 4 + ln]
        p += 4 + ln
    return None


def flood(port, src, name, count, cookie=None):
    """Sends count queries from src as fast as possible; returns (full, tc) replies seen."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    for i in range(count):
        s.sendto(query(i & 0xFFFF, name, cookie), ("127.0.0.1", port))
    full = tc = 0
    s.settimeout(0.5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            r, _ = s.recvfrom(4096)
        except socket.timeout:
            break
        flags = struct.unpack(">H", r[2:4])[0]
        if flags & 0x0200:
            tc += 1
        elif struct.unpack(">H", r[6:8])[0] > 0:
            full += 1
    s.close()
    return full, tc


def ask(port, src, name, cookie=None, timeout=1.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.sendto(query(7, name, cookie), ("127.0.0.1", port))
    try:
        r, _ = s.recvfrom(4096)
    except socket.timeout:
        r = None
    s.close()
    return r


def main():
    node = sys.argv[1]
    if not shutil.which("dig"):
        print("skip: needs dig")
        return 77
    d = tempfile.mkdtemp(prefix="dmp-rrl-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMP_")}
    env.update({
        "DMP_DB_PATH": os.path.join(d, "db"), "DMP_DNS_HOST": "127.0.0.1",
        "DMP_HTTP_HOST": "127.0.0.1", "DMP_DNS_PORT": "0", "DMP_HTTP_PORT": "0",
        "DMP_PORTS_FILE": os.path.join(d, "ports"), "DMP_SERVED_ZONE": "mesh.test",
        "DMP_DNS_APEX_NS": "ns1.mesh.test", "DMP_DNS_APEX_SOA_RNAME": "hostmaster.mesh.test",
        "DMP_RRL_RATE": "20", "DMP_RRL_SLIP": "2", "DMP_NSID": "rrl-test-node",
        "DMP_SHARDS": "1", "DMP_FRONTENDS": "1",
        "DMP_DNS_FRONTEND_CACHE": sys.argv[2] if len(sys.argv) > 2 else "1",
    })
    p = subprocess.Popen([node], env=env, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(d, "err"), "w"))
    try:
        ports = os.path.join(d, "ports")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not os.path.exists(ports) and p.poll() is None:
            time.sleep(0.05)
        if not os.path.exists(ports):
            print("node did not start:", open(os.path.join(d, "err")).read())
            return 1
        m = re.search(r"dns=127\.0\.0\.1:(\d+) http=127\.0\.0\.1:(\d+)", open(ports).read())
        dns, http = int(m.group(1)), int(m.group(2))
        req = urllib.request.Request(f"http://127.0.0.1:{http}/v1/records/a.mesh.test",
                                     data=b'{"value": "v=dmp1;t=chunk;d=aGk=", "ttl": 300}',
                                     headers={"Content-Type": "application/json"}, method="POST")
        assert urllib.request.urlopen(req, timeout=5).status == 201

        # a cookie from 127.0.0.1 before the flood (first reply hands it out)
        client = os.urandom(8)
        r = ask(dns, "127.0.0.1", "a.mesh.test", client)
        full_cookie = reply_cookie(r) if r else None
        if not full_cookie or len(full_cookie) != 24 or full_cookie[:8] != client:
            print("no server cookie:", full_cookie)
            return 1

        f_full, f_tc = flood(dns, "127.0.0.1", "a.mesh.test", 600)
        # while the flood's bucket is empty, another /24 is answered in full
        other_full = sum(1 for i in range(20)
                         if (lambda r: r is not None and not (r[2] & 0x02) and r[7] > 0)(
                             ask(dns, "127.0.1.1", "a.mesh.test")))
        f2_full, f2_tc = flood(dns, "127.0.0.1", "a.mesh.test", 200)
        # the flooded /24 with a valid server cookie: exempt
        c_full, c_tc = flood(dns, "127.0.0.1", "a.mesh.test", 100, full_cookie)
        print(f"flood: {f_full} full, {f_tc} TC of 600; again: {f2_full} full, {f2_tc} TC of 200;"
              f" 127.0.1.1: {other_full}/20 full; with cookie: {c_full} full, {c_tc} TC of 100")
        ok = True
        if not (f_full <= 60 and f_tc >= 150):
            print("FAIL: the flood was not limited and slipped"); ok = False
        if other_full != 20:
            print("FAIL: another /24 was not answered in full"); ok = False
        if not (f2_full <= 60 and f2_tc >= 50):
            print("FAIL: the second flood was not limited"); ok = False
        if not (c_full >= 95 and c_tc == 0):
            print("FAIL: a valid server cookie did not exempt the client"); ok = False

        met = urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=5).read().decode()
        def metric(name):
            mm = re.search(re.escape(name) + r" (\d+)", met)
            return int(mm.group(1)) if mm else -1
        drops = metric('dmp_dns_rrl_total{action="drop"}')
        slips = metric('dmp_dns_rrl_total{action="slip"}')
        exempt = metric('dmp_dns_rrl_total{action="exempt_cookie"}')
        print(f"metrics: drop {drops} slip {slips} exempt_cookie {exempt}")
        if drops <= 0 or slips <= 0 or exempt < 95:
            print("FAIL: /metrics does not count RRL"); ok = False

        out = subprocess.run(["dig", "@127.0.0.1", "-p", str(dns), "+cookie", "+nsid",
                              "+keepalive", "+tcp", "+time=2", "+tries=1", "a.mesh.test", "TXT"],
                             capture_output=True, text=True, timeout=10).stdout
        if not re.search(r"; COOKIE: [0-9a-f]{48} \(good\)", out):
            print("FAIL: dig +cookie:", out); ok = False
        if '("rrl-test-node")' not in out:
            print("FAIL: NSID:", out); ok = False
        if "TCP KEEPALIVE: 10.0 secs" not in out:
            print("FAIL: keepalive:", out); ok = False
        return 0 if ok else 1
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
