/* node: the page cache after a start. One pass of a background thread over the table files
 * the DNS read path reads (dmp_store_prefetch), so that a node started on a cold page cache (a
 * reboot, or a kernel that reclaimed the store's pages) does not answer its first queries at
 * the pace of the disk: a miss is a synchronous read on the thread answering DNS, and every
 * query behind it waits. docs/store.md "Read path at scale" (the page cache after a start). */
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

/* The name index's walk (dmp_index_build), before the table files' pass: it reads the records'
 * tables from start to end itself. */
static void index_build(dmp_node_prefetch_t *p)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int rc = dmp_index_build(p->index, p->store, now, &p->stop, p->index_min_free);
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

static void prefetch_tick(void *arg)
{
    dmp_node_prefetch_t *p = arg;
    if (p->done)
        return;
    p->done = true;
    if (p->index)
        index_build(p);
    if (p->budget == 0 || atomic_load(&p->stop))
        return;
    int64_t t0 = dmp_monotonic_ns();
    dmp_store_prefetch_stats_t st;
    int rc = dmp_store_prefetch(p->store, p->budget, &p->stop, &st);
    if (rc != 0) {
        dmp_warn("store prefetch: %s", dmp_strerror(rc));
        return;
    }
    dmp_info("store prefetch: %llu MiB of %u table files read into the page cache in %.1f s%s",
             (unsigned long long)(st.bytes >> 20), st.files,
             (double)(dmp_monotonic_ns() - t0) / 1e9,
             st.stopped  ? " (stopped)"
             : st.capped ? " (budget reached: DMP_STORE_PREFETCH_MB)"
                         : "");
}

int dmp_node_prefetch_start(dmp_node_prefetch_t *p, dmp_store_t *store, int64_t budget_mb,
                            dmp_index_t *index, uint64_t index_min_free)
{
    memset(p, 0, sizeof(*p));
    p->store = store;
    p->index = index;
    p->index_min_free = index_min_free;
    atomic_init(&p->stop, false);
    p->budget = budget_mb < 0 ? auto_budget() : (uint64_t)budget_mb << 20;
    if (p->budget == 0 && index == NULL)
        return 0;
    p->bg = (dmp_node_bgthread_t){
        .name = "prefetch", .interval_s = 0, .tick = prefetch_tick, .ctx = p, .nice = 13};
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
