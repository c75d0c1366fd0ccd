/* store: internals of the bulk load shared by store_ingest.c (API, checks, final batch),
 * store_ingest_sort.c (key orders), store_ingest_sst.c (table files, ingestion) and
 * store_ingest_base.c (marker, first error, threads). Not part of the public API. */
#ifndef DMP_STORE_INGEST_INT_H
#define DMP_STORE_INGEST_INT_H

#include "store/store_internal.h"

/* One added record. name is lowercase (borrowed, or a copy in the loader's arena). */
typedef struct {
    const char *name;
    const uint8_t *value;
    uint32_t vlen;
    uint32_t ttl;
    uint32_t first; /* the winner of a run of equal keys: the add index of the run's first */
    uint16_t bucket;
    uint8_t nl;
    uint8_t pad;
    uint8_t hash[32];
} dmp_store_lent_t;

struct dmp_store_load {
    dmp_store_t *s;
    dmp_store_lent_t *e;
    size_t n, cap;
    size_t name_bytes; /* sum of the added names' lengths */
    char **blocks;     /* arena of lowercased names */
    size_t nblocks, blocks_cap, block_used;
};

/* One unique row in records order (after prepare): what the table writers need, contiguous, so
 * the passes over the rows read memory in order. name points into the ingest's name arena,
 * shared by the rows of one name (equal names have equal pointers). */
typedef struct {
    const char *name;
    const uint8_t *value;
    uint32_t vlen;
    uint32_t ttl;
    uint32_t idx; /* the add index */
    uint16_t bucket;
    uint8_t nl;
    uint8_t pad;
    uint8_t hash[32];
} dmp_store_row_t;

/* A sort element: up to 24 key bytes after the order's common prefix (as three big-endian
 * words, so integer order is byte order), then an index (and, in records order, the name's
 * length). */
#define DMP_STORE_SKEY_PFX 24u
typedef struct {
    uint64_t k[DMP_STORE_SKEY_PFX / 8];
    uint32_t idx;
    uint32_t aux; /* records order: the name's length */
} dmp_store_skey_t;

typedef struct {
    uint32_t row; /* index in rows */
    int64_t old_stored, old_expires;
} dmp_store_lref_t;

#define DMP_STORE_LOAD_THREADS 2
/* Work of at least this many rows is split over the threads (hashing, sorting); tests lower it
 * so that small loads take the threaded paths too. */
extern size_t dmp_store_ingest_par_min;

typedef struct {
    dmp_store_load_t *l;
    int64_t now_ms;
    const char *tmpdir;
    dmp_store_load_name_fn check;
    dmp_store_load_progress_fn progress;
    void *ctx;
    dmp_store_load_stats_t *stats;
    char *err;
    size_t errlen;
    dmp_store_row_t *rows; /* the unique rows in records order (after prepare) */
    size_t nu;
    char *names;                               /* their names, once per name, in records order */
    uint8_t (*mk[DMP_STORE_LOAD_THREADS])[32]; /* item digests XORed per bucket, per hash slice */
    dmp_store_lref_t *ref;                     /* refreshed rows */
    size_t nref, ref_cap;
    uint8_t *refresh; /* per row: 1 = refreshed (NULL: none); apart from the rows, which the
                         table writers read meanwhile */
    struct dmp_store_wpool *pool; /* the table writers (store_ingest_sst.c) */
    dmp_store_deltas_t dl;
    /* table files per column family */
    char **files[CF_OURS];
    size_t nfiles[CF_OURS];
    uint64_t seq_base;
} dmp_store_ingest_t;

/* store_ingest_base.c: the marker of a load in progress in the meta column family (written,
 * synced, before the first ingestion; removed by the final batch or on failure); 0 or an error. */
#define DMP_STORE_META_LOAD "bulk_load"
int dmp_store_ingest_marker_write(dmp_store_t *s, int64_t now_ms);
int dmp_store_ingest_marker_clear(dmp_store_t *s);
/* The first error message wins (fmt has one %s). */
void dmp_store_ingest_seterr(dmp_store_ingest_t *g, const char *fmt, const char *a);
/* Runs fn over [0, n) in DMP_STORE_LOAD_THREADS slices on as many threads (one below
 * dmp_store_ingest_par_min); parts[t] (NULL: none) is slice t's private state. */
typedef void (*dmp_store_ingest_par_fn)(dmp_store_ingest_t *g, size_t from, size_t to, void *part);
void dmp_store_ingest_par_for(dmp_store_ingest_t *g, size_t n, dmp_store_ingest_par_fn fn,
                              void **parts);

/* store_ingest_sort.c */
/* Sorts every added row into records (key) order, equal keys in add order; *out is malloc'd. */
int dmp_store_ingest_sort(dmp_store_ingest_t *g, dmp_store_skey_t **out, size_t *n);
bool dmp_store_ingest_key_eq(const dmp_store_load_t *l, uint32_t a, uint32_t b);
void dmp_store_ingest_sort_u32_by_first(const dmp_store_load_t *l, uint32_t *v, size_t n);
/* The distinct names (of the rows in records order) by reversed name, idx = the name's first
 * row; *out is malloc'd. */
int dmp_store_ingest_order_rnames(dmp_store_ingest_t *g, dmp_store_skey_t **out, size_t *nn_out);
/* The rows by (ttl, records rank) as ttl << 32 | row; *out = NULL when every ttl is the same. */
int dmp_store_ingest_order_expiry(dmp_store_ingest_t *g, uint64_t **out);
/* The rows by (bucket, records rank): a stable counting sort. */
int dmp_store_ingest_order_buckets(dmp_store_ingest_t *g, uint32_t **out);

/* store_ingest_sst.c */
static inline bool dmp_store_ingest_refreshed(const dmp_store_ingest_t *g, size_t row)
{
    return g->refresh != NULL && g->refresh[row];
}
/* Starts writing every column family's table files under g->tmpdir on a pool of threads
 * (the records at once, the index column families once their orders, computed here, are
 * done); the check and the deltas run meanwhile (they read the rows, which stay as they are,
 * and mark refreshes apart). */
int dmp_store_ingest_write_start(dmp_store_ingest_t *g);
/* rc == 0: joins the writers and waits for them (their result); else stops them (rc). */
int dmp_store_ingest_write_finish(dmp_store_ingest_t *g, int rc);
/* Ingests them (index column families first, records last); *any = something was ingested. */
int dmp_store_ingest_files(dmp_store_ingest_t *g, bool *any);
/* Removes what is left of the table files and the staging directory. */
void dmp_store_ingest_cleanup(dmp_store_ingest_t *g);

#endif
