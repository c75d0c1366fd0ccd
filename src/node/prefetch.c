/* node: the page cache after a start, and the name index's walks. One pass of a background thread
 * over the table files the DNS read path reads (dmp_store_prefetch), so that a node started on a
 * cold page cache (a reboot, or a kernel that reclaimed the store's pages) does not answer its
 * first queries at the pace of the disk: a miss is a synchronous read on the thread answering
 * DNS, and every query behind it waits. docs/store.md "Read path at scale" (the page cache after
 * a start). Before it, the name index's first walk; after it, the same thread looks every
 * DMP_NODE_INDEX_CHECK_S whether the index is due a rebuild (docs/store.md "The name index"). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node/node.h"

/* Half of MemAvailable (/proc/meminfo), in bytes; 0 when it cannot be read. */
static uint64_t auto_budget(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (uint64_t)kb * 1024 / 2;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The name index's walk (dmp_index_build), before the table files' pass: it reads the records'
 * tables from start to end itself. */
static void index_build(dmp_node_prefetch_t *p)
{
    int rc = dmp_index_build(p->index, p->store, wall_ms(), &p->stop, p->index_min_free);
    dmp_index_stats_t st;
    dmp_index_stats(p->index, &st);
    if (rc != 0)
        dmp_warn("name index: the walk failed after %llu names: %s (the rest is read from the "
                 "store)",
                 (unsigned long long)st.names, dmp_strerror(rc));
    else
        dmp_info("name index: %llu names (%llu MiB) in %.1f s, %s; %llu left to the store "
                 "(written meanwhile, too large, or no slot); %llu of %llu slots used",
                 (unsigned long long)st.names, (unsigned long long)(st.bytes >> 20),
                 st.build_seconds, dmp_index_state_name(st.state), (unsigned long long)st.skipped,
                 (unsigned long long)st.used, (unsigned long long)st.slots);
}

/* A new generation of the name index when it is due one. */
static void index_maintain(dmp_node_prefetch_t *p)
{
    if (!dmp_index_rebuild_due(p->index, dmp_monotonic_ns(), p->index_rebuild_s))
        return;
    dmp_index_stats_t was;
    dmp_index_stats(p->index, &was);
    int rc = dmp_index_rebuild(p->index, p->store, wall_ms(), &p->stop, p->index_min_free);
    dmp_index_stats_t st;
    dmp_index_stats(p->index, &st);
    if (rc != 0)
        dmp_warn("name index: the rebuild failed: %s (the table before it stays)",
                 dmp_strerror(rc));
    else if (st.rebuilds == was.rebuilds)
        dmp_info("name index: the rebuild stopped (the table before it stays)");
    else
        dmp_info("name index: rebuilt (%llu of %llu slots had been used, %llu names out of the "
                 "file): %llu names (%llu MiB) in %.1f s, %llu slots",
                 (unsigned long long)was.used, (unsigned long long)was.slots,
                 (unsigned long long)was.lost, (unsigned long long)st.names,
                 (unsigned long long)(st.bytes >> 20), st.build_seconds,
                 (unsigned long long)st.slots);
}

static void prefetch_tick(void *arg)
{
    dmp_node_prefetch_t *p = arg;
    if (p->done) {
        if (p->index && !atomic_load(&p->stop))
            index_maintain(p);
        return;
    }
    p->done = true;
    unsigned what = DMP_STORE_PREFETCH_RECORDS | DMP_STORE_PREFETCH_RNAMES;
    if (p->index) {
        index_build(p);
        dmp_index_stats_t xs;
        dmp_index_stats(p->index, &xs);
        /* the walk has just read every records table from start to end: only the names index
         * (the NXDOMAIN and empty non-terminal path) is left to read */
        if (xs.state == DMP_INDEX_READY)
            what = DMP_STORE_PREFETCH_RNAMES;
    }
    if (p->budget == 0 || atomic_load(&p->stop))
        return;
    int64_t t0 = dmp_monotonic_ns();
    dmp_store_prefetch_stats_t st;
    int rc = dmp_store_prefetch_ex(p->store, what, p->budget, &p->stop, &st);
    if (rc != 0) {
        dmp_warn("store prefetch: %s", dmp_strerror(rc));
        return;
    }
    const char *which = what & DMP_STORE_PREFETCH_RECORDS
                            ? "records and names"
                            : "names; the index's walk read the records";
    dmp_info("store prefetch: %llu MiB of %u table files (%s) read into the page cache in %.1f s%s",
             (unsigned long long)(st.bytes >> 20), st.files, which,
             (double)(dmp_monotonic_ns() - t0) / 1e9,
             st.stopped  ? " (stopped)"
             : st.capped ? " (budget reached: DMP_STORE_PREFETCH_MB)"
                         : "");
}

int dmp_node_prefetch_start(dmp_node_prefetch_t *p, dmp_store_t *store, int64_t budget_mb,
                            dmp_index_t *index, uint64_t index_min_free, uint32_t index_rebuild_s)
{
    memset(p, 0, sizeof(*p));
    p->store = store;
    p->index = index;
    p->index_min_free = index_min_free;
    p->index_rebuild_s = index_rebuild_s;
    atomic_init(&p->stop, false);
    p->budget = budget_mb < 0 ? auto_budget() : (uint64_t)budget_mb << 20;
    if (p->budget == 0 && index == NULL)
        return 0;
    p->bg =
        (dmp_node_bgthread_t){.name = "prefetch",
                              .interval_s = index && index_rebuild_s ? DMP_NODE_INDEX_CHECK_S : 0,
                              .tick = prefetch_tick,
                              .ctx = p,
                              .nice = 13};
    int rc = dmp_node_bgthread_start(&p->bg);
    if (rc == 0)
        dmp_node_bgthread_kick(&p->bg);
    return rc;
}

void dmp_node_prefetch_stop(dmp_node_prefetch_t *p)
{
    atomic_store(&p->stop, true);
    dmp_node_bgthread_stop(&p->bg);
}
