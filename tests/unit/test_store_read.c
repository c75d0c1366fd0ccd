/* Unit tests for src/store's read path (store_read.c): the bytes and order of a get whose
 * values outgrow its on-stack buffers, reads once the block cache is full (the DNS reads then
 * stop inserting every block they read), and several threads reading while a writer and the
 * sweep run (dmp_store_get and friends are called from several frontend threads at once), and
 * readers (dmp_store_get_with) that keep their iterator between gets: never stale after a
 * write, a delete or a sweep returned. */
#include "store_harness.h"

/* value i of a name: `len` bytes, each derived from (seed, i, position) */
static void make_value(uint8_t *out, size_t len, unsigned seed, unsigned i)
{
    for (size_t k = 0; k < len; k++)
        out[k] = (uint8_t)('!' + (seed * 31u + i * 7u + (unsigned)k) % 90u);
}

typedef struct {
    size_t n;
    size_t lens[64];
    uint8_t hash[64][32];
    int64_t stored[64];
    uint8_t first[64][4];
    uint8_t last[64];
    int bad;
} vcoll_t;

static int vcollect(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    (void)name;
    (void)nl;
    vcoll_t *c = ctx;
    if (c->n >= 64) {
        c->bad = 1;
        return 1;
    }
    uint8_t h[32];
    crypto_hash_sha256(h, r->value, r->value_len);
    if (memcmp(h, r->hash, 32) != 0) /* the bytes handed out are the value stored */
        c->bad = 1;
    c->lens[c->n] = r->value_len;
    memcpy(c->hash[c->n], r->hash, 32);
    c->stored[c->n] = r->stored_ms;
    memcpy(c->first[c->n], r->value, r->value_len < 4 ? r->value_len : 4);
    c->last[c->n] = r->value_len ? r->value[r->value_len - 1] : 0;
    c->n++;
    return 0;
}

/* 40 values of 100..4000 bytes at one name (more than the get's 16 on-stack entries and its
 * 2 KiB on-stack value buffer): every value comes back byte for byte, in stored_ms order. */
static void test_get_large_rrset(void **state)
{
    fx_t *f = *state;
    uint8_t *v = malloc(4000);
    assert_non_null(v);
    for (unsigned i = 0; i < 40; i++) {
        size_t len = 100 + (size_t)i * 97;
        make_value(v, len, 5, i);
        /* stored in reverse order of i: the get must sort */
        assert_int_equal(dmp_store_put(f->s, "big.read.test", 13, v, len, 300, T0 + 40 - i), 0);
    }
    for (int pass = 0; pass < 2; pass++) {
        vcoll_t c = {0};
        assert_int_equal(dmp_store_get(f->s, "big.read.test", 13, T0 + 100, vcollect, &c), 0);
        assert_int_equal(c.bad, 0);
        assert_int_equal(c.n, 40);
        for (unsigned j = 0; j < 40; j++) {
            unsigned i = 39 - j; /* oldest first */
            size_t len = 100 + (size_t)i * 97;
            make_value(v, len, 5, i);
            assert_int_equal(c.lens[j], len);
            assert_int_equal(c.stored[j], T0 + 40 - i);
            uint8_t h[32];
            crypto_hash_sha256(h, v, len);
            assert_memory_equal(c.hash[j], h, 32);
        }
        reopen(f); /* second pass: from the table files */
    }
    free(v);
}

/* A store whose data outgrows a 64 KiB block cache: once the cache is full the DNS read path
 * reads most blocks without inserting them; every get still returns exactly what was put,
 * absent names stay absent, and the descendant check still sees the names below. */
