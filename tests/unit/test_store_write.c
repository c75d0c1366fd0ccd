/* Unit tests for the store's write path (store_write.c, store_serial.c, store_sha.c,
 * store_space.c): the one-seek put probe, the record count kept in memory and written as a Put,
 * plain vs indexed batches, the journal trimmed in runs, SHA-256 through OpenSSL, the free-space
 * reserve and the WAL sync that excludes writers near a full disk, the staged index entries of
 * a plain put batch, dmp_store_perf_off, and the Merkle column family's small memtable. */
#include "store_harness.h"

#include "store/store_internal.h"

static void probe(dmp_store_t *s, const char *name, const char *val, int64_t now, size_t *n,
                  size_t *bytes, bool *present)
{
    assert_int_equal(dmp_store_put_probe(s, name, strlen(name), (const uint8_t *)val, strlen(val),
                                         now, n, bytes, present),
                     0);
}

static void test_put_probe(void **state)
{
    fx_t *f = *state;
    size_t n = 9, bytes = 9;
    bool present = true;
    probe(f->s, "p.test", "a", T0, &n, &bytes, &present);
    assert_int_equal(n, 0);
    assert_int_equal(bytes, 0);
    assert_false(present);
    assert_int_equal(put_s(f->s, "p.test", "aaa", 100, T0), 0);
    assert_int_equal(put_s(f->s, "P.Test", "bb", 100, T0), 0);
    assert_int_equal(put_s(f->s, "p.test", "short", 1, T0), 0);  /* dead from T0 + 1000 */
    assert_int_equal(put_s(f->s, "p.testx", "aaa", 100, T0), 0); /* another name */
    probe(f->s, "p.TEST", "aaa", T0 + 10, &n, &bytes, &present);
    assert_int_equal(n, 3);
    assert_int_equal(bytes, dmp_store_txt_rdata_len(3) + dmp_store_txt_rdata_len(2) +
                                dmp_store_txt_rdata_len(5));
    assert_true(present);
    /* the same answers as count_values_ex and has_value, also once a value has expired */
    probe(f->s, "p.test", "short", T0 + 1000, &n, &bytes, &present);
    assert_int_equal(n, 2);
    assert_int_equal(bytes, dmp_store_txt_rdata_len(3) + dmp_store_txt_rdata_len(2));
    assert_false(present);
    size_t n2 = 0, b2 = 0;
    bool h2 = true;
    assert_int_equal(dmp_store_count_values_ex(f->s, "p.test", 6, T0 + 1000, &n2, &b2), 0);
    assert_int_equal(
        dmp_store_has_value(f->s, "p.test", 6, (const uint8_t *)"short", 5, T0 + 1000, &h2), 0);
    assert_int_equal(n, n2);
    assert_int_equal(bytes, b2);
    assert_false(h2);
    probe(f->s, "p.test", "zz", T0 + 10, &n, NULL, &present);
    assert_int_equal(n, 3);
    assert_false(present);
    /* the empty value is a value */
    assert_int_equal(put_s(f->s, "e.test", "", 100, T0), 0);
    probe(f->s, "e.test", "", T0, &n, &bytes, &present);
    assert_int_equal(n, 1);
    assert_int_equal(bytes, 1);
    assert_true(present);
    assert_int_equal(dmp_store_put_probe(f->s, "", 0, NULL, 0, T0, &n, NULL, NULL), DMP_ENAME);
    assert_int_equal(dmp_store_put_probe(NULL, "a", 1, NULL, 0, T0, &n, NULL, NULL), DMP_EINVAL);
}

static uint64_t meta_count_raw(dmp_store_t *s)
{
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_META], META_COUNT, sizeof META_COUNT - 1,
                             &vl, &err);
    assert_null(err);
    assert_non_null(v);
    assert_int_equal(vl, 8);
    uint64_t c = dmp_load_u64be((const uint8_t *)v);
    rocksdb_free(v);
    return c;
}

