/* Unit tests: the anti-entropy engine end to end in one process — three engines over three
 * real stores, their HTTP exchanges routed in memory to each other's serve(): Merkle rounds,
 * digest-protocol fallback, tombstones, refused records, lying peers, gossip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluster_url.h"
#include "cluster/cluster.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "wire/wire.h"

#define NN 3
#define TOKEN "t0k"

typedef struct node {
    dmp_store_t *s;
    dmp_cluster_t *c;
    bool lie;     /* answer every request with garbage */
    bool no_leaf; /* behave like a reference node: no Merkle routes */
} node_t;

static char g_dir[64];
static size_t g_leaf_resp_bytes;      /* bodies of merkle-leaf responses, all nodes */
static size_t g_max_pull, g_max_diff; /* engine bounds of the next make_node (0 = default) */
static uint32_t g_pull_rate;          /* DMP_SYNC_PULL_RATE of the next make_node */
/* pacing: the engine's waits (they advance the clock), and each pull request node 0 sends
 * (the clock then and the records node 0 had pulled before it) */
static int64_t g_slept_ms;
static unsigned g_sleeps, g_abort_after;
static int64_t g_pull_at[64];
static uint64_t g_pulled_before[64];
static size_t g_npulls;
static node_t g_nodes[NN];
static int64_t g_now = 1800000000000LL;

static int64_t clock_fn(void *ctx)
{
    (void)ctx;
    return g_now;
}

