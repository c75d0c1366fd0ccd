/* client: identity lookups, the rotation chain and prekeys (client.md §5.5, §5.6, §5.8). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "util/util.h"
#include "wire/wire.h"

/* The username and host a contact's records live under. Fixes client.md §9.3: a contact keyed
 * "user@host" without remote_username uses "user" (and host when the entry has no domain). */
void dmp_client_contact_names(const dmp_client_session_t *s, const dmp_client_contact_t *c,
                              char *user, size_t ucap, char *host, size_t hcap)
{
    const char *u = c->has_remote_username && c->remote_username[0] ? c->remote_username : c->name;
    const char *at = strchr(u, '@');
    size_t ul = at ? (size_t)(at - u) : strlen(u);
    snprintf(user, ucap, "%.*s", (int)ul, u);
    if (c->domain[0])
        snprintf(host, hcap, "%s", c->domain);
    else if (at && at[1])
        snprintf(host, hcap, "%s", at + 1);
    else
        snprintf(host, hcap, "%s", s->domain);
    size_t hl = strlen(host);
    while (hl && host[hl - 1] == '.')
        host[--hl] = 0;
}

/* ---------------------------------------------------------------- rotation chain */

typedef struct {
    dmp_wire_rotation_t *rot;
    size_t nrot;
    uint8_t (*revoked)[32];
    size_t nrev;
} chain_t;

static void chain_free(chain_t *c)
{
    free(c->rot);
    free(c->revoked);
}

static bool is_revoked(const chain_t *c, const uint8_t spk[32])
{
    for (size_t i = 0; i < c->nrev; i++)
        if (memcmp(c->revoked[i], spk, 32) == 0)
            return true;
    return false;
}

/* Reads both rotate RRsets of user@host and keeps the records for that subject. */
static int chain_load(dmp_client_session_t *s, const char *user, const char *host, chain_t *c)
{
    memset(c, 0, sizeof(*c));
    char subject[2 * DMP_CLIENT_STR + 2], norm[600];
    snprintf(subject, sizeof(subject), "%s@%s", user, host);
    size_t nlen;
    if (dmp_wire_subject_normalize(DMP_WIRE_SUBJECT_USER, subject, strlen(subject), norm,
                                   sizeof(norm), &nlen))
        return 0; /* no valid subject: no chain */
    char names[2][DMP_WIRE_NAME_MAX];
    int nn = 0;
    if (dmp_wire_name_rotate_user_zone(host, names[nn], sizeof(names[0])) == 0)
        nn++;
    if (dmp_wire_name_rotate_user(user, strlen(user), host, names[nn], sizeof(names[0])) == 0)
        nn++;
    dmp_client_txtset_t t;
    dmp_client_txtset_init(&t);
    int64_t now = dmp_client_now(s);
    int rc = 0;
    for (int k = 0; k < nn && !rc; k++) {
        if (dmp_client_query(s, names[k], &t))
            continue;
        for (size_t i = 0; i < t.n && !rc; i++) {
            dmp_wire_rotation_t r;
            dmp_wire_revocation_t v;
            if (dmp_wire_rotation_parse(t.v[i].data, t.v[i].len, now, NULL, norm, nlen, &r) == 0 &&
                r.subject_type == DMP_WIRE_SUBJECT_USER) {
                dmp_wire_rotation_t *g = realloc(c->rot, (c->nrot + 1) * sizeof(*g));
                if (!g) {
                    rc = DMP_ENOMEM;
                    break;
                }
                c->rot = g;
                g[c->nrot++] = r;
            } else if (dmp_wire_revocation_parse(t.v[i].data, t.v[i].len, now, NULL, norm, nlen, -1,
                                                 &v) == 0 &&
                       v.subject_type == DMP_WIRE_SUBJECT_USER) {
                uint8_t(*g)[32] = realloc(c->revoked, (c->nrev + 1) * sizeof(*g));
                if (!g) {
                    rc = DMP_ENOMEM;
                    break;
                }
                c->revoked = g;
                memcpy(g[c->nrev++], v.revoked_spk, 32);
            }
        }
    }
    dmp_client_txtset_free(&t);
    return rc;
}

/* resolve_current_spk (client.md §5.8): 0 with head (== pinned when there is no rotation),
 * DMP_EAUTH when the pinned key or a key on the way is revoked, the chain forks, goes back or
 * runs past 4 hops. */