static void test_count_put(void **state)
{
    fx_t *f = *state;
    dmp_store_put_t p[3] = {
        {"c1.test", 7, (const uint8_t *)"x", 1, 100},
        {"c2.test", 7, (const uint8_t *)"y", 1, 100},
        {"c1.test", 7, (const uint8_t *)"z", 1, 100},
    };
    assert_int_equal(dmp_store_put_batch(f->s, p, 3, T0), 0);
    assert_int_equal(count_of(f->s), 3);
    assert_int_equal(meta_count_raw(f->s), 3); /* a plain value, not a merge to resolve */
    assert_int_equal(dmp_store_put_batch(f->s, p, 3, T0 + 1), 0); /* refreshes: no change */
    assert_int_equal(count_of(f->s), 3);
    size_t rem = 0;
    assert_int_equal(dmp_store_delete(f->s, "c1.test", 7, NULL, 0, &rem), 0);
    assert_int_equal(rem, 2);
    assert_int_equal(count_of(f->s), 1);
    /* the sweep and a transaction move the same count */
    assert_int_equal(put_s(f->s, "d.test", "gone", 1, T0), 0);
    assert_int_equal(count_of(f->s), 2);
    assert_int_equal(dmp_store_sweep(f->s, T0 + 5000, 0, &rem), 0);
    assert_int_equal(rem, 1);
    assert_int_equal(count_of(f->s), 1);
    dmp_store_op_t ops[2] = {
        {.op = DMP_STORE_OP_PUT,
         .name = "t.test",
         .name_len = 6,
         .value = (const uint8_t *)"1",
         .value_len = 1,
         .ttl = 100},
        {.op = DMP_STORE_OP_DEL_ALL, .name = "c2.test", .name_len = 7},
    };
    size_t changed = 0;
    assert_int_equal(dmp_store_apply_ex(f->s, ops, 2, T0, 0, &changed), 0);
    assert_int_equal(count_of(f->s), 1);
    /* it is loaded again on open, and counting goes on from there */
    reopen(f);
    assert_int_equal(count_of(f->s), 1);
    assert_int_equal(put_s(f->s, "u.test", "2", 100, T0), 0);
    assert_int_equal(count_of(f->s), 2);
    assert_int_equal(meta_count_raw(f->s), 2);
}

/* A store written by an older build holds the count as add-merge operands: it still opens with
 * the right count (the merge operator stays registered) and the next Put carries on from it. */
static void test_count_from_merges(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_s(f->s, "m1.test", "1", 100, T0), 0);
    assert_int_equal(put_s(f->s, "m2.test", "2", 100, T0), 0);
    uint8_t one[8];
    dmp_store_u64be(one, 1);
    char *err = NULL;
    /* two operands as an older build would have merged them (the rows are not there: this
     * only checks the arithmetic of the load) */
    for (int i = 0; i < 2; i++)
        rocksdb_merge_cf(f->s->db, f->s->wsync, f->s->cf[CF_META], META_COUNT,
                         sizeof META_COUNT - 1, (const char *)one, 8, &err);
    assert_null(err);
    reopen(f);
    assert_int_equal(count_of(f->s), 4);
    assert_int_equal(put_s(f->s, "m3.test", "3", 100, T0), 0);
    assert_int_equal(count_of(f->s), 5);
    assert_int_equal(meta_count_raw(f->s), 5);
}

static size_t journal_rows(dmp_store_t *s, uint64_t *first)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rdefault, s->cf[CF_JOURNAL]);
    size_t n = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        assert_int_equal(kl, 8);
        if (n++ == 0)
            *first = dmp_load_u64be((const uint8_t *)k);
    }
    rocksdb_iter_destroy(it);
    return n;
}

static void test_journal_trim(void **state)
{
    fx_t *f = *state;
    uint32_t s0 = dmp_store_soa_serial(f->s);
    size_t total = DMP_STORE_JOURNAL_MAX + 200;
    for (size_t i = 0; i < total; i++) {
        char name[32], val[16];
        snprintf(name, sizeof name, "j%zu.test", i % 7);
        snprintf(val, sizeof val, "%zu", i);
        dmp_store_put_t p = {name, strlen(name), (const uint8_t *)val, strlen(val), 100};
        assert_int_equal(dmp_store_put_batch_ex(f->s, &p, 1, T0, DMP_STORE_NOSYNC), 0);
    }
    uint32_t cur = dmp_store_soa_serial(f->s);
    assert_int_equal(cur, s0 + total);
    uint64_t first = 0;
    size_t rows = journal_rows(f->s, &first);
    /* bounded: at most JOURNAL_MAX + 63 entries, and never fewer than JOURNAL_MAX */
    assert_true(rows >= DMP_STORE_JOURNAL_MAX);
    assert_true(rows < DMP_STORE_JOURNAL_MAX + 64);
    assert_int_equal(first + rows - 1, (uint64_t)cur);
    /* the newest JOURNAL_MAX - 1 change sets are readable; anything older is AXFR */
    assert_int_equal(
        dmp_store_journal_read(f->s, cur - (DMP_STORE_JOURNAL_MAX - 2), cur, NULL, NULL), 0);
    assert_int_equal(dmp_store_journal_read(f->s, cur - DMP_STORE_JOURNAL_MAX - 10,
                                            cur - DMP_STORE_JOURNAL_MAX - 5, NULL, NULL),
                     DMP_ENOTFOUND);
}

