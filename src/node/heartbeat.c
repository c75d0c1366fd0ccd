/* node: the heartbeat worker (node.md §6.3). Each tick publishes our signed heartbeat at
 * _dnsmesh-heartbeat.<zone>, refreshes the public seed lists (every 6 h), harvests peers'
 * heartbeats over DNS into the SeenStore and republishes the newest ones at
 * _dnsmesh-seen.<zone>. Own records go through the node's one write path. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "node/node.h"
#include "wire/wire.h"

#define HB_SEED_REFRESH_S (6 * 3600)
#define HB_PER_RRSET 20
#define HB_SEEN_PUBLISH 50
#define HB_ACCEPT_SKEW 300
#define HB_LIST_SKEW 1000000000

typedef struct {
    char **v;
    size_t n;
} strv_t;

struct dmp_node_hb {
    dmp_node_hb_env_t env;
    const dmp_node_config_t *cfg;
    uint8_t sk64[64], spk[32];
    char spk_hex[65];
    char endpoint[DMP_WIRE_HB_ENDPOINT_MAX + 1];
    char version[DMP_WIRE_HB_VERSION_MAX + 1];
    char zone[256];
    char hb_name[300], seen_name[300];
    bool own_cleaned, seen_cleaned;
    uint8_t *prev_wire;
    size_t prev_len;
    strv_t seen_pub; /* wires published at _dnsmesh-seen last tick */
    strv_t urls;     /* public seed-list URLs */
    strv_t *url_zones;
    bool seeds_fetched;
    int64_t seeds_at;
    strv_t cooling; /* zones that failed last tick: skipped this tick */
    dmp_client_dns_t dns;
    bool dns_ready;
    dmp_node_bgthread_t bg;
    bool started;
    _Atomic bool stopping; /* set by free: the harvest stops between zones */
};

static void strv_free(strv_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static bool strv_has(const strv_t *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], x) == 0)
            return true;
    return false;
}

static int strv_add(strv_t *s, const char *x, size_t len)
{
    char **p = realloc(s->v, (s->n + 1) * sizeof(*p));
    if (!p)
        return DMP_ENOMEM;
    s->v = p;
    if (!(p[s->n] = malloc(len + 1)))
        return DMP_ENOMEM;
    memcpy(p[s->n], x, len);
    p[s->n][len] = 0;
    s->n++;
    return 0;
}

static int64_t now_s(dmp_node_hb_t *hb)
{
    if (hb->env.now_s)
        return hb->env.now_s(hb->env.ctx);
    return (int64_t)time(NULL);
}

/* ---- the operator key (node.md §1.9: 32 raw bytes or 64 hex chars) ---- */
static int load_key(const char *path, uint8_t seed[32])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return DMP_EIO;
    uint8_t buf[256];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    int rc = DMP_EINVAL;
    if (n == 32) {
        memcpy(seed, buf, 32);
        rc = 0;
    } else {
        size_t a = 0, b = n;
        while (a < b && (buf[a] == ' ' || (buf[a] >= '\t' && buf[a] <= '\r')))
            a++;
        while (b > a && (buf[b - 1] == ' ' || (buf[b - 1] >= '\t' && buf[b - 1] <= '\r')))
            b--;
        if (b - a == 64 && dmp_hex_decode((const char *)buf + a, 64, seed, 32) == 0)
            rc = 0;
    }
    dmp_wipe(buf, sizeof(buf));
    return rc;
}

/* ---- writes ---- */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int result;
} waiter_t;