static int apply_fn(void *ctx, const dmp_cluster_change_t *ch, size_t n)
{
    node_t *nd = ctx;
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (ch[i].del) {
            size_t removed;
            rc = dmp_store_delete(nd->s, ch[i].name, ch[i].name_len, ch[i].value, ch[i].value_len,
                                  &removed);
            if (rc == DMP_ENOTFOUND)
                rc = 0;
        } else {
            rc = dmp_store_put(nd->s, ch[i].name, ch[i].name_len, ch[i].value, ch[i].value_len,
                               ch[i].ttl, g_now);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* In-memory transport: http://n<i> routes to node i's serve(). */
static int http_fn(void *hctx, const char *url, const uint8_t *body, size_t len, const char *ctype,
                   dmp_cluster_http_resp_t *resp)
{
    (void)hctx;
    (void)ctype;
    memset(resp, 0, sizeof(*resp));
    if (strncmp(url, "http://n", 8) != 0)
        return DMP_CLUSTER_EHTTP;
    int i = url[8] - '0';
    if (i < 0 || i >= NN)
        return DMP_CLUSTER_EHTTP;
    node_t *nd = &g_nodes[i];
    if (nd->lie) {
        resp->status = 200;
        resp->body = malloc(7);
        memcpy(resp->body, "{\"x\":[", 6);
        resp->len = 6;
        return 0;
    }
    cluster_url_t u;
    cluster_url_split(url + 9, &u);
    const char *path = u.path;
    const dmp_cluster_query_t q = u.q;
    if (nd->no_leaf &&
        (strcmp(path, "/v1/sync/merkle") == 0 || strcmp(path, "/v1/sync/merkle-leaf") == 0)) {
        resp->status = 404;
        return 0;
    }
    if (strcmp(path, "/v1/sync/pull") == 0 && g_npulls < 64 && g_nodes[0].c) {
        dmp_cluster_stats_t st;
        dmp_cluster_get_stats(g_nodes[0].c, &st);
        g_pull_at[g_npulls] = g_now;
        g_pulled_before[g_npulls++] = st.pulled;
    }
    dmp_cluster_reply_t r;
    int rc =
        dmp_cluster_serve(nd->c, body ? "POST" : "GET", path, &q, "Bearer " TOKEN, body, len, &r);
    if (rc != 0)
        return rc;
    resp->status = r.status;
    resp->body = r.body.data;
    resp->len = r.body.len;
    if (strcmp(path, "/v1/sync/merkle-leaf") == 0)
        g_leaf_resp_bytes += r.body.len;
    return 0;
}

/* The engine's wait: moves the test clock (node 0 is aborted after g_abort_after waits). */
static void sleep_fn(void *ctx, int64_t ms)
{
    (void)ctx;
    assert_true(ms > 0 && ms <= 100);
    g_now += ms;
    g_slept_ms += ms;
    if (++g_sleeps == g_abort_after)
        dmp_cluster_abort(g_nodes[0].c);
}

static void make_node(int i, const uint8_t *spk, const char *base, bool leaf)
{
    node_t *nd = &g_nodes[i];
    memset(nd, 0, sizeof(*nd));
    char path[128];
    snprintf(path, sizeof(path), "%s/s%d", g_dir, i);
    dmp_store_opts_t o = {.path = path, .create_if_missing = true};
    char err[200];
    assert_int_equal(dmp_store_open(&o, &nd->s, err, sizeof(err)), 0);
    char self[32];
    snprintf(self, sizeof(self), "http://n%d", i);
    dmp_cluster_env_t env = {.store = nd->s,
                             .apply = apply_fn,
                             .store_index = leaf,
                             .ctx = nd,
                             .http = http_fn,
                             .clock = {.now_ms = clock_fn},
                             .token = TOKEN,
                             .operator_spk = spk,
                             .base_domain = base,
                             .self_url = self,
                             .max_pull_records = g_max_pull,
                             .max_diff_buckets = g_max_diff,
                             .pull_rate = g_pull_rate,
                             .sleep_ms = sleep_fn};
    assert_int_equal(dmp_cluster_new(&env, &nd->c), 0);
    dmp_cluster_peer_t peers[NN];
    size_t np = 0;
    for (int j = 0; j < NN; j++) {
        memset(&peers[np], 0, sizeof(peers[np]));
        snprintf(peers[np].url, sizeof(peers[np].url), "http://n%d", j);
        snprintf(peers[np].node_id, sizeof(peers[np].node_id), "n%d", j);
        np++;
    }
    assert_int_equal(dmp_cluster_set_peers(nd->c, peers, np), 0); /* self is filtered */
    dmp_cluster_peer_t got[NN];
    assert_int_equal(dmp_cluster_get_peers(nd->c, got, NN), NN - 1);
}

static int setup(void **state)
{
    (void)state;
    strcpy(g_dir, "/tmp/dmp_ceng_XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    g_now = 1800000000000LL;
    g_max_pull = g_max_diff = 0;
    g_pull_rate = 0;
    g_slept_ms = 0;
    g_sleeps = g_abort_after = 0;
    g_npulls = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NN; i++) {
        dmp_cluster_free(g_nodes[i].c);
        dmp_store_close(g_nodes[i].s);
        g_nodes[i].c = NULL;
        g_nodes[i].s = NULL;
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void put(int i, const char *name, const char *value, uint32_t ttl)
{
    assert_int_equal(dmp_store_put(g_nodes[i].s, name, strlen(name), (const uint8_t *)value,
                                   strlen(value), ttl, g_now),
                     0);
}

static bool has(int i, const char *name, const char *value)
{
    bool b = false;
    assert_int_equal(dmp_store_has_value(g_nodes[i].s, name, strlen(name), (const uint8_t *)value,
                                         strlen(value), g_now, &b),
                     0);
    return b;
}

static uint64_t count(int i)
{
    uint64_t n;
    assert_int_equal(dmp_store_record_count(g_nodes[i].s, &n), 0);
    return n;
}

/* Runs rounds on every node until a full pass changes nothing (bounded). */
static int converge(void)
{
    for (int pass = 0; pass < 20; pass++) {
        uint8_t roots[NN][32];
        for (int i = 0; i < NN; i++) {
            for (int k = 0; k < NN - 1; k++)
                dmp_cluster_tick(g_nodes[i].c);
            assert_int_equal(dmp_cluster_refresh(g_nodes[i].c, true), 0);
            dmp_cluster_tree_root(dmp_cluster_get_tree(g_nodes[i].c), roots[i]);
        }
        bool same = true;
        for (int i = 1; i < NN; i++)
            same = same && memcmp(roots[0], roots[i], 32) == 0;
        if (same)
            return pass;
    }
    return -1;
}

static void test_merkle_converge_and_tombstones(void **state)
{
    (void)state;
    for (int i = 0; i < NN; i++)
        make_node(i, NULL, NULL, true);
    char name[64], val[64];
    for (int k = 0; k < 300; k++) {
        snprintf(name, sizeof(name), "r%d.mesh.test", k);
        snprintf(val, sizeof(val), "v=spf1 include:%d", k);
        put(k % 2 ? 0 : 1, name, val, 600);
        if (k % 7 == 0)
            put(2, name, val, 600);
    }
    put(0, "multi.mesh.test", "one", 600);
    put(1, "multi.mesh.test", "two", 600);
    assert_true(converge() >= 0);
    for (int i = 0; i < NN; i++) {
        assert_int_equal(count(i), 302);
        assert_true(has(i, "multi.mesh.test", "one"));
        assert_true(has(i, "multi.mesh.test", "two"));
        assert_true(has(i, "r77.mesh.test", "v=spf1 include:77"));
    }
    dmp_cluster_stats_t st;
    dmp_cluster_get_stats(g_nodes[2].c, &st);
    assert_true(st.merkle_rounds > 0);
    assert_int_equal(st.digest_rounds, 0);
    assert_true(st.written > 0);

    /* in sync: one more round costs one small exchange */
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    uint64_t before_in = st.bytes_in, in_sync = st.in_sync;
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0);
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.in_sync, in_sync + 1);
    assert_true(st.bytes_in - before_in < 1024);

    /* a delete at node 0 travels as a tombstone and the old copies do not come back */
    dmp_cluster_change_t del = {.del = true,
                                .name = "multi.mesh.test",
                                .name_len = 15,
                                .value = (const uint8_t *)"one",
                                .value_len = 3};
    assert_int_equal(apply_fn(&g_nodes[0], &del, 1), 0);
    assert_true(converge() >= 0);
    for (int i = 0; i < NN; i++) {
        assert_false(has(i, "multi.mesh.test", "one"));
        assert_true(has(i, "multi.mesh.test", "two"));
    }
    /* a later re-publish (expires after the tombstone) wins everywhere */
    g_now += 10000;
    put(1, "multi.mesh.test", "one", 600);
    assert_true(converge() >= 0);
    for (int i = 0; i < NN; i++)
        assert_true(has(i, "multi.mesh.test", "one"));
}

/* A leaf response lists only what the requester lacks (version-2 leaf requests): one new value
 * among 300 at one name costs the one entry, not the 300. */
static void test_leaf_lists_only_differences(void **state)
{
    (void)state;
    for (int i = 0; i < NN; i++)
        make_node(i, NULL, NULL, true);
    char val[64];
    for (int k = 0; k < 300; k++) {
        snprintf(val, sizeof(val), "v=spf1 include:value-%d.example", k);
        put(0, "big.mesh.test", val, 600);
        put(1, "big.mesh.test", val, 600);
    }
    put(1, "big.mesh.test", "the new one", 600);
    dmp_cluster_stats_t st;
    g_leaf_resp_bytes = 0;
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0); /* node 0 from n1 */
    assert_true(has(0, "big.mesh.test", "the new one"));
    assert_int_equal(count(0), 301);
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.written, 1);
    /* the leaf response: one entry (~60 bytes); listing all 301 would be over 20 KiB. (The
     * pull still returns the whole RRset: /v1/sync/pull is by name.) */
    assert_true(g_leaf_resp_bytes > 40 && g_leaf_resp_bytes < 200);
    /* our have-list went out instead: 300 entries of 12 bytes */
    assert_true(st.bytes_out > 300 * DMP_CLUSTER_HAVE_BYTES);
    assert_true(st.bytes_out < 300 * DMP_CLUSTER_HAVE_BYTES + 2048);
}

