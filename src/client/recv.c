/* client: receive (client.md §5.2-§5.4): walks the mailbox slots of every contact's zone and
 * the own zone, delivers manifests from pinned (or rotated-to) signers that the replay cache has
 * not seen, consumes one-time prekeys (forward secrecy) and records each delivery. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "util/util.h"
#include "wire/wire.h"

typedef struct {
    dmp_client_session_t *s;
    const char *zone;
    bool own_zone;
    bool tofu;
    int64_t now;
    /* rotation verdicts cached per contact index: 0 unknown, 1 computed */
    uint8_t *done;
    uint8_t (*head)[32];
    bool *head_ok;
} gate_t;

static bool contact_zone_is(const dmp_client_session_t *s, const dmp_client_contact_t *c,
                            const char *zone)
{
    char user[DMP_CLIENT_STR], host[DMP_CLIENT_STR];
    dmp_client_contact_names(s, c, user, sizeof(user), host, sizeof(host));
    return strcasecmp(host, zone) == 0;
}

static bool gate_accept(void *ctx, const uint8_t spk[32])
{
    gate_t *g = ctx;
    dmp_client_session_t *s = g->s;
    if (g->tofu)
        return true;
    for (size_t i = 0; i < s->cfg.n_contacts; i++) {
        dmp_client_contact_t *c = &s->cfg.contacts[i];
        uint8_t pin[32];
        if (strlen(c->spk) != 64 || dmp_hex_decode(c->spk, 64, pin, 32))
            continue;
        if (!g->own_zone && !contact_zone_is(s, c, g->zone))
            continue;
        /* the chain says whether the pin is revoked and where it leads now */
        if (!g->done[i]) {
            char user[DMP_CLIENT_STR], host[DMP_CLIENT_STR];
            dmp_client_contact_names(s, c, user, sizeof(user), host, sizeof(host));
            g->head_ok[i] = dmp_client_rotation_head(s, pin, user, host, g->head[i]) == 0;
            g->done[i] = 1;
        }
        if (!g->head_ok[i])
            continue; /* revoked key: refused */
        if (memcmp(pin, spk, 32) == 0 || memcmp(g->head[i], spk, 32) == 0)
            return true;
    }
    return false;
}

/* Is spk pinned for a message whose mailbox zone is zone (all pins for the own zone), or where
 * a pinned key's rotation chain leads? */
static bool claim_pinned(dmp_client_session_t *s, const uint8_t *spk, const char *zone)
{
    gate_t g = {.s = s, .zone = zone, .own_zone = strcasecmp(zone, s->domain) == 0};
    size_t n = s->cfg.n_contacts + 1;
    g.done = calloc(n, 1);
    g.head = calloc(n, sizeof(*g.head));
    g.head_ok = calloc(n, sizeof(*g.head_ok));
    bool ok = g.done && g.head && g.head_ok && gate_accept(&g, spk);
    free(g.done);
    free(g.head);
    free(g.head_ok);
    return ok;
}

static bool gate_seen(void *ctx, const uint8_t spk[32], const uint8_t msg_id[16])
{
    gate_t *g = ctx;
    return dmp_client_replay_seen(&g->s->replay, spk, msg_id, g->now);
}

typedef struct {
    dmp_client_session_t *s;
    int64_t now;
} pk_ctx_t;

static int prekey_cb(void *ctx, uint32_t id, uint8_t sk[32])
{
    pk_ctx_t *p = ctx;
    return dmp_client_prekeys_get(p->s->prekeys, id, p->now, sk, NULL, 0);
}

static void progress_cb(void *ctx, uint32_t done, uint32_t need)
{
    (void)ctx;
    if (need >= 16)
        fprintf(stderr, "\r  fetching chunks %u/%u%s", done, need, done >= need ? "\n" : "");
}

/* After a delivery: forget the one-time prekey (and delete its published value), remember the
 * (spk, msg_id) until the manifest expires. */
void dmp_client_recv_finalize(dmp_client_session_t *s, const dmp_client_message_t *m, int64_t now)
{
    if (m->prekey_id) {
        uint8_t sk[32];
        char wire[512] = "";
        (void)dmp_client_prekeys_get(s->prekeys, m->prekey_id, now, sk, wire, sizeof(wire));
        dmp_wipe(sk, sizeof(sk));
        (void)dmp_client_prekeys_consume(s->prekeys, m->prekey_id);
        char name[DMP_WIRE_NAME_MAX];
        if (wire[0] && (s->nhttp || s->tsig) &&
            dmp_wire_name_prekeys(s->cfg.username, strlen(s->cfg.username), s->domain, name,
                                  sizeof(name)) == 0)
            (void)dmp_client_delete(s, name, wire);
    }
    (void)dmp_client_replay_add(&s->replay, m->sender_spk, m->msg_id, m->exp, now);
}