static int chain_head(const chain_t *c, const uint8_t pinned[32], uint8_t head[32])
{
    if (is_revoked(c, pinned))
        return DMP_EAUTH;
    uint8_t cur[32], visited[5][32];
    memcpy(cur, pinned, 32);
    memcpy(visited[0], pinned, 32);
    size_t nvis = 1;
    uint64_t last_seq = 0;
    for (int hop = 0; hop <= 4; hop++) {
        const dmp_wire_rotation_t *best = NULL;
        for (size_t i = 0; i < c->nrot; i++) {
            const dmp_wire_rotation_t *r = &c->rot[i];
            if (memcmp(r->old_spk, cur, 32) != 0)
                continue;
            if (best && memcmp(best->new_spk, r->new_spk, 32) != 0)
                return DMP_EAUTH; /* fork */
            if (!best || r->seq < best->seq)
                best = r;
        }
        if (!best) {
            memcpy(head, cur, 32);
            return 0;
        }
        if (hop == 4 || (hop > 0 && best->seq <= last_seq) || is_revoked(c, best->new_spk))
            return DMP_EAUTH;
        for (size_t v = 0; v < nvis; v++)
            if (memcmp(visited[v], best->new_spk, 32) == 0)
                return DMP_EAUTH;
        last_seq = best->seq;
        memcpy(cur, best->new_spk, 32);
        memcpy(visited[nvis++], cur, 32);
    }
    return DMP_EAUTH;
}

int dmp_client_rotation_head(dmp_client_session_t *s, const uint8_t pinned[32], const char *user,
                             const char *host, uint8_t head[32])
{
    chain_t c;
    int rc = chain_load(s, user, host, &c);
    if (!rc)
        rc = chain_head(&c, pinned, head);
    chain_free(&c);
    return rc;
}

/* ---------------------------------------------------------------- identity records */

/* Collects verifying identity records for user at host: dmp.<host> first, then
 * id-<hash16(user)>.<host> only when the first had none (the reference's order). *name gets the
 * name that answered. Records whose username differs (case-insensitively) are dropped when
 * match_user. */
int dmp_client_identity_lookup(dmp_client_session_t *s, const char *user, const char *host,
                               bool zone_first, bool match_user, dmp_wire_identity_t **out,
                               size_t *n, char *name, size_t ncap)
{
    *out = NULL;
    *n = 0;
    char names[2][DMP_WIRE_NAME_MAX];
    int nn = 0;
    if (zone_first && dmp_wire_name_identity_zone(host, names[nn], sizeof(names[0])) == 0)
        nn++;
    if (dmp_wire_name_identity(user, strlen(user), host, names[nn], sizeof(names[0])) == 0)
        nn++;
    if (nn == 0)
        return DMP_ENAME;
    dmp_client_txtset_t t;
    dmp_client_txtset_init(&t);
    int rc = DMP_ENOTFOUND, qrc = DMP_ENOTFOUND;
    bool any_values = false;
    for (int k = 0; k < nn; k++) {
        snprintf(name, ncap, "%s", names[k]);
        qrc = dmp_client_query(s, names[k], &t);
        if (qrc == 0 && t.n) {
            any_values = true;
            break;
        }
    }
    if (!any_values) {
        dmp_client_txtset_free(&t);
        return qrc == DMP_EIO ? DMP_EIO : DMP_ENOTFOUND;
    }
    rc = 0;
    for (size_t i = 0; i < t.n; i++) {
        dmp_wire_identity_t rec;
        if (dmp_wire_identity_parse(t.v[i].data, t.v[i].len, &rec))
            continue;
        if (match_user && (rec.username_len != strlen(user) ||
                           strncasecmp(rec.username, user, rec.username_len) != 0))
            continue;
        dmp_wire_identity_t *g = realloc(*out, (*n + 1) * sizeof(*g));
        if (!g) {
            rc = DMP_ENOMEM;
            break;
        }
        *out = g;
        g[(*n)++] = rec;
    }
    dmp_client_txtset_free(&t);
    return rc ? rc : (*n ? 0 : DMP_EFORMAT);
}

/* The rotate RRsets' verdict on fetched identity records (client.md §5.8, CLI identity fetch):
 * records whose key is revoked are dropped; when more than one remains, the ones superseded by
 * a rotation are dropped if that leaves one; and (our addition, client.md §9.2) when exactly one
 * remains and a rotation chain leads from it to another fetched record, that record wins. */