/* Catching up: a round makes passes until the difference is gone, each bounded by the pull
 * cap and the differing-bucket cap, and a pass lists only what it can pull. */
static void test_round_catches_up_in_passes(void **state)
{
    (void)state;
    g_max_pull = 100;
    g_max_diff = 64;
    for (int i = 0; i < NN; i++)
        make_node(i, NULL, NULL, true);
    char name[64];
    for (int k = 0; k < 1000; k++) {
        snprintf(name, sizeof(name), "c%d.mesh.test", k);
        put(1, name, "v=spf1 catch-up", 600);
    }
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0); /* one round */
    assert_int_equal(count(0), 1000);
    dmp_cluster_stats_t st;
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.merkle_rounds, 1);
    assert_int_equal(st.written, 1000);
    assert_int_equal(st.pulled, 1000);
    /* the next round finds the trees equal */
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0);
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.in_sync, 1);
}

/* DMP_SYNC_PULL_RATE: a backfill at 100 records/s waits between pull pages so that each page
 * goes out only once the records before it (less one second's worth) are paid for; an abort
 * ends the waiting. */
static void test_pull_pacing(void **state)
{
    (void)state;
    g_pull_rate = 100;
    for (int i = 0; i < NN; i++)
        make_node(i, NULL, NULL, true);
    char name[64];
    for (int k = 0; k < 1000; k++) {
        snprintf(name, sizeof(name), "p%d.mesh.test", k);
        put(1, name, "v=spf1 paced", 3600);
    }
    int64_t t0 = g_now;
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0);
    assert_int_equal(count(0), 1000);
    assert_true(g_npulls >= 4); /* pages of at most 256 names */
    for (size_t k = 0; k < g_npulls; k++) {
        /* paid for: (pulled - 100 free) records at 10 ms each, to the millisecond per page */
        int64_t due = g_pulled_before[k] > 100 ? (int64_t)(g_pulled_before[k] - 100) * 10 : 0;
        assert_true(g_pull_at[k] - t0 >= due);
        assert_true(g_pull_at[k] - t0 <= due + (int64_t)k);
    }
    /* every wait was the engine's (the clock moves only there) */
    assert_int_equal(g_now - t0, g_slept_ms);
    assert_true(g_slept_ms >= (int64_t)(g_pulled_before[g_npulls - 1] - 100) * 10);

    /* the same node unpaced does not wait */
    g_pull_rate = 0;
    dmp_cluster_free(g_nodes[2].c);
    dmp_store_close(g_nodes[2].s);
    make_node(2, NULL, NULL, true);
    int64_t slept = g_slept_ms;
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[2].c, 0), 0); /* n2's peer 0 is n0 */
    assert_int_equal(count(2), 1000);
    assert_int_equal(g_slept_ms, slept);
}

