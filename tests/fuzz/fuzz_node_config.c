/* libFuzzer: configuration values. The input is lines; "--..." lines are command-line flags,
 * "KEY=VALUE" lines environment variables. Checks: never crash; success leaves a usable config,
 * failure leaves a one-line message.
 *
 * Speed (perf, 2 Dec 2026): 13% of each execution went to sysconf(_SC_NPROCESSORS_ONLN)
 * reading sysfs for the default shard count, and about a quarter to this harness's own
 * environment lookup (an instrumented strncmp per knob per line). The target is linked with
 * -Wl,--wrap=sysconf (tests/fuzz/node.cmake): the CPU count is asked once and kept; the lookup
 * compares key lengths first. The parser runs the same code. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/node.h"

long __real_sysconf(int name);
long __wrap_sysconf(int name);

long __wrap_sysconf(int name)
{
    static long ncpu = -2;
    if (name != _SC_NPROCESSORS_ONLN)
        return __real_sysconf(name);
    if (ncpu == -2)
        ncpu = __real_sysconf(name);
    return ncpu;
}

typedef struct {
    char *kv[64];
    size_t klen[64]; /* length of the key (before '='; the whole line if none) */
    size_t n;
} env_t;

static const char *get(const char *name, void *ctx)
{
    env_t *e = ctx;
    size_t l = strlen(name);
    for (size_t i = 0; i < e->n; i++) {
        if (e->klen[i] == l && e->kv[i][l] == '=' && memcmp(e->kv[i], name, l) == 0)
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
            e.klen[e.n] = strcspn(line, "=");
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
