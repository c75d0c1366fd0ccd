/* Unit tests for src/index (the name index): the walk's answers are byte for byte what the DNS
 * path builds from dmp_store_get (values, order, count, first expiry); reads fall back for
 * unknown, expired, invalidated and colliding names; a write's invalidation wins over the walk
 * whether it comes before the walk reaches the name, while it reads it, or after; and readers
 * running beside the walk and a writer never answer a name from the file after its write was
 * acknowledged. Rebuilds: a table sized too small grows to the store, names written before a
 * rebuild answer as the store does after it, and rebuilds one after another beside a writer and
 * readers never answer a value older than an acknowledged write. */
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
    dmp_index_gen_t *g = atomic_load(&x->cur);
    uint64_t hx = dmp_index_hash("x.idx.test", 10);
    uint64_t hy = dmp_index_hash("y.idx.test", 10);
    dmp_index_slot_t *sx = dmp_index_find(g, hx, false);
    assert_non_null(sx);
    dmp_index_slot_t *sy = dmp_index_find(g, hy, true);
    assert_non_null(sy);
    atomic_store(&sy->loc, atomic_load(&sx->loc)); /* y's slot points at x's entry */
    assert_int_equal(read_rc(x, "y.idx.test", T0), DMP_ENOTFOUND);
    expect_same(f->s, x, "x.idx.test", T0);
    /* fill z's whole window with other hashes */
    uint64_t hz = dmp_index_hash("z.idx.test", 10);
    for (uint64_t i = 0; i < DMP_INDEX_MAX_PROBE; i++) {
        dmp_index_slot_t *s = &g->slots[(hz + i) & g->mask];
        uint64_t zero = 0;
        atomic_compare_exchange_strong(&s->h, &zero, hz ^ (0x5a5a000000000000ull + i + 1));
    }
    dmp_index_invalidate(x, "z.idx.test", 10);
    assert_null(dmp_index_find(g, hz, true));
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
 * TTL 0, a put of a length without a value, a put before the walk is READY, and a put once the
 * append budget is spent mark the name instead. */
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
    /* a length without its bytes: marked, nothing read or published */
    dmp_index_put(x, "nul.idx.test", 12, NULL, 5, 300, now);
    assert_int_equal(read_rc(x, "nul.idx.test", now), DMP_ENOTFOUND);

    dmp_index_stats_t st;
    dmp_index_stats(x, &st);
    assert_int_equal(st.put_names, 1);
    atomic_load(&x->cur)->append_max = st.appended; /* the budget is spent */
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

/* ---- rebuilds ---- */

/* A table sized for far fewer names than the store holds (a node that started nearly empty):
 * the walk leaves names out and the table is 3/4 full, so a rebuild is due once the gap has
 * passed (never with a gap of 0); the rebuild sizes the table for the store and indexes every
 * name; names written before it (a second value, a new value, a delete) answer as the store
 * does after it. */