int dmp_client_identity_filter(dmp_client_session_t *s, const char *user, const char *host,
                               dmp_wire_identity_t *recs, size_t *n)
{
    chain_t c;
    int rc = chain_load(s, user, host, &c);
    if (rc)
        return rc;
    /* a re-published record (same keys, newer ts or versions) is the same identity: keep the
     * newest of each key pair (the reference would call the name ambiguous) */
    size_t u = 0;
    for (size_t i = 0; i < *n; i++) {
        size_t j = 0;
        while (j < u && !(memcmp(recs[j].x25519_pk, recs[i].x25519_pk, 32) == 0 &&
                          memcmp(recs[j].ed25519_spk, recs[i].ed25519_spk, 32) == 0))
            j++;
        if (j == u)
            recs[u++] = recs[i];
        else if (recs[i].ts > recs[j].ts)
            recs[j] = recs[i];
    }
    *n = u;
    size_t w = 0;
    for (size_t i = 0; i < *n; i++)
        if (!is_revoked(&c, recs[i].ed25519_spk))
            recs[w++] = recs[i];
    bool all_revoked = *n && w == 0;
    *n = w;
    if (*n > 1) {
        size_t keep = 0, idx = 0;
        for (size_t i = 0; i < *n; i++) {
            bool sup = false;
            for (size_t r = 0; r < c.nrot; r++)
                sup |= memcmp(c.rot[r].old_spk, recs[i].ed25519_spk, 32) == 0;
            if (!sup) {
                keep++;
                idx = i;
            }
        }
        if (keep == 1) {
            recs[0] = recs[idx];
            *n = 1;
        }
    }
    chain_free(&c);
    return all_revoked ? DMP_EAUTH : 0;
}

/* ---------------------------------------------------------------- prekeys */

/* A random verified, unexpired prekey of the contact, or *id = 0 (long-term key). */
int dmp_client_pick_prekey(dmp_client_session_t *s, const char *user, const char *host,
                           const uint8_t spk[32], uint32_t *id, uint8_t pk[32])
{
    *id = 0;
    char name[DMP_WIRE_NAME_MAX];
    if (dmp_wire_name_prekeys(user, strlen(user), host, name, sizeof(name)))
        return 0;
    dmp_client_txtset_t t;
    dmp_client_txtset_init(&t);
    if (dmp_client_query(s, name, &t)) {
        dmp_client_txtset_free(&t);
        return 0;
    }
    int64_t now = dmp_client_now(s);
    dmp_wire_prekey_t *ok = calloc(t.n ? t.n : 1, sizeof(*ok));
    size_t nok = 0;
    for (size_t i = 0; ok && i < t.n; i++) {
        dmp_wire_prekey_t p;
        if (dmp_wire_prekey_parse(t.v[i].data, t.v[i].len, spk, now, &p) == 0 &&
            !dmp_wire_prekey_expired(&p, now))
            ok[nok++] = p;
    }
    if (nok) {
        const dmp_wire_prekey_t *c = &ok[randombytes_uniform((uint32_t)nok)];
        *id = c->prekey_id;
        memcpy(pk, c->public_key, 32);
    }
    free(ok);
    dmp_client_txtset_free(&t);
    return 0;
}

/* Generates count prekeys, stores them, publishes them concurrently and records each published
 * wire; *published = how many the writer accepted. */
