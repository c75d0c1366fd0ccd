/* client: first-contact claims (client.md §5.1 claim routing, §5.7): the sender leaves a signed
 * pointer at claim-<slot>.mb-<h>.<provider zone>; the receiver polls its own zone (phase 1) and
 * the providers, opens the manifest the claim points at and delivers it when the sender is
 * pinned, or queues it as an intro otherwise. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "util/util.h"
#include "wire/wire.h"

#define SEED_ZONE "dmp.dnsmesh.io"
#define SEED_ENDPOINT "https://dnsmesh.io"

static bool zone_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la && a[la - 1] == '.')
        la--;
    while (lb && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* Zone of a provider's URL: its host, unless that is an IP literal or localhost. */
static bool zone_from_endpoint(const char *ep, char *out, size_t cap)
{
    char host[DMP_CLIENT_STR];
    struct in6_addr a;
    if (!ep[0] || dmp_client_endpoint_host(ep, host, sizeof(host)) ||
        strcmp(host, "localhost") == 0 || inet_pton(AF_INET, host, &a) == 1 ||
        inet_pton(AF_INET6, host, &a) == 1 || strlen(host) >= cap)
        return false;
    strcpy(out, host);
    return true;
}

static void add_provider(dmp_client_provider_t *out, size_t *n, size_t cap, const char *zone,
                         const char *endpoint)
{
    char canon[512];
    if (!zone[0] || !endpoint[0] || *n >= cap ||
        dmp_client_endpoint_normalize(endpoint, canon, sizeof(canon)))
        return;
    for (char *c = canon; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    for (size_t i = 0; i < *n; i++)
        if (strcasecmp(out[i].endpoint, canon) == 0)
            return;
    memset(&out[*n], 0, sizeof(out[*n]));
    snprintf(out[*n].zone, sizeof(out[*n].zone), "%s", zone);
    snprintf(out[*n].endpoint, sizeof(out[*n].endpoint), "%s", canon);
    (*n)++;
}

typedef struct {
    dmp_wire_heartbeat_t hb;
} hb_t;

static int hb_newest_first(const void *a, const void *b)
{
    uint64_t x = ((const hb_t *)a)->hb.ts, y = ((const hb_t *)b)->hb.ts;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The providers claims go to and are polled at (client.md §5.7): claim_provider_override alone
 * when set; else the three most recently heard claim providers of the home node's seen feed
 * (_dnsmesh-seen.<zone> for the cluster base domain, the TSIG zone, the endpoint's host), one per
 * operator, then the built-in seed dmp.dnsmesh.io (dropped when its own heartbeat opts out, or
 * when DNSMESH_NO_DEFAULT_PROVIDER=1). */
size_t dmp_client_claim_providers(dmp_client_session_t *s, dmp_client_provider_t *out, size_t cap)
{
    size_t n = 0;
    const dmp_client_config_t *c = &s->cfg;
    if (c->claim_provider_override[0]) {
        char ep[512], zone[DMP_CLIENT_STR];
        if (dmp_client_endpoint_normalize(c->claim_provider_override, ep, sizeof(ep)))
            return 0;
        if (c->claim_provider_zone[0])
            snprintf(zone, sizeof(zone), "%s", c->claim_provider_zone);
        else if (!zone_from_endpoint(ep, zone, sizeof(zone)))
            return 0;
        add_provider(out, &n, cap, zone, ep);
        return n;
    }
    /* candidate zones of the seen feed */
    char zones[3][DMP_CLIENT_STR];
    size_t nz = 0;
    const char *cand[3] = {c->cluster_base_domain, c->tsig_zone, ""};
    char eh[DMP_CLIENT_STR];
    if (c->endpoint[0] && zone_from_endpoint(c->endpoint, eh, sizeof(eh)))
        cand[2] = eh;
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(cand[i]);
        while (l && cand[i][l - 1] == '.')
            l--;
        if (!l || l >= sizeof(zones[0]))
            continue;
        bool dup = false;
        for (size_t z = 0; z < nz; z++)
            dup |= strncasecmp(zones[z], cand[i], l) == 0 && zones[z][l] == 0;
        if (!dup) {
            memcpy(zones[nz], cand[i], l);
            zones[nz++][l] = 0;
        }
    }
    int64_t now = dmp_client_now(s);
    hb_t *hbs = NULL;
    size_t nh = 0;
    dmp_client_txtset_t t;
    dmp_client_txtset_init(&t);
    for (size_t z = 0; z < nz && !dmp_client_session_reader(s); z++) {
        char name[DMP_WIRE_NAME_MAX];
        if (dmp_wire_name_seen(zones[z], name, sizeof(name)) || dmp_client_query(s, name, &t))
            continue;
        for (size_t i = 0; i < t.n; i++) {
            hb_t h;
            if (dmp_wire_heartbeat_parse(t.v[i].data, t.v[i].len, now, -1, &h.hb) ||
                !(h.hb.capabilities & DMP_WIRE_CAP_CLAIM_PROVIDER))
                continue;
            hb_t *g = realloc(hbs, (nh + 1) * sizeof(*g));
            if (!g)
                break;
            hbs = g;
            hbs[nh++] = h;
        }
    }
    if (nh)
        qsort(hbs, nh, sizeof(*hbs), hb_newest_first);
    size_t taken = 0;
    for (size_t i = 0; i < nh && taken < 3; i++) {
        bool dup_op = false;
        for (size_t j = 0; j < i; j++)
            dup_op |= memcmp(hbs[j].hb.operator_spk, hbs[i].hb.operator_spk, 32) == 0;
        if (dup_op)
            continue;
        char zone[DMP_CLIENT_STR];
        if (hbs[i].hb.zone_len)
            snprintf(zone, sizeof(zone), "%s", hbs[i].hb.claim_provider_zone);
        else if (!zone_from_endpoint(hbs[i].hb.endpoint, zone, sizeof(zone)))
            continue;
        for (char *p = zone; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        add_provider(out, &n, cap, zone, hbs[i].hb.endpoint);
        taken++;
    }
    free(hbs);
    const char *off = getenv("DNSMESH_NO_DEFAULT_PROVIDER");
    if (!(off && strcmp(off, "1") == 0)) {
        /* the seed, re-checked: a verified heartbeat without the claim-provider bit drops it;
         * anything else (absent, unreachable, unverifiable) keeps it */
        char zone[DMP_CLIENT_STR] = SEED_ZONE, ep[512] = SEED_ENDPOINT, name[DMP_WIRE_NAME_MAX];
        bool optout = false, found = false;
        if (dmp_wire_name_heartbeat(SEED_ZONE, name, sizeof(name)) == 0 &&
            dmp_client_session_reader(s) == 0 && dmp_client_query(s, name, &t) == 0) {
            for (size_t i = 0; i < t.n && !found; i++) {
                dmp_wire_heartbeat_t h;
                if (dmp_wire_heartbeat_parse(t.v[i].data, t.v[i].len, now, -1, &h))
                    continue;
                if (!(h.capabilities & DMP_WIRE_CAP_CLAIM_PROVIDER)) {
                    optout = true;
                    continue;
                }
                found = true;
                if (h.zone_len)
                    snprintf(zone, sizeof(zone), "%s", h.claim_provider_zone);
                if (h.endpoint_len)
                    snprintf(ep, sizeof(ep), "%s", h.endpoint);
            }
        }
        if (found || !optout)
            add_provider(out, &n, cap, zone, ep);
    }
    dmp_client_txtset_free(&t);
    return n;
}

static int resolve_ip(const char *host, char *out, size_t cap)
{
    struct in6_addr a;
    if (inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1) {
        snprintf(out, cap, "%s", host);
        return 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return DMP_ENOTFOUND;
    void *ad = res->ai_family == AF_INET
                   ? (void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                   : (void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
    inet_ntop(res->ai_family, ad, out, (socklen_t)cap);
    freeaddrinfo(res);
    return 0;
}

/* Publishes one claim for a sent message to provider p: through our own writer when the
 * provider is our own zone without an endpoint, or our own node (same endpoint); else an
 * unsigned RFC 2136 UPDATE to the provider's host (DMP_PROVIDER_DNS_PORT, default 53). */
int dmp_client_publish_claim(dmp_client_session_t *s, const dmp_client_provider_t *p,
                             const uint8_t recipient_id[32], const uint8_t msg_id[16],
                             unsigned slot, int64_t now, uint32_t ttl)
{
    dmp_wire_claim_t c = {.slot = (uint8_t)slot, .ts = (uint64_t)now, .exp = (uint64_t)now + ttl};
    memcpy(c.msg_id, msg_id, 16);
    memcpy(c.sender_spk, s->id.ed_pk, 32);
    size_t dl = strlen(s->domain);
    if (dl == 0 || dl > DMP_WIRE_CLAIM_DOMAIN_MAX)
        return DMP_ETOOBIG;
    memcpy(c.sender_mailbox_domain, s->domain, dl + 1);
    c.domain_len = dl;
    dmp_buf_t w;
    dmp_buf_init(&w);
    char name[DMP_WIRE_NAME_MAX];
    int rc = dmp_wire_claim_encode(&c, s->id.ed_sk, &w);
    if (!rc)
        rc = dmp_buf_append_u8(&w, 0);
    if (!rc)
        rc = dmp_wire_name_claim(recipient_id, slot, p->zone, name, sizeof(name));
    if (rc) {
        dmp_buf_free(&w);
        return rc;
    }
    char own[512] = "";
    if (s->cfg.endpoint[0])
        (void)dmp_client_endpoint_normalize(s->cfg.endpoint, own, sizeof(own));
    bool same_node = own[0] && strcasecmp(own, p->endpoint) == 0;
    if ((!p->endpoint[0] && zone_eq(p->zone, s->domain)) || same_node) {
        dmp_client_http_result_t r;
        rc = s->nhttp || s->tsig ? dmp_client_publish_one(s, name, (const char *)w.data, ttl, &r)
                                 : DMP_EIO;
    } else {
        char host[DMP_CLIENT_STR], ip[64];
        if (p->endpoint[0])
            rc = dmp_client_endpoint_host(p->endpoint, host, sizeof(host));
        else
            memcpy(host, p->zone, sizeof(host));
        int64_t port = 53;
        const char *e = getenv("DMP_PROVIDER_DNS_PORT");
        if (e && dmp_parse_i64(e, 1, 65535, &port))
            port = 53;
        if (!rc)
            rc = resolve_ip(host, ip, sizeof(ip));
        uint8_t *q = NULL;
        size_t ql = 0;
        if (!rc)
            rc = dmp_client_update_build(p->zone, name, (const char *)w.data, w.len - 1, ttl, false,
                                         NULL, NULL, NULL, &q, &ql);
        int rcode = -1;
        if (!rc)
            rc = dmp_client_update_send(ip, (uint16_t)port, q, ql, 5000, &rcode);
        free(q);
        if (!rc && rcode != 0)
            rc = DMP_EIO;
    }
    dmp_buf_free(&w);
    return rc;
}

/* ---------------------------------------------------------------- receive */

typedef struct {
    dmp_client_session_t *s;
    const dmp_wire_claim_t *claim;
    int64_t now;
} claim_gate_t;

static bool cg_accept(void *ctx, const uint8_t spk[32])
{
    claim_gate_t *g = ctx;
    return memcmp(spk, g->claim->sender_spk, 32) == 0;
}

static bool cg_seen(void *ctx, const uint8_t spk[32], const uint8_t msg_id[16])
{
    claim_gate_t *g = ctx;
    return memcmp(msg_id, g->claim->msg_id, 16) != 0 ||
           dmp_client_replay_seen(&g->s->replay, spk, msg_id, g->now);
}

static int cg_prekey(void *ctx, uint32_t id, uint8_t sk[32])
{
    claim_gate_t *g = ctx;
    return dmp_client_prekeys_get(g->s->prekeys, id, g->now, sk, NULL, 0);
}

/* Polls claim-0..9.mb-<h>.<zone>; deliveries from pinned senders are appended to msgs, others
 * queued as intros (*intros counts them). dmp_client_recv_finalize is applied to both. */
int dmp_client_recv_claims(dmp_client_session_t *s, const char *zone,
                           bool (*pinned)(dmp_client_session_t *, const uint8_t *, const char *),
                           dmp_client_message_t **msgs, size_t *count, unsigned *intros,
                           dmp_client_recv_stats_t *st)
{
    uint8_t self_id[32];
    dmp_crypto_user_id(s->id.x25519_pk, self_id);
    int64_t now = dmp_client_now(s);
    dmp_client_txtset_t t;
    dmp_client_txtset_init(&t);
    int rc = 0;
    for (unsigned slot = 0; slot < 10 && !rc; slot++) {
        char name[DMP_WIRE_NAME_MAX];
        if (dmp_wire_name_claim(self_id, slot, zone, name, sizeof(name)))
            break;
        if (dmp_client_query(s, name, &t))
            continue;
        /* claims are small: copy them, opening a message queries again */
        size_t n = t.n;
        dmp_wire_claim_t *cl = calloc(n ? n : 1, sizeof(*cl));
        bool *ok = calloc(n ? n : 1, sizeof(*ok));
        if (!cl || !ok) {
            free(cl);
            free(ok);
            rc = DMP_ENOMEM;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            ok[i] = dmp_wire_claim_parse(t.v[i].data, t.v[i].len, now, &cl[i]) == 0;
            if (!ok[i])
                st->bad_manifests++;
        }
        for (size_t i = 0; i < n && !rc; i++) {
            if (!ok[i] || dmp_client_replay_seen(&s->replay, cl[i].sender_spk, cl[i].msg_id, now))
                continue;
            bool denied = false, pending = false;
            dmp_client_intros_denied(s->intros, cl[i].sender_spk, &denied);
            dmp_client_intros_has(s->intros, cl[i].sender_spk, cl[i].msg_id, &pending);
            if (denied || pending)
                continue;
            claim_gate_t g = {.s = s, .claim = &cl[i], .now = now};
            dmp_client_recv_t r = {.self = &s->id,
                                   .zone = cl[i].sender_mailbox_domain,
                                   .now = now,
                                   .fetch = dmp_client_session_fetch,
                                   .fetch_ctx = s,
                                   .prekey = cg_prekey,
                                   .prekey_ctx = &g,
                                   .accept = cg_accept,
                                   .seen = cg_seen,
                                   .gate_ctx = &g};
            dmp_client_message_t *got = NULL;
            size_t ng = 0;
            rc = dmp_client_receive(&r, &got, &ng);
            st->undeliverable += r.undeliverable;
            for (size_t k = 0; k < ng && !rc; k++) {
                dmp_client_recv_finalize(s, &got[k], now);
                if (pinned(s, got[k].sender_spk, cl[i].sender_mailbox_domain)) {
                    dmp_client_message_t *g2 = realloc(*msgs, (*count + 1) * sizeof(*g2));
                    if (!g2) {
                        rc = DMP_ENOMEM;
                        break;
                    }
                    *msgs = g2;
                    g2[(*count)++] = got[k];
                    dmp_buf_init(&got[k].body); /* moved */
                } else {
                    dmp_client_intro_t in;
                    memset(&in, 0, sizeof(in));
                    memcpy(in.sender_spk, got[k].sender_spk, 32);
                    memcpy(in.msg_id, got[k].msg_id, 16);
                    in.plaintext = got[k].body;
                    snprintf(in.zone, sizeof(in.zone), "%s", cl[i].sender_mailbox_domain);
                    dmp_client_verify_label(s, got[k].from, got[k].sender_spk, in.label,
                                            sizeof(in.label));
                    in.received_at = now;
                    in.msg_exp = got[k].exp;
                    if (dmp_client_intros_add(s->intros, &in) == 0)
                        (*intros)++;
                }
            }
            dmp_client_messages_free(got, ng);
        }
        free(cl);
        free(ok);
    }
    dmp_client_txtset_free(&t);
    return rc;
}