static void test_rebuild_grows_and_brings_back(void **state)
{
    fx_t *f = *state;
    enum { N = 70000 };
    char name[32], val[16];
    dmp_store_put_t *puts = calloc(1000, sizeof(*puts));
    char(*names)[32] = calloc(1000, 32);
    char(*vals)[16] = calloc(1000, 16);
    assert_true(puts && names && vals);
    for (int i = 0; i < N; i += 1000) {
        for (int j = 0; j < 1000; j++) {
            snprintf(names[j], 32, "g%05d.idx.test", i + j);
            snprintf(vals[j], 16, "v%d", i + j);
            puts[j] = (dmp_store_put_t){names[j], strlen(names[j]), (const uint8_t *)vals[j],
                                        strlen(vals[j]), 300};
        }
        assert_int_equal(dmp_store_put_batch(f->s, puts, 1000, T0), 0);
    }
    free(puts);
    free(names);
    free(vals);
    dmp_index_t *x = new_index(f, 0);
    assert_int_equal(dmp_index_build(x, f->s, T0, NULL, 0), 0);
    dmp_index_stats_t st;
    dmp_index_stats(x, &st);
    assert_int_equal(st.slots, 65536);
    assert_true(st.names < N && st.skipped > 0);
    /* writes before the rebuild: a second value, a changed value, a delete */
    assert_int_equal(put_s(f->s, "g00001.idx.test", "second", 300, T0 + 1), 0);
    dmp_index_invalidate(x, "g00001.idx.test", 15);
    assert_int_equal(dmp_store_delete(f->s, "g00002.idx.test", 15, NULL, 0, NULL), 0);
    dmp_index_invalidate(x, "g00002.idx.test", 15);
    int64_t now_ns = dmp_monotonic_ns();
    assert_false(dmp_index_rebuild_due(x, now_ns, 60));
    assert_false(dmp_index_rebuild_due(x, now_ns + 3600 * INT64_C(1000000000), 0));
    assert_true(dmp_index_rebuild_due(x, now_ns + 61 * INT64_C(1000000000), 60));
    assert_int_equal(dmp_index_rebuild(x, f->s, T0 + 2, NULL, 0), 0);
    dmp_index_stats(x, &st);
    assert_int_equal(st.rebuilds, 1);
    assert_int_equal(st.state, DMP_INDEX_READY);
    assert_int_equal(st.slots, 131072); /* 1.5 x 69,999 rounded up to a power of two */
    assert_int_equal(st.names, N - 1);
    assert_int_equal(st.lost, 0);
    assert_int_equal(st.invalidations, 2); /* the first table's, kept in the total */
    assert_false(dmp_index_rebuild_due(x, now_ns + 61 * INT64_C(1000000000), 60));
    expect_same(f->s, x, "g00001.idx.test", T0 + 2); /* both values, in the store's order */
    assert_int_equal(read_rc(x, "g00002.idx.test", T0 + 2), DMP_ENOTFOUND);
    for (int i = 3; i < N; i += 997) {
        snprintf(name, sizeof name, "g%05d.idx.test", i);
        expect_same(f->s, x, name, T0 + 2);
    }
    /* after the rebuild, the new table publishes new names and marks written ones */
    snprintf(val, sizeof val, "fresh");
    assert_int_equal(put_s(f->s, "fresh.idx.test", val, 300, T0 + 3), 0);
    dmp_index_put(x, "fresh.idx.test", 14, (const uint8_t *)val, 5, 300, T0 + 3);
    expect_same(f->s, x, "fresh.idx.test", T0 + 3);
    dmp_index_invalidate(x, "g00003.idx.test", 15);
    assert_int_equal(read_rc(x, "g00003.idx.test", T0 + 3), DMP_ENOTFOUND);
    dmp_index_stats(x, &st);
    assert_int_equal(st.lost, 1);
    assert_int_equal(st.put_names, 1);
    dmp_index_free(x);
}

/* Writes that take names out of the file make a rebuild due once at least
 * DMP_INDEX_REBUILD_LOST of them, and an eighth of the names, are out; marking a name twice
 * counts once. A rebuild that is stopped leaves the table in use as it was. */
static void test_rebuild_due_lost_and_stop(void **state)
{
    fx_t *f = *state;
    enum { N = DMP_INDEX_REBUILD_LOST * 2 };
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "l%05d.idx.test", i);
        assert_int_equal(put_s(f->s, name, "x", 300, T0), 0);
    }
    dmp_index_t *x = new_index(f, N);
    assert_int_equal(dmp_index_build(x, f->s, T0, NULL, 0), 0);
    int64_t later = dmp_monotonic_ns() + 120 * INT64_C(1000000000);
    for (int i = 0; i < DMP_INDEX_REBUILD_LOST - 1; i++) {
        snprintf(name, sizeof name, "l%05d.idx.test", i);
        dmp_index_invalidate(x, name, strlen(name));
        dmp_index_invalidate(x, name, strlen(name));
    }
    dmp_index_stats_t st;
    dmp_index_stats(x, &st);
    assert_int_equal(st.lost, DMP_INDEX_REBUILD_LOST - 1);
    assert_false(dmp_index_rebuild_due(x, later, 60));
    dmp_index_invalidate(x, "l04095.idx.test", 15);
    assert_true(dmp_index_rebuild_due(x, later, 60));
    atomic_bool stop = true;
    assert_int_equal(dmp_index_rebuild(x, f->s, T0 + 1, &stop, 0), 0);
    dmp_index_stats(x, &st);
    assert_int_equal(st.rebuilds, 0);
    assert_int_equal(st.lost, DMP_INDEX_REBUILD_LOST);
    assert_int_equal(read_rc(x, "l00000.idx.test", T0 + 1), DMP_ENOTFOUND);
    expect_same(f->s, x, "l05000.idx.test", T0 + 1);
    assert_int_equal(dmp_index_rebuild(x, f->s, T0 + 1, NULL, 0), 0);
    expect_same(f->s, x, "l00000.idx.test", T0 + 1);
    dmp_index_free(x);
}