static bool tomb_of(dmp_store_t *s, const char *name, const char *val)
{
    uint8_t h[32];
    crypto_hash_sha256(h, (const uint8_t *)val, strlen(val));
    int64_t exp = 0;
    bool found = false;
    assert_int_equal(dmp_store_tomb_get(s, name, strlen(name), h, T0, &found, &exp), 0);
    return found;
}

static size_t tombs_total(dmp_store_t *s)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rdefault, s->cf[CF_TOMBS]);
    size_t n = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it))
        n++;
    rocksdb_iter_destroy(it);
    return n;
}

/* A put lifts a tombstone only when it creates the row: a row that is there has none. */

/* A dmp_store_apply_ex put of a NUL-terminated name and value. */
static dmp_store_op_t put_op(const char *name, const char *val, uint32_t ttl)
{
    return (dmp_store_op_t){.op = DMP_STORE_OP_PUT,
                            .name = name,
                            .name_len = strlen(name),
                            .value = (const uint8_t *)val,
                            .value_len = strlen(val),
                            .ttl = ttl};
}

static void test_tomb_lift(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_s(f->s, "t.test", "a", 100, T0), 0);
    assert_false(tomb_of(f->s, "t.test", "a"));
    size_t rem = 0;
    assert_int_equal(dmp_store_delete(f->s, "t.test", 6, (const uint8_t *)"a", 1, &rem), 0);
    assert_true(tomb_of(f->s, "t.test", "a"));
    assert_int_equal(put_s(f->s, "t.test", "a", 100, T0 + 1), 0); /* re-publish: lifted */
    assert_false(tomb_of(f->s, "t.test", "a"));
    assert_int_equal(put_s(f->s, "t.test", "a", 200, T0 + 2), 0); /* refresh: none to lift */
    assert_false(tomb_of(f->s, "t.test", "a"));
    assert_int_equal(tombs_total(f->s), 0);
    /* delete and re-put of the same row in one transaction: the tomb written by the delete is
     * lifted by the put in the same batch */
    dmp_store_op_t ops[2] = {
        {.op = DMP_STORE_OP_DEL_VALUE,
         .name = "t.test",
         .name_len = 6,
         .value = (const uint8_t *)"a",
         .value_len = 1},
        put_op("t.test", "a", 100),
    };
    size_t changed = 0;
    assert_int_equal(dmp_store_apply_ex(f->s, ops, 2, T0 + 3, 0, &changed), 0);
    assert_false(tomb_of(f->s, "t.test", "a"));
    assert_int_equal(count_of(f->s), 1);
    /* the other order leaves the tomb */
    dmp_store_op_t ops2[2] = {ops[1], ops[0]};
    assert_int_equal(dmp_store_apply_ex(f->s, ops2, 2, T0 + 4, 0, &changed), 0);
    assert_true(tomb_of(f->s, "t.test", "a"));
    assert_int_equal(count_of(f->s), 0);
}

static void test_sha256(void **state)
{
    (void)state;
    uint8_t a[32], b[32], buf[1000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    size_t lens[] = {0, 1, 55, 56, 64, 250, 1000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        dmp_store_sha256(a, lens[i] ? buf : NULL, lens[i]);
        crypto_hash_sha256(b, buf, lens[i]);
        assert_memory_equal(a, b, 32);
    }
    dmp_store_iov_t v[3] = {{buf, 10}, {NULL, 0}, {buf + 10, 90}};
    dmp_store_sha256v(a, v, 3);
    crypto_hash_sha256(b, buf, 100);
    assert_memory_equal(a, b, 32);
}

static void *sha_thread(void *arg)
{
    uint8_t out[32], want[32];
    crypto_hash_sha256(want, (const uint8_t *)"thread", 6);
    for (int i = 0; i < 200; i++) {
        dmp_store_sha256(out, "thread", 6);
        if (memcmp(out, want, 32) != 0)
            *(int *)arg = 1;
    }
    return NULL;
}

/* one context per thread, freed as each thread exits (ASan's leak check sees the rest) */
static void test_sha256_threads(void **state)
{
    (void)state;
    pthread_t th[4];
    int bad = 0;
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, sha_thread, &bad), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(bad, 0);
}

