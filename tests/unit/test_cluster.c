/* Unit tests: cluster Merkle tree, descent, binary Merkle messages, re-verification, conflict
 * rules, peer lists and back-off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluster/cluster.h"
#include "crypto/crypto.h"
#include "erasure/erasure.h"
#include "store/store.h"
#include "wire/wire.h"

/* ---- helpers ---- */

static void fill(uint8_t d[32], uint32_t seed)
{
    for (int i = 0; i < 32; i++)
        d[i] = (uint8_t)(seed * 131u + (uint32_t)i * 7u + 1u);
}

/* A remote that answers through the real wire encoding: request encoded, parsed by the
 * "server", response built from its tree, encoded, parsed back. Counts exchanges. */
typedef struct {
    dmp_cluster_tree_t *t;
    int calls;
    int fail_at; /* 0 = never */
    bool lie_level;
} wire_remote_t;

static int wire_children(void *ctx, const dmp_cluster_mreq_t *req, uint8_t root[32],
                         uint8_t (*ch)[DMP_CLUSTER_FANOUT][32])
{
    wire_remote_t *r = ctx;
    r->calls++;
    if (r->fail_at && r->calls == r->fail_at)
        return DMP_CLUSTER_EHTTP;
    dmp_buf_t q, a;
    dmp_buf_init(&q);
    dmp_buf_init(&a);
    assert_int_equal(dmp_cluster_mreq_encode(req, &q), 0);
    static dmp_cluster_mreq_t parsed;
    assert_int_equal(dmp_cluster_mreq_parse(q.data, q.len, &parsed), 0);
    assert_int_equal(dmp_cluster_mresp_build(r->t, &parsed, &a), 0);
    if (r->lie_level)
        a.data[1] ^= 1;
    int rc = dmp_cluster_mresp_parse(a.data, a.len, req, root, ch);
    dmp_buf_free(&q);
    dmp_buf_free(&a);
    return rc;
}

/* ---- tree ---- */

static void test_tree_empty_and_set(void **state)
{
    (void)state;
    dmp_cluster_tree_t *t;
    assert_int_equal(dmp_cluster_tree_new(&t), 0);
    uint8_t root[32], zero[32] = {0};
    dmp_cluster_tree_root(t, root);
    assert_memory_equal(root, zero, 32);
    uint8_t d[32];
    fill(d, 5);
    assert_int_equal(dmp_cluster_tree_set_leaf(t, 12345, d), 0);
    dmp_cluster_tree_root(t, root);
    assert_memory_not_equal(root, zero, 32);
    /* the root is the inner rule applied to its children */
    uint8_t ch[16][32], want[32];
    assert_int_equal(dmp_cluster_tree_children(t, 0, 0, ch), 0);
    dmp_cluster_inner_digest(ch, want);
    assert_memory_equal(root, want, 32);
    /* an empty sibling subtree stays zero; the leaf's own path is not */
    uint8_t node[32];
    assert_int_equal(dmp_cluster_tree_node(t, 3, 12345 / 16, node), 0);
    assert_memory_not_equal(node, zero, 32);
    assert_int_equal(dmp_cluster_tree_node(t, 3, 12345 / 16 + 1, node), 0);
    assert_memory_equal(node, zero, 32);
    /* clearing the leaf brings the root back to zero */
    assert_int_equal(dmp_cluster_tree_set_leaf(t, 12345, zero), 0);
    dmp_cluster_tree_root(t, root);
    assert_memory_equal(root, zero, 32);
    assert_int_equal(dmp_cluster_tree_node(t, 5, 0, node), DMP_EINVAL);
    assert_int_equal(dmp_cluster_tree_node(t, 1, 16, node), DMP_EINVAL);
    assert_int_equal(dmp_cluster_tree_set_leaf(t, 65536, d), DMP_EINVAL);
    dmp_cluster_tree_free(t);
}

static uint8_t leaves_src[65536][32];
static int leaf_reads;
static int src_leaf(void *ctx, uint32_t b, uint8_t out[32])
{
    (void)ctx;
    leaf_reads++;
    memcpy(out, leaves_src[b], 32);
    return 0;
}

static void test_tree_refresh_dirty(void **state)
{
    (void)state;
    memset(leaves_src, 0, sizeof(leaves_src));
    dmp_cluster_tree_t *a, *b;
    assert_int_equal(dmp_cluster_tree_new(&a), 0);
    assert_int_equal(dmp_cluster_tree_new(&b), 0);
    for (uint32_t i = 0; i < 65536; i += 97)
        fill(leaves_src[i], i);
    leaf_reads = 0;
    assert_int_equal(dmp_cluster_tree_refresh(a, src_leaf, NULL, true), 0);
    assert_int_equal(leaf_reads, 65536);
    /* a tree built by set_leaf one by one agrees */
    for (uint32_t i = 0; i < 65536; i += 97)
        assert_int_equal(dmp_cluster_tree_set_leaf(b, i, leaves_src[i]), 0);
    uint8_t ra[32], rb[32];
    dmp_cluster_tree_root(a, ra);
    dmp_cluster_tree_root(b, rb);
    assert_memory_equal(ra, rb, 32);
    /* change two leaves, touch only one: a dirty refresh reads only that one */
    fill(leaves_src[7], 999);
    fill(leaves_src[40000], 998);
    dmp_cluster_tree_touch(a, 7);
    dmp_cluster_tree_touch(a, 7);
    leaf_reads = 0;
    assert_int_equal(dmp_cluster_tree_refresh(a, src_leaf, NULL, false), 0);
    assert_int_equal(leaf_reads, 1);
    assert_int_equal(dmp_cluster_tree_set_leaf(b, 7, leaves_src[7]), 0);
    dmp_cluster_tree_root(a, ra);
    dmp_cluster_tree_root(b, rb);
    assert_memory_equal(ra, rb, 32);
    /* a full refresh picks up the untouched change */
    assert_int_equal(dmp_cluster_tree_refresh(a, src_leaf, NULL, true), 0);
    dmp_cluster_tree_root(a, ra);
    assert_memory_not_equal(ra, rb, 32);
    assert_int_equal(dmp_cluster_tree_set_leaf(b, 40000, leaves_src[40000]), 0);
    dmp_cluster_tree_root(b, rb);
    assert_memory_equal(ra, rb, 32);
    /* nothing touched: a dirty refresh reads nothing */
    leaf_reads = 0;
    assert_int_equal(dmp_cluster_tree_refresh(a, src_leaf, NULL, false), 0);
    assert_int_equal(leaf_reads, 0);
    dmp_cluster_tree_free(a);
    dmp_cluster_tree_free(b);
}

