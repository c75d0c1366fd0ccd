#!/usr/bin/env python3
"""Slow and malformed HTTP clients cannot block the API or DNS (issue 10).

1. DMP_HTTP_MAX_CONCURRENCY connections each sending one header byte every second (slow
   headers; each byte used to restart libmicrohttpd's inactivity timer, so /health and every
   write stayed unanswered for as long as they went on): /health from another address is still
   answered, the slow connections are closed by the header deadline, UDP DNS keeps answering.
2. Content-Length larger than the body sent: a 408 once the body deadline passes (not a
   connection held open by a silent client).
3. Transfer-Encoding: chunked with chunk size ffffffffffffffff: refused at once with a 4xx.

usage: node_http_slow.py DNSMESHD"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time


def dns_ok(port):
    q = struct.pack(">HHHHHH", 9, 0x0100, 1, 0, 0, 0) + b"\x01a\x04mesh\x04test\x00" + \
        struct.pack(">HH", 16, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    s.sendto(q, ("127.0.0.1", port))
    try:
        r, _ = s.recvfrom(512)
        return r[:2] == q[:2]
    except socket.timeout:
        return False
    finally:
        s.close()


def http_get(port, src, path, timeout):
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(src, 0))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return data.split(b"\r\n", 1)[0].decode(errors="replace"), time.monotonic() - t0


def raw(port, payload, timeout):
    """Sends payload, then waits (without closing) for the server's answer or close."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(payload)
    data = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return data.split(b"\r\n", 1)[0].decode(errors="replace"), time.monotonic() - t0


def main():
    node = sys.argv[1]
    d = tempfile.mkdtemp(prefix="dmp-http-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMP_")}
    env.update({
        "DMP_DB_PATH": os.path.join(d, "db"), "DMP_DNS_HOST": "127.0.0.1",
        "DMP_HTTP_HOST": "127.0.0.1", "DMP_DNS_PORT": "0", "DMP_HTTP_PORT": "0",
        "DMP_PORTS_FILE": os.path.join(d, "ports"), "DMP_SERVED_ZONE": "mesh.test",
        "DMP_HTTP_MAX_CONCURRENCY": "8", "DMP_HTTP_HEADER_TIMEOUT": "2",
        "DMP_HTTP_BODY_TIMEOUT": "2",
    })
    p = subprocess.Popen([node], env=env, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(d, "err"), "w"))
    stop = threading.Event()
    closed = []
    try:
        ports = os.path.join(d, "ports")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not os.path.exists(ports) and p.poll() is None:
            time.sleep(0.05)
        m = re.search(r"dns=127\.0\.0\.1:(\d+) http=127\.0\.0\.1:(\d+)", open(ports).read())
        dns, http = int(m.group(1)), int(m.group(2))
        ok = True

        def slow(i):
            try:
                s = socket.create_connection(("127.0.0.1", http), timeout=2)
            except OSError:
                closed.append((i, 0.0))
                return
            t0 = time.monotonic()
            msg = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
            for b in msg:
                if stop.is_set():
                    break
                try:
                    s.send(bytes([b]))
                    s.settimeout(1.0)
                    if s.recv(1024) == b"":
                        closed.append((i, time.monotonic() - t0))
                        break
                except socket.timeout:
                    continue
                except OSError:
                    closed.append((i, time.monotonic() - t0))
                    break
            s.close()

        ts = [threading.Thread(target=slow, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        time.sleep(1.0)
        line, took = http_get(http, "127.0.0.2", "/health", 10)
        print(f"/health during 8 slow-header connections: {line!r} in {took:.1f}s")
        if "200" not in line or took > 4:
            print("FAIL: /health blocked by slow headers"); ok = False
        if not dns_ok(dns):
            print("FAIL: DNS not answered during the HTTP attack"); ok = False
        time.sleep(3.0)
        print(f"slow connections closed by the server: {len(closed)} of 8 "
              f"(after {', '.join(f'{t:.1f}' for _, t in closed)} s)")
        if len(closed) < 8:
            print("FAIL: slow-header connections not closed by the header deadline"); ok = False
        stop.set()
        for t in ts:
            t.join(5)

        line, took = raw(http, b"POST /v1/records/a.mesh.test HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                               b'{"value":', 15)
        print(f"Content-Length 100 with 9 bytes sent: {line!r} after {took:.1f}s")
        if "408" not in line or took > 6:
            print("FAIL: short body not answered 408 at the body deadline"); ok = False
        line, took = raw(http, b"POST /v1/records/a.mesh.test HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                               b"\r\nffffffffffffffff\r\nabc", 15)
        print(f"chunk size ffffffffffffffff: {line!r} after {took:.1f}s")
        if not re.search(r" 4\d\d ", line) or took > 2:
            print("FAIL: huge chunk not refused at once"); ok = False
        return 0 if ok else 1
    finally:
        stop.set()
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