int dmp_client_refresh_prekeys(dmp_client_session_t *s, unsigned count, uint32_t ttl,
                               unsigned *published, dmp_client_http_result_t *last_fail)
{
    *published = 0;
    char name[DMP_WIRE_NAME_MAX];
    if (dmp_wire_name_prekeys(s->cfg.username, strlen(s->cfg.username), s->domain, name,
                              sizeof(name)) ||
        strlen(name) >= DMP_CLIENT_NAME_MAX)
        return DMP_ENAME;
    dmp_client_record_t *recs = calloc(count ? count : 1, sizeof(*recs));
    uint32_t *ids = calloc(count ? count : 1, sizeof(*ids));
    bool *ok = calloc(count ? count : 1, sizeof(*ok));
    dmp_client_http_result_t *res = calloc(count ? count : 1, sizeof(*res));
    int rc = recs && ids && ok && res ? 0 : DMP_ENOMEM;
    int64_t now = dmp_client_now(s);
    size_t made = 0;
    for (unsigned i = 0; i < count && !rc; i++) {
        dmp_crypto_prekey_t pk;
        bool taken = true;
        for (int tries = 0; tries < 10 && taken; tries++) {
            if ((rc = dmp_crypto_prekey_generate(&pk)))
                break;
            if (pk.id == 0)
                continue;
            if ((rc = dmp_client_prekeys_exists(s->prekeys, pk.id, &taken)))
                break;
        }
        if (!rc && taken)
            rc = DMP_EEXIST;
        if (!rc)
            rc = dmp_client_prekeys_add(s->prekeys, pk.id, pk.sk, pk.pk, now + ttl, now);
        dmp_wire_prekey_t w = {.prekey_id = pk.id, .exp = (uint64_t)(now + ttl)};
        memcpy(w.public_key, pk.pk, 32);
        dmp_crypto_prekey_wipe(&pk);
        if (rc)
            break;
        dmp_buf_t b;
        dmp_buf_init(&b);
        if ((rc = dmp_wire_prekey_encode(&w, s->id.ed_sk, &b)) || (rc = dmp_buf_append_u8(&b, 0))) {
            dmp_buf_free(&b);
            break;
        }
        memcpy(recs[made].name, name, strlen(name) + 1);
        recs[made].value = (char *)b.data;
        recs[made].value_len = b.len - 1;
        recs[made].ttl = ttl;
        ids[made++] = w.prekey_id;
    }
    if (!rc && made)
        rc = dmp_client_publish(s, recs, made, ok, res);
    for (size_t i = 0; i < made; i++) {
        if (!rc && ok[i]) {
            (*published)++;
            (void)dmp_client_prekeys_set_wire(s->prekeys, ids[i], recs[i].value);
        } else if (last_fail && res) {
            *last_fail = res[i];
        }
        free(recs[i].value);
    }
    free(recs);
    free(ids);
    free(ok);
    free(res);
    return rc;
}

/* ---------------------------------------------------------------- DMPv2 (client.md §3.7, §5.6) */

/* Our canonical address, username@(identity_domain or domain); false when it does not
 * canonicalize. */
bool dmp_client_own_address(const dmp_client_session_t *s, char *out, size_t cap)
{
    char raw[2 * DMP_CLIENT_STR + 2];
    snprintf(raw, sizeof(raw), "%s@%s", s->cfg.username,
             s->cfg.identity_domain[0] ? s->cfg.identity_domain : s->domain);
    return dmp_crypto_canonicalize_address(raw, strlen(raw), out, cap, NULL) == 0;
}

/* Whether the contact's identity record (same key as pinned) advertises protocol version 2. */
bool dmp_client_recipient_v2(dmp_client_session_t *s, const char *user, const char *host,
                             const uint8_t spk[32])
{
    dmp_wire_identity_t *recs = NULL;
    size_t n = 0;
    char name[DMP_WIRE_NAME_MAX];
    bool v2 = false;
    if (dmp_client_identity_lookup(s, user, host, true, true, &recs, &n, name, sizeof(name)) == 0)
        for (size_t i = 0; i < n; i++)
            if (memcmp(recs[i].ed25519_spk, spk, 32) == 0)
                for (size_t v = 0; v < recs[i].n_versions; v++)
                    v2 |= recs[i].versions[v] == 2;
    free(recs);
    return v2;
}

/* _resolve_envelope_label: the claimed sender address is shown only when its identity record
 * carries the key that signed the message; else "". */
void dmp_client_verify_label(dmp_client_session_t *s, const char *claimed, const uint8_t spk[32],
                             char *out, size_t cap)
{
    out[0] = 0;
    char canon[DMP_CRYPTO_ADDR_MAX + 1], user[DMP_CLIENT_STR], host[DMP_CLIENT_STR];
    if (!claimed[0] ||
        dmp_crypto_canonicalize_address(claimed, strlen(claimed), canon, sizeof(canon), NULL) ||
        dmp_wire_parse_address(canon, strlen(canon), user, sizeof(user), host, sizeof(host)))
        return;
    dmp_wire_identity_t *recs = NULL;
    size_t n = 0;
    char name[DMP_WIRE_NAME_MAX];
    if (dmp_client_identity_lookup(s, user, host, true, true, &recs, &n, name, sizeof(name)) == 0)
        for (size_t i = 0; i < n; i++)
            if (memcmp(recs[i].ed25519_spk, spk, 32) == 0)
                snprintf(out, cap, "%s", canon);
    free(recs);
}
