/* store: the free-space reserve. A full disk must never reach RocksDB's WAL writer from a put:
 * below the reserve puts are refused up front (DMP_STORE_ENOSPC), and near it the WAL sync
 * excludes writers (dmp_store_sync_wal), since RocksDB 7.8 asserts when a sync meets a WAL
 * writer whose append is failing at that moment. docs/store.md "Durability and concurrency". */
#include "store/store_internal.h"

#include <sys/statvfs.h>

static int space_statvfs(void *ctx, const char *path, uint64_t *free_bytes)
{
    (void)ctx;
    struct statvfs v;
    if (statvfs(path, &v) != 0)
        return DMP_ESYS;
    *free_bytes = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
    return 0;
}

void dmp_store_space_set_reserve(dmp_store_t *s, uint64_t min_free_bytes)
{
    if (s == NULL)
        return;
    atomic_store(&s->space_min_free, min_free_bytes);
    if (min_free_bytes == 0)
        atomic_store(&s->space_low, 0);
}

void dmp_store_space_set_source(dmp_store_t *s, dmp_store_space_fn fn, void *ctx)
{
    if (s == NULL)
        return;
    s->space_fn = fn ? fn : space_statvfs;
    s->space_ctx = fn ? ctx : NULL;
}

/* One reading; the reserve state follows it. */
static int space_read(dmp_store_t *s, uint64_t *free_bytes)
{
    if (s->path == NULL)
        return DMP_EINVAL;
    int rc = s->space_fn(s->space_ctx, s->path, free_bytes);
    if (rc != 0)
        return rc;
    uint64_t min = atomic_load(&s->space_min_free);
    atomic_store(&s->space_low, min > 0 && *free_bytes < min);
    return 0;
}

int dmp_store_space_check(dmp_store_t *s, uint64_t *free_bytes)
{
    if (s == NULL)
        return DMP_EINVAL;
    uint64_t f = 0;
    int rc = space_read(s, &f);
    if (rc == 0 && free_bytes != NULL)
        *free_bytes = f;
    return rc;
}

bool dmp_store_space_low(const dmp_store_t *s)
{
    return s && atomic_load(&((dmp_store_t *)s)->space_low) != 0;
}

bool dmp_store_space_tight(dmp_store_t *s)
{
    uint64_t f = 0;
    if (space_read(s, &f) != 0)
        return true;
    uint64_t min = atomic_load(&s->space_min_free);
    return f < min || f - min < s->space_margin;
}
