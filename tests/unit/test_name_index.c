/* Unit tests for src/index (the name index): the walk's answers are byte for byte what the DNS
 * path builds from dmp_store_get (values, order, count, first expiry); reads fall back for
 * unknown, expired, invalidated and colliding names; a write's invalidation wins over the walk
 * whether it comes before the walk reaches the name, while it reads it, or after; and readers
 * running beside the walk and a writer never answer a name from the file after its write was
 * acknowledged. */
#include "store_harness.h"

#include <stdatomic.h>

#include "dns/dns.h"
#include "index/index.h"
#include "index/index_int.h"

#define TTL_RR 60

/* The answer the DNS path (node/lookup.c) builds for name at now: the TXT RRs of
 * dmp_store_get's values in its order, and their first expiry. */
typedef struct {
    dmp_dns_value_t v[64];
    uint8_t bytes[64][1024];
    size_t n;
    int64_t exp;
} want_t;

static int want_visit(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    (void)name;
    (void)nl;
    want_t *w = ctx;
    assert_true(w->n < 64 && r->value_len <= 1024);
    memcpy(w->bytes[w->n], r->value, r->value_len);
    w->v[w->n] = (dmp_dns_value_t){.data = w->bytes[w->n], .len = r->value_len};
    if (r->expires_ms < w->exp)
        w->exp = r->expires_ms;
    w->n++;
    return 0;
}

static void expect_same(dmp_store_t *s, dmp_index_t *x, const char *name, int64_t now)
{
    want_t w = {.exp = INT64_MAX};
    assert_int_equal(dmp_store_get(s, name, strlen(name), now, want_visit, &w), 0);
    dmp_buf_t rrs, buf;
    dmp_buf_init(&rrs);
    dmp_buf_init(&buf);
    assert_int_equal(dmp_dns_txt_rrs_build(w.v, w.n, TTL_RR, &rrs), 0);
    dmp_index_answer_t a;
    assert_int_equal(dmp_index_read(x, name, strlen(name), now, &buf, &a), 0);
    assert_int_equal(a.count, w.n);
    assert_int_equal(a.expires_ms, w.exp);
    assert_int_equal(a.rrs_len, rrs.len);
    assert_memory_equal(a.rrs, rrs.data, rrs.len);
    dmp_buf_free(&rrs);
    dmp_buf_free(&buf);
}

static int read_rc(dmp_index_t *x, const char *name, int64_t now)
{
    dmp_buf_t buf;
    dmp_buf_init(&buf);
    dmp_index_answer_t a;
    int rc = dmp_index_read(x, name, strlen(name), now, &buf, &a);
    dmp_buf_free(&buf);
    return rc;
}

static dmp_index_t *new_index(fx_t *f, uint64_t names)
{
    dmp_index_t *x = NULL;
    assert_int_equal(dmp_index_new(f->dir, names, TTL_RR, &x), 0);
    return x;
}

/* A name of one value, one of three values written out of order (the answer follows the
 * store's order, not the key order), one of a 600-byte value (two character-strings), one whose
 * only value expired before the walk: each answer equals the DNS path's; the expired and unknown
 * names fall back. The file is unlinked: nothing of it is left in the directory. */
static void test_walk_equals_get(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_s(f->s, "one.idx.test", "alpha", 300, T0), 0);
    assert_int_equal(put_s(f->s, "three.idx.test", "zz-late", 300, T0 + 30), 0);
    assert_int_equal(put_s(f->s, "three.idx.test", "aa-early", 100, T0 + 10), 0);
    assert_int_equal(put_s(f->s, "three.idx.test", "mm-mid", 200, T0 + 20), 0);
    char big[601];
    memset(big, 'q', 600);
    big[600] = 0;
    assert_int_equal(put_s(f->s, "big.idx.test", big, 300, T0), 0);
    assert_int_equal(put_s(f->s, "gone.idx.test", "old", 1, T0), 0);
    dmp_index_t *x = new_index(f, count_of(f->s));
    int64_t now = T0 + 5000;
    assert_int_equal(dmp_index_build(x, f->s, now, NULL, 0), 0);
    expect_same(f->s, x, "one.idx.test", now);
    expect_same(f->s, x, "three.idx.test", now);
    expect_same(f->s, x, "big.idx.test", now);
    assert_int_equal(read_rc(x, "gone.idx.test", now), DMP_ENOTFOUND);
    assert_int_equal(read_rc(x, "nothere.idx.test", now), DMP_ENOTFOUND);
    assert_int_equal(read_rc(x, "idx.test", now), DMP_ENOTFOUND);
    dmp_index_stats_t st;
    dmp_index_stats(x, &st);
    assert_int_equal(st.state, DMP_INDEX_READY);
    assert_int_equal(st.names, 3);
    assert_true(st.bytes > 600);
    assert_int_equal(st.slots, 65536);
    /* a second walk of the same index is refused */
    assert_int_equal(dmp_index_build(x, f->s, now, NULL, 0), DMP_EINVAL);
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        assert_null(strstr(e->d_name, "name-index"));
    closedir(d);
    dmp_index_free(x);
}

