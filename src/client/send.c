/* client: send (client.md §5.1, CLI §6.3): contact -> rotation chain -> one-time prekey ->
 * compose -> chunks (concurrently) then the signed manifest. A node refusing the manifest for
 * its size is reported with the largest message it takes; a refusal because the name's answer
 * would grow too large (or the slot is full) is retried with a new message id, i.e. another of
 * the ten slots. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "erasure/erasure.h"
#include "util/util.h"
#include "wire/wire.h"

#define SEND_TTL 300
#define SEND_SLOT_TRIES 10

static int64_t mono_ns(void)
{
    return dmp_monotonic_ns();
}

static void set_err(dmp_client_session_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_err(dmp_client_session_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
}

/* The largest plaintext (v1, no envelope) whose manifest fits a value cap of `cap` bytes. */
size_t dmp_client_max_message_for_cap(size_t cap)
{
    size_t best = 0;
    for (uint32_t k = 1; k <= 196; k++) { /* n <= 255: the erasure code's limit */
        uint32_t n = k + (3 * k + 9) / 10;
        size_t body = 108 + 32 * (size_t)n + 64;
        size_t wire = 20 + 4 * ((body + 2) / 3);
        if (wire > cap)
            break;
        size_t outer = (size_t)k * 128 - 4;
        if (outer > 360)
            best = outer - 360;
    }
    return best;
}

/* "value exceeds cap of N bytes" -> N; 0 when the text carries no cap. */
static size_t cap_from_error(const char *e)
{
    const char *p = strstr(e, "cap of ");
    if (!p)
        return 0;
    return (size_t)strtoul(p + 7, NULL, 10);
}

static bool answer_too_large(const dmp_client_http_result_t *r)
{
    return r->status == 413 && strstr(r->error, "request body") == NULL;
}

int dmp_client_find_contact(dmp_client_session_t *s, const char *recipient,
                            dmp_client_contact_t **out)
{
    dmp_client_contact_t *c = dmp_client_config_contact(&s->cfg, recipient);
    if (!c && strchr(recipient, '@')) {
        char bare[DMP_CLIENT_STR];
        snprintf(bare, sizeof(bare), "%.*s", (int)(strchr(recipient, '@') - recipient), recipient);
        c = dmp_client_config_contact(&s->cfg, bare);
    }
    if (!c) {
        set_err(s,
                "unknown contact `%s` — add it first with `dnsmesh identity fetch %s --add` or "
                "`dnsmesh contacts add`",
                recipient, recipient);
        return DMP_ENOTFOUND;
    }
    *out = c;
    return 0;
}

/* Walks the contact's rotation chain; on a rotation, re-pins the contact to the new key from
 * its identity record (config saved). DMP_EAUTH when its key is revoked. */
static int follow_rotation(dmp_client_session_t *s, dmp_client_contact_t *c, const char *user,
                           const char *host, uint8_t spk[32], uint8_t pub[32])
{
    uint8_t head[32];
    int rc = dmp_client_rotation_head(s, spk, user, host, head);
    if (rc == DMP_EAUTH) {
        set_err(s,
                "the pinned key of `%s` is revoked or its rotation chain is broken — re-pin it "
                "out of band (`dnsmesh identity fetch ... --add`)",
                c->name);
        return rc;
    }
    if (rc || memcmp(head, spk, 32) == 0)
        return rc;
    dmp_wire_identity_t *recs = NULL;
    size_t n = 0;
    char name[DMP_WIRE_NAME_MAX];
    rc = dmp_client_identity_lookup(s, user, host, true, true, &recs, &n, name, sizeof(name));
    const dmp_wire_identity_t *hit = NULL;
    for (size_t i = 0; !rc && i < n; i++)
        if (memcmp(recs[i].ed25519_spk, head, 32) == 0)
            hit = &recs[i];
    if (!hit) {
        free(recs);
        set_err(s, "`%s` rotated to a new key but no identity record for it was found", c->name);
        return DMP_ENOTFOUND;
    }
    memcpy(spk, hit->ed25519_spk, 32);
    memcpy(pub, hit->x25519_pk, 32);
    dmp_hex_encode(spk, 32, c->spk, sizeof(c->spk));
    dmp_hex_encode(pub, 32, c->pub, sizeof(c->pub));
    free(recs);
    fprintf(stderr, "note: `%s` rotated its key; re-pinned to %.16s...\n", c->name, c->spk);
    return dmp_client_session_save(s);
}

