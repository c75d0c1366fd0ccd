/* Unit tests: the work of the reference digest protocol (/v1/sync/digest pages) grows with the
 * page, not with the store. A peer holding N records that differ in D from ours is read in
 * ceil((N + D) / limit) pages whose cursors only move forward; the serving side visits at most
 * about `limit` index rows and record rows per page wherever the cursor is (the iterator seeks
 * to the cursor instead of walking from the start), and the syncing side does a bounded number
 * of store operations per digest entry (its per-page work does not grow with what it holds).
 * Rows are counted with RocksDB's perf context (operations on the memtable, where every row of
 * these small stores lives): counts, no timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rocksdb/c.h>

#include "cluster_url.h"
#include "cluster/cluster.h"
#include "store/store.h"

#define TOKEN "t0k"
#define N_BASE 12000
#define N_DIFF 50
#define LIMIT 1000 /* what our digest round asks for (the reference worker's default) */

static char g_dir[64];
static int64_t g_now = 1800000000000LL;
static dmp_store_t *g_srv_store, *g_cli_store;
static dmp_cluster_t *g_srv, *g_cli;
static rocksdb_perfcontext_t *g_pc;

/* what the transport saw */
static struct {
    size_t digest_reqs, pull_reqs;
    uint64_t srv_next_max, srv_get_max;   /* per digest request */
    uint64_t srv_next_sum, srv_get_sum;   /* all digest requests */
    uint64_t srv_seek, srv_next, srv_get; /* everything the server did (digest + pull) */
    bool cursor_backwards;
    int64_t last_ts;
    char last_rest[400]; /* "<name>:<hash>" of the previous cursor */
} g_t;

static int64_t clock_fn(void *ctx)
{
    (void)ctx;
    return g_now;
}