/* Phase 2: the ten slots of each pinned contact's zone, then of the own zone. */
static int slot_walk(dmp_client_session_t *s, bool any_pin, int64_t now,
                     dmp_client_message_t **msgs, size_t *count, dmp_client_recv_stats_t *st)
{
    /* zones: each contact's zone in config order, then the own zone */
    size_t nz = 0;
    char(*zones)[DMP_CLIENT_STR] = calloc(s->cfg.n_contacts + 1, sizeof(*zones));
    gate_t g = {.s = s, .now = now, .tofu = !any_pin && s->cfg.allow_tofu};
    g.done = calloc(s->cfg.n_contacts + 1, 1);
    g.head = calloc(s->cfg.n_contacts + 1, sizeof(*g.head));
    g.head_ok = calloc(s->cfg.n_contacts + 1, sizeof(*g.head_ok));
    if (!zones || !g.done || !g.head || !g.head_ok) {
        free(zones);
        free(g.done);
        free(g.head);
        free(g.head_ok);
        return DMP_ENOMEM;
    }
    for (size_t i = 0; i <= s->cfg.n_contacts; i++) {
        char user[DMP_CLIENT_STR], host[DMP_CLIENT_STR];
        if (i < s->cfg.n_contacts) {
            if (strlen(s->cfg.contacts[i].spk) != 64 && !g.tofu)
                continue; /* unpinned contacts' zones are not polled */
            dmp_client_contact_names(s, &s->cfg.contacts[i], user, sizeof(user), host,
                                     sizeof(host));
        } else {
            snprintf(host, sizeof(host), "%s", s->domain);
        }
        bool dup = false;
        for (size_t z = 0; z < nz; z++)
            dup |= strcasecmp(zones[z], host) == 0;
        if (!dup && host[0])
            snprintf(zones[nz++], sizeof(zones[0]), "%s", host);
    }
    pk_ctx_t pk = {.s = s, .now = now};
    int rc = 0;
    for (size_t z = 0; z < nz && !rc; z++) {
        g.zone = zones[z];
        g.own_zone = strcasecmp(zones[z], s->domain) == 0;
        dmp_client_recv_t r = {.self = &s->id,
                               .zone = zones[z],
                               .now = now,
                               .fetch = dmp_client_session_fetch,
                               .fetch_ctx = s,
                               .prekey = prekey_cb,
                               .prekey_ctx = &pk,
                               .accept = gate_accept,
                               .seen = gate_seen,
                               .gate_ctx = &g,
                               .progress = isatty(2) ? progress_cb : NULL};
        size_t before = *count;
        rc = dmp_client_receive(&r, msgs, count);
        st->bad_manifests += r.bad_manifests;
        st->bad_chunks += r.bad_chunks;
        st->undeliverable += r.undeliverable;
        for (size_t i = before; i < *count; i++)
            dmp_client_recv_finalize(s, &(*msgs)[i], now);
    }
    free(zones);
    free(g.done);
    free(g.head);
    free(g.head_ok);
    return rc;
}

int dmp_client_recv(dmp_client_session_t *s, bool primary_only, bool skip_primary,
                    dmp_client_message_t **msgs, size_t *count, dmp_client_recv_stats_t *st)
{
    *msgs = NULL;
    *count = 0;
    memset(st, 0, sizeof(*st));
    int64_t now = dmp_client_now(s);
    bool any_pin = false;
    for (size_t i = 0; i < s->cfg.n_contacts; i++)
        any_pin |= strlen(s->cfg.contacts[i].spk) == 64;
    int rc = 0;
    /* phase 1 (M10): claims left in the own zone */
    if (!skip_primary && (any_pin || primary_only))
        rc = dmp_client_recv_claims(s, s->domain, claim_pinned, msgs, count, &st->new_intros, st);
    /* phase 2: the slot walk */
    if (!rc && !primary_only && (any_pin || s->cfg.allow_tofu))
        rc = slot_walk(s, any_pin, now, msgs, count, st);
    /* the providers' claims, whatever the phase flags */
    dmp_client_provider_t prov[4];
    size_t np = dmp_client_claim_providers(s, prov, 4);
    for (size_t i = 0; i < np && !rc; i++)
        if (!(strcasecmp(prov[i].zone, s->domain) == 0 && !skip_primary &&
              (any_pin || primary_only)))
            rc = dmp_client_recv_claims(s, prov[i].zone, claim_pinned, msgs, count, &st->new_intros,
                                        st);
    return rc;
}
