/* libFuzzer: HTTP request bodies of POST/DELETE /v1/records/{name} (dmp_node_post_parse,
 * dmp_node_delete_parse). Checks: never crash, a 0 result gives a value within the caps. */
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
    return 0;
}
