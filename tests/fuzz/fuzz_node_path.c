/* libFuzzer: record paths (/v1/records/{name}: percent-decoding, stripping) and the record-name
 * rule. Checks: never crash; a name that passes the rule is <= 253 bytes of [A-Za-z0-9._-]. */
#include <stdlib.h>
#include <string.h>

#include "node/node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4096];
    if (size >= sizeof(path) - 13)
        size = sizeof(path) - 13;
    memcpy(path, "/v1/records/", 12);
    memcpy(path + 12, data, size);
    size_t plen = 12 + size;
    path[plen] = 0;
    char name[256];
    size_t n = 0;
    if (dmp_node_record_path(path, plen, name, sizeof(name), &n) == 0) {
        if (n >= sizeof(name) || name[n] != 0)
            abort();
        if (dmp_node_name_valid(name, n)) {
            if (n > 253)
                abort();
            for (size_t i = 0; i < n; i++) {
                char ch = name[i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_'))
                    abort();
            }
        }
    }
    (void)dmp_node_name_valid((const char *)data, size);
    (void)dmp_node_value_safe(data, size);
    return 0;
}
