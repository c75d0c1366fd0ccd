#!/usr/bin/env python3
"""A full disk (issue 10): the store on a small tmpfs; writes are refused with 507 once the
disk is full (a batch publish with the single POST's status and body), and never acknowledged
unless stored; DNS reads of what was stored go on; /health
reports writes failing; error logs are rate-limited; writes resume once space returns.

With a free-space reserve (DMP_STORE_MIN_FREE_MB, 8 here) the node refuses writes up front once
the disk is below it (/health says "refused"); with 0 (no reserve) RocksDB's WAL meets the full
disk and the node must survive that too (the WAL sync excludes writers near a full disk).

usage: node_full_disk.py DNSMESHD [MIN_FREE_MB]   (root only: mounts a tmpfs; 77 otherwise)"""
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
import threading
import time


def post(port, name, value, ttl=3600):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", f"/v1/records/{name}", body=json.dumps({"value": value, "ttl": ttl}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, body


def post_batch(port, recs, ttl=3600):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = {"records": [{"name": n, "value": v, "ttl": ttl} for n, v in recs]}
    c.request("POST", "/v1/records", body=json.dumps(body),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return r.status, text


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, body


def dns_txt(port, name):
    q = struct.pack(">HHHHHH", 5, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 16, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(q, ("127.0.0.1", port))
    try:
        r, _ = s.recvfrom(4096)
    except socket.timeout:
        return None
    finally:
        s.close()
    return struct.unpack(">H", r[2:4])[0] & 0xF, struct.unpack(">H", r[6:8])[0]


def main():
    node = sys.argv[1]
    reserve = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    if os.geteuid() != 0 or not shutil.which("mount"):
        print("skip: needs root to mount a tmpfs")
        return 77
    d = tempfile.mkdtemp(prefix="dmp-full-")
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200m", "tmpfs", mnt]).returncode != 0:
        print("skip: cannot mount a tmpfs here")
        shutil.rmtree(d, ignore_errors=True)
        return 77
    p = None
    ok = False
    errf = os.path.join(d, "err")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DMP_")}
        env.update({
            "DMP_DB_PATH": os.path.join(mnt, "db"), "DMP_DNS_HOST": "127.0.0.1",
            "DMP_HTTP_HOST": "127.0.0.1", "DMP_DNS_PORT": "0", "DMP_HTTP_PORT": "0",
            "DMP_PORTS_FILE": os.path.join(d, "ports"), "DMP_SERVED_ZONE": "mesh.test",
            "DMP_HTTP_RATE": "0", "DMP_MAX_VALUES_PER_NAME": "0", "DMP_MAX_VALUE_BYTES": "15000",
            "DMP_STORE_MIN_FREE_MB": str(reserve),
        })
        print(f"DMP_STORE_MIN_FREE_MB={reserve}")
        p = subprocess.Popen([node], env=env, stdout=subprocess.DEVNULL, stderr=open(errf, "w"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not os.path.exists(os.path.join(d, "ports")):
            time.sleep(0.05)
        m = re.search(r"dns=127\.0\.0\.1:(\d+) http=127\.0\.0\.1:(\d+)",
                      open(os.path.join(d, "ports")).read())
        dns, hport = int(m.group(1)), int(m.group(2))
        ok = True
        t_start = time.monotonic()
        assert post(hport, "keep.mesh.test", "v=dmp1;t=chunk;d=a2VlcA==")[0] == 201
        # fill the disk: a filler file leaves little room, then writes until they fail
        filler = os.path.join(mnt, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        chunk = b"\0" * (1 << 20)
        try:
            while True:
                os.write(fd, chunk)
        except OSError:
            pass
        size = os.fstat(fd).st_size
        os.ftruncate(fd, max(0, size - (1 << 20)))  # leave the store about a megabyte
        os.close(fd)
        # RocksDB preallocates its WAL (~70 MiB here): big values, four writers, until the
        # disk refuses
        statuses = {}
        acked = []
        fails = []
        lock = threading.Lock()
        value = "v=dmp1;t=chunk;d=" + "A" * 14900

        def writer(w):
            for i in range(w, 12000, 4):
                with lock:
                    if len(fails) > 20:
                        return
                try:
                    st, body = post(hport, f"f{i}.mesh.test", value)
                except (OSError, http.client.HTTPException) as e:
                    st, body = -1, repr(e)
                with lock:
                    statuses[st] = statuses.get(st, 0) + 1
                    if st == 201:
                        acked.append(i)
                    else:
                        fails.append((i, st, body))

        ts = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(240)
        first_fail = min(fails) if fails else None
        print(f"writes while filling: {statuses}; first failure {first_fail}")
        if not first_fail or first_fail[1] not in (507, 503):
            print("FAIL: a full disk is not a 507/503"); ok = False
        if statuses.get(502):
            print("FAIL: 502 answered"); ok = False
        hs, hb = get(hport, "/health")
        print(f"/health while full: {hs} {hb}")
        if hs != 503 or "writes" not in hb:
            print("FAIL: /health does not report failing writes"); ok = False
        if reserve and "refused" not in hb:
            print("FAIL: below the reserve, /health does not say writes are refused"); ok = False
        # the batch publish answers a full disk as the single POST does: the same status and
        # {"ok": false, "error": ...} body, and a batch "not written" wrote none of its records
        bst, bbody = post_batch(hport, [("fb0.mesh.test", value), ("fb1.mesh.test", value)])
        print(f"batch publish while full: {bst} {bbody}")
        single = {st: json.loads(b) for (_, st, b) in fails if st in (507, 503)}
        try:
            bj = json.loads(bbody)
        except ValueError:
            bj = None
        known = ("no space left on the node's disk: not written",
                 "applied but not confirmed durable (WAL sync failed): retry")
        if (bst not in (507, 503) or not isinstance(bj, dict) or set(bj) != {"ok", "error"}
                or bj["ok"] is not False or bj["error"] not in known
                or (bst in single and single[bst] != bj)):
            print(f"FAIL: the batch's full-disk answer differs from the single POST's {single}")
            ok = False
        if isinstance(bj, dict) and "not written" in str(bj.get("error")):
            for n in ("fb0", "fb1"):
                if get(hport, f"/v1/records/{n}.mesh.test")[0] != 404:
                    print(f"FAIL: {n} of a batch refused as not written is there"); ok = False
        r = dns_txt(dns, "keep.mesh.test")
        print(f"DNS read while full: {r}")
        if r != (0, 1):
            print("FAIL: reads stopped"); ok = False
        for i in acked:
            st, body = get(hport, f"/v1/records/f{i}.mesh.test")
            if st != 200 or "AAAA" not in body:  # every acknowledged write is readable
                print(f"FAIL: acknowledged write f{i} is not readable: {st}"); ok = False
                break
        # space returns
        os.unlink(filler)
        resumed = None
        last = None
        t_free = time.monotonic()
        for i in range(120):
            st, body = post(hport, "back.mesh.test", "v=dmp1;t=chunk;d=YmFjaw==")
            last = (st, body)
            if st == 201:
                resumed = time.monotonic() - t_free
                break
            time.sleep(0.5)
        print(f"last answer while waiting: {last}")
        print("after freeing space: writes " +
              (f"resumed after {resumed:.1f}s" if resumed is not None else "did not resume"))
        if resumed is None:
            print("FAIL: writes did not resume"); ok = False
        else:
            hs, hb = get(hport, "/health")
            print(f"/health after: {hs} {hb}")
            if hs != 200:
                print("FAIL: /health not ok again"); ok = False
        errs = [l for l in open(errf).read().splitlines() if "rocksdb" in l]
        elapsed = time.monotonic() - t_start
        print(f"rocksdb error lines logged: {len(errs)} in {elapsed:.0f}s")
        if len(errs) > elapsed + 5:
            print("FAIL: error logs not rate-limited"); ok = False
        return 0 if ok else 1
    except Exception:
        ok = False
        raise
    finally:
        if not ok and p is not None:
            print(f"node exit status: {p.poll()}; its last log lines:")
            print("\n".join(open(errf).read().splitlines()[-40:]))
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        subprocess.run(["umount", "-l", mnt])
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