/* Rebuilds one after another beside a writer that changes values and readers: a read that
 * began after a write's acknowledgement never answers a value older than that write's, whichever
 * table it used; and the last rebuild after the writer stopped answers every name's last value. */
#define REB_NAMES 3000
#define REB_WRITES 6000

typedef struct {
    fx_t *f;
    dmp_index_t *x;
    _Atomic int acked[REB_NAMES]; /* the version of the name's last acknowledged write */
    atomic_bool done;
    _Atomic unsigned stale, hits, rebuilds;
} reb_t;

static void *reb_rebuilder(void *arg)
{
    reb_t *r = arg;
    while (!atomic_load(&r->done)) {
        assert_int_equal(dmp_index_rebuild(r->x, r->f->s, T0 + 2, NULL, 0), 0);
        atomic_fetch_add(&r->rebuilds, 1);
    }
    return NULL;
}

static void *reb_writer(void *arg)
{
    reb_t *r = arg;
    char name[40], val[16];
    for (int k = 1; k <= REB_WRITES; k++) {
        int i = (k * 7919) % REB_NAMES;
        race_name(name, sizeof name, i);
        snprintf(val, sizeof val, "v%05d", k);
        /* one value a name: the store's delete and put, as a replace */
        assert_int_equal(dmp_store_delete(r->f->s, name, strlen(name), NULL, 0, NULL), 0);
        assert_int_equal(put_s(r->f->s, name, val, 300, T0 + 2), 0);
        dmp_index_invalidate(r->x, name, strlen(name));
        atomic_store_explicit(&r->acked[i], k, memory_order_release);
    }
    return NULL;
}

static void *reb_reader(void *arg)
{
    reb_t *r = arg;
    char name[40];
    dmp_buf_t buf;
    dmp_buf_init(&buf);
    unsigned seed = 777;
    while (!atomic_load(&r->done)) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % REB_NAMES);
        race_name(name, sizeof name, i);
        int acked = atomic_load_explicit(&r->acked[i], memory_order_acquire);
        dmp_index_answer_t a;
        if (dmp_index_read(r->x, name, strlen(name), T0 + 3, &buf, &a) == 0) {
            atomic_fetch_add(&r->hits, 1);
            /* one RR whose RDATA ends with the 5 digits of its version */
            char digits[6] = {0};
            assert_true(a.count == 1 && a.rrs_len > 5);
            memcpy(digits, a.rrs + a.rrs_len - 5, 5);
            if (atoi(digits) < acked)
                atomic_fetch_add(&r->stale, 1);
        }
    }
    dmp_buf_free(&buf);
    return NULL;
}

static void test_rebuild_beside_writer_readers(void **state)
{
    fx_t *f = *state;
    reb_t *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->f = f;
    char name[40];
    for (int i = 0; i < REB_NAMES; i++) {
        race_name(name, sizeof name, i);
        assert_int_equal(put_s(f->s, name, "v00000", 300, T0), 0);
    }
    r->x = new_index(f, REB_NAMES);
    assert_int_equal(dmp_index_build(r->x, f->s, T0 + 1, NULL, 0), 0);
    pthread_t rb, wr, rd[2];
    assert_int_equal(pthread_create(&rd[0], NULL, reb_reader, r), 0);
    assert_int_equal(pthread_create(&rd[1], NULL, reb_reader, r), 0);
    assert_int_equal(pthread_create(&rb, NULL, reb_rebuilder, r), 0);
    assert_int_equal(pthread_create(&wr, NULL, reb_writer, r), 0);
    pthread_join(wr, NULL);
    atomic_store(&r->done, true);
    pthread_join(rb, NULL);
    pthread_join(rd[0], NULL);
    pthread_join(rd[1], NULL);
    assert_int_equal(atomic_load(&r->stale), 0);
    assert_true(atomic_load(&r->rebuilds) > 0);
    assert_int_equal(dmp_index_rebuild(r->x, f->s, T0 + 2, NULL, 0), 0);
    for (int i = 0; i < REB_NAMES; i++) {
        race_name(name, sizeof name, i);
        expect_same(f->s, r->x, name, T0 + 3);
    }
    print_message("    %u rebuilds beside %d writes; readers: %u hits\n", atomic_load(&r->rebuilds),
                  REB_WRITES, atomic_load(&r->hits));
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
        cmocka_unit_test_setup_teardown(test_rebuild_grows_and_brings_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_due_lost_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_beside_writer_readers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