/* ---- descent ---- */

static void make_pair(dmp_cluster_tree_t **a, dmp_cluster_tree_t **b, const uint32_t *diff,
                      size_t nd)
{
    assert_int_equal(dmp_cluster_tree_new(a), 0);
    assert_int_equal(dmp_cluster_tree_new(b), 0);
    for (uint32_t i = 0; i < 65536; i += 3) {
        uint8_t d[32];
        fill(d, i);
        dmp_cluster_tree_set_leaf(*a, i, d);
        dmp_cluster_tree_set_leaf(*b, i, d);
    }
    for (size_t k = 0; k < nd; k++) {
        uint8_t d[32];
        fill(d, diff[k] + 100000);
        dmp_cluster_tree_set_leaf(*b, diff[k], d);
    }
}

static void test_diff_finds_exactly_the_differences(void **state)
{
    (void)state;
    uint32_t diffs[] = {0, 1, 17, 4096, 30000, 30001, 65535};
    dmp_cluster_tree_t *a, *b;
    make_pair(&a, &b, diffs, 7);
    wire_remote_t r = {.t = b};
    dmp_cluster_remote_t rem = {.children = wire_children, .ctx = &r};
    uint16_t out[100];
    size_t n;
    bool tr;
    uint64_t bytes = 0;
    assert_int_equal(dmp_cluster_tree_diff(a, &rem, out, 100, &n, &tr, &bytes), 0);
    assert_int_equal(n, 7);
    assert_false(tr);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(out[i], diffs[i]);
    assert_int_equal(r.calls, 4); /* one batched request per level */
    /* truncated: only the first max_out differences */
    r.calls = 0;
    assert_int_equal(dmp_cluster_tree_diff(a, &rem, out, 3, &n, &tr, NULL), 0);
    assert_true(tr);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 1);
    assert_int_equal(out[2], 17);
    /* a failing remote stops the descent with its code */
    r.calls = 0;
    r.fail_at = 2;
    assert_int_equal(dmp_cluster_tree_diff(a, &rem, out, 100, &n, &tr, NULL), DMP_CLUSTER_EHTTP);
    /* a response for another level is refused */
    r.fail_at = 0;
    r.lie_level = true;
    assert_int_equal(dmp_cluster_tree_diff(a, &rem, out, 100, &n, &tr, NULL), DMP_EFORMAT);
    dmp_cluster_tree_free(a);
    dmp_cluster_tree_free(b);
}

static void test_diff_in_sync_and_bytes_scale(void **state)
{
    (void)state;
    dmp_cluster_tree_t *a, *b;
    make_pair(&a, &b, NULL, 0);
    wire_remote_t r = {.t = b};
    dmp_cluster_remote_t rem = {.children = wire_children, .ctx = &r};
    uint16_t *out = malloc(65536 * sizeof(*out));
    size_t n;
    bool tr;
    uint64_t in_sync = 0;
    assert_int_equal(dmp_cluster_tree_diff(a, &rem, out, 65536, &n, &tr, &in_sync), 0);
    assert_int_equal(n, 0);
    assert_int_equal(r.calls, 1);
    assert_true(in_sync < 1024);
    dmp_cluster_tree_free(b);
    dmp_cluster_tree_free(a);
    /* bytes grow with the number of differences, not with the tree */
    uint32_t one[] = {4242};
    make_pair(&a, &b, one, 1);
    r.t = b;
    uint64_t b1 = 0;
    assert_int_equal(dmp_cluster_tree_diff(a, &rem, out, 65536, &n, &tr, &b1), 0);
    assert_int_equal(n, 1);
    assert_true(b1 < 4 * 600);
    dmp_cluster_tree_free(a);
    dmp_cluster_tree_free(b);
    uint32_t many[1000];
    for (int i = 0; i < 1000; i++)
        many[i] = (uint32_t)i * 65;
    make_pair(&a, &b, many, 1000);
    r.t = b;
    uint64_t b1000 = 0;
    assert_int_equal(dmp_cluster_tree_diff(a, &rem, out, 65536, &n, &tr, &b1000), 0);
    assert_int_equal(n, 1000);
    assert_true(b1000 < 1000 * 4 * 600);
    assert_true(b1000 > 100 * b1);
    dmp_cluster_tree_free(a);
    dmp_cluster_tree_free(b);
    free(out);
}