/* An answer is served only while its first value lives: at its expiry the read falls back (the
 * store's read would drop that value), though the others live on. */
static void test_expiry_falls_back(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_s(f->s, "two.idx.test", "short", 10, T0), 0);
    assert_int_equal(put_s(f->s, "two.idx.test", "long", 1000, T0), 0);
    dmp_index_t *x = new_index(f, 2);
    assert_int_equal(dmp_index_build(x, f->s, T0 + 1000, NULL, 0), 0);
    expect_same(f->s, x, "two.idx.test", T0 + 9999);
    assert_int_equal(read_rc(x, "two.idx.test", T0 + 10000), DMP_ENOTFOUND);
    dmp_index_free(x);
}

/* A write's invalidation (any case) after the walk: that name falls back for good, the others
 * still answer; one before the walk reaches the name (a write the walk's snapshot may predate):
 * the walk leaves it alone (counted as skipped). */
static void test_invalidate(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_s(f->s, "a.idx.test", "1", 300, T0), 0);
    assert_int_equal(put_s(f->s, "b.idx.test", "2", 300, T0), 0);
    assert_int_equal(put_s(f->s, "c.idx.test", "3", 300, T0), 0);
    dmp_index_t *x = new_index(f, 3);
    dmp_index_invalidate(x, "C.Idx.Test", 10); /* before the walk */
    assert_int_equal(dmp_index_build(x, f->s, T0, NULL, 0), 0);
    assert_int_equal(read_rc(x, "c.idx.test", T0), DMP_ENOTFOUND);
    expect_same(f->s, x, "b.idx.test", T0);
    dmp_index_invalidate(x, "B.IDX.TEST", 10); /* after */
    assert_int_equal(read_rc(x, "b.idx.test", T0), DMP_ENOTFOUND);
    expect_same(f->s, x, "a.idx.test", T0);
    dmp_index_stats_t st;
    dmp_index_stats(x, &st);
    assert_int_equal(st.names, 2);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(st.invalidations, 2);
    assert_int_equal(st.used, 3);
    dmp_index_free(x);
}

/* Two names whose hashes share a slot (forced: the second name's slot gets the first name's
 * hash and location): the read compares the name in the file and falls back. And a probe window
 * filled by other hashes: a name that finds no slot is not found, and its invalidation, which
 * finds no room either, cannot be lost, since the walk finds no room for it as well. */
static void test_collision_and_full_window(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_s(f->s, "x.idx.test", "1", 300, T0), 0);
    dmp_index_t *x = new_index(f, 1);
    assert_int_equal(dmp_index_build(x, f->s, T0, NULL, 0), 0);
    uint64_t hx = dmp_index_hash("x.idx.test", 10);
    uint64_t hy = dmp_index_hash("y.idx.test", 10);
    dmp_index_slot_t *sx = dmp_index_find(x, hx, false);
    assert_non_null(sx);
    dmp_index_slot_t *sy = dmp_index_find(x, hy, true);
    assert_non_null(sy);
    atomic_store(&sy->loc, atomic_load(&sx->loc)); /* y's slot points at x's entry */
    assert_int_equal(read_rc(x, "y.idx.test", T0), DMP_ENOTFOUND);
    expect_same(f->s, x, "x.idx.test", T0);
    /* fill z's whole window with other hashes */
    uint64_t hz = dmp_index_hash("z.idx.test", 10);
    for (uint64_t i = 0; i < DMP_INDEX_MAX_PROBE; i++) {
        dmp_index_slot_t *s = &x->slots[(hz + i) & x->mask];
        uint64_t zero = 0;
        atomic_compare_exchange_strong(&s->h, &zero, hz ^ (0x5a5a000000000000ull + i + 1));
    }
    dmp_index_invalidate(x, "z.idx.test", 10);
    assert_null(dmp_index_find(x, hz, true));
    assert_int_equal(read_rc(x, "z.idx.test", T0), DMP_ENOTFOUND);
    dmp_index_free(x);
}

