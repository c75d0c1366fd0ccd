/* libFuzzer: HTTP request bodies of POST/DELETE /v1/records/{name} and of the batch POST
 * /v1/records (dmp_node_post_parse, dmp_node_delete_parse, dmp_node_batch_parse). Checks: never
 * crash, a 0 result gives values within the caps and valid names, an error returns nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dmp_node_config_t c;
    memset(&c, 0, sizeof(c));
    c.max_ttl = 86400;
    c.max_value_bytes = 2048;
    dmp_node_post_t p;
    char msg[160];
    if (dmp_node_post_parse(&c, data, size, &p, msg, sizeof(msg)) == 0) {
        if (p.value_len > c.max_value_bytes || p.ttl == 0 || p.ttl > c.max_ttl)
            abort();
        (void)dmp_node_value_safe(p.value, p.value_len);
        free(p.value);
    }
    uint8_t *v = NULL;
    size_t vl = 0;
    if (dmp_node_delete_parse(data, size, &v, &vl, msg, sizeof(msg)) == 0 && v) {
        if (!dmp_node_value_safe(v, vl))
            abort();
        free(v);
    }
    dmp_node_batch_t b;
    size_t bi = 0;
    int st = dmp_node_batch_parse(&c, data, size, &b, &bi, msg, sizeof(msg));
    if (st == 0) {
        if (b.n == 0 || b.n > DMP_NODE_BATCH_MAX)
            abort();
        for (size_t i = 0; i < b.n; i++)
            if (b.recs[i].value_len > c.max_value_bytes || b.recs[i].ttl == 0 ||
                b.recs[i].ttl > c.max_ttl || b.recs[i].name_len != strlen(b.recs[i].name) ||
                !dmp_node_name_valid(b.recs[i].name, b.recs[i].name_len))
                abort();
        dmp_node_batch_free(&b);
    } else if (b.recs || b.n || (bi != SIZE_MAX && bi >= DMP_NODE_BATCH_MAX)) {
        abort();
    }
    return 0;
}
