/* store: reading the DNS read path's table files into the page cache once, after a start on a
 * cold page cache (a reboot, or a kernel that reclaimed the store's pages). A DNS miss is a
 * synchronous pread on the thread that answers; on a cold page cache each one waits for the
 * disk and every query behind it waits too. docs/store.md "Read path at scale", the page cache
 * after a start. */
#include "store/store_internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREFETCH_CHUNK (1u << 20)

/* Reads fd from its start until budget bytes are used up, the file ends or *stop is set. */
static int read_file(int fd, uint64_t size, uint8_t *buf, uint64_t *budget, const atomic_bool *stop,
                     uint64_t *bytes)
{
    for (uint64_t off = 0; off < size;) {
        if (*budget == 0)
            break;
        if (stop != NULL && atomic_load_explicit(stop, memory_order_relaxed))
            return 1;
        size_t want = PREFETCH_CHUNK;
        if (want > size - off)
            want = (size_t)(size - off);
        if (want > *budget)
            want = (size_t)*budget;
        ssize_t r = pread(fd, buf, want, (off_t)off);
        if (r <= 0)
            break; /* the file was compacted away meanwhile, or a read error: go on */
        off += (uint64_t)r;
        *bytes += (uint64_t)r;
        *budget -= (uint64_t)r;
    }
    return 0;
}

int dmp_store_prefetch(dmp_store_t *s, uint64_t budget, const atomic_bool *stop,
                       dmp_store_prefetch_stats_t *st)
{
    return dmp_store_prefetch_ex(s, DMP_STORE_PREFETCH_RECORDS | DMP_STORE_PREFETCH_RNAMES, budget,
                                 stop, st);
}

int dmp_store_prefetch_ex(dmp_store_t *s, unsigned what, uint64_t budget, const atomic_bool *stop,
                          dmp_store_prefetch_stats_t *st)
{
    if (s == NULL || st == NULL)
        return DMP_EINVAL;
    memset(st, 0, sizeof(*st));
    const rocksdb_livefiles_t *lf = rocksdb_livefiles(s->db);
    if (lf == NULL)
        return DMP_EIO;
    uint8_t *buf = malloc(PREFETCH_CHUNK);
    if (buf == NULL) {
        rocksdb_livefiles_destroy(lf);
        return DMP_ENOMEM;
    }
    int n = rocksdb_livefiles_count(lf);
    /* the answers' rows first, then the names index the NXDOMAIN path seeks */
    const char *const cfs[] = {dmp_store_cf_names[CF_RECORDS], dmp_store_cf_names[CF_RNAMES]};
    const unsigned bits[] = {DMP_STORE_PREFETCH_RECORDS, DMP_STORE_PREFETCH_RNAMES};
    int stopped = 0;
    for (size_t c = 0; c < sizeof cfs / sizeof cfs[0] && !stopped; c++) {
        if (!(what & bits[c]))
            continue;
        for (int i = 0; i < n && !stopped && budget > 0; i++) {
            if (strcmp(rocksdb_livefiles_column_family_name(lf, i), cfs[c]) != 0)
                continue;
            const char *name = rocksdb_livefiles_name(lf, i); /* "/000123.sst" */
            size_t pl = strlen(s->path) + strlen(name) + 2;
            char *p = malloc(pl);
            if (p == NULL)
                break;
            snprintf(p, pl, "%s%s%s", s->path, name[0] == '/' ? "" : "/", name);
            int fd = open(p, O_RDONLY | O_CLOEXEC);
            free(p);
            if (fd < 0)
                continue; /* compacted away since the list was made */
            st->files++;
            stopped = read_file(fd, (uint64_t)rocksdb_livefiles_size(lf, i), buf, &budget, stop,
                                &st->bytes);
            close(fd);
        }
        if (budget == 0)
            st->capped = true;
    }
    st->stopped = stopped != 0;
    free(buf);
    rocksdb_livefiles_destroy(lf);
    return 0;
}