/* A paced round is not cut by the 10 s budget: its passes run past 10 s of clock and it
 * catches up in one round (an unpaced one stops at the budget: test_round_catches_up_in_passes
 * shows its passes). */
static void test_pull_pacing_round_budget(void **state)
{
    (void)state;
    g_pull_rate = 100;
    g_max_pull = 100; /* passes of 100 records, each waiting ~1 s */
    for (int i = 0; i < NN; i++)
        make_node(i, NULL, NULL, true);
    char name[64];
    for (int k = 0; k < 1500; k++) {
        snprintf(name, sizeof(name), "b%d.mesh.test", k);
        put(1, name, "v=spf1 budget", 3600);
    }
    int64_t t0 = g_now;
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0);
    assert_int_equal(count(0), 1500);
    assert_true(g_now - t0 >= 13000); /* 1,400 records at 100/s after the first second's */
    dmp_cluster_stats_t st;
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.merkle_rounds, 1);
}

static void test_pull_pacing_abort(void **state)
{
    (void)state;
    g_pull_rate = 50;
    for (int i = 0; i < NN; i++)
        make_node(i, NULL, NULL, true);
    char name[64];
    for (int k = 0; k < 1000; k++) {
        snprintf(name, sizeof(name), "q%d.mesh.test", k);
        put(1, name, "v=spf1 paced", 3600);
    }
    g_abort_after = 3; /* 300 ms into the first wait (a page costs 5 s at 50/s) */
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), DMP_EAGAIN);
    assert_int_equal(g_sleeps, 3);
    assert_true(count(0) < 1000);
}