static void test_reads_with_full_cache(void **state)
{
    fx_t *f = *state;
    dmp_store_close(f->s);
    dmp_store_opts_t o = {.path = f->path,
                          .block_cache_bytes = 64u << 10,
                          .write_buffer_bytes = 4u << 20,
                          .create_if_missing = true};
    char err[256];
    assert_int_equal(dmp_store_open(&o, &f->s, err, sizeof err), 0);
    enum { N = 3000 };
    char name[64];
    uint8_t v[300];
    for (unsigned b = 0; b < N / 100; b++) {
        dmp_store_put_t p[100];
        char names[100][64];
        static uint8_t vals[100][300];
        for (unsigned i = 0; i < 100; i++) {
            unsigned k = b * 100 + i;
            snprintf(names[i], 64, "slot-%u.mb-%05u.read.test", k % 3, k);
            make_value(vals[i], sizeof vals[i], k, 0);
            p[i] = (dmp_store_put_t){names[i], strlen(names[i]), vals[i], sizeof vals[i], 600};
        }
        assert_int_equal(dmp_store_put_batch(f->s, p, 100, T0), 0);
    }
    dmp_store_close(f->s); /* reopen with the same small cache: the rows are in table files */
    assert_int_equal(dmp_store_open(&o, &f->s, err, sizeof err), 0);
    for (int pass = 0; pass < 3; pass++) {
        for (unsigned k = (unsigned)pass; k < N; k += 7) {
            snprintf(name, sizeof name, "slot-%u.mb-%05u.read.test", k % 3, k);
            vcoll_t c = {0};
            assert_int_equal(dmp_store_get(f->s, name, strlen(name), T0 + 1, vcollect, &c), 0);
            assert_int_equal(c.bad, 0);
            assert_int_equal(c.n, 1);
            assert_int_equal(c.lens[0], sizeof v);
            make_value(v, sizeof v, k, 0);
            assert_memory_equal(c.first[0], v, 4);
            assert_int_equal(c.last[0], v[sizeof v - 1]);
            size_t cnt = 0;
            assert_int_equal(dmp_store_count_values(f->s, name, strlen(name), T0 + 1, &cnt), 0);
            assert_int_equal(cnt, 1);
            /* its parent holds nothing but has it below: an empty non-terminal */
            snprintf(name, sizeof name, "mb-%05u.read.test", k);
            vcoll_t e = {0};
            assert_int_equal(dmp_store_get(f->s, name, strlen(name), T0 + 1, vcollect, &e),
                             DMP_ENOTFOUND);
            bool below = false;
            assert_int_equal(dmp_store_has_descendant(f->s, name, strlen(name), T0 + 1, &below), 0);
            assert_true(below);
            snprintf(name, sizeof name, "slot-%u.mb-%05u.read.test", (k + 1) % 3, k);
            assert_int_equal(dmp_store_get(f->s, name, strlen(name), T0 + 1, vcollect, &e),
                             DMP_ENOTFOUND);
            assert_int_equal(dmp_store_has_descendant(f->s, name, strlen(name), T0 + 1, &below), 0);
            assert_false(below);
        }
    }
}

/* ---- readers (dmp_store_get_with: one kept iterator per thread) ---- */

static size_t count_with(dmp_store_t *s, dmp_store_reader_t *rd, const char *name, int64_t now,
                         vcoll_t *c)
{
    memset(c, 0, sizeof(*c));
    int rc = dmp_store_get_with(s, rd, name, strlen(name), now, vcollect, c);
    assert_true(rc == 0 || rc == DMP_ENOTFOUND);
    assert_int_equal(c->bad, 0);
    return rc == DMP_ENOTFOUND ? 0 : c->n;
}

/* A reader kept across writes sees each one as soon as it returned: a new name, another value
 * at a name it just read, a delete of one value and of the name, rows the sweep removed, a
 * refresh after its clock moved, and reads while memtables are flushed to table files under
 * it. A reader of another store is refused. */