/* ---- the free-space reserve and the guarded WAL sync (store_space.c) ---- */

typedef struct {
    uint64_t free_bytes;
    int rc; /* what the reading returns */
    int calls;
} fake_disk_t;

static int fake_space(void *ctx, const char *path, uint64_t *free_bytes)
{
    fake_disk_t *d = ctx;
    assert_non_null(path);
    d->calls++;
    if (d->rc == 0)
        *free_bytes = d->free_bytes;
    return d->rc;
}

#define MIB (UINT64_C(1) << 20)

static void test_space_reserve(void **state)
{
    fx_t *f = *state;
    fake_disk_t d = {.free_bytes = 50 * MIB};
    dmp_store_space_set_source(f->s, fake_space, &d);
    dmp_store_space_set_reserve(f->s, 100 * MIB);
    assert_false(dmp_store_space_low(f->s)); /* no reading yet */
    uint64_t fb = 0;
    assert_int_equal(dmp_store_space_check(f->s, &fb), 0);
    assert_int_equal(fb, 50 * MIB);
    assert_true(dmp_store_space_low(f->s));
    /* below the reserve: puts are refused and nothing is written */
    assert_int_equal(put_s(f->s, "r.test", "a", 100, T0), DMP_STORE_ENOSPC);
    dmp_store_op_t ops[2] = {
        {.op = DMP_STORE_OP_DEL_ALL, .name = "r.test", .name_len = 6},
        put_op("r.test", "b", 100),
    };
    size_t changed = 9;
    assert_int_equal(dmp_store_apply_ex(f->s, ops, 2, T0, 0, &changed), DMP_STORE_ENOSPC);
    assert_int_equal(changed, 0);
    coll_t c = {0};
    assert_int_equal(get_s(f->s, "r.test", T0, &c), DMP_ENOTFOUND);
    assert_int_equal(count_of(f->s), 0);
    /* ... deletes are not (they free space) */
    assert_int_equal(dmp_store_apply_ex(f->s, ops, 1, T0, 0, &changed), 0);
    /* a failed reading leaves the state as it was */
    d.rc = DMP_ESYS;
    d.free_bytes = 500 * MIB;
    assert_int_equal(dmp_store_space_check(f->s, NULL), DMP_ESYS);
    assert_true(dmp_store_space_low(f->s));
    /* space returns: puts go through again */
    d.rc = 0;
    assert_int_equal(dmp_store_space_check(f->s, NULL), 0);
    assert_false(dmp_store_space_low(f->s));
    assert_int_equal(put_s(f->s, "r.test", "a", 100, T0), 0);
    assert_int_equal(dmp_store_apply_ex(f->s, ops + 1, 1, T0, 0, &changed), 0);
    assert_int_equal(count_of(f->s), 2);
    /* the reading at the reserve exactly is enough; one byte less is not */
    d.free_bytes = 100 * MIB;
    assert_int_equal(dmp_store_space_check(f->s, NULL), 0);
    assert_false(dmp_store_space_low(f->s));
    d.free_bytes = 100 * MIB - 1;
    assert_int_equal(dmp_store_space_check(f->s, NULL), 0);
    assert_true(dmp_store_space_low(f->s));
    /* reserve 0: never refused, even on a full disk */
    dmp_store_space_set_reserve(f->s, 0);
    assert_false(dmp_store_space_low(f->s));
    d.free_bytes = 0;
    assert_int_equal(dmp_store_space_check(f->s, NULL), 0);
    assert_false(dmp_store_space_low(f->s));
    assert_int_equal(put_s(f->s, "r2.test", "a", 100, T0), 0);
    /* the real reading (statvfs of the store's directory) works */
    dmp_store_space_set_source(f->s, NULL, NULL);
    fb = 0;
    assert_int_equal(dmp_store_space_check(f->s, &fb), 0);
    assert_true(fb > 0);
    assert_int_equal(dmp_store_space_check(NULL, NULL), DMP_EINVAL);
    assert_false(dmp_store_space_low(NULL));
}