static void test_refused_records_and_liars(void **state)
{
    (void)state;
    for (int i = 0; i < NN; i++)
        make_node(i, NULL, NULL, true);
    /* non-DMP text at a reserved owner and an unknown DMP type: never replicated */
    put(1, "slot-1.mb-abcdef012345.mesh.test", "v=spf1 -all", 600);
    put(1, "x.mesh.test", "v=dmp9;t=new", 600);
    put(1, "ok.mesh.test", "hello", 600);
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0); /* peer 0 of node 0 = n1 */
    assert_true(has(0, "ok.mesh.test", "hello"));
    assert_false(has(0, "x.mesh.test", "v=dmp9;t=new"));
    assert_int_equal(count(0), 1);
    dmp_cluster_stats_t st;
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.rejected, 2);
    uint64_t pulled = st.pulled;
    /* quarantined: the next round does not pull them again */
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0);
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.pulled, pulled);

    /* a peer answering garbage: the round fails, nothing is written, the peer backs off */
    g_nodes[2].lie = true;
    put(2, "lie.mesh.test", "x", 600);
    assert_int_not_equal(dmp_cluster_sync_peer(g_nodes[0].c, 1), 0);
    assert_false(has(0, "lie.mesh.test", "x"));
    dmp_cluster_peer_t ps[NN];
    dmp_cluster_get_peers(g_nodes[0].c, ps, NN);
    assert_int_equal(ps[1].bo.failures, 1);
    assert_true(ps[1].bo.next_ms > g_now);
    dmp_cluster_peer_stats_t hs[NN];
    assert_int_equal(dmp_cluster_get_peer_stats(g_nodes[0].c, hs, NN), 2);
    assert_int_equal(hs[1].failures, 1);
    assert_int_equal(hs[1].failing_now, 1);
    assert_true(hs[1].last_ok_ms == 0);
    assert_true(hs[0].last_ok_ms == g_now); /* n1 answered */
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.errors, 1);
    /* tick skips the backed-off peer */
    assert_int_equal(dmp_cluster_tick(g_nodes[0].c), 0);
    assert_int_equal(dmp_cluster_tick(g_nodes[0].c), 0);
    dmp_cluster_get_peers(g_nodes[0].c, ps, NN);
    assert_int_equal(ps[1].bo.failures, 1);
    g_nodes[2].lie = false;
}

static void test_digest_fallback(void **state)
{
    (void)state;
    make_node(0, NULL, NULL, true);
    make_node(1, NULL, NULL, false); /* a "reference" peer: no Merkle routes */
    make_node(2, NULL, NULL, true);
    char name[64];
    for (int k = 0; k < 2500; k++) {
        snprintf(name, sizeof(name), "d%d.mesh.test", k);
        put(1, name, "v", 600);
        g_now += 1; /* distinct stored times: a realistic digest log */
    }
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0);
    assert_int_equal(count(0), 2500); /* has_more followed within one round */
    dmp_cluster_stats_t st;
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.digest_rounds, 1);
    assert_int_equal(st.written, 2500);
    /* the watermark moved: a second round reads one empty page and pulls nothing */
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0);
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.written, 2500);
    assert_int_equal(st.pulled, 2500);
    /* a TTL refresh beyond the slop is pulled again */
    g_now += 100000;
    put(1, "d5.mesh.test", "v", 3600);
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0);
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.written, 2501);
}

/* The digest cursor of a reference peer survives a restart (kept in the store), so the restarted
 * node reads only what is new; a different node at the same endpoint does not inherit it. */