static void test_reader_sees_writes(void **state)
{
    fx_t *f = *state;
    dmp_store_close(f->s);
    /* a small write buffer: the loop below switches memtables under the reader */
    dmp_store_opts_t o = {
        .path = f->path, .write_buffer_bytes = 64u << 10, .create_if_missing = true};
    char err[256];
    assert_int_equal(dmp_store_open(&o, &f->s, err, sizeof err), 0);
    dmp_store_reader_t *rd = NULL;
    assert_int_equal(dmp_store_reader_new(f->s, &rd), 0);
    vcoll_t c;
    uint8_t v[200];
    assert_int_equal(count_with(f->s, rd, "a.rd.test", T0, &c), 0);
    make_value(v, 50, 1, 0);
    assert_int_equal(dmp_store_put(f->s, "a.rd.test", 9, v, 50, 600, T0), 0);
    assert_int_equal(count_with(f->s, rd, "a.rd.test", T0, &c), 1);
    assert_memory_equal(c.first[0], v, 4);
    make_value(v, 60, 1, 1);
    assert_int_equal(dmp_store_put(f->s, "a.rd.test", 9, v, 60, 1, T0 + 1), 0); /* ttl 1 s */
    assert_int_equal(count_with(f->s, rd, "a.rd.test", T0 + 2, &c), 2);
    assert_int_equal(c.lens[1], 60);
    /* the same view, later by the clock: the 1 s row is dead, the other stays */
    assert_int_equal(count_with(f->s, rd, "a.rd.test", T0 + 5000, &c), 1);
    assert_int_equal(c.lens[0], 50);
    /* the sweep removes the dead row; the delete the other */
    size_t swept = 0;
    assert_int_equal(dmp_store_sweep(f->s, T0 + 5000, 100, &swept), 0);
    assert_int_equal(swept, 1);
    assert_int_equal(count_with(f->s, rd, "a.rd.test", T0 + 2, &c), 1);
    make_value(v, 50, 1, 0);
    assert_int_equal(dmp_store_delete(f->s, "a.rd.test", 9, v, 50, NULL), 0);
    assert_int_equal(count_with(f->s, rd, "a.rd.test", T0 + 2, &c), 0);
    /* many names through several memtable switches, each read right after its put, and every
     * tenth earlier one again */
    char name[64];
    for (unsigned k = 0; k < 1500; k++) {
        snprintf(name, sizeof name, "n%04u.rd.test", k);
        make_value(v, 200, k, 0);
        assert_int_equal(dmp_store_put(f->s, name, strlen(name), v, 200, 600, T0), 0);
        assert_int_equal(count_with(f->s, rd, name, T0 + 1, &c), 1);
        assert_memory_equal(c.first[0], v, 4);
        if (k % 10 == 9) {
            snprintf(name, sizeof name, "n%04u.rd.test", k / 2);
            assert_int_equal(count_with(f->s, rd, name, T0 + 1, &c), 1);
            if (k % 100 == 99) { /* and one deleted name's absence */
                assert_int_equal(dmp_store_delete(f->s, name, strlen(name), NULL, 0, NULL), 0);
                assert_int_equal(count_with(f->s, rd, name, T0 + 1, &c), 0);
            }
        }
    }
    dmp_store_t *other = NULL;
    char p2[128];
    snprintf(p2, sizeof p2, "%s-other", f->path);
    dmp_store_opts_t o2 = {.path = p2, .create_if_missing = true};
    assert_int_equal(dmp_store_open(&o2, &other, err, sizeof err), 0);
    assert_int_equal(dmp_store_get_with(other, rd, "a.rd.test", 9, T0, vcollect, &c), DMP_EINVAL);
    dmp_store_close(other);
    rm_rf(p2);
    dmp_store_reader_free(rd);
    dmp_store_reader_free(NULL);
}

/* "Never stale after the acknowledgement" across threads: a writer puts value i at name i % 8
 * and then publishes i; a reader that saw i published reads, through its kept reader, all
 * (i - 1) / 8 + 1 values put at that name by then (under ThreadSanitizer too). */
typedef struct {
    dmp_store_t *s;
    _Atomic unsigned done;
    int wrc;      /* the writer's */
    int rrc, bad; /* the reader's */
} ackctx_t;

static void *ack_writer(void *arg)
{
    ackctx_t *a = arg;
    uint8_t v[40];
    for (unsigned i = 1; i <= 400 && a->wrc == 0; i++) {
        char name[32];
        snprintf(name, sizeof name, "ack%u.rd.test", i % 8);
        make_value(v, sizeof v, i, 2);
        memcpy(v, &i, sizeof i); /* distinct values (make_value repeats every 90 seeds) */
        a->wrc = dmp_store_put(a->s, name, strlen(name), v, sizeof v, 600, T0);
        atomic_store_explicit(&a->done, i, memory_order_release);
    }
    atomic_store_explicit(&a->done, 1000, memory_order_release);
    return NULL;
}

static void *ack_reader(void *arg)
{
    ackctx_t *a = arg;
    dmp_store_reader_t *rd = NULL;
    if ((a->rrc = dmp_store_reader_new(a->s, &rd)) != 0)
        return NULL;
    for (;;) {
        unsigned d = atomic_load_explicit(&a->done, memory_order_acquire);
        if (d == 1000)
            break;
        if (d == 0)
            continue;
        char name[32];
        snprintf(name, sizeof name, "ack%u.rd.test", d % 8);
        vcoll_t c = {0};
        int rc = dmp_store_get_with(a->s, rd, name, strlen(name), T0 + 1, vcollect, &c);
        if (rc != 0 && rc != DMP_ENOTFOUND) {
            a->rrc = rc;
            break;
        }
        if (c.bad || (rc == 0 ? c.n : 0) < (d - 1) / 8 + 1)
            a->bad++;
    }
    dmp_store_reader_free(rd);
    return NULL;
}

static void test_reader_after_ack(void **state)
{
    fx_t *f = *state;
    ackctx_t a = {.s = f->s};
    atomic_init(&a.done, 0);
    pthread_t w, r;
    assert_int_equal(pthread_create(&r, NULL, ack_reader, &a), 0);
    assert_int_equal(pthread_create(&w, NULL, ack_writer, &a), 0);
    pthread_join(w, NULL);
    pthread_join(r, NULL);
    assert_int_equal(a.wrc, 0);
    assert_int_equal(a.rrc, 0);
    assert_int_equal(a.bad, 0);
}

