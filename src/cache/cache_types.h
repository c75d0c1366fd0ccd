/* cache: types of the per-shard answer cache. */
#ifndef DMP_CACHE_TYPES_H
#define DMP_CACHE_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* Answer cache: one per shard thread, NOT thread-safe. Bounded in bytes (entries + names +
 * blobs); LRU eviction. Holds opaque blobs (the node stores precompiled DNS RRsets) and
 * negative entries. */
typedef struct dmp_cache dmp_cache_t;

typedef enum {
    DMP_CACHE_MISS = 0,
    DMP_CACHE_HIT = 1,
    DMP_CACHE_NEGATIVE = 2,
} dmp_cache_result_t;

/* Admission doorkeeper in front of an answer cache: remembers (approximately, in a bitmap) which
 * names missed once, so that a name enters the cache on its second miss only. One per thread
 * that fills a cache, NOT thread-safe. */
typedef struct dmp_cache_door dmp_cache_door_t;

#endif
