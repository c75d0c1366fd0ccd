/* node: RFC 2136 UPDATE with TSIG and the anonymous claim exception (see dns_update.h). */
#include "node/dns_update.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/dns.h"
#include "node/tsig_keys.h"
#include "util/util.h"
#include "wire/wire.h"

#define MAX_OPS 256 /* more update RRs than this in one message: REFUSED */

struct dmp_node_update {
    const dmp_node_config_t *cfg;
    dmp_node_update_cfg_t u;
    dmp_store_t *store;
    dmp_node_core_t *core;
    int64_t (*now_ms)(void);
    const char *zone; /* "" when none */
    dmp_upd_limits_t lim;
    pthread_mutex_t rl_mu; /* the claim limiter is shared by every shard */
    dmp_node_rl_t *claim_rl;
    _Atomic uint64_t c_received, c_noerror, c_refused, c_notauth, c_formerr, c_servfail, c_notzone,
        c_prereq, c_badkey, c_badsig, c_badtime, c_claims, c_claims_throttled;
};

static bool truthy4(const char *v)
{
    if (!v)
        return false;
    while (*v == ' ' || *v == '\t')
        v++;
    return !strncasecmp(v, "1", 2) || !strncasecmp(v, "true", 5) || !strncasecmp(v, "yes", 4) ||
           !strncasecmp(v, "on", 3);
}

void dmp_node_update_cfg_load(dmp_node_update_cfg_t *u, const dmp_node_config_t *cfg,
                              dmp_node_getenv_fn getenv_fn, void *env_ctx)
{
    memset(u, 0, sizeof(*u));
    const char *v;
#define ENV(n) (getenv_fn ? getenv_fn(n, env_ctx) : NULL)
    u->enabled = truthy4(ENV("DMP_DNS_UPDATE_ENABLED"));
    v = ENV("DMP_CLAIM_PROVIDER");
    bool opt_out = v && (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
                         !strcasecmp(v, "off"));
    u->claim_provider = cfg && cfg->served_zone && cfg->served_zone[0] && !opt_out;
    u->receiver_claims = truthy4(ENV("DMP_RECEIVER_CLAIM_NOTIFICATIONS"));
    int64_t i64;
    double d;
    u->claim_max_ttl = 86400;
    if ((v = ENV("DMP_CLAIM_MAX_TTL")) && dmp_parse_i64(v, INT64_MIN, INT64_MAX, &i64) == 0)
        u->claim_max_ttl = i64;
    u->claim_rate = 0.5;
    if ((v = ENV("DMP_CLAIM_RATE_PER_USER_PER_SEC")) && dmp_parse_double(v, -1e300, 1e300, &d) == 0)
        u->claim_rate = d;
    u->claim_burst = 30;
    if ((v = ENV("DMP_CLAIM_RATE_BURST")) && dmp_parse_double(v, -1e300, 1e300, &d) == 0)
        u->claim_burst = d;
    u->tsig_loose = truthy4(ENV("DMP_TSIG_LOOSE_SCOPE"));
    u->tsig_tight = truthy4(ENV("DMP_TSIG_TIGHT_SCOPE"));
    /* each waits for its WAL sync (a group every few ms): 8 held a loaded node to ~1,150
     * UPDATEs/s, 32 to the 2,000/s offered (bench/queries-under-updates.sh) for 2.7 MiB more */
    u->workers = 32;
    if ((v = ENV("DMP_UPDATE_WORKERS")) && dmp_parse_i64(v, 1, 64, &i64) == 0)
        u->workers = (unsigned)i64;
#undef ENV
}

