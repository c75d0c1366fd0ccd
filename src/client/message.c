/* client: composing and opening one DMP message (client.md §5.1, §5.2 phase 2, §5.3). */
#include <sodium.h>
#include <stdlib.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "erasure/erasure.h"
#include "wire/wire.h"

void dmp_client_records_free(dmp_client_records_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].value);
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

static int records_push(dmp_client_records_t *r, const char *name, const char *value, size_t len,
                        uint32_t ttl)
{
    dmp_client_record_t *v = realloc(r->v, (r->n + 1) * sizeof(*v));
    if (!v)
        return DMP_ENOMEM;
    r->v = v;
    dmp_client_record_t *rec = &v[r->n];
    size_t nlen = strlen(name);
    if (nlen >= sizeof(rec->name))
        return DMP_ETOOBIG;
    memcpy(rec->name, name, nlen + 1);
    rec->value = malloc(len + 1);
    if (!rec->value)
        return DMP_ENOMEM;
    memcpy(rec->value, value, len);
    rec->value[len] = 0;
    rec->value_len = len;
    rec->ttl = ttl;
    r->n++;
    return 0;
}

static void random_uuid4(uint8_t id[16])
{
    randombytes_buf(id, 16);
    id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
    id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}

int dmp_client_compose(const dmp_client_send_t *p, const uint8_t *msg, size_t len,
                       dmp_client_records_t *out)
{
    if (!p || !p->sender || !p->sender_domain || !p->recipient_pk || (!msg && len) || !out ||
        p->ttl == 0 || (p->prekey_pk && p->prekey_id == 0) || (!p->prekey_pk && p->prekey_id))
        return DMP_EINVAL;
    int rc;
    size_t first = out->n;
    if (dmp_wire_dns_name_check(p->sender_domain, strlen(p->sender_domain), NULL))
        return DMP_ENAME;
    dmp_msg_header_t h = {
        .v = 1, .type = DMP_MSG_DATA, .total = 1, .chunk = 0, .ts = p->now, .ttl = p->ttl};
    if (p->msg_id)
        memcpy(h.msg_id, p->msg_id, 16);
    else
        random_uuid4(h.msg_id);
    dmp_crypto_user_id(p->sender->x25519_pk, h.sender);
    dmp_crypto_user_id(p->recipient_pk, h.recipient);

    dmp_buf_t pt, aad, enc, outer;
    dmp_buf_init(&pt);
    dmp_buf_init(&aad);
    dmp_buf_init(&enc);
    dmp_buf_init(&outer);
    dmp_erasure_chunks_t chunks = {0};
    dmp_wire_manifest_t *m = NULL;

    if (p->envelope_from)
        rc = dmp_crypto_envelope_encode(msg, len, p->envelope_from, strlen(p->envelope_from), &pt);
    else
        rc = dmp_buf_append(&pt, msg, len);
    if (rc)
        goto done;
    if ((rc = dmp_crypto_aad(&h, p->prekey_id, &aad)))
        goto done;
    const uint8_t *target = p->prekey_pk ? p->prekey_pk : p->recipient_pk;
    if (p->eph_sk && p->nonce)
        rc = dmp_crypto_encrypt_with(target, p->eph_sk, p->nonce, aad.data, aad.len, pt.data,
                                     pt.len, &enc);
    else
        rc = dmp_crypto_encrypt(target, aad.data, aad.len, pt.data, pt.len, &enc);
    if (rc)
        goto done;
    if ((rc = dmp_crypto_outer_build(&h, enc.data, enc.len, &outer)))
        goto done;
    if ((rc = dmp_erasure_encode_message(outer.data, outer.len, &chunks)))
        goto done;

    char name[DMP_CLIENT_NAME_MAX];
    for (uint32_t i = 0; i < chunks.n; i++) {
        rc = dmp_wire_name_chunk(i, h.msg_id, h.recipient, p->sender->ed_pk, p->sender_domain, name,
                                 sizeof(name));
        if (rc)
            goto done;
        const char *txt = chunks.txt + (size_t)i * (DMP_ERASURE_CHUNK_TXT_LEN + 1);
        if ((rc = records_push(out, name, txt, DMP_ERASURE_CHUNK_TXT_LEN, p->ttl)))
            goto done;
    }

    m = calloc(1, sizeof(*m));
    if (!m) {
        rc = DMP_ENOMEM;
        goto done;
    }
    memcpy(m->msg_id, h.msg_id, 16);
    memcpy(m->sender_spk, p->sender->ed_pk, 32);
    memcpy(m->recipient_id, h.recipient, 32);
    m->total_chunks = chunks.n;
    m->data_chunks = chunks.k;
    m->prekey_id = p->prekey_id;
    m->ts = (uint64_t)p->now;
    m->exp = (uint64_t)p->now + p->ttl;
    m->has_hashes = true;
    memcpy(m->chunk_hashes, chunks.hashes, (size_t)chunks.n * 32);
    dmp_buf_t mtxt;
    dmp_buf_init(&mtxt);
    rc = dmp_wire_manifest_encode(m, p->sender->ed_sk, &mtxt);
    if (!rc)
        rc = dmp_wire_name_slot(h.recipient, dmp_wire_slot_for_msg_id(h.msg_id), p->sender_domain,
                                name, sizeof(name));
    if (!rc)
        rc = records_push(out, name, (const char *)mtxt.data, mtxt.len, p->ttl);
    dmp_buf_free(&mtxt);

done:
    if (rc) {
        while (out->n > first)
            free(out->v[--out->n].value);
    }
    free(m);
    dmp_erasure_chunks_free(&chunks);
    dmp_buf_free_secret(&pt);
    dmp_buf_free(&aad);
    dmp_buf_free(&enc);
    dmp_buf_free(&outer);
    return rc;
}