/* ---- several readers beside a writer and the sweep ---- */

#define STABLE 200 /* names written before the threads start and never touched again */

typedef struct {
    dmp_store_t *s;
    int id;
    int rc;  /* first failure: a store error or a wrong answer */
    int bad; /* wrong answers */
} rctx_t;

static void *reader_main(void *arg)
{
    rctx_t *r = arg;
    char name[64];
    uint8_t v[200];
    dmp_store_reader_t *rd = NULL; /* threads 1 and 3 keep a reader, the others do not */
    if (r->id % 2 == 1 && (r->rc = dmp_store_reader_new(r->s, &rd)) != 0)
        return NULL;
    for (int round = 0; round < 6 && r->rc == 0; round++) {
        for (unsigned k = (unsigned)r->id; k < STABLE && r->rc == 0; k += 3) {
            /* stable names: exactly their two values, oldest first */
            snprintf(name, sizeof name, "s%03u.stable.read.test", k);
            vcoll_t c = {0};
            int rc = dmp_store_get_with(r->s, rd, name, strlen(name), T0 + 1, vcollect, &c);
            if (rc != 0) {
                r->rc = rc;
                break;
            }
            make_value(v, 150, k, 0);
            if (c.bad || c.n != 2 || c.lens[0] != 150 || c.lens[1] != 120 ||
                memcmp(c.first[0], v, 4) != 0 || c.stored[0] > c.stored[1])
                r->bad++;
            bool below = true;
            if ((rc = dmp_store_has_descendant(r->s, name, strlen(name), T0 + 1, &below)) != 0)
                r->rc = rc;
            else if (below)
                r->bad++;
            /* churned names: whatever the writer left, each value intact */
            snprintf(name, sizeof name, "c%02u.churn.read.test", k % 20);
            vcoll_t d = {0};
            rc = dmp_store_get_with(r->s, rd, name, strlen(name), T0 + 1, vcollect, &d);
            if (rc != 0 && rc != DMP_ENOTFOUND)
                r->rc = rc;
            else if (d.bad)
                r->bad++;
            size_t cnt = 0, bytes = 0;
            rc = dmp_store_count_values_ex(r->s, name, strlen(name), T0 + 1, &cnt, &bytes);
            if (rc != 0)
                r->rc = rc;
        }
    }
    dmp_store_reader_free(rd);
    return NULL;
}

static void *churn_main(void *arg)
{
    rctx_t *w = arg;
    uint8_t v[64];
    char name[64];
    for (int i = 0; i < 300 && w->rc == 0; i++) {
        snprintf(name, sizeof name, "c%02d.churn.read.test", i % 20);
        size_t len = 1 + (size_t)(i % 60);
        make_value(v, len, (unsigned)i, 1);
        /* every fourth one dead on arrival (ttl 0): the sweep takes it out */
        w->rc = dmp_store_put(w->s, name, strlen(name), v, len, i % 4 ? 100 : 0, T0);
        if (w->rc == 0 && i % 9 == 8) {
            w->rc = dmp_store_delete(w->s, name, strlen(name), NULL, 0, NULL);
            if (w->rc == DMP_ENOTFOUND)
                w->rc = 0;
        }
        if (w->rc == 0 && i % 10 == 0)
            w->rc = dmp_store_sweep(w->s, T0, 16, NULL);
    }
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    fx_t *f = *state;
    uint8_t v[200];
    char name[64];
    for (unsigned k = 0; k < STABLE; k++) {
        snprintf(name, sizeof name, "s%03u.stable.read.test", k);
        make_value(v, 150, k, 0);
        assert_int_equal(dmp_store_put(f->s, name, strlen(name), v, 150, 600, T0 - 2), 0);
        make_value(v, 120, k, 1);
        assert_int_equal(dmp_store_put(f->s, name, strlen(name), v, 120, 600, T0 - 1), 0);
    }
    reopen(f); /* half the reads from table files, the churn from the memtable */
    rctx_t r[5] = {
        {f->s, 0, 0, 0}, {f->s, 1, 0, 0}, {f->s, 2, 0, 0}, {f->s, 3, 0, 0}, {f->s, 4, 0, 0}};
    pthread_t th[5];
    assert_int_equal(pthread_create(&th[4], NULL, churn_main, &r[4]), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &r[i]), 0);
    for (int i = 0; i < 5; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r[i].rc, 0);
        assert_int_equal(r[i].bad, 0);
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_large_rrset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_with_full_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_sees_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_after_ack, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