int dmp_node_update_new(const dmp_node_update_opts_t *o, dmp_node_update_t **out)
{
    *out = NULL;
    if (!o || !o->cfg || !o->store || !o->core || !o->now_ms)
        return DMP_EINVAL;
    dmp_node_update_t *u = calloc(1, sizeof(*u));
    if (!u)
        return DMP_ENOMEM;
    u->cfg = o->cfg;
    u->u = o->ucfg;
    u->store = o->store;
    u->core = o->core;
    u->now_ms = o->now_ms;
    u->zone = o->cfg->served_zone ? o->cfg->served_zone : "";
    u->lim.max_value_bytes = o->cfg->max_value_bytes;
    u->lim.max_ttl = o->cfg->max_ttl;
    pthread_mutex_init(&u->rl_mu, NULL);
    if (dmp_node_rl_new(u->u.claim_rate, u->u.claim_burst, 10000, 0, &u->claim_rl) != 0) {
        free(u);
        return DMP_ENOMEM;
    }
    *out = u;
    return 0;
}

void dmp_node_update_free(dmp_node_update_t *u)
{
    if (!u)
        return;
    dmp_node_rl_free(u->claim_rl);
    pthread_mutex_destroy(&u->rl_mu);
    free(u);
}

bool dmp_node_update_enabled(const dmp_node_update_t *u)
{
    return u && u->u.enabled;
}

void dmp_node_update_stats(const dmp_node_update_t *u, dmp_node_update_stats_t *o)
{
    memset(o, 0, sizeof(*o));
    if (!u)
        return;
    o->received = atomic_load(&u->c_received);
    o->noerror = atomic_load(&u->c_noerror);
    o->refused = atomic_load(&u->c_refused);
    o->notauth = atomic_load(&u->c_notauth);
    o->formerr = atomic_load(&u->c_formerr);
    o->servfail = atomic_load(&u->c_servfail);
    o->notzone = atomic_load(&u->c_notzone);
    o->prereq_failed = atomic_load(&u->c_prereq);
    o->tsig_badkey = atomic_load(&u->c_badkey);
    o->tsig_badsig = atomic_load(&u->c_badsig);
    o->tsig_badtime = atomic_load(&u->c_badtime);
    o->claims_accepted = atomic_load(&u->c_claims);
    o->claims_throttled = atomic_load(&u->c_claims_throttled);
}

/* ---------------------------------------------------------------------------------------- */

unsigned dmp_node_update_workers(const dmp_node_update_t *u)
{
    return u && u->u.enabled ? u->u.workers : 0;
}

bool dmp_node_update_route(const dmp_node_update_t *u, const uint8_t *pkt, size_t len,
                           unsigned *worker)
{
    if (!u || !u->u.enabled || len < DMP_DNS_HDR_LEN || (pkt[2] & 0x80) ||
        ((pkt[2] >> 3) & 0xF) != DMP_DNS_OPCODE_UPDATE)
        return false;
    *worker = dmp_load_u16be(pkt) % u->u.workers;
    return true;
}

/* ---------------------------------------------------------------------------------------- */
/* prerequisites: the node's view of a name                                                    */

typedef struct {
    dmp_node_update_t *u;
    int64_t now_ms;
    dmp_buf_t vals;
    dmp_dns_value_t v[64];
    size_t off[64];
    size_t n;
} prq_ctx_t;

static int collect(void *ctx, const char *name, size_t name_len, const dmp_store_record_t *r)
{
    (void)name;
    (void)name_len;
    prq_ctx_t *p = ctx;
    if (p->n >= 64)
        return 1;
    p->off[p->n] = p->vals.len;
    p->v[p->n].len = r->value_len;
    if (dmp_buf_append(&p->vals, r->value, r->value_len) != 0)
        return 1;
    p->n++;
    return 0;
}