typedef struct {
    dmp_store_t *s;
    atomic_int done;
    int rc;
} sync_arg_t;

static void *sync_thread(void *arg)
{
    sync_arg_t *a = arg;
    a->rc = dmp_store_sync_wal(a->s);
    atomic_store(&a->done, 1);
    return NULL;
}

/* Runs dmp_store_sync_wal on another thread while this one holds the store's lock shared (as a
 * write in flight does) for up to wait_ms: true when the sync finished while the lock was still
 * held (it took no exclusive lock), false when it waited for the lock to be released. */
static bool sync_ran_beside_writer(dmp_store_t *s, int wait_ms)
{
    sync_arg_t a = {.s = s};
    pthread_t th;
    pthread_rwlock_rdlock(&s->lock);
    assert_int_equal(pthread_create(&th, NULL, sync_thread, &a), 0);
    for (int i = 0; i < wait_ms / 10 && !atomic_load(&a.done); i++)
        usleep(10000);
    bool beside = atomic_load(&a.done) != 0;
    pthread_rwlock_unlock(&s->lock);
    pthread_join(th, NULL);
    assert_int_equal(a.rc, 0);
    return beside;
}

/* a sync that takes no lock is done well within BESIDE_MS; one that waits for the writer is
 * never done, so WAITS_MS is only how long we look for it */
#define BESIDE_MS 5000
#define WAITS_MS 200

static void test_sync_guarded(void **state)
{
    fx_t *f = *state;
    fake_disk_t d = {.free_bytes = 64 * 1024 * MIB};
    dmp_store_space_set_source(f->s, fake_space, &d);
    dmp_store_space_set_reserve(f->s, 16 * MIB);
    assert_int_equal(put_s(f->s, "g.test", "a", 100, T0), 0);
    /* plenty of space: the common path takes no exclusive lock (and reads the disk) */
    int calls = d.calls;
    assert_true(sync_ran_beside_writer(f->s, BESIDE_MS));
    assert_true(d.calls > calls);
    /* within the margin (two 4 MiB write buffers here) of the reserve: the sync waits for
     * the writer to finish */
    d.free_bytes = 16 * MIB + 7 * MIB;
    assert_false(sync_ran_beside_writer(f->s, WAITS_MS));
    d.free_bytes = 16 * MIB + 9 * MIB;
    assert_true(sync_ran_beside_writer(f->s, BESIDE_MS));
    /* with no reserve the margin still counts from zero */
    dmp_store_space_set_reserve(f->s, 0);
    d.free_bytes = 1 * MIB;
    assert_false(sync_ran_beside_writer(f->s, WAITS_MS));
    /* no reading to be had: careful */
    d.free_bytes = 64 * 1024 * MIB;
    d.rc = DMP_ESYS;
    assert_false(sync_ran_beside_writer(f->s, WAITS_MS));
    d.rc = 0;
    /* after a failed write, plenty of space or not: exclusive, and the probe clears it */
    atomic_store(&f->s->write_failed, 1);
    assert_true(dmp_store_writes_failing(f->s));
    assert_false(sync_ran_beside_writer(f->s, WAITS_MS));
    assert_false(dmp_store_writes_failing(f->s));
    assert_true(sync_ran_beside_writer(f->s, BESIDE_MS));
    /* every write is still there and durable */
    assert_int_equal(put_s(f->s, "g2.test", "b", 100, T0), 0);
    assert_int_equal(dmp_store_sync_wal(f->s), 0);
    reopen(f);
    assert_int_equal(count_of(f->s), 2);
}

/* ---- staged index entries of a plain put batch (store_stage.c) ---- */

