/* node: response rate limiting (RRL).
 *
 * As Knot's mod-rrl and NSD's rrl-*: responses are classified (answer, NODATA, NXDOMAIN,
 * error, large), and each (source prefix, class, qtype, name) pair has a token bucket of `rate`
 * responses per second holding at most one second's worth. NXDOMAINs and errors are about the
 * zone, not the qname (dmp_dns_result_t.rrl_name_hash), so a random-subdomain flood is one
 * bucket. A response over the limit is dropped, except every slip-th, which is sent as a TC=1
 * reply so a real client behind a spoofed-on prefix retries over TCP and gets its answer.
 * The table is a fixed set-associative array keyed by a keyed hash: bounded memory whatever the
 * flood, the least recently touched way evicted (a new bucket starts full, so eviction can only
 * let responses through, never block a real client).
 *
 * Threads: dmp_node_rrl_check is for one thread at a time; dmp_node_rrl_check_mt lets every
 * query thread (shards and frontends) share one table: the same accounting, with each set of
 * ways behind its own one-byte spinlock held for the few instructions of the bucket update, so
 * a response is limited the same whichever thread answered it. */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>

#include "node/node.h"
#include "util/util.h"

#define RRL_WAYS 4

typedef enum { C_ANSWER = 1, C_NODATA, C_NXDOMAIN, C_ERROR, C_LARGE } rrl_class_t;

/* A response of more than this many bytes is its own class (Knot: "large"), so an amplifying
 * answer is limited apart from the small ones for the same name. */
#define RRL_LARGE 1024

typedef struct {
    uint64_t key; /* 0 = empty way */
    int64_t last_ns;
    float tokens;
    uint16_t limited; /* limited responses since the last slip */
} rrl_bucket_t;

struct dmp_node_rrl {
    rrl_bucket_t *b;     /* nsets * RRL_WAYS */
    _Atomic uint8_t *lk; /* nsets spinlocks (dmp_node_rrl_check_mt) */
    size_t nsets;        /* power of two */
    double rate;
    unsigned slip;
    unsigned v4_prefix, v6_prefix;
    dmp_node_cidr_t *wl;
    size_t nwl;
    uint8_t hkey[16]; /* SipHash key: buckets cannot be aimed at from outside */
};

static void mask_prefix(uint8_t *a, size_t len, unsigned bits)
{
    for (size_t i = 0; i < len; i++) {
        unsigned lo = (unsigned)i * 8;
        if (bits >= lo + 8)
            continue;
        a[i] = bits <= lo ? 0 : (uint8_t)(a[i] & (0xFFu << (8 - (bits - lo))));
    }
}

bool dmp_node_cidr_match(const dmp_node_cidr_t *c, int family, const uint8_t *addr)
{
    if (!c || !addr || c->family != family)
        return false;
    size_t len = family == AF_INET ? 4 : 16;
    uint8_t a[16];
    memcpy(a, addr, len);
    mask_prefix(a, len, c->bits);
    return memcmp(a, c->addr, len) == 0;
}

static int parse_one(const char *tok, size_t n, dmp_node_cidr_t *c)
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf))
        return DMP_EFORMAT;
    memcpy(buf, tok, n);
    buf[n] = 0;
    char *slash = strchr(buf, '/');
    long bits = -1;
    if (slash) {
        *slash = 0;
        int64_t b;
        if (dmp_parse_i64(slash + 1, 0, 128, &b) != 0)
            return DMP_EFORMAT;
        bits = (long)b;
    }
    memset(c, 0, sizeof(*c));
    if (inet_pton(AF_INET, buf, c->addr) == 1) {
        c->family = AF_INET;
        if (bits > 32)
            return DMP_EFORMAT;
        c->bits = bits < 0 ? 32 : (unsigned)bits;
    } else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
        c->family = AF_INET6;
        c->bits = bits < 0 ? 128 : (unsigned)bits;
    } else {
        return DMP_EFORMAT;
    }
    uint8_t m[16];
    size_t len = c->family == AF_INET ? 4 : 16;
    memcpy(m, c->addr, len);
    mask_prefix(m, len, c->bits);
    return memcmp(m, c->addr, len) == 0 ? 0 : DMP_EFORMAT; /* host bits set: a typo */
}