int dmp_client_send(dmp_client_session_t *s, const char *recipient, const uint8_t *msg, size_t len,
                    dmp_client_send_report_t *rep)
{
    memset(rep, 0, sizeof(*rep));
    dmp_client_contact_t *c;
    int rc = dmp_client_find_contact(s, recipient, &c);
    if (rc)
        return rc;
    uint8_t pub[32], spk[32];
    bool have_spk = strlen(c->spk) == 64 && dmp_hex_decode(c->spk, 64, spk, 32) == 0;
    if (strlen(c->pub) != 64 || dmp_hex_decode(c->pub, 64, pub, 32)) {
        set_err(s,
                "contact `%s` has no X25519 public key — fetch it with `dnsmesh identity fetch "
                "<user@host> --add`",
                c->name);
        return DMP_EINVAL;
    }
    char user[DMP_CLIENT_STR], host[DMP_CLIENT_STR];
    dmp_client_contact_names(s, c, user, sizeof(user), host, sizeof(host));
    snprintf(rep->contact, sizeof(rep->contact), "%s", c->name);
    int64_t t0 = mono_ns();
    if (have_spk) {
        if ((rc = follow_rotation(s, c, user, host, spk, pub)))
            return rc;
        rc = dmp_client_pick_prekey(s, user, host, spk, &rep->prekey_id, rep->prekey_pk);
        if (rc)
            return rc;
    }
    /* DMPv2 envelope only for a recipient whose identity record advertises version 2 */
    char from[DMP_CRYPTO_ADDR_MAX + 1];
    bool v2 = have_spk && dmp_client_own_address(s, from, sizeof(from)) &&
              dmp_client_recipient_v2(s, user, host, spk);
    rep->v2 = v2;
    rep->lookup_ns = mono_ns() - t0;

    for (unsigned attempt = 0; attempt < SEND_SLOT_TRIES; attempt++) {
        rep->attempts = attempt + 1;
        dmp_client_send_t p = {.sender = &s->id,
                               .sender_domain = s->domain,
                               .recipient_pk = pub,
                               .prekey_pk = rep->prekey_id ? rep->prekey_pk : NULL,
                               .prekey_id = rep->prekey_id,
                               .now = dmp_client_now(s),
                               .ttl = SEND_TTL,
                               .envelope_from = v2 ? from : NULL};
        dmp_client_records_t recs = {0};
        int64_t t1 = mono_ns();
        rc = dmp_client_compose(&p, msg, len, &recs);
        rep->compose_ns += mono_ns() - t1;
        if ((rc == DMP_ETOOBIG || rc == DMP_EERASURE_PARAM) && v2) {
            /* the envelope pushed it past the largest message: send it as v1 instead */
            dmp_client_records_free(&recs);
            v2 = rep->v2 = false;
            attempt--;
            continue;
        }
        if (rc == DMP_ETOOBIG || rc == DMP_EERASURE_PARAM) {
            set_err(s, "message is %zu bytes; the largest message DMP carries is %zu bytes", len,
                    (size_t)DMP_CLIENT_MAX_MESSAGE);
            dmp_client_records_free(&recs);
            return DMP_EINVAL;
        }
        if (rc) {
            set_err(s, "could not build the message: %s", dmp_strerror(rc));
            dmp_client_records_free(&recs);
            return rc;
        }
        rep->records = recs.n;
        size_t nchunks = recs.n - 1;
        bool *ok = calloc(recs.n, sizeof(*ok));
        dmp_client_http_result_t *res = calloc(recs.n, sizeof(*res));
        if (!ok || !res) {
            free(ok);
            free(res);
            dmp_client_records_free(&recs);
            return DMP_ENOMEM;
        }
        int64_t t2 = mono_ns();
        rc = dmp_client_publish(s, recs.v, nchunks, ok, res);
        size_t bad = SIZE_MAX;
        for (size_t i = 0; !rc && i < nchunks; i++)
            if (!ok[i] && bad == SIZE_MAX)
                bad = i;
        if (!rc && bad == SIZE_MAX)
            rc = dmp_client_publish(s, &recs.v[nchunks], 1, &ok[nchunks], &res[nchunks]);
        rep->network_ns += mono_ns() - t2;
        if (!rc && bad == SIZE_MAX && !ok[nchunks])
            bad = nchunks;
        bool retry = false;
        if (!rc && bad != SIZE_MAX) {
            const dmp_client_http_result_t *r = &res[bad];
            const dmp_client_record_t *rec = &recs.v[bad];
            size_t cap = r->status == 400 ? cap_from_error(r->error) : 0;
            if (cap && rec->value_len > cap) {
                size_t most = dmp_client_max_message_for_cap(cap);
                set_err(s,
                        "the node refused a %zu-byte record (its cap is %zu bytes): the largest "
                        "message it takes is %zu bytes, this one is %zu",
                        rec->value_len, cap, most, len);
            } else if (answer_too_large(r) && attempt + 1 < SEND_SLOT_TRIES) {
                retry = true; /* another message id lands in another slot */
            } else if (r->status) {
                set_err(s, "publish to %s failed: HTTP %d%s%s%s", rec->name, r->status,
                        r->error[0] ? " — " : "", r->error,
                        r->status == 403 ? " (per-user token may not own this record namespace; "
                                           "if you are the operator, retry with "
                                           "DMP_HTTP_TOKEN=<operator-token>)"
                                         : "");
            } else {
                set_err(s, "publish to %s failed — %s", rec->name,
                        r->error[0] ? r->error : "no response captured");
            }
            if (!retry)
                rc = DMP_EIO;
        }
        if (!rc && !retry) {
            uint8_t mid[16];
            const dmp_client_record_t *mrec = &recs.v[nchunks];
            snprintf(rep->manifest_name, sizeof(rep->manifest_name), "%s", mrec->name);
            snprintf(rep->chunk0_name, sizeof(rep->chunk0_name), "%s", recs.v[0].name);
            dmp_wire_manifest_t *m = malloc(sizeof(*m));
            if (m && dmp_wire_manifest_parse((const uint8_t *)mrec->value, mrec->value_len, p.now,
                                             true, m) == 0) {
                memcpy(mid, m->msg_id, 16);
                dmp_hex_encode(mid, 16, rep->msg_id_hex, sizeof(rep->msg_id_hex));
                rep->k = m->data_chunks;
                rep->n = m->total_chunks;
                /* first-contact claims: best effort, they never fail the send */
                dmp_client_provider_t prov[4];
                size_t np = dmp_client_claim_providers(s, prov, 4);
                uint8_t rid[32];
                dmp_crypto_user_id(pub, rid);
                for (size_t i = 0; i < np; i++) {
                    rep->claims_total++;
                    if (dmp_client_publish_claim(s, &prov[i], rid, mid,
                                                 dmp_wire_slot_for_msg_id(mid), p.now,
                                                 SEND_TTL) == 0)
                        rep->claims_ok++;
                }
            }
            free(m);
        }
        free(ok);
        free(res);
        dmp_client_records_free(&recs);
        if (!retry)
            return rc;
    }
    set_err(s, "every mailbox slot tried was refused by the node");
    return DMP_EIO;
}