static int name_state(void *ctx, const char *lname, size_t len, dmp_upd_name_state_t *out)
{
    prq_ctx_t *p = ctx;
    p->vals.len = 0;
    p->n = 0;
    int rc = dmp_store_get(p->u->store, lname, len, p->now_ms, collect, p);
    if (rc != 0 && rc != DMP_ENOTFOUND)
        return rc;
    for (size_t i = 0; i < p->n; i++)
        p->v[i].data = p->vals.data + p->off[i];
    bool desc = false;
    if (p->n == 0 && dmp_store_has_descendant(p->u->store, lname, len, p->now_ms, &desc) != 0)
        return DMP_EIO;
    bool apex = strlen(p->u->zone) == len && memcmp(p->u->zone, lname, len) == 0;
    const dmp_node_config_t *c = p->u->cfg;
    out->txt = p->v;
    out->n_txt = p->n;
    out->has_other_types = apex && (c->apex_a || c->apex_aaaa || c->apex_ns);
    out->exists = p->n > 0 || desc || apex;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* authorisation                                                                               */

/* TSIG'd: every op must be in the key's scope (node.md §5.4); the key row is read again so a
 * key revoked a moment ago no longer writes. */
static uint8_t auth_tsig(dmp_node_update_t *u, const dmp_dns_update_t *m, const char *key_name,
                         int64_t now_s)
{
    dmp_node_tsig_rec_t rec;
    int rc = dmp_node_tsig_get(u->store, key_name, &rec);
    if (rc != 0 && rc != DMP_ENOTFOUND && rc != DMP_EFORMAT)
        return DMP_DNS_RCODE_SERVFAIL;
    uint8_t out = DMP_DNS_RCODE_NOERROR;
    if (rc != 0 || !dmp_node_tsig_active(&rec, now_s))
        out = DMP_DNS_RCODE_REFUSED;
    for (size_t i = 0; out == 0 && i < m->n_ops; i++) {
        const dmp_upd_op_t *op = &m->ops[i];
        if (op->kind == DMP_UPD_NOOP)
            continue;
        if (!dmp_node_tsig_covers(&rec, op->owner, op->kind != DMP_UPD_ADD))
            out = DMP_DNS_RCODE_REFUSED;
    }
    dmp_node_tsig_rec_wipe(&rec);
    return out;
}

/* Anonymous: only signed claims at claim-N.mb-<hash12>.<zone> (node.md §2.6). *ttl_cap is
 * the claim TTL clamp. */
static uint8_t auth_anon(dmp_node_update_t *u, dmp_dns_update_t *m, int64_t now_s)
{
    if (!u->u.claim_provider && !u->u.receiver_claims)
        return DMP_DNS_RCODE_REFUSED;
    size_t txt_ops = 0;
    for (size_t i = 0; i < m->n_ops; i++)
        txt_ops += m->ops[i].kind != DMP_UPD_NOOP;
    if (txt_ops == 0 || txt_ops != m->n_ops)
        return DMP_DNS_RCODE_REFUSED;
    bool m10_only = u->u.receiver_claims && !u->u.claim_provider;
    size_t zl = strlen(u->zone);
    for (size_t i = 0; i < m->n_ops; i++) {
        dmp_upd_op_t *op = &m->ops[i];
        if (op->kind != DMP_UPD_ADD)
            return DMP_DNS_RCODE_REFUSED;
        char h12[13];
        if (dmp_wire_claim_owner_match(op->owner, op->owner_len, u->zone, zl, h12) != 0)
            return DMP_DNS_RCODE_REFUSED;
        if (m10_only) {
            bool reg = false;
            if (dmp_node_tsig_recipient_registered(u->store, u->zone, h12, now_s, &reg) != 0 ||
                !reg) {
                dmp_info("update: anonymous claim for unregistered recipient %s refused", h12);
                return DMP_DNS_RCODE_REFUSED;
            }
        }
        dmp_wire_claim_t c;
        if (dmp_wire_claim_parse(dmp_dns_update_value(m, op->value_off), op->value_len, now_s,
                                 &c) != 0)
            return DMP_DNS_RCODE_REFUSED;
        if (u->u.claim_max_ttl > 0 && (int64_t)c.exp - now_s > u->u.claim_max_ttl)
            return DMP_DNS_RCODE_REFUSED;
        pthread_mutex_lock(&u->rl_mu);
        dmp_node_rl_verdict_t v = dmp_node_rl_check(u->claim_rl, h12, 12, dmp_monotonic_ns());
        pthread_mutex_unlock(&u->rl_mu);
        if (v != DMP_NODE_RL_ALLOW) {
            atomic_fetch_add(&u->c_claims_throttled, 1);
            dmp_info("update: claim rate limit for recipient %s", h12);
            return DMP_DNS_RCODE_SERVFAIL;
        }
        if (u->u.claim_max_ttl > 0 && op->ttl > (uint64_t)u->u.claim_max_ttl)
            op->ttl = (uint32_t)u->u.claim_max_ttl;
    }
    atomic_fetch_add(&u->c_claims, m->n_ops);
    return DMP_DNS_RCODE_NOERROR;
}

/* ---------------------------------------------------------------------------------------- */
/* apply                                                                                       */

/* The worker waits for its transaction: done() runs on a shard or on the WAL-sync thread. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
} waiter_t;

static void txn_done(dmp_node_txn_t *t)
{
    waiter_t *w = t->ctx;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static uint8_t apply(dmp_node_update_t *u, const dmp_dns_update_t *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_ops; i++)
        n += m->ops[i].kind != DMP_UPD_NOOP;
    if (n == 0)
        return DMP_DNS_RCODE_NOERROR;
    dmp_node_change_t *ch = calloc(n, sizeof(*ch));
    if (!ch)
        return DMP_DNS_RCODE_SERVFAIL;
    size_t k = 0;
    uint8_t rc = DMP_DNS_RCODE_NOERROR;
    for (size_t i = 0; i < m->n_ops && rc == 0; i++) {
        const dmp_upd_op_t *op = &m->ops[i];
        dmp_node_chop_t c;
        switch (op->kind) {
        case DMP_UPD_ADD:
            c = DMP_NODE_CH_PUT;
            if (!dmp_node_name_valid(op->owner, op->owner_len))
                rc = DMP_DNS_RCODE_REFUSED; /* the reference's record-name rule */
            break;
        case DMP_UPD_DEL_VALUE:
            c = DMP_NODE_CH_DEL_VALUE;
            break;
        case DMP_UPD_DEL_RRSET:
        case DMP_UPD_DEL_NAME: /* we hold only TXT: every RRset at the name is the TXT one */
            c = DMP_NODE_CH_DEL_ALL;
            break;
        default:
            continue;
        }
        bool v = c != DMP_NODE_CH_DEL_ALL;
        if (rc == 0 && dmp_node_change_set(&ch[k++], c, op->owner, op->owner_len,
                                           v ? dmp_dns_update_value(m, op->value_off) : NULL,
                                           v ? op->value_len : 0, op->ttl) != 0)
            rc = DMP_DNS_RCODE_REFUSED;
    }
    if (rc == 0) {
        dmp_node_txn_t t;
        memset(&t, 0, sizeof(t));
        t.changes = ch;
        t.n = k;
        t.cap = u->cfg->max_values_per_name;
        t.flags = DMP_NODE_TXN_CHECK_SIZE;
        t.done = txn_done;
        waiter_t w = {.done = false};
        pthread_mutex_init(&w.mu, NULL);
        pthread_cond_init(&w.cv, NULL);
        t.ctx = &w;
        int r = dmp_node_apply(u->core, &t);
        if (r == 0) {
            pthread_mutex_lock(&w.mu);
            while (!w.done)
                pthread_cond_wait(&w.cv, &w.mu);
            pthread_mutex_unlock(&w.mu);
        }
        pthread_cond_destroy(&w.cv);
        pthread_mutex_destroy(&w.mu);
        if (r != 0) { /* a shard ring is full (busy) or the node is stopping */
            rc = DMP_DNS_RCODE_SERVFAIL;
        } else if (t.result == DMP_EFULL || t.result == DMP_EMSGSIZE || t.result == DMP_ETOOBIG ||
                   t.result == DMP_ENAME || t.result == DMP_EINVAL) {
            rc = DMP_DNS_RCODE_REFUSED;
        } else if (t.result != 0) {
            rc = DMP_DNS_RCODE_SERVFAIL;
        }
    }
    free(ch);
    return rc;
}