static int apply_fn(void *ctx, const dmp_cluster_change_t *ch, size_t n)
{
    dmp_store_t *s = ctx;
    for (size_t i = 0; i < n; i++) {
        if (ch[i].del)
            continue;
        dmp_store_put_t p = {ch[i].name, ch[i].name_len, ch[i].value, ch[i].value_len, ch[i].ttl};
        int rc = dmp_store_put_batch_ex(s, &p, 1, g_now, DMP_STORE_NOSYNC);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static uint64_t pc(int metric)
{
    return rocksdb_perfcontext_metric(g_pc, metric);
}

/* Cursor order as the protocol defines it: ts numerically, then "<name>:<hash>" bytewise (the
 * name alphabet sorts below ':' only for '-', '.' and digits; names here are all "r<k>.mesh.test"
 * of one ts so the comparison of the rest is exact for them). */
static void check_cursor(const char *cur)
{
    char *end;
    long long ts = strtoll(cur, &end, 10);
    if (*end != ':')
        return;
    const char *rest = end + 1;
    if (g_t.digest_reqs > 1 &&
        (ts < g_t.last_ts || (ts == g_t.last_ts && strcmp(rest, g_t.last_rest) <= 0)))
        g_t.cursor_backwards = true;
    g_t.last_ts = ts;
    snprintf(g_t.last_rest, sizeof(g_t.last_rest), "%s", rest);
}

/* In-memory transport to the serving engine; the server's RocksDB operations are counted
 * around serve() (same thread: the perf context is per thread). */
static int http_fn(void *hctx, const char *url, const uint8_t *body, size_t len, const char *ctype,
                   dmp_cluster_http_resp_t *resp)
{
    (void)hctx;
    (void)ctype;
    memset(resp, 0, sizeof(*resp));
    const char *p0 = strstr(url, "/v1/");
    if (!p0)
        return DMP_CLUSTER_EHTTP;
    cluster_url_t u;
    cluster_url_split(p0, &u);
    const char *path = u.path;
    const dmp_cluster_query_t q = u.q;
    bool digest = strcmp(path, "/v1/sync/digest") == 0;
    if (digest) {
        g_t.digest_reqs++;
        if (q.cursor)
            check_cursor(q.cursor);
    } else if (strcmp(path, "/v1/sync/pull") == 0) {
        g_t.pull_reqs++;
    }
    uint64_t s0 = pc(rocksdb_seek_on_memtable_count), n0 = pc(rocksdb_next_on_memtable_count),
             g0 = pc(rocksdb_get_from_memtable_count);
    dmp_cluster_reply_t r;
    int rc =
        dmp_cluster_serve(g_srv, body ? "POST" : "GET", path, &q, "Bearer " TOKEN, body, len, &r);
    uint64_t ds = pc(rocksdb_seek_on_memtable_count) - s0,
             dn = pc(rocksdb_next_on_memtable_count) - n0,
             dg = pc(rocksdb_get_from_memtable_count) - g0;
    g_t.srv_seek += ds;
    g_t.srv_next += dn;
    g_t.srv_get += dg;
    if (digest) {
        g_t.srv_next_sum += dn;
        g_t.srv_get_sum += dg;
        if (dn > g_t.srv_next_max)
            g_t.srv_next_max = dn;
        if (dg > g_t.srv_get_max)
            g_t.srv_get_max = dg;
    }
    if (rc != 0)
        return rc;
    resp->status = r.status;
    resp->body = r.body.data;
    resp->len = r.body.len;
    return 0;
}

static dmp_store_t *open_store(const char *name)
{
    char path[128], err[200];
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    dmp_store_opts_t o = {.path = path, .create_if_missing = true};
    dmp_store_t *s = NULL;
    assert_int_equal(dmp_store_open(&o, &s, err, sizeof(err)), 0);
    return s;
}

/* records [from, to) as "r<k>.mesh.test" = "v=spf1 -all <k>", in batches */
static void fill(dmp_store_t *s, int from, int to)
{
    static char names[500][32], values[500][32];
    dmp_store_put_t p[500];
    for (int k = from; k < to;) {
        size_t n = 0;
        for (; n < 500 && k < to; n++, k++) {
            int nl = snprintf(names[n], sizeof(names[n]), "r%d.mesh.test", k);
            int vl = snprintf(values[n], sizeof(values[n]), "v=spf1 -all %d", k);
            p[n] = (dmp_store_put_t){names[n], (size_t)nl, (const uint8_t *)values[n], (size_t)vl,
                                     3600};
        }
        assert_int_equal(dmp_store_put_batch_ex(s, p, n, g_now, DMP_STORE_NOSYNC), 0);
    }
}

static int setup(void **state)
{
    (void)state;
    strcpy(g_dir, "/tmp/dmp_cdcost_XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    memset(&g_t, 0, sizeof(g_t));
    g_now = 1800000000000LL;
    g_pc = rocksdb_perfcontext_create();
    rocksdb_set_perf_level(rocksdb_enable_count);
    return g_pc ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    dmp_cluster_free(g_cli);
    dmp_cluster_free(g_srv);
    dmp_store_close(g_cli_store);
    dmp_store_close(g_srv_store);
    g_cli = g_srv = NULL;
    g_cli_store = g_srv_store = NULL;
    rocksdb_set_perf_level(1); /* rocksdb_disable */
    rocksdb_perfcontext_destroy(g_pc);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_digest_work_per_page(void **state)
{
    (void)state;
    g_srv_store = open_store("srv");
    g_cli_store = open_store("cli");
    /* both hold N_BASE records written at one instant (one stored time: the cursor then moves
     * through names only); the server holds N_DIFF more, written later (the writes the other
     * node missed: the newest stored time, the last pages of the digest) */
    fill(g_srv_store, 0, N_BASE);
    fill(g_cli_store, 0, N_BASE);
    g_now += 1000;
    fill(g_srv_store, N_BASE, N_BASE + N_DIFF);

    dmp_cluster_env_t es = {.store = g_srv_store,
                            .apply = apply_fn,
                            .ctx = g_srv_store,
                            .clock = {.now_ms = clock_fn},
                            .token = TOKEN};
    assert_int_equal(dmp_cluster_new(&es, &g_srv), 0);
    dmp_cluster_env_t ec = es;
    ec.store = g_cli_store;
    ec.ctx = g_cli_store;
    ec.http = http_fn; /* no store_index, no list_bucket: the digest protocol only */
    assert_int_equal(dmp_cluster_new(&ec, &g_cli), 0);
    dmp_cluster_peer_t peer = {.url = "http://srv", .node_id = "srv"};
    assert_int_equal(dmp_cluster_set_peers(g_cli, &peer, 1), 0);

    rocksdb_perfcontext_reset(g_pc);
    assert_int_equal(dmp_cluster_sync_peer(g_cli, 0), 0);
    uint64_t all_seek = pc(rocksdb_seek_on_memtable_count),
             all_next = pc(rocksdb_next_on_memtable_count),
             all_get = pc(rocksdb_get_from_memtable_count);

    /* converged in one round: the missing records pulled, nothing else */
    uint64_t n = 0;
    assert_int_equal(dmp_store_record_count(g_cli_store, &n), 0);
    assert_int_equal(n, N_BASE + N_DIFF);
    dmp_cluster_stats_t st;
    dmp_cluster_get_stats(g_cli, &st);
    assert_int_equal(st.written, N_DIFF);
    assert_int_equal(st.pulled, N_DIFF);

    /* pages: every page but the last is full, none is read twice, the cursor only moves
     * forward (a cursor that sticks or goes back re-reads pages) */
    assert_int_equal(g_t.digest_reqs, (N_BASE + N_DIFF + LIMIT - 1) / LIMIT);
    assert_false(g_t.cursor_backwards);
    assert_true(g_t.pull_reqs >= 1 && g_t.pull_reqs <= 2);

    /* the rows really were in the memtables, so the counts below measure the rows visited */
    assert_true(g_t.srv_next_sum >= N_BASE);
    assert_true(g_t.srv_get_sum >= N_BASE);
    /* serving side: each page visits about `limit` index rows and reads about `limit`
     * records, wherever its cursor is (an iterator walking from the start would visit
     * (page + 1) * limit rows on page `page`) */
    assert_true(g_t.srv_next_max <= LIMIT + 8);
    assert_true(g_t.srv_get_max <= LIMIT + 8);
    assert_true(g_t.srv_next_sum <= (uint64_t)(N_BASE + N_DIFF) + 8 * g_t.digest_reqs);

    /* syncing side: a bounded number of store operations per digest entry (a local lookup
     * each, plus writing what it pulled), not a walk over what it holds per page */
    uint64_t cli_seek = all_seek - g_t.srv_seek, cli_next = all_next - g_t.srv_next,
             cli_get = all_get - g_t.srv_get;
    uint64_t entries = N_BASE + N_DIFF;
    assert_true(cli_seek >= N_BASE); /* one lookup per entry (non-vacuous) */
    assert_true(cli_seek <= 4 * entries);
    assert_true(cli_next <= 4 * entries);
    assert_true(cli_get <= 4 * entries);

    /* a second round reads one empty page after the cursor and visits almost nothing */
    memset(&g_t, 0, sizeof(g_t));
    rocksdb_perfcontext_reset(g_pc);
    assert_int_equal(dmp_cluster_sync_peer(g_cli, 0), 0);
    assert_int_equal(g_t.digest_reqs, 1);
    assert_int_equal(g_t.pull_reqs, 0);
    assert_true(pc(rocksdb_next_on_memtable_count) <= 8);
    assert_true(pc(rocksdb_get_from_memtable_count) <= 8);
}

/* A page served from a cursor near the end of a large log costs what a page at the start
 * costs (the iterator seeks), in index rows visited and records read. */
static void test_serve_page_seeks(void **state)
{
    (void)state;
    g_srv_store = open_store("srv");
    fill(g_srv_store, 0, N_BASE);
    dmp_cluster_env_t es = {.store = g_srv_store,
                            .apply = apply_fn,
                            .ctx = g_srv_store,
                            .clock = {.now_ms = clock_fn},
                            .token = TOKEN};
    assert_int_equal(dmp_cluster_new(&es, &g_srv), 0);

    /* the first page and its cursor; then walk the pages, measuring each */
    char cursor[500] = "0::";
    uint64_t first_next = 0, first_get = 0, max_next = 0, max_get = 0;
    size_t pages = 0;
    for (; pages < 100; pages++) {
        char lim[8];
        snprintf(lim, sizeof(lim), "%d", LIMIT);
        dmp_cluster_query_t q = {.cursor = cursor, .limit = lim};
        rocksdb_perfcontext_reset(g_pc);
        dmp_cluster_reply_t r;
        assert_int_equal(
            dmp_cluster_serve(g_srv, "GET", "/v1/sync/digest", &q, "Bearer " TOKEN, NULL, 0, &r),
            0);
        assert_int_equal(r.status, 200);
        uint64_t dn = pc(rocksdb_next_on_memtable_count), dg = pc(rocksdb_get_from_memtable_count);
        if (pages == 0) {
            first_next = dn;
            first_get = dg;
        }
        max_next = dn > max_next ? dn : max_next;
        max_get = dg > max_get ? dg : max_get;
        dmp_cluster_digest_t d;
        assert_int_equal(dmp_cluster_digest_parse(r.body.data, r.body.len, &d), 0);
        dmp_cluster_reply_free(&r);
        bool more = d.has_more;
        if (d.n > 0) {
            const dmp_cluster_dentry_t *e = &d.e[d.n - 1];
            dmp_cluster_cursor_t c = {.ts = e->ts, .name_len = e->name_len, .has_hash = true};
            memcpy(c.name, e->name, e->name_len);
            memcpy(c.hash, e->hash, 32);
            assert_int_equal(dmp_cluster_cursor_format(&c, cursor, sizeof(cursor)), 0);
        }
        dmp_cluster_digest_free(&d);
        if (!more)
            break;
    }
    assert_int_equal(pages + 1, N_BASE / LIMIT);
    assert_true(first_next >= LIMIT); /* rows in the memtable: the counts are real */
    assert_true(first_get >= LIMIT);
    /* the last pages cost what the first did */
    assert_true(max_next <= first_next + 8);
    assert_true(max_get <= first_get + 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_digest_work_per_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_page_seeks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
