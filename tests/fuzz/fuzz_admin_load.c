/* libFuzzer: `dnsmesh-admin load`'s input parsers (JSON lines and zone files), with the node's
 * default caps. The first byte picks the format. Checks: never crash or read past the input;
 * a failure leaves a FILE:LINE message; the vector scan for a JSON string's special bytes
 * finds what a byte-by-byte scan finds, from every start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "load_int.h"

static const char *scan_bytewise(const char *p, const char *e)
{
    for (; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f)
            break;
    }
    return p;
}

/* the node's defaults, with the bind guard out of the way as dnsmesh-admin does */
static const char *no_env(const char *name, void *ctx)
{
    (void)ctx;
    if (strcmp(name, "DMP_HTTP_HOST") == 0)
        return "127.0.0.1";
    if (strcmp(name, "DMP_ALLOW_OPEN_PUBLIC_BIND") == 0)
        return "1";
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dmp_node_config_t cfg;
    static int have = -1;
    if (have < 0) {
        bool help = false;
        char err[256];
        char *argv[] = {"fuzz", NULL};
        have = dmp_node_config_load(&cfg, no_env, NULL, 1, argv, &help, err, sizeof err) == 0;
        if (!have)
            fprintf(stderr, "fuzz_admin_load: config: %s\n", err);
    }
    if (!have || size < 1 || size > 65536)
        return 0;
    /* a copy of exactly size bytes, so ASan catches a read past the end */
    uint8_t *buf = malloc(size - 1 ? size - 1 : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    size_t n = 0;
    char err[1024];
    err[0] = 0;
    const char *b = (const char *)buf, *be = b + (size - 1);
    for (size_t o = 0; o < size - 1 && o < 64; o++)
        if (ld_scan_special(b + o, be) != scan_bytewise(b + o, be))
            abort();
    int rc = admin_load_parse(buf, size - 1, data[0] & 1, &cfg, &n, err, sizeof err);
    if (rc != 0 && strncmp(err, "input:", 6) != 0)
        abort(); /* every failure names its line */
    free(buf);
    return 0;
}
