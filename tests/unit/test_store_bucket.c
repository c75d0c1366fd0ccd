/* Unit tests: the store's anti-entropy indexes (schema 3) — rows and tombstones by Merkle
 * bucket, tombstone life cycle (delete, re-publish, expiry, collection by the sweep, the
 * first tombstone of a store and one kept across a reopen). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "store/store.h"

typedef struct {
    int rows, tombs;
    char last[256];
    int64_t last_exp;
} seen_t;

static int visit(void *ctx, const char *name, size_t len, const uint8_t hash[32],
                 int64_t expires_ms, bool tombstone)
{
    (void)hash;
    seen_t *s = ctx;
    if (tombstone)
        s->tombs++;
    else
        s->rows++;
    snprintf(s->last, sizeof(s->last), "%.*s", (int)len, name);
    s->last_exp = expires_ms;
    return 0;
}

static seen_t scan(dmp_store_t *s, const char *name, int64_t now)
{
    uint32_t b;
    assert_int_equal(dmp_store_bucket_of(name, strlen(name), &b), 0);
    seen_t r = {0};
    assert_int_equal(dmp_store_bucket_scan(s, b, now, visit, &r), 0);
    return r;
}

/* A store in a fresh temporary directory, reopened at will, removed at the end. */
typedef struct {
    char dir[40];
    char path[300];
} tmpdb_t;

static dmp_store_t *tmpdb_open(tmpdb_t *t)
{
    if (t->dir[0] == '\0') {
        snprintf(t->dir, sizeof(t->dir), "/tmp/dmp_sbucket_XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        snprintf(t->path, sizeof(t->path), "%s/db", t->dir);
    }
    dmp_store_opts_t o = {.path = t->path, .create_if_missing = true};
    dmp_store_t *s = NULL;
    char err[200];
    assert_int_equal(dmp_store_open(&o, &s, err, sizeof(err)), 0);
    return s;
}

static void tmpdb_remove(const tmpdb_t *t)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
}

static void test_bucket_index_and_tombstones(void **state)
{
    (void)state;
    tmpdb_t db = {0};
    dmp_store_t *s;
    s = tmpdb_open(&db);
    const int64_t t0 = 1000000;
    assert_int_equal(dmp_store_put(s, "A.mesh.test", 11, (const uint8_t *)"v1", 2, 100, t0), 0);
    assert_int_equal(dmp_store_put(s, "a.mesh.test", 11, (const uint8_t *)"v2", 2, 50, t0), 0);
    seen_t r = scan(s, "a.mesh.test", t0);
    assert_int_equal(r.rows, 2);
    assert_int_equal(r.tombs, 0);
    assert_string_equal(r.last, "a.mesh.test");
    /* an expired row is not listed */
    r = scan(s, "a.mesh.test", t0 + 60000);
    assert_int_equal(r.rows, 1);
    assert_int_equal(r.last_exp, t0 + 100000);

    /* delete: the row leaves its bucket, a tombstone with the row's expiry takes its place */
    assert_int_equal(dmp_store_delete(s, "a.mesh.test", 11, (const uint8_t *)"v1", 2, NULL), 0);
    r = scan(s, "a.mesh.test", t0);
    assert_int_equal(r.rows, 1);
    assert_int_equal(r.tombs, 1);
    assert_int_equal(r.last_exp, t0 + 100000);
    uint8_t h1[32];
    bool found;
    int64_t texp = 0;
    crypto_hash_sha256(h1, (const uint8_t *)"v1", 2);
    assert_int_equal(dmp_store_tomb_get(s, "A.MESH.test", 11, h1, t0, &found, &texp), 0);
    assert_true(found);
    assert_int_equal(texp, t0 + 100000);
    /* past the deleted row's expiry the tombstone no longer counts */
    assert_int_equal(dmp_store_tomb_get(s, "a.mesh.test", 11, h1, t0 + 100000, &found, &texp), 0);
    assert_false(found);

    /* a re-publish lifts it */
    assert_int_equal(dmp_store_put(s, "a.mesh.test", 11, (const uint8_t *)"v1", 2, 100, t0 + 10),
                     0);
    assert_int_equal(dmp_store_tomb_get(s, "a.mesh.test", 11, h1, t0, &found, &texp), 0);
    assert_false(found);
    r = scan(s, "a.mesh.test", t0);
    assert_int_equal(r.rows, 2);
    assert_int_equal(r.tombs, 0);

    /* a delete of every value leaves one tombstone per row; the sweep does not make any */
    assert_int_equal(dmp_store_delete(s, "a.mesh.test", 11, NULL, 0, NULL), 0);
    r = scan(s, "a.mesh.test", t0);
    assert_int_equal(r.rows, 0);
    assert_int_equal(r.tombs, 2);
    assert_int_equal(dmp_store_put(s, "b.mesh.test", 11, (const uint8_t *)"x", 1, 1, t0), 0);
    size_t removed = 0;
    assert_int_equal(dmp_store_sweep(s, t0 + 2000, 0, &removed), 0);
    assert_int_equal(removed, 1);
    r = scan(s, "b.mesh.test", 0);
    assert_int_equal(r.rows + r.tombs, 0);
    /* the sweep collects tombstones once the deleted rows would have expired */
    assert_int_equal(dmp_store_sweep(s, t0 + 200000, 0, &removed), 0);
    r = scan(s, "a.mesh.test", 0);
    assert_int_equal(r.tombs, 0);
    assert_int_equal(dmp_store_bucket_scan(s, 65536, t0, visit, &r), DMP_EINVAL);
    dmp_store_close(s);
    tmpdb_remove(&db);
}