static void test_stage_order(void **state)
{
    fx_t *f = *state;
    rocksdb_column_family_handle_t *ex = f->s->cf[CF_EXPIRY], *by = f->s->cf[CF_BYSTORED];
    dmp_store_stage_t st = {0};
    /* as a batch of two refreshes adds them: each delete of an old entry, then its new one */
    dmp_store_stage_add(&st, ex, false, "k5", 2, NULL, 0);
    dmp_store_stage_add(&st, ex, true, "k9", 2, NULL, 0);
    dmp_store_stage_add(&st, by, false, "b7", 2, NULL, 0);
    dmp_store_stage_add(&st, by, true, "b9", 2, "v1", 2);
    dmp_store_stage_add(&st, ex, false, "k1", 2, NULL, 0);
    dmp_store_stage_add(&st, ex, true, "k1", 2, NULL, 0); /* the key it deletes */
    dmp_store_stage_add(&st, ex, true, "k10", 3, NULL, 0);
    dmp_store_stage_add(&st, by, true, "b2", 2, "v2", 2);
    assert_false(st.failed);
    assert_int_equal(st.n, 8);
    dmp_store_stage_sort(&st);
    /* per family: its deletes, then its puts, each in key order */
    bool ex_first = (uintptr_t)ex < (uintptr_t)by;
    static const char *want_ex[] = {"-k1", "-k5", "+k1", "+k10", "+k9"};
    static const char *want_by[] = {"-b7", "+b2", "+b9"};
    for (size_t i = 0; i < st.n; i++) {
        bool in_ex = ex_first ? i < 5 : i >= 3;
        size_t j = in_ex ? (ex_first ? i : i - 3) : (ex_first ? i - 5 : i);
        const char *w = in_ex ? want_ex[j] : want_by[j];
        const dmp_store_sop_t *o = &st.ops[i];
        assert_ptr_equal(o->cf, in_ex ? ex : by);
        assert_int_equal(o->put, w[0] == '+');
        assert_int_equal(o->kl, strlen(w + 1));
        assert_memory_equal(st.bytes.data + o->off, w + 1, o->kl);
    }
    assert_memory_equal(st.bytes.data + st.ops[7 - (ex_first ? 0 : 5)].off + 2, "v1", 2); /* +b9 */
    /* written: the delete and the put of k1 leave k1 */
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    assert_int_equal(dmp_store_stage_emit(&st, wb), 0);
    assert_int_equal(st.n, 0);
    assert_int_equal(rocksdb_writebatch_count(wb), 8);
    char *err = NULL;
    rocksdb_write(f->s->db, f->s->wsync, wb, &err);
    assert_null(err);
    rocksdb_writebatch_destroy(wb);
    size_t vl = 0;
    char *v = rocksdb_get_cf(f->s->db, f->s->rdefault, ex, "k1", 2, &vl, &err);
    assert_non_null(v);
    rocksdb_free(v);
    dmp_store_stage_free(&st);
}

/* SHA-256 over every row of one column family (records: the seq field left out). */
static void cf_digest(dmp_store_t *s, int cf, uint8_t out[32], size_t *rows)
{
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rdefault, s->cf[cf]);
    *rows = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const unsigned char *k = (const unsigned char *)rocksdb_iter_key(it, &kl);
        const unsigned char *v = (const unsigned char *)rocksdb_iter_value(it, &vl);
        if (cf == CF_META && !(kl == 12 && memcmp(k, "record_count", 12) == 0))
            continue; /* the serial differs: one change set per batch against one per put */
        uint64_t lens[2] = {kl, vl};
        crypto_hash_sha256_update(&h, (const unsigned char *)lens, sizeof lens);
        crypto_hash_sha256_update(&h, k, kl);
        if (cf == CF_RECORDS && vl >= DMP_STORE_REC_HDR) {
            crypto_hash_sha256_update(&h, v, 21); /* format, ttl, stored, expires */
            crypto_hash_sha256_update(&h, v + DMP_STORE_REC_HDR, vl - DMP_STORE_REC_HDR);
        } else {
            crypto_hash_sha256_update(&h, v, vl);
        }
        (*rows)++;
    }
    rocksdb_iter_destroy(it);
    crypto_hash_sha256_final(&h, out);
}

typedef struct {
    const char *name, *val;
    uint32_t ttl;
} bput_t;

/* Applies puts[0..n) as one batch to a and one put at a time to b. */
static void put_both(dmp_store_t *a, dmp_store_t *b, const bput_t *puts, size_t n, int64_t now)
{
    dmp_store_put_t p[8];
    for (size_t i = 0; i < n; i++) {
        p[i] = (dmp_store_put_t){puts[i].name, strlen(puts[i].name), (const uint8_t *)puts[i].val,
                                 strlen(puts[i].val), puts[i].ttl};
        assert_int_equal(put_s(b, puts[i].name, puts[i].val, puts[i].ttl, now), 0);
    }
    assert_int_equal(dmp_store_put_batch_ex(a, p, n, now, DMP_STORE_NOSYNC), 0);
}

