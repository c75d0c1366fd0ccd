/* libFuzzer: heartbeat seed lists (a body fetched from a seed-list URL) and seed-zone
 * normalisation. Checks: never crash; every zone is non-empty, NUL-terminated, < 256 bytes,
 * printable ASCII without spaces and without upper case. */
#include <stdlib.h>
#include <string.h>

#include "node/node.h"

static void check_zone(const char *z)
{
    size_t n = strlen(z);
    if (n == 0 || n >= 256)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)z[i];
        if (c <= 0x20 || c >= 0x7F || (c >= 'A' && c <= 'Z'))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char **zones = NULL;
    size_t n = 0;
    (void)dmp_node_hb_seed_list_parse(data, size, &zones, &n);
    for (size_t i = 0; i < n; i++) {
        check_zone(zones[i]);
        free(zones[i]);
    }
    free(zones);
    char z[256];
    if (dmp_node_hb_zone_norm((const char *)data, size, z, sizeof(z)) == 0)
        check_zone(z);
    return 0;
}