static bool tomb_at(dmp_store_t *s, const char *name, const char *value, int64_t now)
{
    uint8_t h[32];
    bool found = true;
    int64_t exp = 0;
    crypto_hash_sha256(h, (const uint8_t *)value, strlen(value));
    assert_int_equal(dmp_store_tomb_get(s, name, strlen(name), h, now, &found, &exp), 0);
    return found;
}

/* A put of a new row deletes its tombstone only when the store may hold one (has_tombs, from
 * the open's emptiness check and set by every tombstone written): the first tombstone of a
 * store, in a batch or in a store reopened with tombstones, is still lifted by a put. */
static void test_tombstone_lifted_after_first_delete_and_reopen(void **state)
{
    (void)state;
    tmpdb_t db = {0};
    dmp_store_t *s;
    const int64_t t0 = 1000000;
    const char *nm = "x.mesh.test";
    s = tmpdb_open(&db);
    assert_int_equal(dmp_store_put(s, nm, 11, (const uint8_t *)"v1", 2, 100, t0), 0);
    assert_int_equal(dmp_store_put(s, nm, 11, (const uint8_t *)"v2", 2, 100, t0), 0);
    /* the store's first tombstone and the put that lifts it in one batch */
    dmp_store_op_t ops[] = {
        {.op = DMP_STORE_OP_DEL_VALUE,
         .name = nm,
         .name_len = 11,
         .value = (const uint8_t *)"v1",
         .value_len = 2},
        {.op = DMP_STORE_OP_PUT,
         .name = nm,
         .name_len = 11,
         .value = (const uint8_t *)"v1",
         .value_len = 2,
         .ttl = 100},
    };
    assert_int_equal(dmp_store_apply_ex(s, ops, 2, t0 + 1, 0, NULL), 0);
    assert_false(tomb_at(s, nm, "v1", t0));
    /* a plain delete, then a put of the same row in the same open */
    assert_int_equal(dmp_store_delete(s, nm, 11, (const uint8_t *)"v2", 2, NULL), 0);
    assert_true(tomb_at(s, nm, "v2", t0));
    assert_int_equal(dmp_store_put(s, nm, 11, (const uint8_t *)"v2", 2, 100, t0 + 2), 0);
    assert_false(tomb_at(s, nm, "v2", t0));
    /* a tombstone written before a restart is lifted by a put after it */
    assert_int_equal(dmp_store_delete(s, nm, 11, (const uint8_t *)"v1", 2, NULL), 0);
    assert_true(tomb_at(s, nm, "v1", t0));
    dmp_store_close(s);
    s = tmpdb_open(&db);
    assert_true(tomb_at(s, nm, "v1", t0));
    assert_int_equal(dmp_store_put(s, nm, 11, (const uint8_t *)"v1", 2, 100, t0 + 3), 0);
    assert_false(tomb_at(s, nm, "v1", t0));
    seen_t r = scan(s, nm, t0);
    assert_int_equal(r.rows, 2);
    assert_int_equal(r.tombs, 0);
    dmp_store_close(s);
    tmpdb_remove(&db);
}