static void count_rcode(dmp_node_update_t *u, uint8_t rc)
{
    switch (rc) {
    case DMP_DNS_RCODE_NOERROR:
        atomic_fetch_add(&u->c_noerror, 1);
        break;
    case DMP_DNS_RCODE_REFUSED:
        atomic_fetch_add(&u->c_refused, 1);
        break;
    case DMP_DNS_RCODE_NOTAUTH:
        atomic_fetch_add(&u->c_notauth, 1);
        break;
    case DMP_DNS_RCODE_FORMERR:
        atomic_fetch_add(&u->c_formerr, 1);
        break;
    case DMP_DNS_RCODE_SERVFAIL:
        atomic_fetch_add(&u->c_servfail, 1);
        break;
    case DMP_DNS_RCODE_NOTZONE:
        atomic_fetch_add(&u->c_notzone, 1);
        break;
    default:
        atomic_fetch_add(&u->c_prereq, 1);
        break;
    }
}

void dmp_node_update_handle(dmp_node_update_t *u, const uint8_t *pkt, size_t len, uint8_t *out,
                            size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (!u || len < DMP_DNS_HDR_LEN || (pkt[2] & 0x80))
        return;
    atomic_fetch_add(&u->c_received, 1);
    int64_t now_ms = u->now_ms(), now_s = now_ms / 1000;
    dmp_node_tsig_env_t kenv = {u->store, now_s};
    dmp_tsig_state_t st;
    int rc = dmp_tsig_verify_request(pkt, len, now_s, dmp_node_tsig_lookup, &kenv, &st);
    if (rc != 0) { /* keystore unreadable */
        dmp_dns_update_reply(NULL, pkt, len, DMP_DNS_RCODE_SERVFAIL, out, cap, out_len);
        count_rcode(u, DMP_DNS_RCODE_SERVFAIL);
        return;
    }
    if (st.status != DMP_TSIG_NONE && st.status != DMP_TSIG_OK) {
        if (dmp_tsig_error_reply(pkt, len, &st, now_s, out, cap, out_len) != 0)
            *out_len = 0;
        if (st.error == DMP_TSIG_ERR_BADKEY)
            atomic_fetch_add(&u->c_badkey, 1);
        else if (st.error == DMP_TSIG_ERR_BADSIG)
            atomic_fetch_add(&u->c_badsig, 1);
        else if (st.error == DMP_TSIG_ERR_BADTIME)
            atomic_fetch_add(&u->c_badtime, 1);
        count_rcode(u,
                    st.status == DMP_TSIG_FORMERR ? DMP_DNS_RCODE_FORMERR : DMP_DNS_RCODE_NOTAUTH);
        dmp_tsig_state_wipe(&st);
        return;
    }
    dmp_dns_update_t m;
    rc = dmp_dns_update_parse(pkt, len, u->zone, &u->lim, &m);
    uint8_t rcode = rc == 0 ? m.rcode : DMP_DNS_RCODE_SERVFAIL;
    if (rc == DMP_EFORMAT) {
        dmp_dns_update_free(&m);
        dmp_tsig_state_wipe(&st);
        return;
    }
    if (rcode == 0 && m.n_ops > MAX_OPS)
        rcode = DMP_DNS_RCODE_REFUSED;
    if (rcode == 0 && m.n_prqs) {
        prq_ctx_t *p = calloc(1, sizeof(*p));
        if (!p) {
            rcode = DMP_DNS_RCODE_SERVFAIL;
        } else {
            p->u = u;
            p->now_ms = now_ms;
            dmp_buf_init(&p->vals);
            if (dmp_dns_update_prereqs(&m, name_state, p, &rcode) != 0)
                rcode = DMP_DNS_RCODE_SERVFAIL;
            dmp_buf_free(&p->vals);
            free(p);
        }
    }
    if (rcode == 0)
        rcode = st.status == DMP_TSIG_OK ? auth_tsig(u, &m, st.rr.key_name, now_s)
                                         : auth_anon(u, &m, now_s);
    if (rcode == 0)
        rcode = apply(u, &m);
    count_rcode(u, rcode);
    if (dmp_dns_update_reply(&m, pkt, len, rcode, out, cap, out_len) != 0 ||
        dmp_tsig_reply_finish(&st, now_s, out, out_len, cap) != 0)
        *out_len = 0;
    dmp_dns_update_free(&m);
    dmp_tsig_state_wipe(&st);
}