int dmp_node_cidr_parse_list(const char *text, dmp_node_cidr_t **out, size_t *n)
{
    if (!out || !n)
        return DMP_EINVAL;
    *out = NULL;
    *n = 0;
    if (!text)
        return 0;
    size_t cap = 0, cnt = 0;
    dmp_node_cidr_t *v = NULL;
    const char *p = text;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, ", \t");
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 4;
            dmp_node_cidr_t *nv = realloc(v, nc * sizeof(*nv));
            if (!nv) {
                free(v);
                return DMP_ENOMEM;
            }
            v = nv;
            cap = nc;
        }
        if (parse_one(p, len, &v[cnt]) != 0) {
            free(v);
            return DMP_EFORMAT;
        }
        cnt++;
        p += len;
    }
    *out = v;
    *n = cnt;
    return 0;
}

int dmp_node_rrl_new(const dmp_node_rrl_config_t *cfg, dmp_node_rrl_t **out)
{
    if (!cfg || !out)
        return DMP_EINVAL;
    *out = NULL;
    if (!(cfg->rate > 0))
        return 0;
    if (cfg->v4_prefix < 1 || cfg->v4_prefix > 32 || cfg->v6_prefix < 1 || cfg->v6_prefix > 128)
        return DMP_EINVAL;
    size_t want = cfg->buckets ? cfg->buckets : 65536;
    size_t sets = 1;
    while (sets * RRL_WAYS < want && sets < ((size_t)1 << 26))
        sets <<= 1;
    dmp_node_rrl_t *r = calloc(1, sizeof(*r));
    if (!r)
        return DMP_ENOMEM;
    r->b = calloc(sets * RRL_WAYS, sizeof(*r->b));
    r->lk = calloc(sets, sizeof(*r->lk));
    if (cfg->nwhitelist) {
        r->wl = malloc(cfg->nwhitelist * sizeof(*r->wl));
        if (r->wl)
            memcpy(r->wl, cfg->whitelist, cfg->nwhitelist * sizeof(*r->wl));
    }
    if (!r->b || !r->lk || (cfg->nwhitelist && !r->wl)) {
        dmp_node_rrl_free(r);
        return DMP_ENOMEM;
    }
    r->nwl = cfg->nwhitelist;
    r->nsets = sets;
    r->rate = cfg->rate;
    r->slip = cfg->slip;
    r->v4_prefix = cfg->v4_prefix;
    r->v6_prefix = cfg->v6_prefix;
    randombytes_buf(r->hkey, sizeof(r->hkey));
    *out = r;
    return 0;
}

void dmp_node_rrl_free(dmp_node_rrl_t *r)
{
    if (!r)
        return;
    free(r->b);
    free((void *)r->lk);
    free(r->wl);
    free(r);
}

static rrl_class_t classify(const dmp_dns_result_t *res, size_t reply_len)
{
    switch (res->outcome) {
    case DMP_DNS_OUT_ANSWERED:
    case DMP_DNS_OUT_TRUNCATED:
        return reply_len > RRL_LARGE ? C_LARGE : C_ANSWER;
    case DMP_DNS_OUT_NODATA:
        return C_NODATA;
    case DMP_DNS_OUT_NXDOMAIN:
        return C_NXDOMAIN;
    default:
        return C_ERROR;
    }
}

/* True with the bucket key of a response in *key; false with the verdict that needs no bucket
 * (PASS, EXEMPT_*) in *v. */