/* A batch of refreshes and new rows leaves the store as the same puts one by one: every index,
 * the count, the Merkle buckets, the tombstones (the serial and journal are per change set). A
 * refresh at the same millisecond with the same TTL deletes and puts the same expiry and
 * by-stored keys, which must stay. */
static void test_batch_equals_single_puts(void **state)
{
    fx_t *f = *state;
    char p2[128], err[256];
    snprintf(p2, sizeof p2, "%s/db2", f->dir);
    dmp_store_t *b = open_at(p2, NULL, err, sizeof err);
    assert_non_null(b);
    static const bput_t b1[] = {
        {"a.test", "1", 100}, {"b.test", "1", 100}, {"c.test", "1", 100}, {"x.a.test", "1", 100}};
    put_both(f->s, b, b1, 4, T0);
    static const bput_t b2[] = {{"a.test", "1", 100}, /* same ms, same TTL: same index keys */
                                {"b.test", "1", 50},  /* shorter */
                                {"c.test", "2", 100},
                                {"d.test", "1", 100}};
    put_both(f->s, b, b2, 4, T0);
    size_t rem = 0;
    assert_int_equal(dmp_store_delete(f->s, "d.test", 6, NULL, 0, &rem), 0);
    assert_int_equal(dmp_store_delete(b, "d.test", 6, NULL, 0, &rem), 0);
    static const bput_t b3[] = {{"a.test", "1", 100},
                                {"c.test", "1", 300},
                                {"d.test", "1", 100}, /* lifts the tombstone */
                                {"x.a.test", "1", 10}};
    put_both(f->s, b, b3, 4, T0 + 5);
    static const int cfs[] = {CF_RECORDS, CF_EXPIRY, CF_BYSTORED, CF_RNAMES,
                              CF_BUCKETS, CF_TOMBS,  CF_MERKLE,   CF_META};
    static const size_t want_rows[] = {6, 6, 6, 6, 6, 0, 0, 1};
    for (size_t i = 0; i < sizeof cfs / sizeof cfs[0]; i++) {
        uint8_t da[32], db[32];
        size_t ra, rb;
        cf_digest(f->s, cfs[i], da, &ra);
        cf_digest(b, cfs[i], db, &rb);
        if (cfs[i] != CF_MERKLE)
            assert_int_equal(ra, want_rows[i]);
        assert_int_equal(ra, rb);
        assert_memory_equal(da, db, 32);
    }
    assert_int_equal(count_of(f->s), 6);
    assert_int_equal(count_of(b), 6);
    dmp_store_close(b);
}

typedef struct {
    dmp_store_t *s;
    uint64_t before, after;
} perf_arg_t;

static uint64_t comparisons_of_raw_puts(dmp_store_t *s, int from)
{
    rocksdb_perfcontext_t *pc = rocksdb_perfcontext_create();
    rocksdb_perfcontext_reset(pc);
    char *err = NULL;
    for (int i = from; i < from + 32; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "perf%04d", i);
        rocksdb_put_cf(s->db, s->wnosync, s->cf[CF_META], k, (size_t)kl, "", 0, &err);
        assert_null(err);
    }
    uint64_t n = rocksdb_perfcontext_metric(pc, rocksdb_user_key_comparison_count);
    rocksdb_perfcontext_destroy(pc);
    return n;
}

/* A thread's perf counting is its own: a put leaves it on, dmp_store_perf_off turns it off. */
static void *perf_thread(void *p)
{
    perf_arg_t *a = p;
    a->before = comparisons_of_raw_puts(a->s, 0); /* a new thread counts by default */
    assert_int_equal(put_s(a->s, "perf.test", "1", 100, T0), 0);
    assert_true(comparisons_of_raw_puts(a->s, 100) > 0);
    dmp_store_perf_off();
    dmp_store_perf_off(); /* twice: still off */
    a->after = comparisons_of_raw_puts(a->s, 200);
    return NULL;
}

