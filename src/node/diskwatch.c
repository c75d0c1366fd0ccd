/* node: the disk watcher. A thread that reads the free space on the store's disk every 100 ms,
 * so the store refuses puts below DMP_STORE_MIN_FREE_MB before RocksDB's WAL meets a full disk
 * (docs/store.md "Durability and concurrency"), and accepts them again once space returns. */
#include <string.h>

#include "node/node.h"

static void diskwatch_tick(void *arg)
{
    dmp_node_diskwatch_t *w = arg;
    uint64_t free_bytes = 0;
    int rc = dmp_store_space_check(w->store, &free_bytes);
    if (rc != 0) {
        if (!w->read_failed)
            dmp_warn("disk watcher: cannot read the free space on the store's disk (%s); "
                     "the reserve keeps its last state",
                     dmp_strerror(rc));
        w->read_failed = true;
        return;
    }
    w->read_failed = false;
    bool low = dmp_store_space_low(w->store);
    if (low && !w->low)
        dmp_warn("store disk: %llu MiB free, below DMP_STORE_MIN_FREE_MB=%llu: refusing writes",
                 (unsigned long long)(free_bytes >> 20), (unsigned long long)(w->min_free >> 20));
    else if (!low && w->low)
        dmp_info("store disk: %llu MiB free again: accepting writes",
                 (unsigned long long)(free_bytes >> 20));
    w->low = low;
}

int dmp_node_diskwatch_start(dmp_node_diskwatch_t *w, dmp_store_t *store, uint64_t min_free_bytes)
{
    memset(w, 0, sizeof(*w));
    w->store = store;
    w->min_free = min_free_bytes;
    dmp_store_space_set_reserve(store, min_free_bytes);
    if (min_free_bytes == 0)
        return 0;
    diskwatch_tick(w); /* a node started on a full disk refuses from its first write */
    w->bg = (dmp_node_bgthread_t){.name = "diskwatch",
                                  .interval_s = DMP_NODE_DISKWATCH_S,
                                  .tick = diskwatch_tick,
                                  .ctx = w,
                                  .nice = 13};
    return dmp_node_bgthread_start(&w->bg);
}

void dmp_node_diskwatch_stop(dmp_node_diskwatch_t *w)
{
    dmp_node_bgthread_stop(&w->bg);
}