static bool rrl_key(const dmp_node_rrl_t *r, const struct sockaddr *peer, socklen_t peer_len,
                    const dmp_dns_result_t *res, size_t reply_len, uint64_t *key,
                    dmp_node_rrl_verdict_t *v)
{
    *v = DMP_NODE_RRL_PASS;
    if (!r || !peer || !res)
        return false;
    if (res->cookie == DMP_DNS_COOKIE_VALID) {
        *v = DMP_NODE_RRL_EXEMPT_COOKIE;
        return false;
    }
    uint8_t a[16];
    size_t alen;
    int fam = peer->sa_family;
    if (fam == AF_INET && peer_len >= (socklen_t)sizeof(struct sockaddr_in)) {
        memcpy(a, &((const struct sockaddr_in *)peer)->sin_addr, 4);
        alen = 4;
    } else if (fam == AF_INET6 && peer_len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        memcpy(a, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
        alen = 16;
    } else {
        return false;
    }
    for (size_t i = 0; i < r->nwl; i++)
        if (dmp_node_cidr_match(&r->wl[i], fam, a)) {
            *v = DMP_NODE_RRL_EXEMPT_LIST;
            return false;
        }
    mask_prefix(a, alen, fam == AF_INET ? r->v4_prefix : r->v6_prefix);

    /* key: class | qtype | family | prefix | name hash, hashed with the table's secret */
    uint8_t k[4 + 16 + 8];
    k[0] = (uint8_t)classify(res, reply_len);
    k[1] = (uint8_t)(res->qtype >> 8);
    k[2] = (uint8_t)res->qtype;
    k[3] = (uint8_t)alen;
    memcpy(k + 4, a, alen);
    memcpy(k + 4 + alen, &res->rrl_name_hash, 8);
    uint64_t h;
    crypto_shorthash_siphash24((uint8_t *)&h, k, 4 + alen + 8, r->hkey);
    *key = h ? h : 1;
    return true;
}

/* Takes one response from the bucket h in its set (the caller owns the set). */
static dmp_node_rrl_verdict_t rrl_take(dmp_node_rrl_t *r, rrl_bucket_t *set, uint64_t h,
                                       int64_t now_ns)
{
    rrl_bucket_t *hit = NULL, *victim = &set[0];
    for (int w = 0; w < RRL_WAYS; w++) {
        rrl_bucket_t *e = &set[w];
        if (e->key == h) {
            hit = e;
            break;
        }
        if (victim->key != 0 && (e->key == 0 || e->last_ns < victim->last_ns))
            victim = e;
    }
    double cap = r->rate; /* one second's worth */
    if (!hit) {
        hit = victim;
        hit->key = h;
        hit->tokens = (float)cap;
        hit->limited = 0;
        hit->last_ns = now_ns;
    } else if (now_ns > hit->last_ns) {
        double t = hit->tokens + (double)(now_ns - hit->last_ns) * 1e-9 * r->rate;
        hit->tokens = (float)(t > cap ? cap : t);
        hit->last_ns = now_ns;
    }
    if (hit->tokens >= 1.0f) {
        hit->tokens -= 1.0f;
        return DMP_NODE_RRL_PASS;
    }
    if (r->slip && ++hit->limited >= r->slip) {
        hit->limited = 0;
        return DMP_NODE_RRL_SLIP;
    }
    return DMP_NODE_RRL_DROP;
}

dmp_node_rrl_verdict_t dmp_node_rrl_check(dmp_node_rrl_t *r, const struct sockaddr *peer,
                                          socklen_t peer_len, const dmp_dns_result_t *res,
                                          size_t reply_len, int64_t now_ns)
{
    uint64_t h = 0;
    dmp_node_rrl_verdict_t v;
    if (!rrl_key(r, peer, peer_len, res, reply_len, &h, &v))
        return v;
    return rrl_take(r, &r->b[(h & (r->nsets - 1)) * RRL_WAYS], h, now_ns);
}

dmp_node_rrl_verdict_t dmp_node_rrl_check_mt(dmp_node_rrl_t *r, const struct sockaddr *peer,
                                             socklen_t peer_len, const dmp_dns_result_t *res,
                                             size_t reply_len, int64_t now_ns)
{
    uint64_t h = 0;
    dmp_node_rrl_verdict_t v;
    if (!rrl_key(r, peer, peer_len, res, reply_len, &h, &v))
        return v;
    size_t si = h & (r->nsets - 1);
    _Atomic uint8_t *lk = &r->lk[si];
    /* held for a few dozen instructions; a holder preempted meanwhile is waited out by
     * yielding rather than spinning */
    for (unsigned spins = 0; atomic_exchange_explicit(lk, 1, memory_order_acquire) != 0;) {
        if (++spins >= 64) {
            spins = 0;
            sched_yield();
        }
    }
    v = rrl_take(r, &r->b[si * RRL_WAYS], h, now_ns);
    atomic_store_explicit(lk, 0, memory_order_release);
    return v;
}
