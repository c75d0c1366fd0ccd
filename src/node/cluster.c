/* node: the cluster threads. Creates the anti-entropy engine (src/cluster) over the node's store,
 * hands its pulled records to the one write path (dmp_node_apply, one transaction per record so
 * they batch on their shards and never park several shards at once), and runs the anti-entropy
 * and gossip rounds on two background threads at nice 13. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/node.h"

struct dmp_node_cluster {
    dmp_node_core_t *core;
    dmp_cluster_t *engine;
    dmp_node_bgthread_t ae, gossip;
};

static int64_t clock_real(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the write path, synchronously ---- */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t pending;
    int first_err;
} waiter_t;

static void txn_done(dmp_node_txn_t *t)
{
    waiter_t *w = t->ctx;
    pthread_mutex_lock(&w->mu);
    if (t->result != 0 && w->first_err == 0)
        w->first_err = t->result;
    w->pending--;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

#define APPLY_INFLIGHT 512

static int glue_apply(void *ctx, const dmp_cluster_change_t *ch, size_t n)
{
    dmp_node_cluster_t *nc = ctx;
    if (n == 0)
        return 0;
    dmp_node_change_t *chs = calloc(n, sizeof(*chs));
    dmp_node_txn_t *tx = calloc(n, sizeof(*tx));
    if (!chs || !tx) {
        free(chs);
        free(tx);
        return DMP_ENOMEM;
    }
    waiter_t w = {.pending = 0, .first_err = 0};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int err = 0;
    for (size_t i = 0; i < n && err == 0; i++) {
        int rc = dmp_node_change_set(&chs[i], ch[i].del ? DMP_NODE_CH_DEL_VALUE : DMP_NODE_CH_PUT,
                                     ch[i].name, ch[i].name_len, ch[i].value, ch[i].value_len,
                                     ch[i].ttl);
        if (rc != 0) {
            err = rc;
            break;
        }
        /* no per-name cap (the reference's sync writes bypass it too: a cap that differs
         * between nodes would keep them apart forever); values are checked like HTTP's */
        tx[i] = (dmp_node_txn_t){.changes = &chs[i],
                                 .n = 1,
                                 .cap = 0,
                                 .flags = DMP_NODE_TXN_CHECK_VALUES,
                                 .done = txn_done,
                                 .ctx = &w};
        pthread_mutex_lock(&w.mu);
        /* at most APPLY_INFLIGHT in the shards' task rings at once (1,024 slots each, shared
         * with the HTTP API's writes): a large group waits for completions instead of filling
         * the rings and timing out on them */
        while (w.pending >= APPLY_INFLIGHT)
            pthread_cond_wait(&w.cv, &w.mu);
        w.pending++;
        pthread_mutex_unlock(&w.mu);
        /* a full shard ring: wait a little (bounded), the shard drains it */
        for (int tries = 0;; tries++) {
            rc = dmp_node_apply(nc->core, &tx[i]);
            if (rc != DMP_EAGAIN || tries >= 1000)
                break;
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (rc != 0) {
            pthread_mutex_lock(&w.mu);
            w.pending--;
            pthread_mutex_unlock(&w.mu);
            err = rc;
        }
    }
    pthread_mutex_lock(&w.mu);
    while (w.pending > 0)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    free(chs);
    free(tx);
    return err ? err : w.first_err;
}

/* ---- threads ---- */
static void ae_tick(void *ctx)
{
    dmp_node_cluster_t *nc = ctx;
    int rc = dmp_cluster_tick(nc->engine);
    if (rc != 0 && rc != DMP_ENOTFOUND && rc != DMP_EAGAIN)
        dmp_debug("anti-entropy round: %s", dmp_cluster_strerror(rc));
}

static void gossip_tick(void *ctx)
{
    dmp_node_cluster_t *nc = ctx;
    int rc = dmp_cluster_gossip_tick(nc->engine);
    if (rc != 0 && rc != DMP_ENOTFOUND && rc != DMP_EAGAIN)
        dmp_debug("gossip: %s", dmp_cluster_strerror(rc));
}

int dmp_node_cluster_start(const dmp_node_config_t *cfg, dmp_store_t *store, dmp_node_core_t *core,
                           dmp_node_cluster_t **out, char *err, size_t errcap)
{
    *out = NULL;
    if (!cfg->sync_token) {
        if (cfg->sync_peers && *cfg->sync_peers)
            dmp_warn("DMP_SYNC_PEERS is set but DMP_SYNC_PEER_TOKEN is not: anti-entropy is off");
        return 0;
    }
    dmp_node_cluster_t *nc = calloc(1, sizeof(*nc));
    if (!nc)
        return DMP_ENOMEM;
    nc->core = core;
    int rc = dmp_cluster_http_global_init();
    dmp_cluster_env_t env = {.store = store,
                             .apply = glue_apply,
                             .ctx = nc,
                             .store_index = true,
                             .clock = {.now_ms = clock_real},
                             .token = cfg->sync_token,
                             .operator_spk =
                                 cfg->has_sync_operator_spk ? cfg->sync_operator_spk : NULL,
                             .base_domain = cfg->cluster_base_domain,
                             .self_url = cfg->sync_self_endpoint,
                             .self_id = cfg->node_id,
                             .pull_rate = cfg->sync_pull_rate};
    if (rc == 0)
        rc = dmp_cluster_new(&env, &nc->engine);
    if (rc != 0) {
        snprintf(err, errcap, "cannot start anti-entropy: %s", dmp_cluster_strerror(rc));
        free(nc);
        return rc;
    }
    if (cfg->sync_peers && *cfg->sync_peers) {
        dmp_cluster_peer_t peers[DMP_CLUSTER_MAX_PEERS];
        size_t n = 0;
        rc = dmp_cluster_peers_parse(cfg->sync_peers, cfg->sync_self_endpoint, cfg->node_id, peers,
                                     DMP_CLUSTER_MAX_PEERS, &n);
        if (rc == 0)
            rc = dmp_cluster_set_peers(nc->engine, peers, n);
        if (rc != 0) {
            snprintf(err, errcap,
                     "DMP_SYNC_PEERS: invalid value: expected at most %d comma-separated "
                     "http:// or https:// base URLs",
                     DMP_CLUSTER_MAX_PEERS);
            dmp_node_cluster_free(nc);
            return DMP_NODE_ECONFIG;
        }
    } else if (dmp_cluster_peers_from_store(nc->engine) == 0) {
        dmp_info("anti-entropy: peers from the stored cluster manifest");
    }
    dmp_cluster_peer_t tmp[1];
    size_t npeers = dmp_cluster_get_peers(nc->engine, tmp, 0);
    bool gossip = cfg->has_sync_operator_spk && cfg->cluster_base_domain;
    if (npeers > 0 || gossip) {
        nc->ae = (dmp_node_bgthread_t){.name = "anti-entropy",
                                       .interval_s = cfg->sync_interval,
                                       .tick = ae_tick,
                                       .ctx = nc,
                                       .nice = 13};
        if (dmp_node_bgthread_start(&nc->ae) != 0) {
            snprintf(err, errcap, "cannot start the anti-entropy thread");
            dmp_node_cluster_free(nc);
            return DMP_ENOMEM;
        }
    }
    if (gossip) {
        nc->gossip = (dmp_node_bgthread_t){.name = "gossip",
                                           .interval_s = cfg->sync_interval,
                                           .tick = gossip_tick,
                                           .ctx = nc,
                                           .nice = 13};
        if (dmp_node_bgthread_start(&nc->gossip) != 0) {
            snprintf(err, errcap, "cannot start the gossip thread");
            dmp_node_cluster_free(nc);
            return DMP_ENOMEM;
        }
    } else if (cfg->has_sync_operator_spk || cfg->cluster_base_domain) {
        dmp_warn("manifest gossip is off: it needs both DMP_SYNC_OPERATOR_SPK and "
                 "DMP_CLUSTER_BASE_DOMAIN");
    }
    char pace[48] = ", pulls unpaced";
    if (cfg->sync_pull_rate)
        snprintf(pace, sizeof(pace), ", pulls at most %u records/s", cfg->sync_pull_rate);
    dmp_info("anti-entropy: %zu peer(s), every %.3g s%s%s", npeers, cfg->sync_interval, pace,
             gossip ? ", manifest gossip on" : "");
    *out = nc;
    return 0;
}

dmp_cluster_t *dmp_node_cluster_engine(dmp_node_cluster_t *nc)
{
    return nc ? nc->engine : NULL;
}

void dmp_node_cluster_stop(dmp_node_cluster_t *nc)
{
    if (!nc)
        return;
    dmp_cluster_abort(nc->engine);
    dmp_node_bgthread_stop(&nc->ae);
    dmp_node_bgthread_stop(&nc->gossip);
}

void dmp_node_cluster_free(dmp_node_cluster_t *nc)
{
    if (!nc)
        return;
    dmp_node_cluster_stop(nc);
    dmp_cluster_free(nc->engine);
    free(nc);
}