static void txn_done(dmp_node_txn_t *t)
{
    waiter_t *w = t->ctx;
    pthread_mutex_lock(&w->mu);
    w->result = t->result;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int apply(dmp_node_hb_t *hb, dmp_node_change_t *ch, size_t n)
{
    if (n == 0)
        return 0;
    if (hb->env.apply)
        return hb->env.apply(hb->env.ctx, ch, n);
    waiter_t w = {.done = false};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    dmp_node_txn_t t = {.changes = ch, .n = n, .cap = 0, .done = txn_done, .ctx = &w};
    int rc;
    for (int tries = 0;; tries++) { /* a full shard ring drains quickly: bounded retry */
        rc = dmp_node_apply(hb->env.core, &t);
        if (rc != DMP_EAGAIN || tries >= 1000)
            break;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (rc == 0) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        rc = w.result;
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}

/* values currently stored at name */
static int collect(void *ctx, const char *name, size_t name_len, const dmp_store_record_t *r)
{
    (void)name;
    (void)name_len;
    strv_t *s = ctx;
    return strv_add(s, (const char *)r->value, r->value_len) != 0;
}

static void stored_values(dmp_node_hb_t *hb, const char *name, strv_t *out)
{
    (void)dmp_store_get(hb->env.store, name, strlen(name), now_s(hb) * 1000, collect, out);
}

/* changes array that grows */
typedef struct {
    dmp_node_change_t *c;
    size_t n;
} chv_t;

static int chv_add(chv_t *v, dmp_node_chop_t op, const char *name, const void *val, size_t len,
                   uint32_t ttl)
{
    dmp_node_change_t *p = realloc(v->c, (v->n + 1) * sizeof(*p));
    if (!p)
        return DMP_ENOMEM;
    v->c = p;
    int rc = dmp_node_change_set(&p[v->n], op, name, strlen(name), val, len, ttl);
    if (rc == 0)
        v->n++;
    return rc;
}

/* ---- step 1: publish our heartbeat ---- */
static void publish_own(dmp_node_hb_t *hb, int64_t now)
{
    dmp_wire_heartbeat_t h = {.magic_version = 3};
    memcpy(h.endpoint, hb->endpoint, sizeof(h.endpoint));
    h.endpoint_len = strlen(hb->endpoint);
    memcpy(h.operator_spk, hb->spk, 32);
    memcpy(h.version, hb->version, sizeof(h.version));
    h.version_len = strlen(hb->version);
    h.capabilities = hb->env.claim_provider ? DMP_WIRE_CAP_CLAIM_PROVIDER : 0;
    size_t zl = strlen(hb->zone);
    if (zl <= DMP_WIRE_HB_ZONE_MAX) { /* the served zone, even when the bit is 0 */
        memcpy(h.claim_provider_zone, hb->zone, zl + 1);
        h.zone_len = zl;
    }
    h.ts = (uint64_t)now;
    h.exp = (uint64_t)now + hb->cfg->hb_ttl;
    dmp_buf_t wire;
    dmp_buf_init(&wire);
    if (dmp_wire_heartbeat_encode(&h, hb->sk64, &wire) != 0) {
        dmp_warn("heartbeat self-wire build failed; skipping publish");
        dmp_buf_free(&wire);
        return;
    }
    chv_t ch = {0};
    strv_t old = {0};
    int rc = 0;
    if (!hb->own_cleaned) { /* once per process: our stale wires from an earlier run */
        stored_values(hb, hb->hb_name, &old);
        for (size_t i = 0; rc == 0 && i < old.n; i++) {
            dmp_wire_heartbeat_t o;
            size_t ol = strlen(old.v[i]);
            if (ol == wire.len && memcmp(old.v[i], wire.data, ol) == 0)
                continue;
            if (dmp_wire_heartbeat_parse((const uint8_t *)old.v[i], ol, now, HB_LIST_SKEW, &o) ==
                    0 &&
                memcmp(o.operator_spk, hb->spk, 32) == 0)
                rc = chv_add(&ch, DMP_NODE_CH_DEL_VALUE, hb->hb_name, old.v[i], ol, 0);
        }
    }
    if (rc == 0 && hb->prev_wire &&
        !(hb->prev_len == wire.len && memcmp(hb->prev_wire, wire.data, wire.len) == 0))
        rc = chv_add(&ch, DMP_NODE_CH_DEL_VALUE, hb->hb_name, hb->prev_wire, hb->prev_len, 0);
    if (rc == 0)
        rc = chv_add(&ch, DMP_NODE_CH_PUT, hb->hb_name, wire.data, wire.len, hb->cfg->hb_ttl);
    if (rc == 0)
        rc = apply(hb, ch.c, ch.n);
    if (rc == 0) {
        hb->own_cleaned = true;
        free(hb->prev_wire);
        hb->prev_wire = wire.data; /* keep */
        hb->prev_len = wire.len;
        dmp_buf_init(&wire);
    } else {
        dmp_warn("heartbeat: publishing %s failed (%d)", hb->hb_name, rc);
    }
    dmp_buf_free(&wire);
    free(ch.c);
    strv_free(&old);
}

/* ---- step 2: the zones to harvest and the harvest ---- */
static void add_zone(dmp_node_hb_t *hb, strv_t *zones, const char *seed, size_t len)
{
    char z[256];
    if (dmp_node_hb_zone_norm(seed, len, z, sizeof(z)) != 0 || strcmp(z, hb->zone) == 0 ||
        strv_has(zones, z))
        return;
    (void)strv_add(zones, z, strlen(z));
}

static void add_list(dmp_node_hb_t *hb, strv_t *zones, const char *list)
{
    for (const char *p = list; p && *p;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        add_zone(hb, zones, p, n);
        p = c ? c + 1 : NULL;
    }
}

static bool is_ip_literal(const char *h)
{
    uint8_t a[16];
    return inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1;
}

static void refresh_seed_lists(dmp_node_hb_t *hb, int64_t now)
{
    if (hb->cfg->hb_seed_urls_disabled || hb->urls.n == 0)
        return;
    if (hb->seeds_fetched && now - hb->seeds_at < HB_SEED_REFRESH_S)
        return;
    hb->seeds_fetched = true;
    hb->seeds_at = now; /* advances even on failure, as the reference */
    for (size_t i = 0; i < hb->urls.n && !atomic_load(&hb->stopping); i++) {
        dmp_buf_t body;
        dmp_buf_init(&body);
        int rc = hb->env.http_get
                     ? hb->env.http_get(hb->env.ctx, hb->urls.v[i], &body)
                     : dmp_node_hb_http_get(hb->urls.v[i], hb->cfg->hb_seed_allow_local, &body);
        char **z = NULL;
        size_t n = 0;
        if (rc == 0)
            rc = dmp_node_hb_seed_list_parse(body.data ? body.data : (const uint8_t *)"", body.len,
                                             &z, &n);
        if (rc == 0) { /* a failed URL keeps its previous list */
            strv_free(&hb->url_zones[i]);
            hb->url_zones[i] = (strv_t){.v = z, .n = n};
        } else {
            strv_t t = {.v = z, .n = n};
            strv_free(&t);
            dmp_info("heartbeat: seed list %s unavailable (%d)", hb->urls.v[i], rc);
        }
        dmp_buf_free(&body);
    }
}

static void harvest_zones(dmp_node_hb_t *hb, int64_t now, strv_t *zones)
{
    add_list(hb, zones, hb->cfg->hb_seeds);
    add_list(hb, zones, hb->cfg->sync_peers);
    for (size_t i = 0; i < hb->urls.n; i++)
        for (size_t j = 0; j < hb->url_zones[i].n; j++)
            add_zone(hb, zones, hb->url_zones[i].v[j], strlen(hb->url_zones[i].v[j]));
    size_t cap = hb->cfg->hb_seen_max_rows < 1000 ? hb->cfg->hb_seen_max_rows : 1000;
    dmp_node_seen_row_t *rows = calloc(cap ? cap : 1, sizeof(*rows));
    size_t n = rows ? dmp_node_seen_recent(hb->env.store, now, rows, cap) : 0;
    for (size_t i = 0; i < n; i++) {
        const dmp_wire_heartbeat_t *h = &rows[i].hb;
        if (h->zone_len) {
            add_zone(hb, zones, h->claim_provider_zone, h->zone_len);
        } else {
            char host[256];
            if (dmp_node_hb_zone_norm(h->endpoint, h->endpoint_len, host, sizeof(host)) == 0 &&
                !is_ip_literal(host))
                add_zone(hb, zones, host, strlen(host));
        }
    }
    free(rows);
    while (zones->n > hb->cfg->hb_max_peers)
        free(zones->v[--zones->n]);
}

static int txt_lookup(dmp_node_hb_t *hb, const char *name, dmp_client_txtset_t *out)
{
    if (hb->env.txt)
        return hb->env.txt(hb->env.ctx, name, out);
    return dmp_client_dns_txt(&hb->dns, name, out);
}

/* Returns the number of wires accepted from zone. */
static size_t harvest_zone(dmp_node_hb_t *hb, const char *zone, int64_t now)
{
    size_t accepted = 0;
    for (int k = 0; k < 2; k++) {
        char name[300];
        snprintf(name, sizeof(name), "%s.%s", k ? "_dnsmesh-seen" : "_dnsmesh-heartbeat", zone);
        dmp_client_txtset_t set;
        dmp_client_txtset_init(&set);
        if (txt_lookup(hb, name, &set) == 0) {
            for (size_t i = 0; i < set.n && i < HB_PER_RRSET; i++) {
                dmp_wire_heartbeat_t h;
                /* our own wires (copied back by peers) are dropped before the store */
                if (dmp_wire_heartbeat_parse(set.v[i].data, set.v[i].len, now, HB_ACCEPT_SKEW,
                                             &h) != 0 ||
                    memcmp(h.operator_spk, hb->spk, 32) == 0)
                    continue;
                int rc = dmp_node_seen_accept(hb->env.store, set.v[i].data, set.v[i].len, now,
                                              HB_ACCEPT_SKEW, NULL);
                if (rc == 0 || rc == DMP_EEXIST)
                    accepted++;
            }
        }
        dmp_client_txtset_free(&set);
    }
    return accepted;
}

static void harvest(dmp_node_hb_t *hb, int64_t now)
{
    strv_t zones = {0}, failed = {0};
    harvest_zones(hb, now, &zones);
    for (size_t i = 0; i < zones.n; i++) {
        if (atomic_load(&hb->stopping))
            break;
        if (strv_has(&hb->cooling, zones.v[i]))
            continue; /* failed last tick: skip one tick */
        if (harvest_zone(hb, zones.v[i], now) == 0)
            (void)strv_add(&failed, zones.v[i], strlen(zones.v[i]));
    }
    strv_free(&hb->cooling);
    hb->cooling = failed;
    strv_free(&zones);
    (void)dmp_node_seen_trim(hb->env.store, now, hb->cfg->hb_seen_max_rows);
}

/* ---- step 3: publish the seen list ---- */
static void publish_seen(dmp_node_hb_t *hb, int64_t now)
{
    dmp_node_seen_row_t *rows = calloc(HB_SEEN_PUBLISH + 1, sizeof(*rows));
    if (!rows)
        return;
    /* one extra row in case our own key is among them (it is never stored, but be safe) */
    size_t n = dmp_node_seen_recent(hb->env.store, now, rows, HB_SEEN_PUBLISH + 1);
    strv_t w = {0}, old = {0};
    for (size_t i = 0; i < n && w.n < HB_SEEN_PUBLISH; i++)
        if (memcmp(rows[i].hb.operator_spk, hb->spk, 32) != 0)
            (void)strv_add(&w, rows[i].wire, rows[i].wire_len);
    chv_t ch = {0};
    int rc = 0;
    if (!hb->seen_cleaned) {
        stored_values(hb, hb->seen_name, &old);
        for (size_t i = 0; rc == 0 && i < old.n; i++) {
            if (strv_has(&w, old.v[i]))
                continue;
            dmp_wire_heartbeat_t o;
            size_t ol = strlen(old.v[i]);
            if (dmp_wire_heartbeat_parse((const uint8_t *)old.v[i], ol, now, HB_LIST_SKEW, &o) != 0)
                continue;
            bool drop = memcmp(o.operator_spk, hb->spk, 32) == 0;
            for (size_t j = 0; !drop && j < n; j++) /* an older wire of a row in W */
                drop = memcmp(rows[j].hb.operator_spk, o.operator_spk, 32) == 0 &&
                       rows[j].hb.endpoint_len == o.endpoint_len &&
                       memcmp(rows[j].hb.endpoint, o.endpoint, o.endpoint_len) == 0;
            if (drop)
                rc = chv_add(&ch, DMP_NODE_CH_DEL_VALUE, hb->seen_name, old.v[i], ol, 0);
        }
    }
    for (size_t i = 0; rc == 0 && i < hb->seen_pub.n; i++)
        if (!strv_has(&w, hb->seen_pub.v[i]))
            rc = chv_add(&ch, DMP_NODE_CH_DEL_VALUE, hb->seen_name, hb->seen_pub.v[i],
                         strlen(hb->seen_pub.v[i]), 0);
    for (size_t i = 0; rc == 0 && i < w.n; i++)
        rc = chv_add(&ch, DMP_NODE_CH_PUT, hb->seen_name, w.v[i], strlen(w.v[i]), hb->cfg->hb_ttl);
    if (rc == 0)
        rc = apply(hb, ch.c, ch.n);
    if (rc == 0) {
        hb->seen_cleaned = true;
        strv_free(&hb->seen_pub);
        hb->seen_pub = w;
        w = (strv_t){0};
    } else {
        dmp_warn("heartbeat: publishing %s failed (%d)", hb->seen_name, rc);
    }
    free(ch.c);
    strv_free(&w);
    strv_free(&old);
    free(rows);
}

void dmp_node_hb_tick(dmp_node_hb_t *hb)
{
    int64_t now = now_s(hb);
    bool zone = hb->zone[0] != 0;
    if (zone)
        publish_own(hb, now);
    refresh_seed_lists(hb, now);
    harvest(hb, now);
    if (zone)
        publish_seen(hb, now);
}

static void bg_tick(void *ctx)
{
    dmp_node_hb_tick(ctx);
}

/* ---- life cycle ---- */
static void add_resolvers(dmp_node_hb_t *hb)
{
    dmp_client_dns_init(&hb->dns);
    hb->dns.timeout_ms = 3000;
    hb->dns.lifetime_ms = 6000;
    hb->dns.dnssec = hb->cfg->hb_dnssec;
    if (hb->cfg->hb_resolvers) {
        strv_t l = {0};
        const char *list = hb->cfg->hb_resolvers;
        for (const char *p = list; p && *p;) {
            const char *c = strchr(p, ',');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            if (strv_add(&l, p, n) == 0) {
                char *s = l.v[l.n - 1];
                while (*s == ' ')
                    s++;
                if (*s && dmp_client_dns_add(&hb->dns, s, 53) != 0)
                    dmp_warn("heartbeat: ignoring resolver '%s'", s);
            }
            p = c ? c + 1 : NULL;
        }
        strv_free(&l);
    } else {
        FILE *f = fopen("/etc/resolv.conf", "r");
        char line[256];
        while (f && fgets(line, sizeof(line), f)) {
            char ip[128], b[140];
            if (sscanf(line, " nameserver %127s", ip) != 1)
                continue;
            snprintf(b, sizeof(b), strchr(ip, ':') ? "[%s]" : "%s", ip);
            (void)dmp_client_dns_add(&hb->dns, b, 53);
        }
        if (f)
            fclose(f);
    }
    hb->dns_ready = true;
}

int dmp_node_hb_new(const dmp_node_hb_env_t *env, dmp_node_hb_t **out)
{
    *out = NULL;
    const dmp_node_config_t *cfg = env->cfg;
    if (!cfg->hb_enabled)
        return 0;
    if (!cfg->hb_self_endpoint || !*cfg->hb_self_endpoint) {
        dmp_error("DMP_HEARTBEAT_ENABLED but DMP_HEARTBEAT_SELF_ENDPOINT is not set: heartbeat "
                  "disabled");
        return 0;
    }
    if (!cfg->hb_key_path || !*cfg->hb_key_path) {
        dmp_error("DMP_HEARTBEAT_ENABLED but DMP_HEARTBEAT_OPERATOR_KEY_PATH is not set: "
                  "heartbeat disabled");
        return 0;
    }
    if (strlen(cfg->hb_self_endpoint) > DMP_WIRE_HB_ENDPOINT_MAX) {
        dmp_error("DMP_HEARTBEAT_SELF_ENDPOINT too long: heartbeat disabled");
        return 0;
    }
    dmp_node_hb_t *hb = calloc(1, sizeof(*hb));
    if (!hb)
        return DMP_ENOMEM;
    hb->env = *env;
    hb->cfg = cfg;
    uint8_t seed[32];
    if (load_key(cfg->hb_key_path, seed) != 0) {
        dmp_error("DMP_HEARTBEAT_OPERATOR_KEY_PATH %s: expected 32 raw bytes or 64 hex "
                  "characters: heartbeat disabled",
                  cfg->hb_key_path);
        free(hb);
        return 0;
    }
    int rc = dmp_crypto_ed25519_from_seed(seed, hb->spk, hb->sk64);
    dmp_wipe(seed, sizeof(seed));
    if (rc != 0) {
        free(hb);
        return rc;
    }
    dmp_hex_encode(hb->spk, 32, hb->spk_hex, sizeof(hb->spk_hex));
    snprintf(hb->endpoint, sizeof(hb->endpoint), "%s", cfg->hb_self_endpoint);
    snprintf(hb->version, sizeof(hb->version), "%s",
             cfg->hb_version ? cfg->hb_version : (env->version ? env->version : ""));
    if (cfg->served_zone) {
        snprintf(hb->zone, sizeof(hb->zone), "%s", cfg->served_zone);
        dmp_wire_name_heartbeat(hb->zone, hb->hb_name, sizeof(hb->hb_name));
        snprintf(hb->seen_name, sizeof(hb->seen_name), "_dnsmesh-seen.%s", hb->zone);
    } else {
        dmp_warn("heartbeat: no served zone (DMP_SERVED_ZONE): harvesting only, nothing "
                 "published");
    }
    if (dmp_wire_heartbeat_endpoint_check(hb->endpoint, strlen(hb->endpoint)) != 0)
        dmp_warn("DMP_HEARTBEAT_SELF_ENDPOINT '%s' is not a valid heartbeat endpoint: every "
                 "tick will skip the publish",
                 hb->endpoint);
    if (!cfg->hb_seed_urls_disabled) {
        for (const char *p = cfg->hb_seed_urls; p && *p;) {
            const char *c = strchr(p, ',');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            while (n && *p == ' ') {
                p++;
                n--;
            }
            while (n && p[n - 1] == ' ')
                n--;
            if (n)
                (void)strv_add(&hb->urls, p, n);
            p = c ? c + 1 : NULL;
        }
        hb->url_zones = calloc(hb->urls.n ? hb->urls.n : 1, sizeof(*hb->url_zones));
        if (!hb->url_zones) {
            dmp_node_hb_free(hb);
            return DMP_ENOMEM;
        }
    }
    if (!env->txt)
        add_resolvers(hb);
    if (!env->http_get && hb->urls.n && dmp_cluster_http_global_init() != 0)
        dmp_warn("heartbeat: libcurl init failed: no public seed lists");
    *out = hb;
    dmp_info("heartbeat on: %s, operator key %s, every %g s", hb->endpoint, hb->spk_hex,
             cfg->hb_interval);
    return 0;
}

int dmp_node_hb_start(dmp_node_hb_t *hb)
{
    hb->bg = (dmp_node_bgthread_t){.name = "heartbeat",
                                   .interval_s = hb->cfg->hb_interval,
                                   .tick = bg_tick,
                                   .ctx = hb,
                                   .nice = 13};
    dmp_node_bgthread_kick(&hb->bg); /* first tick at start */
    int rc = dmp_node_bgthread_start(&hb->bg);
    hb->started = rc == 0;
    return rc;
}

void dmp_node_hb_free(dmp_node_hb_t *hb)
{
    if (!hb)
        return;
    atomic_store(&hb->stopping, true);
    if (hb->started)
        dmp_node_bgthread_stop(&hb->bg);
    if (hb->dns_ready)
        dmp_client_dns_free(&hb->dns);
    for (size_t i = 0; hb->url_zones && i < hb->urls.n; i++)
        strv_free(&hb->url_zones[i]);
    free(hb->url_zones);
    strv_free(&hb->urls);
    strv_free(&hb->seen_pub);
    strv_free(&hb->cooling);
    free(hb->prev_wire);
    dmp_wipe(hb->sk64, sizeof(hb->sk64));
    free(hb);
}

const char *dmp_node_hb_spk_hex(const dmp_node_hb_t *hb)
{
    return hb ? hb->spk_hex : NULL;
}

const char *dmp_node_hb_endpoint(const dmp_node_hb_t *hb)
{
    return hb ? hb->endpoint : NULL;
}

size_t dmp_node_hb_peers(dmp_node_hb_t *hb, dmp_node_peer_row_t *rows, size_t cap)
{
    if (!hb || cap == 0)
        return 0;
    int64_t now = now_s(hb);
    /* our own row first (always fresh; overrides any gossiped copy of ourselves) */
    dmp_node_peer_row_t *self = &rows[0];
    memset(self, 0, sizeof(*self));
    snprintf(self->endpoint, sizeof(self->endpoint), "%s", hb->endpoint);
    snprintf(self->operator_spk_hex, sizeof(self->operator_spk_hex), "%s", hb->spk_hex);
    snprintf(self->version, sizeof(self->version), "%s", hb->version);
    self->ts = now;
    self->sources = 1;
    size_t n = 1;
    dmp_node_seen_row_t *seen = calloc(cap, sizeof(*seen));
    size_t ns = seen ? dmp_node_seen_recent(hb->env.store, now, seen, cap) : 0;
    for (size_t i = 0; i < ns && n < cap; i++) {
        const dmp_wire_heartbeat_t *h = &seen[i].hb;
        if (memcmp(h->operator_spk, hb->spk, 32) == 0 && h->endpoint_len == strlen(hb->endpoint) &&
            memcmp(h->endpoint, hb->endpoint, h->endpoint_len) == 0)
            continue;
        dmp_node_peer_row_t *r = &rows[n++];
        memset(r, 0, sizeof(*r));
        memcpy(r->endpoint, h->endpoint, h->endpoint_len);
        dmp_hex_encode(h->operator_spk, 32, r->operator_spk_hex, sizeof(r->operator_spk_hex));
        memcpy(r->version, h->version, h->version_len);
        r->ts = (int64_t)h->ts;
        r->sources = 1;
    }
    free(seen);
    return n;
}