/* The walk stops when asked (*stop) and says so; what it published stays readable. */
static void test_stop(void **state)
{
    fx_t *f = *state;
    char name[32], val[16];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "n%04d.idx.test", i);
        snprintf(val, sizeof val, "v%d", i);
        assert_int_equal(put_s(f->s, name, val, 300, T0), 0);
    }
    dmp_index_t *x = new_index(f, 3000);
    atomic_bool stop = true;
    assert_int_equal(dmp_index_build(x, f->s, T0, &stop, 0), 0);
    dmp_index_stats_t st;
    dmp_index_stats(x, &st);
    assert_int_equal(st.state, DMP_INDEX_INCOMPLETE);
    assert_true(st.names < 3000);
    dmp_index_free(x);
    /* a full walk of the same store: every name */
    x = new_index(f, 3000);
    assert_int_equal(dmp_index_build(x, f->s, T0, NULL, 0), 0);
    dmp_index_stats(x, &st);
    assert_int_equal(st.names, 3000);
    expect_same(f->s, x, "n2999.idx.test", T0);
    dmp_index_free(x);
}

/* ---- a walk, a writer and readers at once ---- */

#define RACE_NAMES 4000
#define RACE_WRITES 400

typedef struct {
    fx_t *f;
    dmp_index_t *x;
    _Atomic int acked[RACE_NAMES]; /* 1 once the name's write was "acknowledged" */
    atomic_bool done;
    _Atomic unsigned stale; /* a read answered from the file after the ack */
    _Atomic unsigned hits;
} race_t;

static void race_name(char *out, size_t cap, int i)
{
    snprintf(out, cap, "r%05d.race.idx.test", i);
}

static void *walk_thread(void *arg)
{
    race_t *r = arg;
    assert_int_equal(dmp_index_build(r->x, r->f->s, T0 + 1, NULL, 0), 0);
    return NULL;
}

/* As the node writes: the store write, then the invalidation, then the acknowledgement. Names
 * spread over the store, so some are written before the walk reaches them, some while, some
 * after. */
static void *writer_thread(void *arg)
{
    race_t *r = arg;
    char name[40];
    for (int k = 0; k < RACE_WRITES; k++) {
        int i = (k * 7919) % RACE_NAMES;
        race_name(name, sizeof name, i);
        assert_int_equal(put_s(r->f->s, name, "new", 300, T0 + 2), 0);
        /* as write.c does for a name's only put: every one of these names existed at start */
        dmp_index_put(r->x, name, strlen(name), (const uint8_t *)"new", 3, 300, T0 + 2);
        atomic_store_explicit(&r->acked[i], 1, memory_order_release);
    }
    return NULL;
}

static void *reader_thread(void *arg)
{
    race_t *r = arg;
    char name[40];
    dmp_buf_t buf;
    dmp_buf_init(&buf);
    unsigned seed = 12345;
    while (!atomic_load(&r->done)) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % RACE_NAMES);
        race_name(name, sizeof name, i);
        int acked = atomic_load_explicit(&r->acked[i], memory_order_acquire);
        dmp_index_answer_t a;
        if (dmp_index_read(r->x, name, strlen(name), T0 + 3, &buf, &a) == 0) {
            atomic_fetch_add(&r->hits, 1);
            if (acked)
                atomic_fetch_add(&r->stale, 1);
        }
    }
    dmp_buf_free(&buf);
    return NULL;
}

