/* libFuzzer: our binary Merkle messages (node and leaf requests, version-2 leaf requests with a
 * have-list, node and leaf responses to a fixed request). Checks: never crash; a parsed request
 * re-encodes to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dmp_cluster_mreq_t q;
    dmp_buf_t b;
    dmp_buf_init(&b);
    if (dmp_cluster_mreq_parse(data, size, &q) == 0) {
        if (dmp_cluster_mreq_encode(&q, &b) != 0 || b.len != size || memcmp(b.data, data, size))
            abort();
    }
    dmp_buf_free(&b);
    if (dmp_cluster_lreq_parse(data, size, &q) == 0) {
        if (dmp_cluster_lreq_encode(&q, &b) != 0 || b.len != size || memcmp(b.data, data, size))
            abort();
    }
    dmp_buf_free(&b);
    static dmp_cluster_lhave_t hv;
    if (dmp_cluster_lreq2_parse(data, size, &q, &hv) == 0) {
        /* every bucket's have-list lies inside the body; probing it never reads past it */
        dmp_cluster_leaf_entry_t e = {.name = "a.mesh.test", .name_len = 11, .ttl = 1};
        for (size_t i = 0; i < q.n; i++) {
            if (hv.off[i] + (size_t)hv.cnt[i] * DMP_CLUSTER_HAVE_BYTES > size)
                abort();
            (void)dmp_cluster_lhave_covers(&hv, i, &e);
        }
    }
    static dmp_cluster_mreq_t fixed = {.level = 1, .n = 2, .idx = {3, 7}};
    static uint8_t ch[2][DMP_CLUSTER_FANOUT][32];
    uint8_t root[32];
    (void)dmp_cluster_mresp_parse(data, size, &fixed, root, ch);
    static dmp_cluster_mreq_t leaves = {.level = DMP_CLUSTER_DEPTH, .n = 2, .idx = {0, 65535}};
    dmp_cluster_leaves_t l = {0};
    if (dmp_cluster_lresp_parse(data, size, &leaves, &l) == 0)
        for (size_t i = 0; i < l.n; i++)
            if (l.e[i].name_len == 0 || l.e[i].name_len > DMP_CLUSTER_NAME_MAX)
                abort();
    dmp_cluster_leaves_free(&l);
    return 0;
}
