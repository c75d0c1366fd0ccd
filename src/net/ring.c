/* net: ring construction (the hot paths are inline in ring.h). */
#include "net/ring.h"

#include <stdlib.h>

#include "util/util.h"

static bool pow2(size_t cap)
{
    return cap >= 2 && (cap & (cap - 1)) == 0 && cap <= ((size_t)1 << 30);
}

int dmp_net_spsc_init(dmp_net_spsc_t *r, size_t cap)
{
    if (!r || !pow2(cap)) {
        return DMP_EINVAL;
    }
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->head_cache = 0;
    r->tail_cache = 0;
    r->mask = cap - 1;
    r->slot = calloc(cap, sizeof(void *));
    return r->slot ? DMP_OK : DMP_ENOMEM;
}

void dmp_net_spsc_destroy(dmp_net_spsc_t *r)
{
    if (r) {
        free(r->slot);
        r->slot = NULL;
    }
}

int dmp_net_mpsc_init(dmp_net_mpsc_t *r, size_t cap)
{
    if (!r || !pow2(cap)) {
        return DMP_EINVAL;
    }
    r->cell = calloc(cap, sizeof(*r->cell));
    if (!r->cell) {
        return DMP_ENOMEM;
    }
    for (size_t i = 0; i < cap; i++) {
        atomic_init(&r->cell[i].seq, i);
    }
    atomic_init(&r->enq, 0);
    atomic_init(&r->deq, 0);
    r->mask = cap - 1;
    return DMP_OK;
}

void dmp_net_mpsc_destroy(dmp_net_mpsc_t *r)
{
    if (r) {
        free(r->cell);
        r->cell = NULL;
    }
}