static void test_walk_writer_readers(void **state)
{
    fx_t *f = *state;
    race_t *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->f = f;
    char name[40];
    for (int i = 0; i < RACE_NAMES; i++) {
        race_name(name, sizeof name, i);
        assert_int_equal(put_s(f->s, name, "old", 300, T0), 0);
    }
    r->x = new_index(f, RACE_NAMES);
    pthread_t w, wr, rd[2];
    assert_int_equal(pthread_create(&rd[0], NULL, reader_thread, r), 0);
    assert_int_equal(pthread_create(&rd[1], NULL, reader_thread, r), 0);
    assert_int_equal(pthread_create(&w, NULL, walk_thread, r), 0);
    assert_int_equal(pthread_create(&wr, NULL, writer_thread, r), 0);
    pthread_join(w, NULL);
    pthread_join(wr, NULL);
    atomic_store(&r->done, true);
    pthread_join(rd[0], NULL);
    pthread_join(rd[1], NULL);
    assert_int_equal(atomic_load(&r->stale), 0);
    /* after both: every written name falls back, every other one answers its old value */
    int written = 0;
    for (int i = 0; i < RACE_NAMES; i++) {
        race_name(name, sizeof name, i);
        if (atomic_load(&r->acked[i])) {
            written++;
            assert_int_equal(read_rc(r->x, name, T0 + 3), DMP_ENOTFOUND);
        } else {
            expect_same(f->s, r->x, name, T0 + 3);
        }
    }
    dmp_index_stats_t st;
    dmp_index_stats(r->x, &st);
    assert_int_equal(st.names + st.skipped, RACE_NAMES);
    assert_true(written > 0);
    print_message("    walk: %llu names published, %llu skipped; readers: %u hits\n",
                  (unsigned long long)st.names, (unsigned long long)st.skipped,
                  atomic_load(&r->hits));
    dmp_index_free(r->x);
    free(r);
}

/* After the walk, a put of a name that did not exist publishes its answer at once, equal to the
 * DNS path's; a put of a name the walk indexed, a second put of a published name, a put with
 * TTL 0, a put before the walk is READY, and a put once the append budget is spent mark the name
 * instead. */
static void test_put_new_names(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_s(f->s, "old.idx.test", "o", 300, T0), 0);
    dmp_index_t *x = new_index(f, 1);
    assert_int_equal(put_s(f->s, "early.idx.test", "e", 300, T0), 0);
    dmp_index_put(x, "early.idx.test", 14, (const uint8_t *)"e", 1, 300, T0); /* BUILDING */
    assert_int_equal(dmp_index_build(x, f->s, T0, NULL, 0), 0);
    assert_int_equal(read_rc(x, "early.idx.test", T0), DMP_ENOTFOUND);
    expect_same(f->s, x, "old.idx.test", T0);

    int64_t now = T0 + 1000;
    char big[700];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(put_s(f->s, "New.Idx.Test", big, 120, now), 0);
    dmp_index_put(x, "New.Idx.Test", 12, (const uint8_t *)big, strlen(big), 120, now);
    expect_same(f->s, x, "new.idx.test", now);
    assert_int_equal(read_rc(x, "new.idx.test", now + 120000), DMP_ENOTFOUND); /* expired */

    assert_int_equal(put_s(f->s, "old.idx.test", "o2", 300, now), 0);
    dmp_index_put(x, "old.idx.test", 12, (const uint8_t *)"o2", 2, 300, now);
    assert_int_equal(read_rc(x, "old.idx.test", now), DMP_ENOTFOUND);

    assert_int_equal(put_s(f->s, "new.idx.test", "second", 300, now), 0);
    dmp_index_put(x, "new.idx.test", 12, (const uint8_t *)"second", 6, 300, now);
    assert_int_equal(read_rc(x, "new.idx.test", now), DMP_ENOTFOUND);

    dmp_index_put(x, "dead.idx.test", 13, (const uint8_t *)"d", 1, 0, now);
    assert_int_equal(read_rc(x, "dead.idx.test", now), DMP_ENOTFOUND);

    dmp_index_stats_t st;
    dmp_index_stats(x, &st);
    assert_int_equal(st.put_names, 1);
    x->append_max = st.appended; /* the budget is spent */
    assert_int_equal(put_s(f->s, "late.idx.test", "l", 300, now), 0);
    dmp_index_put(x, "late.idx.test", 13, (const uint8_t *)"l", 1, 300, now);
    assert_int_equal(read_rc(x, "late.idx.test", now), DMP_ENOTFOUND);
    dmp_index_stats(x, &st);
    assert_int_equal(st.put_names, 1);
    dmp_index_free(x);
}

/* A name the walk could not hold (one value over 65,535 RDATA bytes: no TXT RR can carry it) is
 * marked, so that a later put does not take it for a new name and publish one value of many. */