static void test_perf_off(void **state)
{
    fx_t *f = *state;
    perf_arg_t a = {.s = f->s};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, perf_thread, &a), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(a.before > 0); /* Debian's librocksdb counts by default (as test_node_core_apply) */
    assert_int_equal(a.after, 0);
}

/* The Merkle column family's memtable is 1 MiB whatever the write buffer (store_options.c): the
 * XOR operands of new rows are flushed (folded per bucket) long before the records are, and
 * the bucket digests stay the XOR of the item digests, flushed, reopened or not. */
static void merkle_expect(uint8_t (*want)[32], unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++) {
        char name[48], val[48];
        snprintf(name, sizeof name, "mk-%u.mb-%u.test", i, i % 97);
        snprintf(val, sizeof val, "value-%u", i);
        uint8_t h[32], d[32];
        uint32_t b;
        dmp_store_sha256(h, val, strlen(val));
        assert_int_equal(dmp_store_item_digest(name, strlen(name), h, d), 0);
        assert_int_equal(dmp_store_bucket_of(name, strlen(name), &b), 0);
        for (int k = 0; k < 32; k++)
            want[b][k] ^= d[k];
    }
}

static void merkle_put(dmp_store_t *s, unsigned from, unsigned to)
{
    static char names[256][48], vals[256][48];
    dmp_store_put_t p[256];
    for (unsigned i = from; i < to;) {
        size_t n = 0;
        for (; n < 256 && i < to; n++, i++) {
            snprintf(names[n], sizeof names[n], "mk-%u.mb-%u.test", i, i % 97);
            snprintf(vals[n], sizeof vals[n], "value-%u", i);
            p[n] = (dmp_store_put_t){names[n], strlen(names[n]), (const uint8_t *)vals[n],
                                     strlen(vals[n]), 3600};
        }
        assert_int_equal(dmp_store_put_batch_ex(s, p, n, T0, DMP_STORE_NOSYNC), 0);
    }
}

static uint64_t active_entries(dmp_store_t *s, int cf)
{
    uint64_t n = 0;
    assert_int_equal(
        rocksdb_property_int_cf(s->db, s->cf[cf], "rocksdb.num-entries-active-mem-table", &n), 0);
    return n;
}

static void test_merkle_memtable(void **state)
{
    fx_t *f = *state;
    dmp_store_close(f->s);
    char err[256];
    dmp_store_opts_t o = {
        .path = f->path, .block_cache_bytes = 8u << 20, .create_if_missing = true};
    assert_int_equal(dmp_store_open(&o, &f->s, err, sizeof err), 0); /* the default buffers */
    dmp_store_t *s = f->s;
    assert_int_equal(rocksdb_options_get_write_buffer_size(s->cfopts[CF_MERKLE]), 1u << 20);
    assert_int_equal(rocksdb_options_get_write_buffer_size(s->cfopts[CF_RECORDS]), 64u << 20);
    assert_int_equal(rocksdb_options_get_write_buffer_size(s->cfopts[CF_RNAMES]), (16u << 20) + 1);

    enum { N = 40000 };
    uint8_t(*want)[32] = calloc(DMP_STORE_MERKLE_BUCKETS, 32);
    uint8_t(*got)[32] = calloc(DMP_STORE_MERKLE_BUCKETS, 32);
    assert_non_null(want);
    assert_non_null(got);
    merkle_put(s, 0, N);
    merkle_expect(want, 0, N);
    /* the records' memtable holds every row; the operands of the Merkle one have been flushed */
    assert_int_equal(active_entries(s, CF_RECORDS), N);
    assert_true(active_entries(s, CF_MERKLE) < N / 2);
    assert_int_equal(dmp_store_bucket_digests(s, got), 0);
    assert_memory_equal(got, want, (size_t)DMP_STORE_MERKLE_BUCKETS * 32);
    reopen(f); /* the harness's options again: the flushed operands fold the same way */
    memset(got, 0, (size_t)DMP_STORE_MERKLE_BUCKETS * 32);
    assert_int_equal(dmp_store_bucket_digests(f->s, got), 0);
    assert_memory_equal(got, want, (size_t)DMP_STORE_MERKLE_BUCKETS * 32);
    free(want);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_from_merges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_trim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tomb_lift, setup, teardown),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_sha256_threads),
        cmocka_unit_test_setup_teardown(test_space_reserve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_guarded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stage_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_equals_single_puts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_perf_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merkle_memtable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
