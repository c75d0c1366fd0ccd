#!/usr/bin/env python3
"""Deterministic generator of realistic DMP records for the DNS benchmarks.

The records have the shapes a real sender publishes (reference client.md §1.3, §1.4, §2):
every message is one slot manifest at ``slot-N.mb-<h12>.<zone>`` plus n chunk records at
``chunk-NNNN-<h12>.<zone>``, with k drawn like short real messages (k = 3..8, n = k +
ceil(3k/10)).  Chunk values are ``v=dmp1;t=chunk;d=`` + base64 of a 168-byte wrapped share
(224 base64 chars, 241 in all); manifests carry the 108 + 32n byte body with the real
SHA-256 of each chunk's wire bytes plus a 64-byte (random, unverifiable) signature.  The
bytes come from a seeded SHA-256 counter stream, so the same --count/--seed/--zone always
give byte-identical output.

Outputs (any subset, by --formats):
  zone   an RFC 1035 zone file for NSD/Knot (SOA, NS, TXT split in 255-byte strings)
  names  one owner name per line (unique, in first-seen order) for `dnsmesh-bench dns`
  jsonl  one JSON object per record: {"name": ..., "value": ..., "ttl": ...}
           for `dnsmesh-bench load` (HTTP POST /v1/records/{name})
and prints a one-line summary: records, names, raw bytes (sum of name + value lengths).
"""

import argparse
import base64
import hashlib
import json
import math
import os
import sys

MAX_COUNT = 10_000_000
SLOTS = 10
DEFAULT_TTL = 3600


class Stream:
    """Deterministic byte source: SHA-256(seed || counter) blocks."""

    def __init__(self, seed: int):
        self.seed = seed.to_bytes(8, "big")
        self.ctr = 0
        self.buf = b""

    def take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.buf += hashlib.sha256(self.seed + self.ctr.to_bytes(8, "big")).digest()
            self.ctr += 1
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(4), "big") % n


def gen_message(rnd: Stream, zone: str, n_recipients: int):
    """Yields (name, value) for one message: its chunks, then its manifest."""
    k = 3 + rnd.uint(6)  # 3..8 data chunks
    n = k + max(1, (3 * k + 9) // 10)
    msg_id = rnd.take(16)
    sender_spk = rnd.take(32)
    # Recipients are a fixed pool, so mailbox slots sometimes hold several manifests (an RRset).
    rcpt_no = rnd.uint(n_recipients)
    recipient_id = hashlib.sha256(b"rcpt" + rcpt_no.to_bytes(8, "big")).digest()
    msg_key = hashlib.sha256(msg_id + recipient_id + sender_spk).hexdigest()[:12]
    chunk_hashes = []
    out = []
    for i in range(n):
        block = rnd.take(128)
        wire = hashlib.sha256(block).digest()[:8] + block + rnd.take(32)
        chunk_hashes.append(hashlib.sha256(wire).digest())
        out.append(
            (
                "chunk-%04d-%s.%s" % (i, msg_key, zone),
                "v=dmp1;t=chunk;d=" + base64.b64encode(wire).decode(),
            )
        )
    ts = 1_800_000_000 + rnd.uint(86400)
    body = (
        msg_id
        + sender_spk
        + recipient_id
        + n.to_bytes(4, "big")
        + k.to_bytes(4, "big")
        + (0).to_bytes(4, "big")
        + ts.to_bytes(8, "big")
        + (ts + 3600).to_bytes(8, "big")
        + b"".join(chunk_hashes)
    )
    blob = body + rnd.take(64)
    slot = int.from_bytes(msg_id[:4], "big") % SLOTS
    mb = hashlib.sha256(recipient_id).hexdigest()[:12]
    out.append(
        (
            "slot-%d.mb-%s.%s" % (slot, mb, zone),
            "v=dmp1;t=manifest;d=" + base64.b64encode(blob).decode(),
        )
    )
    return out


def txt_rdata(value: str) -> str:
    parts = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
    return " ".join('"%s"' % p for p in parts)


def main(argv):
    ap = argparse.ArgumentParser(
        description="Generate N deterministic DMP chunk/manifest records for the benchmarks."
    )
    ap.add_argument("--count", type=int, required=True, help="number of TXT records (1..10M)")
    ap.add_argument("--zone", default="mesh.test", help="zone (default mesh.test)")
    ap.add_argument("--seed", type=int, default=1, help="PRNG seed (default 1)")
    ap.add_argument("--ttl", type=int, default=DEFAULT_TTL, help="record TTL (default 3600)")
    ap.add_argument("--out-dir", required=True, help="directory for the output files")
    ap.add_argument(
        "--formats",
        default="zone,names,jsonl",
        help="comma list of zone,names,jsonl (default all three)",
    )
    a = ap.parse_args(argv)
    if not 1 <= a.count <= MAX_COUNT:
        ap.error("--count must be in 1..%d" % MAX_COUNT)
    if not 1 <= a.ttl <= 86400:
        ap.error("--ttl must be in 1..86400")
    if not 0 <= a.seed < 2**63:
        ap.error("--seed must be in 0..2^63-1")
    zone = a.zone.strip().rstrip(".").lower()
    if not zone or len(zone) > 200 or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789-." for c in zone):
        ap.error("--zone must be a plain DNS name of at most 200 chars")
    formats = set(f for f in a.formats.split(",") if f)
    if not formats or not formats <= {"zone", "names", "jsonl"}:
        ap.error("--formats must be a comma list of zone,names,jsonl")
    os.makedirs(a.out_dir, exist_ok=True)

    rnd = Stream(a.seed)
    # About 5.5 records per message; give each recipient ~2 messages on average.
    n_recipients = max(1, a.count // 11)
    zf = nf = jf = None
    if "zone" in formats:
        zf = open(os.path.join(a.out_dir, "%s.zone" % zone), "w")
        zf.write("$ORIGIN %s.\n$TTL %d\n" % (zone, a.ttl))
        zf.write("@ IN SOA ns1.%s. hostmaster.%s. 1 3600 600 86400 60\n" % (zone, zone))
        zf.write("@ IN NS ns1.%s.\nns1 IN A 127.0.0.1\n" % zone)
    if "names" in formats:
        nf = open(os.path.join(a.out_dir, "names.txt"), "w")
    if "jsonl" in formats:
        jf = open(os.path.join(a.out_dir, "records.jsonl"), "w")

    seen = {}
    written = 0
    raw = 0
    while written < a.count:
        for name, value in gen_message(rnd, zone, n_recipients):
            if written >= a.count:
                break
            cnt = seen.get(name, 0)
            if cnt >= 64:  # the node's default RRset cap; keep every record publishable
                continue
            seen[name] = cnt + 1
            written += 1
            raw += len(name) + len(value)
            if zf:
                zf.write("%s. %d IN TXT %s\n" % (name, a.ttl, txt_rdata(value)))
            if nf and cnt == 0:
                nf.write(name + "\n")
            if jf:
                jf.write(json.dumps({"name": name, "value": value, "ttl": a.ttl}) + "\n")
    for f in (zf, nf, jf):
        if f:
            f.close()
    print("records %d names %d raw_bytes %d" % (written, len(seen), raw))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