/* ---- store-backed leaves ---- */

static void test_tree_over_store(void **state)
{
    (void)state;
    char dir[] = "/tmp/dmp_cluster_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[300];
    snprintf(path, sizeof(path), "%s/db", dir);
    dmp_store_opts_t o = {.path = path, .create_if_missing = true};
    dmp_store_t *s1, *s2;
    char err[200];
    assert_int_equal(dmp_store_open(&o, &s1, err, sizeof(err)), 0);
    char path2[300];
    snprintf(path2, sizeof(path2), "%s/db2", dir);
    o.path = path2;
    assert_int_equal(dmp_store_open(&o, &s2, err, sizeof(err)), 0);
    for (int i = 0; i < 200; i++) {
        char name[64];
        int l = snprintf(name, sizeof(name), "n%d.mesh.test", i);
        assert_int_equal(dmp_store_put(s1, name, (size_t)l, (const uint8_t *)"v", 1, 300, 1000), 0);
        if (i != 77)
            assert_int_equal(dmp_store_put(s2, name, (size_t)l, (const uint8_t *)"v", 1, 300, 5000),
                             0);
    }
    dmp_cluster_tree_t *t1, *t2;
    assert_int_equal(dmp_cluster_tree_new(&t1), 0);
    assert_int_equal(dmp_cluster_tree_new(&t2), 0);
    assert_int_equal(dmp_cluster_tree_refresh(t1, dmp_cluster_store_leaf, s1, true), 0);
    assert_int_equal(dmp_cluster_tree_refresh(t2, dmp_cluster_store_leaf, s2, true), 0);
    /* the bulk read of every bucket gives the same tree as one read per bucket */
    {
        dmp_cluster_tree_t *t3;
        assert_int_equal(dmp_cluster_tree_new(&t3), 0);
        uint8_t(*lv)[32] = malloc((size_t)65536 * 32);
        assert_int_equal(dmp_store_bucket_digests(s2, lv), 0);
        assert_int_equal(dmp_cluster_tree_load(t3, (const uint8_t(*)[32])lv), 0);
        uint8_t r2[32], r3[32];
        dmp_cluster_tree_root(t2, r2);
        dmp_cluster_tree_root(t3, r3);
        assert_memory_equal(r2, r3, 32);
        free(lv);
        dmp_cluster_tree_free(t3);
    }
    wire_remote_t r = {.t = t2};
    dmp_cluster_remote_t rem = {.children = wire_children, .ctx = &r};
    uint16_t out[10];
    size_t n;
    bool tr;
    assert_int_equal(dmp_cluster_tree_diff(t1, &rem, out, 10, &n, &tr, NULL), 0);
    assert_int_equal(n, 1);
    uint32_t b77;
    assert_int_equal(dmp_store_bucket_of("n77.mesh.test", 13, &b77), 0);
    assert_int_equal(out[0], b77);
    /* after the missing put (stored time differs: the digest ignores time) and a touch, in sync */
    assert_int_equal(dmp_store_put(s2, "N77.mesh.test", 13, (const uint8_t *)"v", 1, 60, 9000), 0);
    dmp_cluster_tree_touch_name(t2, "N77.mesh.test", 13);
    assert_int_equal(dmp_cluster_tree_refresh(t2, dmp_cluster_store_leaf, s2, false), 0);
    assert_int_equal(dmp_cluster_tree_diff(t1, &rem, out, 10, &n, &tr, NULL), 0);
    assert_int_equal(n, 0);
    dmp_cluster_tree_free(t1);
    dmp_cluster_tree_free(t2);
    dmp_store_close(s1);
    dmp_store_close(s2);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- binary messages ---- */

static void test_mreq_parse_rejects(void **state)
{
    (void)state;
    dmp_cluster_mreq_t q;
    const uint8_t ok[] = {1, 2, 0, 2, 0, 3, 0, 9};
    assert_int_equal(dmp_cluster_mreq_parse(ok, sizeof(ok), &q), 0);
    assert_int_equal(q.level, 2);
    assert_int_equal(q.n, 2);
    assert_int_equal(q.idx[1], 9);
    const uint8_t badver[] = {2, 2, 0, 0};
    assert_int_equal(dmp_cluster_mreq_parse(badver, sizeof(badver), &q), DMP_EVERSION);
    const uint8_t leaflevel[] = {1, 4, 0, 0};
    assert_int_equal(dmp_cluster_mreq_parse(leaflevel, sizeof(leaflevel), &q), DMP_EFORMAT);
    const uint8_t unsorted[] = {1, 2, 0, 2, 0, 9, 0, 3};
    assert_int_equal(dmp_cluster_mreq_parse(unsorted, sizeof(unsorted), &q), DMP_EFORMAT);
    const uint8_t dup[] = {1, 2, 0, 2, 0, 9, 0, 9};
    assert_int_equal(dmp_cluster_mreq_parse(dup, sizeof(dup), &q), DMP_EFORMAT);
    const uint8_t range[] = {1, 1, 0, 1, 0, 16}; /* level 1 has 16 nodes */
    assert_int_equal(dmp_cluster_mreq_parse(range, sizeof(range), &q), DMP_EFORMAT);
    const uint8_t trunc[] = {1, 2, 0, 2, 0, 3};
    assert_int_equal(dmp_cluster_mreq_parse(trunc, sizeof(trunc), &q), DMP_ETRUNC);
    const uint8_t trail[] = {1, 2, 0, 1, 0, 3, 0};
    assert_int_equal(dmp_cluster_mreq_parse(trail, sizeof(trail), &q), DMP_EFORMAT);
    const uint8_t toomany[] = {1, 3, 0x10, 0x01};
    assert_int_equal(dmp_cluster_mreq_parse(toomany, sizeof(toomany), &q), DMP_ETOOBIG);
    assert_int_equal(dmp_cluster_mreq_parse(ok, 3, &q), DMP_ETRUNC);
    /* leaf requests: level byte 0 maps to the leaf level */
    const uint8_t leaf[] = {1, 0, 0, 1, 0xff, 0xff};
    assert_int_equal(dmp_cluster_lreq_parse(leaf, sizeof(leaf), &q), 0);
    assert_int_equal(q.level, DMP_CLUSTER_DEPTH);
    assert_int_equal(q.idx[0], 65535);
    const uint8_t leaf_bad[] = {1, 1, 0, 0};
    assert_int_equal(dmp_cluster_lreq_parse(leaf_bad, sizeof(leaf_bad), &q), DMP_EFORMAT);
}

static dmp_cluster_leaf_entry_t entry(const char *name, uint8_t hb, uint32_t ttl, bool tomb)
{
    dmp_cluster_leaf_entry_t e;
    memset(&e, 0, sizeof(e));
    snprintf(e.name, sizeof(e.name), "%s", name);
    e.name_len = strlen(name);
    memset(e.hash, hb, 32);
    e.ttl = ttl;
    e.tombstone = tomb;
    return e;
}

static void test_leaf_roundtrip_and_rejects(void **state)
{
    (void)state;
    const char *names[] = {"a.mesh.test", "b.mesh.test", "c.mesh.test"};
    uint32_t bk[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(dmp_store_bucket_of(names[i], strlen(names[i]), &bk[i]), 0);
    /* request sorted by bucket */
    dmp_cluster_mreq_t q = {.level = DMP_CLUSTER_DEPTH, .n = 0};
    int order[3] = {0, 1, 2};
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (bk[order[j]] < bk[order[i]]) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    for (int i = 0; i < 3; i++)
        q.idx[q.n++] = (uint16_t)bk[order[i]];
    dmp_buf_t req, resp;
    dmp_buf_init(&req);
    dmp_buf_init(&resp);
    assert_int_equal(dmp_cluster_lreq_encode(&q, &req), 0);
    dmp_cluster_mreq_t q2;
    assert_int_equal(dmp_cluster_lreq_parse(req.data, req.len, &q2), 0);
    assert_int_equal(q2.n, 3);
    dmp_cluster_lresp_t w;
    assert_int_equal(dmp_cluster_lresp_begin(&w, &resp, q.n, 0), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(dmp_cluster_lresp_bucket(&w, q.idx[i]), 0);
        dmp_cluster_leaf_entry_t e = entry(names[order[i]], (uint8_t)i, 100u + (uint32_t)i, i == 1);
        assert_int_equal(dmp_cluster_lresp_entry(&w, &e), 0);
        if (i == 2) /* a second value at the same name */
            assert_int_equal(dmp_cluster_lresp_entry(&w, &e), 0);
    }
    assert_int_equal(dmp_cluster_lresp_end(&w), 0);
    dmp_cluster_leaves_t l = {0};
    assert_int_equal(dmp_cluster_lresp_parse(resp.data, resp.len, &q, &l), 0);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.e[0].name, names[order[0]]);
    assert_false(l.e[0].tombstone);
    assert_true(l.e[1].tombstone);
    assert_int_equal(l.e[1].ttl, 101);
    assert_int_equal(l.e[3].bucket, q.idx[2]);
    /* trailing garbage, truncation and a request mismatch: nothing appended */
    size_t before = l.n;
    dmp_buf_append_u8(&resp, 0);
    assert_int_equal(dmp_cluster_lresp_parse(resp.data, resp.len, &q, &l), DMP_EFORMAT);
    assert_int_equal(dmp_cluster_lresp_parse(resp.data, resp.len - 5, &q, &l), DMP_ETRUNC);
    dmp_cluster_mreq_t other = q;
    other.idx[0] = (uint16_t)(q.idx[0] ^ 1);
    assert_int_equal(dmp_cluster_lresp_parse(resp.data, resp.len - 1, &other, &l), DMP_EFORMAT);
    assert_int_equal(l.n, before);
    dmp_buf_free(&resp);
    /* a name in the wrong bucket, an uppercase name, a bad flag */
    const char *bad[] = {"x.mesh.test", "A.mesh.test"};
    for (int k = 0; k < 2; k++) {
        dmp_buf_init(&resp);
        dmp_cluster_mreq_t one = {.level = DMP_CLUSTER_DEPTH, .n = 1};
        uint32_t b;
        dmp_store_bucket_of("a.mesh.test", 11, &b);
        one.idx[0] = (uint16_t)b;
        assert_int_equal(dmp_cluster_lresp_begin(&w, &resp, 1, 0), 0);
        assert_int_equal(dmp_cluster_lresp_bucket(&w, (uint16_t)b), 0);
        dmp_cluster_leaf_entry_t e = entry(bad[k], 1, 5, false);
        assert_int_equal(dmp_cluster_lresp_entry(&w, &e), 0);
        assert_int_equal(dmp_cluster_lresp_end(&w), 0);
        assert_int_equal(dmp_cluster_lresp_parse(resp.data, resp.len, &one, &l), DMP_EFORMAT);
        dmp_buf_free(&resp);
    }
    /* size bound of the writer */
    dmp_buf_init(&resp);
    assert_int_equal(dmp_cluster_lresp_begin(&w, &resp, 1, 40), 0);
    assert_int_equal(dmp_cluster_lresp_bucket(&w, 1), 0);
    dmp_cluster_leaf_entry_t e = entry("a.mesh.test", 1, 5, false);
    assert_int_equal(dmp_cluster_lresp_entry(&w, &e), DMP_ETOOBIG);
    dmp_buf_free(&resp);
    dmp_buf_free(&req);
    dmp_cluster_leaves_free(&l);
}

/* Version-2 leaf requests: the have-list round-trips, is strict, and leaves out exactly the
 * rows the requester holds at least as long (minus the TTL slop). */
static void test_leaf_have_list(void **state)
{
    (void)state;
    uint8_t salt[16];
    memset(salt, 7, sizeof(salt));
    dmp_cluster_leaf_entry_t held = entry("a.mesh.test", 1, 100, false),
                             other = entry("a.mesh.test", 2, 100, false),
                             tomb = entry("a.mesh.test", 1, 100, true);
    dmp_cluster_have_t h[3] = {
        {dmp_cluster_have_key(salt, held.name, held.name_len, held.hash), 90},
        {dmp_cluster_have_key(salt, "b.mesh.test", 11, held.hash), 5},
        {dmp_cluster_have_key(salt, held.name, held.name_len, held.hash), 95}, /* twice */
    };
    /* the key depends on the salt, the name and the hash */
    uint8_t salt2[16];
    memset(salt2, 8, sizeof(salt2));
    assert_true(h[0].key != dmp_cluster_have_key(salt2, held.name, held.name_len, held.hash));
    assert_true(h[0].key != dmp_cluster_have_key(salt, other.name, other.name_len, other.hash));
    dmp_buf_t b;
    dmp_buf_init(&b);
    assert_int_equal(dmp_cluster_lreq2_begin(&b, salt), 0);
    assert_int_equal(dmp_cluster_lreq2_bucket(&b, 3, NULL, 0), 0);
    assert_int_equal(dmp_cluster_lreq2_bucket(&b, 9, h, 3), 0);
    assert_int_equal(dmp_cluster_lreq2_end(&b, 2), 0);
    assert_int_equal(b.len, 20 + 4 + 4 + 2 * DMP_CLUSTER_HAVE_BYTES); /* the duplicate merged */
    static dmp_cluster_mreq_t q;
    static dmp_cluster_lhave_t hv;
    assert_int_equal(dmp_cluster_lreq2_parse(b.data, b.len, &q, &hv), 0);
    assert_int_equal(q.level, DMP_CLUSTER_DEPTH);
    assert_int_equal(q.n, 2);
    assert_int_equal(q.idx[0], 3);
    assert_int_equal(q.idx[1], 9);
    assert_int_equal(hv.cnt[0], 0);
    assert_int_equal(hv.cnt[1], 2);
    assert_memory_equal(hv.salt, salt, 16);
    /* held with 95 s left (the longer of the two): a copy with <= 100 s is left out */
    assert_false(dmp_cluster_lhave_covers(&hv, 0, &held)); /* not listed in bucket 0 */
    assert_true(dmp_cluster_lhave_covers(&hv, 1, &held));
    held.ttl = 101;
    assert_false(dmp_cluster_lhave_covers(&hv, 1, &held));  /* outlives ours beyond the slop */
    assert_false(dmp_cluster_lhave_covers(&hv, 1, &other)); /* another value */
    assert_false(dmp_cluster_lhave_covers(&hv, 1, &tomb));  /* tombstones always travel */
    /* strict parsing: version, trailing byte, truncation, order */
    dmp_buf_t bad;
    dmp_buf_init(&bad);
    dmp_buf_append(&bad, b.data, b.len);
    dmp_buf_append_u8(&bad, 0);
    assert_int_equal(dmp_cluster_lreq2_parse(bad.data, bad.len, &q, &hv), DMP_EFORMAT);
    assert_int_equal(dmp_cluster_lreq2_parse(b.data, b.len - 1, &q, &hv), DMP_ETRUNC);
    bad.data[0] = 1;
    assert_int_equal(dmp_cluster_lreq2_parse(bad.data, b.len, &q, &hv), DMP_EVERSION);
    bad.data[0] = DMP_CLUSTER_LEAF_VERSION;
    /* swap the two keys of bucket 9: no longer ascending */
    uint8_t tmp[DMP_CLUSTER_HAVE_BYTES];
    uint8_t *k0 = bad.data + 28, *k1 = k0 + DMP_CLUSTER_HAVE_BYTES;
    memcpy(tmp, k0, sizeof(tmp));
    memcpy(k0, k1, sizeof(tmp));
    memcpy(k1, tmp, sizeof(tmp));
    assert_int_equal(dmp_cluster_lreq2_parse(bad.data, b.len, &q, &hv), DMP_EFORMAT);
    /* buckets out of order */
    dmp_buf_free(&bad);
    dmp_buf_init(&bad);
    dmp_cluster_lreq2_begin(&bad, salt);
    dmp_cluster_lreq2_bucket(&bad, 9, NULL, 0);
    dmp_cluster_lreq2_bucket(&bad, 9, NULL, 0);
    dmp_cluster_lreq2_end(&bad, 2);
    assert_int_equal(dmp_cluster_lreq2_parse(bad.data, bad.len, &q, &hv), DMP_EFORMAT);
    /* a version-1 body is not a version-2 request, and vice versa */
    assert_int_not_equal(dmp_cluster_lreq_parse(b.data, b.len, &q), 0);
    dmp_buf_free(&bad);
    dmp_buf_free(&b);
}

/* ---- verification ---- */

static void test_verify_record_classes(void **state)
{
    (void)state;
    const char *why = NULL;
    const uint8_t spf[] = "v=spf1 -all";
    assert_int_equal(
        dmp_cluster_verify_record("mesh.test", 9, spf, sizeof(spf) - 1, NULL, 1000, NULL), 0);
    assert_int_equal(dmp_cluster_verify_record("slot-0.mb-abcdef012345.mesh.test", 32, spf,
                                               sizeof(spf) - 1, NULL, 1000, &why),
                     DMP_CLUSTER_EREJECT);
    assert_non_null(why);
    assert_int_equal(dmp_cluster_verify_record("x.test", 6, spf, 0, NULL, 1000, NULL),
                     DMP_CLUSTER_EREJECT);
    const uint8_t unk[] = "v=dmp2;t=x;d=AAAA";
    assert_int_equal(dmp_cluster_verify_record("x.test", 6, unk, sizeof(unk) - 1, NULL, 1000, NULL),
                     DMP_CLUSTER_EREJECT);
    const uint8_t hb[] = "v=dmp1;t=heartbeat;AAAA";
    assert_int_equal(dmp_cluster_verify_record("x.test", 6, hb, sizeof(hb) - 1, NULL, 1000, NULL),
                     DMP_CLUSTER_EREJECT);
    /* prekey: structural (>= 65 bytes of strict base64) */
    char pk[200] = "v=dmp1;t=prekey;d=";
    uint8_t blob[65];
    memset(blob, 7, sizeof(blob));
    dmp_b64_encode(blob, 65, pk + strlen(pk), sizeof(pk) - strlen(pk));
    assert_int_equal(dmp_cluster_verify_record("prekeys.id-ab.x", 15, (const uint8_t *)pk,
                                               strlen(pk), NULL, 1000, NULL),
                     0);
    dmp_b64_encode(blob, 64, pk + 18, sizeof(pk) - 18);
    assert_int_equal(dmp_cluster_verify_record("prekeys.id-ab.x", 15, (const uint8_t *)pk,
                                               strlen(pk), NULL, 1000, NULL),
                     DMP_CLUSTER_EREJECT);
    /* chunk: a wrapped block passes, one flipped checksum bit fails */
    uint8_t block[DMP_ERASURE_BLOCK_LEN], wire[DMP_ERASURE_CHUNK_LEN];
    memset(block, 0x42, sizeof(block));
    dmp_erasure_chunk_wrap(block, wire);
    char txt[300];
    assert_int_equal(dmp_erasure_chunk_txt_encode(wire, txt, sizeof(txt)), 0);
    assert_int_equal(dmp_cluster_verify_record("chunk-0001-abc.x", 16, (const uint8_t *)txt,
                                               strlen(txt), NULL, 1000, NULL),
                     0);
    wire[0] ^= 1;
    assert_int_equal(dmp_erasure_chunk_txt_encode(wire, txt, sizeof(txt)), 0);
    assert_int_equal(dmp_cluster_verify_record("chunk-0001-abc.x", 16, (const uint8_t *)txt,
                                               strlen(txt), NULL, 1000, NULL),
                     DMP_CLUSTER_EREJECT);
    /* identity: signed passes, a changed byte fails */
    uint8_t seed[32], pub[32], sk[64];
    memset(seed, 3, sizeof(seed));
    assert_int_equal(dmp_crypto_ed25519_from_seed(seed, pub, sk), 0);
    dmp_wire_identity_t id;
    memset(&id, 0, sizeof(id));
    strcpy(id.username, "alice");
    id.username_len = 5;
    memcpy(id.ed25519_spk, pub, 32);
    id.ts = 1000;
    id.versions[0] = 1;
    id.n_versions = 1;
    dmp_buf_t b;
    dmp_buf_init(&b);
    assert_int_equal(dmp_wire_identity_encode(&id, sk, &b), 0);
    assert_int_equal(
        dmp_cluster_verify_record("id-ab.mesh.test", 15, b.data, b.len, NULL, 1000, NULL), 0);
    b.data[b.len - 3] = b.data[b.len - 3] == 'A' ? 'B' : 'A';
    assert_int_equal(
        dmp_cluster_verify_record("id-ab.mesh.test", 15, b.data, b.len, NULL, 1000, NULL),
        DMP_CLUSTER_EREJECT);
    dmp_buf_free(&b);
    /* cluster manifest: with a pinned key, only the operator's signature passes */
    dmp_wire_cluster_t c;
    memset(&c, 0, sizeof(c));
    c.seq = 1;
    c.exp = 100000;
    memcpy(c.operator_spk, pub, 32);
    strcpy(c.cluster_name, "mesh.test");
    c.cluster_name_len = 9;
    c.n_nodes = 1;
    strcpy(c.nodes[0].node_id, "n1");
    c.nodes[0].node_id_len = 2;
    strcpy(c.nodes[0].http_endpoint, "http://127.0.0.1:1");
    c.nodes[0].http_endpoint_len = strlen(c.nodes[0].http_endpoint);
    dmp_buf_init(&b);
    assert_int_equal(dmp_wire_cluster_encode(&c, sk, &b), 0);
    assert_int_equal(
        dmp_cluster_verify_record("cluster.mesh.test", 17, b.data, b.len, pub, 1000, NULL), 0);
    uint8_t other[32];
    memset(other, 9, sizeof(other));
    uint8_t opub[32], osk[64];
    dmp_crypto_ed25519_from_seed(other, opub, osk);
    assert_int_equal(
        dmp_cluster_verify_record("cluster.mesh.test", 17, b.data, b.len, opub, 1000, NULL),
        DMP_CLUSTER_EREJECT);
    /* without a key: structural only */
    assert_int_equal(
        dmp_cluster_verify_record("cluster.mesh.test", 17, b.data, b.len, NULL, 1000, NULL), 0);
    dmp_buf_free(&b);
}

/* ---- conflicts ---- */

static void test_decide(void **state)
{
    (void)state;
    dmp_cluster_state_t none = {0};
    dmp_cluster_state_t live = {.present = true, .expires_ms = 100000};
    dmp_cluster_state_t later = {.present = true, .expires_ms = 100000 + 5001};
    dmp_cluster_state_t slight = {.present = true, .expires_ms = 100000 + 5000};
    dmp_cluster_state_t tomb = {.tombstone = true, .tomb_expires = 100000};
    /* missing here: pull */
    assert_int_equal(dmp_cluster_decide(&none, &live), DMP_CLUSTER_PULL);
    /* same row, TTL within the slop: keep; beyond: pull (max lifetime wins) */
    assert_int_equal(dmp_cluster_decide(&live, &slight), DMP_CLUSTER_KEEP);
    assert_int_equal(dmp_cluster_decide(&live, &later), DMP_CLUSTER_PULL);
    /* never shortened by a peer */
    assert_int_equal(dmp_cluster_decide(&later, &live), DMP_CLUSTER_KEEP);
    /* deleted here: the peer's old copy stays out; a re-publish (later expiry) comes in */
    assert_int_equal(dmp_cluster_decide(&tomb, &live), DMP_CLUSTER_KEEP);
    assert_int_equal(dmp_cluster_decide(&tomb, &slight), DMP_CLUSTER_KEEP);
    assert_int_equal(dmp_cluster_decide(&tomb, &later), DMP_CLUSTER_PULL);
    /* a peer's tombstone removes our covered copy, not a newer one */
    assert_int_equal(dmp_cluster_decide(&live, &tomb), DMP_CLUSTER_DELETE);
    assert_int_equal(dmp_cluster_decide(&later, &tomb), DMP_CLUSTER_KEEP);
    assert_int_equal(dmp_cluster_decide(&none, &tomb), DMP_CLUSTER_KEEP);
    assert_int_equal(dmp_cluster_decide(&none, &none), DMP_CLUSTER_KEEP);
}

/* ---- peers ---- */

static void test_peer_ids_and_list(void **state)
{
    (void)state;
    char id[17];
    /* cluster.md §3.9's example */
    assert_int_equal(dmp_cluster_peer_id_from_url("http://dnsmesh-node-b:8053", 26, id, sizeof(id)),
                     0);
    assert_string_equal(id, "dnsmesh-n-69b63b");
    /* same host, other port: another id */
    char id2[17];
    assert_int_equal(
        dmp_cluster_peer_id_from_url("http://dnsmesh-node-b:8054", 26, id2, sizeof(id2)), 0);
    assert_string_not_equal(id, id2);
    dmp_cluster_peer_t p[8];
    size_t n;
    assert_int_equal(dmp_cluster_peers_parse(" http://a:1/ ,http://b:2,,http://a:1, HTTP://SELF:3/",
                                             "http://self:3", NULL, p, 8, &n),
                     0);
    assert_int_equal(n, 2);
    assert_string_equal(p[0].url, "http://a:1");
    assert_string_equal(p[1].url, "http://b:2");
    assert_true(p[0].synthetic_id);
    /* self by id */
    char bid[17];
    dmp_cluster_peer_id_from_url("http://b:2", 10, bid, sizeof(bid));
    assert_int_equal(dmp_cluster_peers_parse("http://a:1,http://b:2", NULL, bid, p, 8, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(dmp_cluster_peers_parse("ftp://a", NULL, NULL, p, 8, &n), DMP_EINVAL);
    assert_int_equal(dmp_cluster_peers_parse("http://a:99999", NULL, NULL, p, 8, &n), DMP_EINVAL);
    assert_int_equal(dmp_cluster_peers_parse("http://a,http://b", NULL, NULL, p, 1, &n), DMP_EFULL);
    assert_int_equal(dmp_cluster_peers_parse("", NULL, NULL, p, 8, &n), 0);
    assert_int_equal(n, 0);
}

static void test_backoff_and_auth(void **state)
{
    (void)state;
    dmp_cluster_backoff_t b = {0};
    assert_true(dmp_cluster_backoff_ready(&b, 0));
    dmp_cluster_backoff_fail(&b, 1000, 500, 8000, 0);
    assert_int_equal(b.next_ms, 1500);
    assert_false(dmp_cluster_backoff_ready(&b, 1499));
    assert_true(dmp_cluster_backoff_ready(&b, 1500));
    dmp_cluster_backoff_fail(&b, 2000, 500, 8000, 0);
    assert_int_equal(b.next_ms, 3000);
    for (int i = 0; i < 10; i++)
        dmp_cluster_backoff_fail(&b, 2000, 500, 8000, 0);
    assert_int_equal(b.next_ms, 10000); /* capped */
    dmp_cluster_backoff_fail(&b, 2000, 500, 8000, 1999);
    assert_true(b.next_ms >= 10000 && b.next_ms <= 12000); /* jitter <= delay / 4 */
    dmp_cluster_backoff_ok(&b);
    assert_true(dmp_cluster_backoff_ready(&b, 0));

    assert_true(dmp_cluster_auth_ok("Bearer s3cret", "s3cret"));
    assert_false(dmp_cluster_auth_ok("bearer s3cret", "s3cret"));
    assert_false(dmp_cluster_auth_ok("Bearer s3cre", "s3cret"));
    assert_false(dmp_cluster_auth_ok("Bearer s3cret ", "s3cret"));
    assert_false(dmp_cluster_auth_ok(NULL, "s3cret"));
    assert_false(dmp_cluster_auth_ok("Bearer ", ""));
    assert_false(dmp_cluster_auth_ok("Bearer x", NULL));
}

/* ---- pull pacing ---- */

static void test_pace_bucket(void **state)
{
    (void)state;
    dmp_cluster_pace_t p;
    int64_t t = 5000;
    /* unpaced: never waits, whatever is charged */
    dmp_cluster_pace_init(&p, 0, t);
    dmp_cluster_pace_charge(&p, 1000000, t);
    assert_int_equal(dmp_cluster_pace_delay(&p, t), 0);

    /* 1000 records/s: a full second's worth goes out at once */
    dmp_cluster_pace_init(&p, 1000, t);
    assert_int_equal(dmp_cluster_pace_delay(&p, t), 0);
    dmp_cluster_pace_charge(&p, 1000, t);
    assert_int_equal(dmp_cluster_pace_delay(&p, t), 0); /* exactly spent, not in debt */
    dmp_cluster_pace_charge(&p, 256, t);
    assert_int_equal(dmp_cluster_pace_delay(&p, t), 256); /* 256 records = 256 ms */
    assert_int_equal(dmp_cluster_pace_delay(&p, t + 100), 156);
    assert_int_equal(dmp_cluster_pace_delay(&p, t + 256), 0);

    /* a clock that goes back is no time passed (and does not refill) */
    dmp_cluster_pace_charge(&p, 500, t + 256);
    assert_int_equal(dmp_cluster_pace_delay(&p, t), 500);
    assert_int_equal(dmp_cluster_pace_delay(&p, t + 200), 300);

    /* a long rest fills the bucket only to one second's worth */
    t += 1000000;
    assert_int_equal(dmp_cluster_pace_delay(&p, t), 0);
    dmp_cluster_pace_charge(&p, 1500, t);
    assert_int_equal(dmp_cluster_pace_delay(&p, t), 500);

    /* rounding up: 3 records/s, one record over = 334 ms */
    dmp_cluster_pace_init(&p, 3, 0);
    dmp_cluster_pace_charge(&p, 4, 0);
    assert_int_equal(dmp_cluster_pace_delay(&p, 0), 334);
    assert_int_equal(dmp_cluster_pace_delay(&p, 333), 1);
    assert_int_equal(dmp_cluster_pace_delay(&p, 334), 0);

    /* a huge charge is bounded (an hour of debt), never overflows */
    dmp_cluster_pace_init(&p, 10000000, 0);
    dmp_cluster_pace_charge(&p, UINT64_MAX, 0);
    assert_int_equal(dmp_cluster_pace_delay(&p, 0), 3600 * 1000);
    dmp_cluster_pace_charge(&p, 1, 0);
    assert_int_equal(dmp_cluster_pace_delay(&p, 0), 3600 * 1000);

    /* the steady state: pages of 256 at 1000 records/s, each sent when the delay says so,
     * average out at the rate */
    dmp_cluster_pace_init(&p, 1000, 0);
    t = 0;
    uint64_t sent = 0;
    for (int i = 0; i < 100; i++) {
        t += dmp_cluster_pace_delay(&p, t);
        assert_int_equal(dmp_cluster_pace_delay(&p, t), 0);
        dmp_cluster_pace_charge(&p, 256, t);
        sent += 256;
    }
    /* 25,600 records, the first 1000 free: the last page went out at 24,344 ms (256 pages of
     * 1 ms each rounded up are paid exactly at 1000/s) */
    assert_true(t >= (int64_t)(sent - 1000 - 256) && t <= (int64_t)(sent - 1000));
}

int main(void)
{
    if (dmp_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_empty_and_set),
        cmocka_unit_test(test_tree_refresh_dirty),
        cmocka_unit_test(test_diff_finds_exactly_the_differences),
        cmocka_unit_test(test_diff_in_sync_and_bytes_scale),
        cmocka_unit_test(test_tree_over_store),
        cmocka_unit_test(test_mreq_parse_rejects),
        cmocka_unit_test(test_leaf_roundtrip_and_rejects),
        cmocka_unit_test(test_leaf_have_list),
        cmocka_unit_test(test_verify_record_classes),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_peer_ids_and_list),
        cmocka_unit_test(test_backoff_and_auth),
        cmocka_unit_test(test_pace_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
