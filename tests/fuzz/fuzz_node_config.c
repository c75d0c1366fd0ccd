/* libFuzzer: configuration values. The input is lines; "--..." lines are command-line flags,
 * "KEY=VALUE" lines environment variables. Checks: never crash; success leaves a usable config,
 * failure leaves a one-line message. */
#include <stdlib.h>
#include <string.h>

#include "node/node.h"

typedef struct {
    char *kv[64];
    size_t n;
} env_t;

static const char *get(const char *name, void *ctx)
{
    env_t *e = ctx;
    size_t l = strlen(name);
    for (size_t i = 0; i < e->n; i++) {
        if (strncmp(e->kv[i], name, l) == 0 && e->kv[i][l] == '=')
            return e->kv[i] + l + 1;
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    env_t e = {.n = 0};
    char *argv[66];
    int argc = 0;
    argv[argc++] = "dnsmeshd";
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "--", 2) == 0) {
            if (argc < 64)
                argv[argc++] = line;
        } else if (e.n < 64) {
            e.kv[e.n++] = line;
        }
    }
    argv[argc] = NULL;
    dmp_node_config_t c;
    bool help = false;
    char err[256];
    int rc = dmp_node_config_load(&c, get, &e, argc, argv, &help, err, sizeof(err));
    if (rc == 0) {
        if (!help && (!c.db_path || !c.dns_host || !c.http_host || c.shards == 0 ||
                      c.frontends == 0 || c.cleanup_interval <= 0))
            abort();
        dmp_node_config_free(&c);
    } else if (strchr(err, '\n')) {
        abort();
    }
    free(buf);
    return 0;
}
