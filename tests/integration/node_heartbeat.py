#!/usr/bin/env python3
"""Heartbeat discovery between two real dnsmeshd processes on loopback (docs/node.md
"Heartbeat"): node A serves a.test and learns b.test from a seed list served by a tiny HTTP
server in this test; node B serves b.test and has a.test as a seed zone. Each harvests the
other over DNS (its harvest resolver is the other node). Checked with dig: each node's
_dnsmesh-heartbeat name holds its own signed heartbeat and its _dnsmesh-seen name the other's;
A's landing page lists B. Nothing leaves 127.0.0.1.

usage: node_heartbeat.py DNSMESHD"""
import http.client
import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SEED_A = "11" * 32
SEED_B = "22" * 32


def free_port():
    """A port free on 127.0.0.1 for both UDP and TCP (the nodes must know each other's DNS
    port before they start)."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            t.close()
            continue
        t.close()
        u.close()
        return port
    raise RuntimeError("no free port")


def dig(port, name):
    r = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), name, "TXT", "+short", "+tcp",
                        "+time=2", "+tries=1"], capture_output=True, text=True, timeout=15)
    return [line.strip().strip('"').replace('" "', "") for line in r.stdout.splitlines()
            if line.strip()]


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    b = r.read().decode()
    c.close()
    return r.status, b


class Seeds(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self):
        Seeds.hits += 1
        body = b"# test seed list\n\nB.test\n" if self.path == "/seeds.txt" else b""
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def start(node, d, name, zone, seed_hex, dns_port, peer_dns, extra):
    os.makedirs(d)
    key = os.path.join(d, "key")
    with open(key, "w") as f:
        f.write(seed_hex + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMP_")}
    env.update({
        "DMP_DB_PATH": os.path.join(d, "db"), "DMP_DNS_HOST": "127.0.0.1",
        "DMP_HTTP_HOST": "127.0.0.1", "DMP_DNS_PORT": str(dns_port), "DMP_HTTP_PORT": "0",
        "DMP_PORTS_FILE": os.path.join(d, "ports"), "DMP_SERVED_ZONE": zone,
        "DMP_HEARTBEAT_ENABLED": "1",
        "DMP_HEARTBEAT_SELF_ENDPOINT": f"https://{name}.example.net",
        "DMP_HEARTBEAT_OPERATOR_KEY_PATH": key,
        "DMP_HEARTBEAT_INTERVAL_SECONDS": "1",
        "DMP_HEARTBEAT_DNS_RESOLVERS": f"127.0.0.1:{peer_dns}",
        "DMP_HEARTBEAT_VERSION": f"itest-{name}",
        "DMP_LOG_LEVEL": "debug",
    })
    env.update(extra)
    p = subprocess.Popen([node], env=env, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(d, "err"), "w"))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not os.path.exists(os.path.join(d, "ports")):
        if p.poll() is not None:
            break
        time.sleep(0.05)
    ports = open(os.path.join(d, "ports")).read()
    http_port = int(re.search(r"http=127\.0\.0\.1:(\d+)", ports).group(1))
    return p, http_port


def main():
    node = sys.argv[1]
    if not shutil.which("dig"):
        print("SKIP: dig not installed")
        return 77
    d = tempfile.mkdtemp(prefix="dmp-hb-")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Seeds)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    seed_url = f"http://127.0.0.1:{srv.server_address[1]}/seeds.txt"
    procs = []
    try:
        pa, pb = free_port(), free_port()
        a, ha = start(node, os.path.join(d, "a"), "a", "a.test", SEED_A, pa, pb, {
            "DMP_HEARTBEAT_PUBLIC_SEED_URLS": seed_url + "," + seed_url.replace("seeds", "x"),
            "DMP_HEARTBEAT_SEED_URLS_ALLOW_LOCAL": "1"})
        procs.append(a)
        b, hb = start(node, os.path.join(d, "b"), "b", "b.test", SEED_B, pb, pa, {
            "DMP_HEARTBEAT_SEEDS": "a.test", "DMP_HEARTBEAT_PUBLIC_SEED_URLS_DISABLED": "1"})
        procs.append(b)
        ok = True
        # both nodes harvest each other within a few ticks (a failed zone cools one tick)
        deadline = time.monotonic() + 30
        seen_a = seen_b = []
        while time.monotonic() < deadline:
            seen_a = dig(pa, "_dnsmesh-seen.a.test")
            seen_b = dig(pb, "_dnsmesh-seen.b.test")
            if seen_a and seen_b:
                break
            time.sleep(0.5)
        own_a = dig(pa, "_dnsmesh-heartbeat.a.test")
        own_b = dig(pb, "_dnsmesh-heartbeat.b.test")
        print("A heartbeat:", own_a)
        print("A seen:", seen_a)
        print("B heartbeat:", own_b)
        print("B seen:", seen_b)
        if len(own_a) != 1 or not own_a[0].startswith("v=dmp1;t=heartbeat;"):
            print("FAIL: A does not publish exactly one heartbeat"); ok = False
        if len(own_b) != 1 or not own_b[0].startswith("v=dmp1;t=heartbeat;"):
            print("FAIL: B does not publish exactly one heartbeat"); ok = False
        # what a node republishes as seen is the other's (current or a newer) heartbeat
        if len(seen_a) != 1 or seen_a[0] in own_a or not seen_a[0].startswith(
                "v=dmp1;t=heartbeat;"):
            print("FAIL: A's seen list is not B's heartbeat"); ok = False
        if len(seen_b) != 1 or seen_b[0] in own_b or not seen_b[0].startswith(
                "v=dmp1;t=heartbeat;"):
            print("FAIL: B's seen list is not A's heartbeat"); ok = False
        if Seeds.hits < 2:
            print("FAIL: A did not fetch its seed lists"); ok = False
        st, page = get(ha, "/")
        if st != 200 or "https://b.example.net" not in page or "itest-b" not in page:
            print("FAIL: A's landing page does not list B"); ok = False
        st, page = get(hb, "/")
        if st != 200 or "https://a.example.net" not in page:
            print("FAIL: B's landing page does not list A"); ok = False
        if ok:
            print("PASS")
        return 0 if ok else 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(40)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        srv.shutdown()
        if os.environ.get("DMP_KEEP"):
            print("kept", d)
        else:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
