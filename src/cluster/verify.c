/* cluster: re-verification of records pulled from a peer (reference/cluster.md §3.6) and the
 * conflict rules between a local and a remote copy (§3.5 step 5, §3.7, tombstones). */
#include <string.h>

#include "cluster/cluster.h"
#include "erasure/erasure.h"
#include "wire/wire.h"

const char *dmp_cluster_strerror(int err)
{
    switch (err) {
    case DMP_CLUSTER_EHTTP:
        return "peer HTTP exchange failed";
    case DMP_CLUSTER_EREJECT:
        return "record refused by re-verification";
    case DMP_CLUSTER_EREQUEST:
        return "bad sync request";
    default:
        return dmp_strerror(err);
    }
}

/* The reference's _structural_parse_signed: the text after prefix decodes as strict base64 to
 * at least 65 bytes (a signature and one byte of body). */
static bool structural(const uint8_t *v, size_t len, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (len < pl)
        return false;
    dmp_buf_t b;
    dmp_buf_init(&b);
    bool ok =
        dmp_b64_decode((const char *)v + pl, len - pl, DMP_B64_STRICT, &b) == 0 && b.len >= 65;
    dmp_buf_free(&b);
    return ok;
}

/* Chunk: strict base64 of the text after the prefix, then RS-correct + checksum. We require the
 * 168-byte wire chunk the erasure layer always makes (the reference also takes other lengths
 * that only its legacy chunker produced). */
static bool chunk_ok(const uint8_t *v, size_t len)
{
    static const char prefix[] = "v=dmp1;t=chunk;d=";
    dmp_buf_t b;
    dmp_buf_init(&b);
    bool ok = false;
    if (dmp_b64_decode((const char *)v + sizeof(prefix) - 1, len - (sizeof(prefix) - 1),
                       DMP_B64_STRICT, &b) == 0 &&
        b.len == DMP_ERASURE_CHUNK_LEN) {
        uint8_t block[DMP_ERASURE_BLOCK_LEN];
        ok = dmp_erasure_chunk_unwrap(b.data, b.len, block) == 0;
    }
    dmp_buf_free(&b);
    return ok;
}

int dmp_cluster_verify_record(const char *name, size_t name_len, const uint8_t *value,
                              size_t value_len, const uint8_t *operator_spk, int64_t now,
                              const char **why)
{
    const char *reason = NULL;
    bool ok = false;
    switch (dmp_wire_classify(value, value_len)) {
    case DMP_WIRE_REC_EMPTY:
        reason = "empty value";
        break;
    case DMP_WIRE_REC_MANIFEST: {
        dmp_wire_manifest_t m;
        ok = dmp_wire_manifest_parse(value, value_len, now, false, &m) == 0;
        reason = "slot manifest does not verify";
        break;
    }
    case DMP_WIRE_REC_IDENTITY: {
        dmp_wire_identity_t r;
        ok = dmp_wire_identity_parse(value, value_len, &r) == 0;
        reason = "identity does not verify";
        break;
    }
    case DMP_WIRE_REC_CLUSTER:
        if (operator_spk) {
            dmp_wire_cluster_t c;
            ok = dmp_wire_cluster_parse(value, value_len, operator_spk, now, NULL, &c) == 0;
        } else {
            ok = structural(value, value_len, "v=dmp1;t=cluster;");
        }
        reason = "cluster manifest does not verify";
        break;
    case DMP_WIRE_REC_PREKEY:
        ok = structural(value, value_len, "v=dmp1;t=prekey;d=");
        reason = "prekey is not a signed blob";
        break;
    case DMP_WIRE_REC_BOOTSTRAP:
        ok = structural(value, value_len, "v=dmp1;t=bootstrap;");
        reason = "bootstrap is not a signed blob";
        break;
    case DMP_WIRE_REC_CHUNK:
        ok = chunk_ok(value, value_len);
        reason = "chunk does not decode";
        break;
    case DMP_WIRE_REC_CLAIM: {
        dmp_wire_claim_t c;
        ok = dmp_wire_claim_parse(value, value_len, now, &c) == 0;
        reason = "claim does not verify";
        break;
    }
    case DMP_WIRE_REC_ROTATION: {
        dmp_wire_rotation_t r;
        ok = dmp_wire_rotation_parse(value, value_len, now, NULL, NULL, 0, &r) == 0;
        reason = "rotation does not verify";
        break;
    }
    case DMP_WIRE_REC_REVOCATION: {
        dmp_wire_revocation_t r;
        ok = dmp_wire_revocation_parse(value, value_len, now, NULL, NULL, 0, -1, &r) == 0;
        reason = "revocation does not verify";
        break;
    }
    case DMP_WIRE_REC_NONDMP:
        ok = !(name && name_len && dmp_wire_owner_reserved(name, name_len));
        reason = "non-DMP text at a DMP-reserved owner";
        break;
    case DMP_WIRE_REC_HEARTBEAT: /* node-local: the reference's classifier refuses it too */
    case DMP_WIRE_REC_UNKNOWN_DMP:
    default:
        reason = "unknown DMP record type";
        break;
    }
    if (ok)
        return 0;
    if (why)
        *why = reason;
    return DMP_CLUSTER_EREJECT;
}

bool dmp_cluster_tomb_covers(int64_t tomb_expires, int64_t row_expires)
{
    return row_expires <= tomb_expires + (int64_t)DMP_CLUSTER_TTL_SLOP * 1000;
}

dmp_cluster_action_t dmp_cluster_decide(const dmp_cluster_state_t *local,
                                        const dmp_cluster_state_t *remote)
{
    if (!local || !remote)
        return DMP_CLUSTER_KEEP;
    if (remote->present) {
        if (local->tombstone && dmp_cluster_tomb_covers(local->tomb_expires, remote->expires_ms))
            return DMP_CLUSTER_KEEP; /* deleted here: the peer's old copy must not come back */
        if (!local->present)
            return DMP_CLUSTER_PULL;
        if (remote->expires_ms > local->expires_ms + (int64_t)DMP_CLUSTER_TTL_SLOP * 1000)
            return DMP_CLUSTER_PULL; /* TTL refresh: max lifetime wins */
        return DMP_CLUSTER_KEEP;
    }
    if (remote->tombstone && local->present &&
        dmp_cluster_tomb_covers(remote->tomb_expires, local->expires_ms))
        return DMP_CLUSTER_DELETE;
    return DMP_CLUSTER_KEEP;
}