static int jlog(void *ctx, uint32_t serial, bool add, const char *name, size_t nl, const uint8_t *v,
                size_t vl)
{
    (void)serial;
    char *log = ctx;
    size_t l = strlen(log);
    if (!name)
        snprintf(log + l, 512 - l, "|");
    else
        snprintf(log + l, 512 - l, "%s%.*s=%.*s ", add ? "+" : "-", (int)nl, name, (int)vl,
                 (const char *)v);
    return 0;
}

static void test_soa_serial(void **state)
{
    (void)state;
    tmpdb_t db = {0};
    dmp_store_t *s;
    s = tmpdb_open(&db);
    uint32_t s0 = dmp_store_soa_serial(s);
    assert_true(s0 > 1700000000u); /* a new store starts at its creation time */
    const int64_t t0 = 1000000;
    /* one change set, one step: a batch of three puts */
    dmp_store_put_t p[3] = {{"a.x", 3, (const uint8_t *)"1", 1, 10},
                            {"b.x", 3, (const uint8_t *)"2", 1, 10},
                            {"c.x", 3, (const uint8_t *)"3", 1, 100}};
    assert_int_equal(dmp_store_put_batch(s, p, 3, t0), 0);
    assert_int_equal(dmp_store_soa_serial(s), s0 + 1);
    assert_int_equal(dmp_store_delete(s, "a.x", 3, NULL, 0, NULL), 0);
    assert_int_equal(dmp_store_soa_serial(s), s0 + 2);
    /* nothing removed, nothing swept: no new serial */
    assert_int_equal(dmp_store_delete(s, "zz.x", 4, NULL, 0, NULL), DMP_ENOTFOUND);
    size_t removed = 0;
    assert_int_equal(dmp_store_sweep(s, t0 + 1000, 0, &removed), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(dmp_store_soa_serial(s), s0 + 2);
    /* the sweep removing b.x is a change set */
    assert_int_equal(dmp_store_sweep(s, t0 + 20000, 0, &removed), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(dmp_store_soa_serial(s), s0 + 3);
    /* a transaction that changes something */
    dmp_store_op_t ops[2] = {{.op = DMP_STORE_OP_PUT,
                              .name = "d.x",
                              .name_len = 3,
                              .value = (const uint8_t *)"4",
                              .value_len = 1,
                              .ttl = 10},
                             {.op = DMP_STORE_OP_DEL_VALUE,
                              .name = "c.x",
                              .name_len = 3,
                              .value = (const uint8_t *)"3",
                              .value_len = 1}};
    assert_int_equal(dmp_store_apply_ex(s, ops, 2, t0, 0, NULL), 0);
    assert_int_equal(dmp_store_soa_serial(s), s0 + 4);
    /* the journal: each change set's rows, oldest first, each set closed by a NULL name */
    char log[512] = "";
    assert_int_equal(dmp_store_journal_read(s, s0, s0 + 4, jlog, log), 0);
    assert_string_equal(log, "+a.x=1 +b.x=2 +c.x=3 |-a.x=1 |-b.x=2 |+d.x=4 -c.x=3 |");
    log[0] = 0;
    assert_int_equal(dmp_store_journal_read(s, s0 + 3, s0 + 4, jlog, log), 0);
    assert_string_equal(log, "+d.x=4 -c.x=3 |");
    assert_int_equal(dmp_store_journal_read(s, s0 + 4, s0 + 4, NULL, NULL), 0);
    /* beyond the journal: AXFR */
    assert_int_equal(dmp_store_journal_read(s, s0 - 10, s0 + 4, NULL, NULL), DMP_ENOTFOUND);
    assert_int_equal(dmp_store_journal_read(s, s0, s0 + 9, NULL, NULL), DMP_ENOTFOUND);
    /* it survives a restart */
    dmp_store_close(s);
    s = tmpdb_open(&db);
    assert_int_equal(dmp_store_soa_serial(s), s0 + 4);
    dmp_store_close(s);
    tmpdb_remove(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_index_and_tombstones),
        cmocka_unit_test(test_soa_serial),
        cmocka_unit_test(test_tombstone_lifted_after_first_delete_and_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