int dmp_client_memzone_fetch(void *ctx, const char *name, const dmp_client_txt_t **vals, size_t *n)
{
    dmp_client_memzone_t *z = ctx;
    size_t c = 0;
    z->lookups++;
    for (size_t i = 0; i < z->recs->n && c < sizeof(z->vals) / sizeof(z->vals[0]); i++) {
        if (strcmp(z->recs->v[i].name, name) == 0)
            z->vals[c++] =
                (dmp_client_txt_t){(const uint8_t *)z->recs->v[i].value, z->recs->v[i].value_len};
    }
    if (!c)
        return DMP_ENOTFOUND;
    *vals = z->vals;
    *n = c;
    return 0;
}

void dmp_client_messages_free(dmp_client_message_t *msgs, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dmp_buf_free_secret(&msgs[i].body);
    free(msgs);
}

/* Collected chunk values for one manifest: owns copies of the accepted TXT values (the fetch
 * callback's arrays only live until its next call). */
typedef struct {
    dmp_erasure_chunk_in_t *in;
    uint8_t **copies;
    size_t n;
} chunkset_t;

static void chunkset_free(chunkset_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->copies[i]);
    free(c->copies);
    free(c->in);
}

/* Fetches chunk names until k chunks whose wire hash matches the manifest are held. */
static int fetch_chunks(dmp_client_recv_t *r, const dmp_wire_manifest_t *m, const char *zone,
                        chunkset_t *cs)
{
    cs->in = calloc(m->total_chunks, sizeof(*cs->in));
    cs->copies = calloc(m->total_chunks, sizeof(*cs->copies));
    cs->n = 0;
    if (!cs->in || !cs->copies)
        return DMP_ENOMEM;
    char name[DMP_CLIENT_NAME_MAX];
    for (uint32_t i = 0; i < m->total_chunks && cs->n < m->data_chunks; i++) {
        if (dmp_wire_name_chunk(i, m->msg_id, m->recipient_id, m->sender_spk, zone, name,
                                sizeof(name)))
            return DMP_ENAME;
        const dmp_client_txt_t *vals;
        size_t nv;
        if (r->fetch(r->fetch_ctx, name, &vals, &nv))
            continue;
        for (size_t j = 0; j < nv; j++) {
            uint8_t wire[DMP_ERASURE_CHUNK_LEN], blk[DMP_ERASURE_BLOCK_LEN];
            if (dmp_erasure_chunk_txt_parse(vals[j].data, vals[j].len, wire) ||
                dmp_wire_manifest_check_chunk(m, i, wire, sizeof(wire)) ||
                dmp_erasure_chunk_unwrap(wire, sizeof(wire), blk)) {
                r->bad_chunks++;
                continue;
            }
            uint8_t *copy = malloc(vals[j].len ? vals[j].len : 1);
            if (!copy)
                return DMP_ENOMEM;
            memcpy(copy, vals[j].data, vals[j].len);
            cs->copies[cs->n] = copy;
            cs->in[cs->n] = (dmp_erasure_chunk_in_t){i, copy, vals[j].len};
            cs->n++;
            break; /* first valid value per name wins */
        }
        if (r->progress)
            r->progress(r->progress_ctx, (uint32_t)cs->n, m->data_chunks);
    }
    return cs->n < m->data_chunks ? DMP_EDECODE : 0;
}

static bool pinned_ok(dmp_client_recv_t *r, const uint8_t spk[32])
{
    if (!r->pinned_spks)
        return true;
    for (size_t i = 0; i < r->npinned; i++)
        if (memcmp(r->pinned_spks[i], spk, 32) == 0)
            return true;
    return false;
}

/* Decodes and opens one verified manifest; appends to *msgs on success. Returns 0 when
 * delivered, a negative code when the message is undeliverable (skipped by the caller). */