static void test_digest_cursor_persisted(void **state)
{
    (void)state;
    make_node(0, NULL, NULL, true);
    make_node(1, NULL, NULL, false); /* a "reference" peer: no Merkle routes */
    make_node(2, NULL, NULL, true);
    char name[64];
    for (int k = 0; k < 1500; k++) {
        snprintf(name, sizeof(name), "p%d.mesh.test", k);
        put(1, name, "v", 600);
        g_now += 1;
    }
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0);
    assert_int_equal(count(0), 1500);
    dmp_cluster_stats_t st;
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    uint64_t full_in = st.bytes_in;
    assert_true(full_in > 100000);

    /* restart node 0: new engine over the reopened store */
    dmp_cluster_free(g_nodes[0].c);
    dmp_store_close(g_nodes[0].s);
    make_node(0, NULL, NULL, true);
    for (int k = 0; k < 10; k++) {
        snprintf(name, sizeof(name), "q%d.mesh.test", k);
        put(1, name, "w", 600);
        g_now += 1;
    }
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0);
    assert_int_equal(count(0), 1510);
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.digest_rounds, 1);
    assert_int_equal(st.written, 10);
    assert_true(st.bytes_in < full_in / 20); /* one page of the 10 new rows and their pull */

    /* another node (a manifest id, not synthetic) at the same endpoint starts from zero */
    dmp_cluster_peer_t other = {.url = "http://n1", .node_id = "other"};
    assert_int_equal(dmp_cluster_set_peers(g_nodes[0].c, &other, 1), 0);
    uint64_t in0 = st.bytes_in;
    assert_int_equal(dmp_cluster_sync_peer(g_nodes[0].c, 0), 0);
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_true(st.bytes_in - in0 > full_in / 2); /* the whole digest again */

    /* per-peer health */
    dmp_cluster_peer_stats_t ps[2];
    assert_int_equal(dmp_cluster_get_peer_stats(g_nodes[0].c, ps, 2), 1);
    assert_string_equal(ps[0].url, "http://n1");
    assert_true(ps[0].last_ok_ms == g_now);
    assert_int_equal(ps[0].failures, 0);
    assert_int_equal(ps[0].merkle, 0);
}

