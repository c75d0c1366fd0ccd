#!/usr/bin/python3
"""Side-by-side peer for `dnsmesh-bench erasure`: times Debian's python3-zfec on the same data.

Run by bench_erasure.c through /usr/bin/python3 (the Debian interpreter that has zfec 1.5.2), or
by hand with the same arguments. Prints one JSON object on stdout; all times are medians in ns.
"""
import argparse
import base64
import hashlib
import json
import struct
import sys
import time

import zfec

try:
    import reedsolo  # not in Debian bookworm; used when present

    RS = reedsolo.RSCodec(32)
except ImportError:
    RS = None

# Without reedsolo: the same systematic RS(32) (GF(2^8)/0x11D, generator 2, fcr 0) as a
# table-driven synthetic division in pure Python, the way reedsolo's pure-Python encoder works,
# so the Python pipeline still pays for RS and its TXT values can be compared byte for byte.
_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]
_GEN = [1]
for _i in range(32):  # prod (x - a^i), highest degree first
    _r = _EXP[_i]
    _GEN = [a ^ (_EXP[_LOG[b] + _LOG[_r]] if b else 0) for a, b in zip(_GEN + [0], [0] + _GEN)]
_LGEN = [_LOG[g] for g in _GEN]


def rs_encode_py(block):
    buf = bytearray(block) + bytearray(32)
    for i in range(len(block)):
        c = buf[i]
        if c:
            lc = _LOG[c]
            for j in range(1, 33):
                buf[i + j] ^= _EXP[lc + _LGEN[j]]
    return bytes(block) + bytes(buf[len(block):])


def timed(fn, reps, min_sample_s=0.002):
    """(median, min) over `reps` samples of the per-call time; each sample loops until
    min_sample_s."""
    iters = 1
    while True:
        t0 = time.perf_counter_ns()
        for _ in range(iters):
            fn()
        dt = time.perf_counter_ns() - t0
        if dt >= min_sample_s * 1e9 or iters >= 1 << 20:
            break
        iters *= 2
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        for _ in range(iters):
            fn()
        samples.append((time.perf_counter_ns() - t0) / iters)
    samples.sort()
    return samples[len(samples) // 2], samples[0]


def choose_kn(length):
    k = max(1, -(-(length + 4) // 128))
    return k, k + max(1, -(-3 * k // 10))


def shares_for(msg):
    k, n = choose_kn(len(msg))
    padded = struct.pack(">I", len(msg)) + msg
    padded += b"\0" * (k * 128 - len(padded))
    blocks = [padded[i * 128:(i + 1) * 128] for i in range(k)]
    return k, n, blocks


def pipeline(msg):
    """The reference sender's erasure+chunk part (erasure.encode, wrap_block, TXT, hashes)."""
    k, n, blocks = shares_for(msg)
    shares = zfec.Encoder(k, n).encode(blocks)
    txt, hashes = [], []
    for s in shares:
        s = bytes(s)
        wire = hashlib.sha256(s).digest()[:8] + (bytes(RS.encode(s)) if RS else rs_encode_py(s))
        hashes.append(hashlib.sha256(wire).digest())
        txt.append("v=dmp1;t=chunk;d=" + base64.b64encode(wire).decode())
    return txt, hashes


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True, help="file with the random input bytes")
    ap.add_argument("--stripe-k", type=int, default=10)
    ap.add_argument("--stripe-m", type=int, default=4)
    ap.add_argument("--shard-bytes", type=int, default=1 << 20)
    ap.add_argument("--sizes", default="1024,8192,25084")
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()
    data = open(a.data, "rb").read()
    out = {"zfec_version": getattr(zfec, "__version__", "?"), "python": sys.version.split()[0],
           "reedsolo": RS is not None}

    k, m, sb = a.stripe_k, a.stripe_m, a.shard_bytes
    if len(data) < k * sb:
        sys.exit("data file too short")
    shards = [data[i * sb:(i + 1) * sb] for i in range(k)]
    enc = zfec.Encoder(k, k + m)
    par = enc.encode(shards, list(range(k, k + m)))
    med, mn = timed(lambda: enc.encode(shards, list(range(k, k + m))), a.reps)
    out["stripe"] = {
        "k": k, "m": m, "shard_bytes": sb, "encode_ns": med, "encode_min_ns": mn,
        "parity_sha256": hashlib.sha256(b"".join(bytes(p) for p in par)).hexdigest(),
    }

    out["messages"] = []
    for size in (int(x) for x in a.sizes.split(",")):
        msg = data[:size]
        k, n, blocks = shares_for(msg)
        e = zfec.Encoder(k, n)
        shares = [bytes(s) for s in e.encode(blocks)]
        # worst-case decode: the first n-k data shares are lost, k lowest remaining used
        ids = sorted(set(range(n)) - set(range(min(n - k, k))))[:k]
        d = zfec.Decoder(k, n)
        sub = [shares[i] for i in ids]
        dec = d.decode(sub, ids)
        assert b"".join(bytes(x) for x in dec) == b"".join(blocks)
        txt, hashes = pipeline(msg)
        r = {"size": size, "k": k, "n": n}
        for name, fn in (("fec_encode", lambda: e.encode(blocks)),
                         ("fec_decode", lambda: d.decode(sub, ids)),
                         ("pipeline", lambda: pipeline(msg))):
            r[name + "_ns"], r[name + "_min_ns"] = timed(fn, a.reps)
        r.update({
            "shares_sha256": hashlib.sha256(b"".join(shares)).hexdigest(),
            "txt_sha256": hashlib.sha256("".join(txt).encode()).hexdigest(),
        })
        out["messages"].append(r)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