static void test_skipped_name_stays_marked(void **state)
{
    fx_t *f = *state;
    size_t n = 70000;
    char *huge = malloc(n + 1);
    assert_non_null(huge);
    memset(huge, 'h', n);
    huge[n] = 0;
    if (put_s(f->s, "huge.idx.test", huge, 300, T0) != 0) {
        free(huge);
        skip(); /* the store refuses such a value: nothing to skip in the walk */
    }
    free(huge);
    dmp_index_t *x = new_index(f, 1);
    assert_int_equal(dmp_index_build(x, f->s, T0, NULL, 0), 0);
    dmp_index_stats_t st;
    dmp_index_stats(x, &st);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(put_s(f->s, "huge.idx.test", "small", 300, T0), 0);
    dmp_index_put(x, "huge.idx.test", 13, (const uint8_t *)"small", 5, 300, T0);
    assert_int_equal(read_rc(x, "huge.idx.test", T0), DMP_ENOTFOUND);
    dmp_index_free(x);
}

/* Once READY: a writer publishing new names (store put, dmp_index_put, then the ack) beside two
 * readers: a reader that saw the ack always gets the name's new answer from the file (or falls
 * back), never anything else. */
typedef struct {
    fx_t *f;
    dmp_index_t *x;
    _Atomic int acked[RACE_WRITES];
    atomic_bool done;
    _Atomic unsigned bad, hits;
} race2_t;

static void *put_writer(void *arg)
{
    race2_t *r = arg;
    char name[40];
    for (int i = 0; i < RACE_WRITES; i++) {
        snprintf(name, sizeof name, "w%05d.race.idx.test", i);
        assert_int_equal(put_s(r->f->s, name, name, 300, T0 + 2), 0);
        dmp_index_put(r->x, name, strlen(name), (const uint8_t *)name, strlen(name), 300, T0 + 2);
        atomic_store_explicit(&r->acked[i], 1, memory_order_release);
    }
    return NULL;
}

static void *put_reader(void *arg)
{
    race2_t *r = arg;
    char name[40];
    dmp_buf_t buf;
    dmp_buf_init(&buf);
    unsigned seed = 777;
    while (!atomic_load(&r->done)) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % RACE_WRITES);
        snprintf(name, sizeof name, "w%05d.race.idx.test", i);
        int acked = atomic_load_explicit(&r->acked[i], memory_order_acquire);
        dmp_index_answer_t a;
        int rc = dmp_index_read(r->x, name, strlen(name), T0 + 3, &buf, &a);
        if (rc == 0) {
            atomic_fetch_add(&r->hits, 1);
            /* one RR: 12 bytes of header, a length byte, the name as the value */
            if (a.count != 1 || a.rrs_len != 13 + strlen(name) ||
                memcmp(a.rrs + 13, name, strlen(name)) != 0)
                atomic_fetch_add(&r->bad, 1);
        } else if (acked) {
            atomic_fetch_add(&r->bad, 1); /* published before the ack: must be there */
        }
    }
    dmp_buf_free(&buf);
    return NULL;
}

static void test_put_beside_readers(void **state)
{
    fx_t *f = *state;
    race2_t *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->f = f;
    assert_int_equal(put_s(f->s, "seed.idx.test", "s", 300, T0), 0);
    r->x = new_index(f, RACE_WRITES);
    assert_int_equal(dmp_index_build(r->x, f->s, T0, NULL, 0), 0);
    pthread_t w, rd[2];
    assert_int_equal(pthread_create(&rd[0], NULL, put_reader, r), 0);
    assert_int_equal(pthread_create(&rd[1], NULL, put_reader, r), 0);
    assert_int_equal(pthread_create(&w, NULL, put_writer, r), 0);
    pthread_join(w, NULL);
    atomic_store(&r->done, true);
    pthread_join(rd[0], NULL);
    pthread_join(rd[1], NULL);
    assert_int_equal(atomic_load(&r->bad), 0);
    char name[40];
    for (int i = 0; i < RACE_WRITES; i += 37) {
        snprintf(name, sizeof name, "w%05d.race.idx.test", i);
        expect_same(f->s, r->x, name, T0 + 3);
    }
    dmp_index_free(r->x);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_walk_equals_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_falls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalidate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collision_and_full_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_writer_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_new_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skipped_name_stays_marked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_beside_readers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
