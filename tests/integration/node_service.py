#!/usr/bin/env python3
"""dnsmeshd as a service (issue 10): sd_notify readiness on a NOTIFY_SOCKET this test listens on
(READY=1 once serving, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on SIGTERM); SIGHUP
re-reads DMP_CONFIG_FILE, applies the RRL change (a flood limited before the reload is answered
in full after it) and logs what it reloaded and what needs a restart; --check-config exits 0 / 2;
started as root with DMP_USER, the node binds, then runs as that user with a writable store.

usage: node_service.py DNSMESHD"""
import os
import pwd
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


def query(qid, name):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 16, 1)


def flood_full(port, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    for i in range(count):
        s.sendto(query(i, "a.mesh.test"), ("127.0.0.1", port))
    full = 0
    s.settimeout(0.5)
    while True:
        try:
            r, _ = s.recvfrom(4096)
        except socket.timeout:
            break
        if not (r[2] & 0x02) and r[7] > 0:
            full += 1
    s.close()
    return full


def start(node, d, extra, notify=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMP_")}
    env.update({
        "DMP_DB_PATH": os.path.join(d, "db"), "DMP_DNS_HOST": "127.0.0.1",
        "DMP_HTTP_HOST": "127.0.0.1", "DMP_DNS_PORT": "0", "DMP_HTTP_PORT": "0",
        "DMP_PORTS_FILE": os.path.join(d, "ports"), "DMP_SERVED_ZONE": "mesh.test",
        "DMP_SHARDS": "1", "DMP_FRONTENDS": "1",
    })
    env.update(extra)
    if notify:
        env["NOTIFY_SOCKET"] = notify
    else:
        env.pop("NOTIFY_SOCKET", None)
    err = open(os.path.join(d, "err"), "w")
    p = subprocess.Popen([node], env=env, stdout=subprocess.DEVNULL, stderr=err)
    ports = os.path.join(d, "ports")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not os.path.exists(ports) and p.poll() is None:
        time.sleep(0.05)
    if not os.path.exists(ports):
        raise RuntimeError("node did not start: " + open(os.path.join(d, "err")).read())
    m = re.search(r"dns=127\.0\.0\.1:(\d+) http=127\.0\.0\.1:(\d+)", open(ports).read())
    return p, int(m.group(1)), int(m.group(2))


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait()
    return p.returncode


def recv_state(sock, want, timeout=10):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            break
        seen.append(msg)
        if want in msg.split("\n"):
            return msg, seen
    return None, seen


def post(http, name, value):
    req = urllib.request.Request(f"http://127.0.0.1:{http}/v1/records/{name}",
                                 data=('{"value": "%s", "ttl": 300}' % value).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    return urllib.request.urlopen(req, timeout=5).status


def main():
    node = sys.argv[1]
    ok = True
    # --check-config
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMP_")}
    r = subprocess.run([node, "--check-config", "--http-host=127.0.0.1"], env=env,
                       capture_output=True, text=True)
    if r.returncode != 0 or "configuration OK" not in r.stdout:
        print("FAIL: --check-config on a good configuration:", r.returncode, r.stdout, r.stderr)
        ok = False
    r = subprocess.run([node, "--check-config"], env=dict(env, DMP_RRL_SLIP="x"),
                       capture_output=True, text=True)
    if r.returncode != 2 or "DMP_RRL_SLIP" not in r.stderr:
        print("FAIL: --check-config on a bad value:", r.returncode, r.stderr)
        ok = False

    d = tempfile.mkdtemp(prefix="dmp-svc-")
    os.chmod(d, 0o755)
    p = None
    try:
        # readiness + reload
        nsock_path = os.path.join(d, "notify")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(nsock_path)
        conf = os.path.join(d, "dnsmeshd.env")
        with open(conf, "w") as f:
            f.write("# test\nDMP_RRL_RATE=10\nDMP_RRL_SLIP=0\n")
        p, dns, http = start(node, d, {"DMP_CONFIG_FILE": conf}, notify=nsock_path)
        msg, seen = recv_state(ns, "READY=1")
        if not msg or "STATUS=serving dns=127.0.0.1:" not in msg:
            print("FAIL: no READY=1 with STATUS:", seen)
            ok = False
        assert post(http, "a.mesh.test", "v=dmp1;t=chunk;d=aGk=") == 201
        before = flood_full(dns, 200)
        with open(conf, "w") as f:
            f.write("DMP_RRL_RATE=0\nDMP_DNS_TTL=30\nDMP_LOG_LEVEL=debug\n")
        p.send_signal(signal.SIGHUP)
        m1, s1 = recv_state(ns, "RELOADING=1")
        m2, s2 = recv_state(ns, "READY=1")
        if not m1 or not m2:
            print("FAIL: no RELOADING=1 / READY=1 around SIGHUP:", s1, s2)
            ok = False
        time.sleep(0.3)
        after = flood_full(dns, 200)
        print(f"flood of 200 before SIGHUP (DMP_RRL_RATE=10): {before} full; after "
              f"(DMP_RRL_RATE=0): {after} full")
        if not (before <= 30 and after >= 190):
            print("FAIL: the RRL change was not applied")
            ok = False
        rc = stop(p)
        m3, s3 = recv_state(ns, "STOPPING=1", timeout=2)
        if not m3:
            print("FAIL: no STOPPING=1:", s3)
            ok = False
        log = open(os.path.join(d, "err")).read()
        line = [l for l in log.splitlines() if "SIGHUP" in l]
        print("log:", line)
        if not line or "DMP_RRL_*" not in line[0] or "DMP_LOG_LEVEL" not in line[0] or \
                "needs a restart: DMP_DNS_TTL" not in line[0]:
            print("FAIL: the reload log line does not say what was reloaded")
            ok = False
        if rc != 0:
            print("FAIL: exit status", rc)
            ok = False
        ns.close()

        # privilege drop (root only)
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("nobody")
            except KeyError:
                user = None
            if user:
                d2 = os.path.join(d, "root")
                os.mkdir(d2)
                os.chmod(d2, 0o755)
                p, dns, http = start(node, d2, {"DMP_USER": "nobody"})
                # the ports file is written (as root) just before the drop: poll briefly
                for _ in range(100):
                    status = open(f"/proc/{p.pid}/status").read()
                    uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status,
                                     re.M).groups()
                    if set(uids) == {str(user.pw_uid)}:
                        break
                    time.sleep(0.05)
                if set(uids) != {str(user.pw_uid)}:
                    print("FAIL: not running as nobody after start:", uids)
                    ok = False
                try:
                    st = post(http, "b.mesh.test", "v=dmp1;t=chunk;d=aGk=")
                except Exception as e:  # noqa: BLE001
                    st = str(e)
                if st != 201:
                    print("FAIL: write after the privilege drop:", st)
                    ok = False
                if stop(p) != 0:
                    print("FAIL: exit after drop")
                    ok = False
                print(f"privilege drop: uids {uids}, write {st}")
        else:
            print("not root: privilege drop not tested")
        return 0 if ok else 1
    finally:
        if p is not None and p.poll() is None:
            stop(p)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