static int open_one(dmp_client_recv_t *r, const dmp_wire_manifest_t *m, dmp_client_message_t **msgs,
                    size_t *count)
{
    chunkset_t cs = {0};
    dmp_buf_t outer, pt;
    dmp_buf_init(&outer);
    dmp_buf_init(&pt);
    uint8_t sk[32];
    int rc = fetch_chunks(r, m, r->zone, &cs);
    if (!rc)
        rc = dmp_erasure_decode_message(m->data_chunks, m->total_chunks, cs.in, cs.n,
                                        &m->chunk_hashes[0][0], &outer);
    if (rc)
        goto done;
    if (m->prekey_id) {
        if (!r->prekey || r->prekey(r->prekey_ctx, m->prekey_id, sk)) {
            rc = DMP_ENOTFOUND;
            goto done;
        }
    } else {
        memcpy(sk, r->self->x25519_sk, 32);
    }
    dmp_msg_header_t h;
    if ((rc = dmp_crypto_open_message(outer.data, outer.len, m->prekey_id, sk, &h, &pt)))
        goto done;
    if (memcmp(h.msg_id, m->msg_id, 16) || memcmp(h.recipient, m->recipient_id, 32) ||
        r->now > h.ts + h.ttl) {
        rc = DMP_EMISMATCH;
        goto done;
    }
    dmp_client_message_t *grown = realloc(*msgs, (*count + 1) * sizeof(*grown));
    if (!grown) {
        rc = DMP_ENOMEM;
        goto done;
    }
    *msgs = grown;
    dmp_client_message_t *out = &grown[*count];
    memset(out, 0, sizeof(*out));
    memcpy(out->sender_spk, m->sender_spk, 32);
    memcpy(out->msg_id, m->msg_id, 16);
    out->ts = h.ts;
    out->prekey_id = m->prekey_id;
    out->exp = (int64_t)m->exp;
    dmp_buf_init(&out->body);
    const uint8_t *body;
    size_t blen;
    bool has_from;
    char from[DMP_CRYPTO_ADDR_MAX + 1];
    if ((rc = dmp_crypto_envelope_decode(pt.data, pt.len, &body, &blen, from, sizeof(from),
                                         &has_from)))
        goto done;
    if ((rc = dmp_buf_append(&out->body, body, blen))) {
        dmp_buf_free_secret(&out->body);
        goto done;
    }
    if (has_from)
        snprintf(out->from, sizeof(out->from), "%s", from);
    (*count)++;
done:
    sodium_memzero(sk, sizeof(sk));
    chunkset_free(&cs);
    dmp_buf_free_secret(&pt);
    dmp_buf_free_secret(&outer);
    return rc;
}

int dmp_client_receive(dmp_client_recv_t *r, dmp_client_message_t **msgs, size_t *count)
{
    if (!r || !r->self || !r->zone || !r->fetch || !msgs || !count)
        return DMP_EINVAL;
    uint8_t self_id[32];
    dmp_crypto_user_id(r->self->x25519_pk, self_id);
    dmp_wire_manifest_t *m = malloc(sizeof(*m));
    if (!m)
        return DMP_ENOMEM;
    size_t first = *count;
    int rc = 0;
    char name[DMP_CLIENT_NAME_MAX];
    for (unsigned slot = 0; slot < 10 && rc != DMP_ENOMEM; slot++) {
        if ((rc = dmp_wire_name_slot(self_id, slot, r->zone, name, sizeof(name))))
            break;
        const dmp_client_txt_t *vals;
        size_t nv;
        if (r->fetch(r->fetch_ctx, name, &vals, &nv))
            continue;
        /* copy the manifest values: opening a message calls fetch again */
        dmp_buf_t *copies = calloc(nv ? nv : 1, sizeof(*copies));
        if (!copies) {
            rc = DMP_ENOMEM;
            break;
        }
        for (size_t j = 0; j < nv; j++) {
            dmp_buf_init(&copies[j]);
            if (dmp_buf_append(&copies[j], vals[j].data, vals[j].len))
                rc = DMP_ENOMEM;
        }
        for (size_t j = 0; j < nv && rc != DMP_ENOMEM; j++) {
            rc = 0;
            if (dmp_wire_manifest_parse(copies[j].data, copies[j].len, r->now, true, m)) {
                r->bad_manifests++;
                continue;
            }
            if (memcmp(m->recipient_id, self_id, 32) || dmp_wire_manifest_expired(m, r->now) ||
                !pinned_ok(r, m->sender_spk))
                continue;
            if (r->accept && !r->accept(r->gate_ctx, m->sender_spk))
                continue;
            if (r->seen && r->seen(r->gate_ctx, m->sender_spk, m->msg_id))
                continue;
            bool seen = false;
            for (size_t k = first; k < *count; k++)
                seen |= memcmp((*msgs)[k].msg_id, m->msg_id, 16) == 0 &&
                        memcmp((*msgs)[k].sender_spk, m->sender_spk, 32) == 0;
            if (seen)
                continue;
            int orc = open_one(r, m, msgs, count);
            if (orc == DMP_ENOMEM)
                rc = orc;
            else if (orc)
                r->undeliverable++;
        }
        for (size_t j = 0; j < nv; j++)
            dmp_buf_free(&copies[j]);
        free(copies);
    }
    free(m);
    return rc == DMP_ENOMEM ? rc : 0;
}