static void test_serve_errors(void **state)
{
    (void)state;
    make_node(0, NULL, NULL, true);
    dmp_cluster_reply_t r;
    assert_int_equal(
        dmp_cluster_serve(g_nodes[0].c, "GET", "/v1/sync/digest", NULL, "Bearer x", NULL, 0, &r),
        0);
    assert_int_equal(r.status, 403);
    assert_memory_equal(r.body.data, "{\"error\": \"forbidden\"}", r.body.len);
    dmp_cluster_reply_free(&r);
    dmp_cluster_query_t q = {.cursor = "bad"};
    assert_int_equal(
        dmp_cluster_serve(g_nodes[0].c, "GET", "/v1/sync/digest", &q, "Bearer " TOKEN, NULL, 0, &r),
        0);
    assert_int_equal(r.status, 400);
    dmp_cluster_reply_free(&r);
    assert_int_equal(dmp_cluster_serve(g_nodes[0].c, "POST", "/v1/sync/pull", NULL, "Bearer " TOKEN,
                                       (const uint8_t *)"{}", 2, &r),
                     0);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr((char *)r.body.data, "names must be a list"));
    dmp_cluster_reply_free(&r);
    assert_int_equal(dmp_cluster_serve(g_nodes[0].c, "POST", "/v1/sync/merkle", NULL,
                                       "Bearer " TOKEN, (const uint8_t *)"\x01\x09\x00\x00", 4, &r),
                     0);
    assert_int_equal(r.status, 400);
    dmp_cluster_reply_free(&r);
    /* no base domain: the manifest route has nothing to give */
    assert_int_equal(dmp_cluster_serve(g_nodes[0].c, "GET", "/v1/sync/cluster-manifest", NULL,
                                       "Bearer " TOKEN, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 204);
    dmp_cluster_reply_free(&r);
    /* pull: the names asked for, values of every live row */
    put(0, "p.mesh.test", "a", 60);
    put(0, "p.mesh.test", "b", 60);
    const char *body = "{\"names\": [\"P.mesh.test.\", \"none.mesh.test\"]}";
    assert_int_equal(dmp_cluster_serve(g_nodes[0].c, "POST", "/v1/sync/pull", NULL, "Bearer " TOKEN,
                                       (const uint8_t *)body, strlen(body), &r),
                     0);
    assert_int_equal(r.status, 200);
    dmp_cluster_pull_t p;
    assert_int_equal(dmp_cluster_pull_parse(r.body.data, r.body.len, &p), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.r[0].ttl, 60);
    dmp_cluster_pull_free(&p);
    dmp_cluster_reply_free(&r);
    /* with less than a second left the rows are not handed out (they would come back with a
     * whole second to live, and two peers could pass an expired record to and fro) */
    g_now += 59500;
    assert_int_equal(dmp_cluster_serve(g_nodes[0].c, "POST", "/v1/sync/pull", NULL, "Bearer " TOKEN,
                                       (const uint8_t *)body, strlen(body), &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_int_equal(dmp_cluster_pull_parse(r.body.data, r.body.len, &p), 0);
    assert_int_equal(p.n, 0);
    dmp_cluster_pull_free(&p);
    dmp_cluster_reply_free(&r);
}

static void test_gossip(void **state)
{
    (void)state;
    uint8_t seed[32], pub[32], sk[64], oseed[32], opub[32], osk[64];
    memset(seed, 1, 32);
    memset(oseed, 2, 32);
    dmp_crypto_ed25519_from_seed(seed, pub, sk);
    dmp_crypto_ed25519_from_seed(oseed, opub, osk);
    make_node(0, pub, "mesh.test", true);
    make_node(1, pub, "mesh.test", true);
    make_node(2, NULL, NULL, true);
    dmp_wire_cluster_t m;
    memset(&m, 0, sizeof(m));
    m.seq = 5;
    m.exp = (uint64_t)(g_now / 1000) + 86400;
    memcpy(m.operator_spk, pub, 32);
    strcpy(m.cluster_name, "mesh.test");
    m.cluster_name_len = 9;
    m.n_nodes = 2;
    strcpy(m.nodes[0].node_id, "n0");
    m.nodes[0].node_id_len = 2;
    strcpy(m.nodes[0].http_endpoint, "http://n0/");
    m.nodes[0].http_endpoint_len = 10;
    strcpy(m.nodes[1].node_id, "n1");
    m.nodes[1].node_id_len = 2;
    strcpy(m.nodes[1].http_endpoint, "http://n1");
    m.nodes[1].http_endpoint_len = 9;
    dmp_buf_t w;
    dmp_buf_init(&w);
    assert_int_equal(dmp_wire_cluster_encode(&m, sk, &w), 0);
    assert_int_equal(
        dmp_store_put(g_nodes[1].s, "cluster.mesh.test", 17, w.data, w.len, 86400, g_now), 0);
    /* node 0 gossips with its peers (n1, n2) until n1 answers */
    int installed = 0;
    for (int k = 0; k < 2; k++)
        if (dmp_cluster_gossip_tick(g_nodes[0].c) == 0) {
            dmp_cluster_stats_t st;
            dmp_cluster_get_stats(g_nodes[0].c, &st);
            installed = (int)st.gossip_installed;
        }
    assert_int_equal(installed, 1);
    bool b;
    assert_int_equal(
        dmp_store_has_value(g_nodes[0].s, "cluster.mesh.test", 17, w.data, w.len, g_now, &b), 0);
    assert_true(b);
    /* the peer list is now the manifest's nodes minus self */
    dmp_cluster_peer_t ps[NN];
    assert_int_equal(dmp_cluster_get_peers(g_nodes[0].c, ps, NN), 1);
    assert_string_equal(ps[0].url, "http://n1");
    /* the same seq again: nothing installed */
    assert_int_equal(dmp_cluster_gossip_tick(g_nodes[0].c), 0);
    dmp_cluster_stats_t st;
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.gossip_installed, 1);
    /* a higher seq signed by another key is ignored */
    m.seq = 9;
    memcpy(m.operator_spk, opub, 32);
    dmp_buf_t w2;
    dmp_buf_init(&w2);
    assert_int_equal(dmp_wire_cluster_encode(&m, osk, &w2), 0);
    assert_int_equal(
        dmp_store_put(g_nodes[1].s, "cluster.mesh.test", 17, w2.data, w2.len, 86400, g_now), 0);
    assert_int_equal(dmp_cluster_gossip_tick(g_nodes[0].c), 0); /* n1 still serves seq 5 */
    dmp_cluster_get_stats(g_nodes[0].c, &st);
    assert_int_equal(st.gossip_installed, 1);
    /* gossip is off without a pinned key */
    assert_int_equal(dmp_cluster_gossip_tick(g_nodes[2].c), DMP_EUNSUPPORTED);
    dmp_buf_free(&w);
    dmp_buf_free(&w2);
}

int main(void)
{
    if (dmp_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_merkle_converge_and_tombstones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leaf_lists_only_differences, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_catches_up_in_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_pacing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_pacing_round_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_pacing_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_records_and_liars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_cursor_persisted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gossip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
