/* libFuzzer: the reference's sync JSON as a peer or a client may send it (digest page, pull
 * response, pull request, cluster-manifest response, digest cursor). Checks: never crash, and
 * what parses obeys the documented bounds. */
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dmp_cluster_digest_t d;
    if (dmp_cluster_digest_parse(data, size, &d) == 0) {
        for (size_t i = 0; i < d.n; i++)
            if (!dmp_cluster_name_ok(d.e[i].name, d.e[i].name_len) || d.e[i].ts < 0)
                abort();
        dmp_cluster_digest_free(&d);
    }
    dmp_cluster_pull_t p;
    if (dmp_cluster_pull_parse(data, size, &p) == 0) {
        for (size_t i = 0; i < p.n; i++)
            if (p.r[i].ttl == 0 || p.r[i].name_len > DMP_CLUSTER_NAME_MAX)
                abort();
        dmp_cluster_pull_free(&p);
    }
    dmp_cluster_names_t nm;
    char msg[100];
    if (dmp_cluster_pull_req_parse(data, size, &nm, msg, sizeof(msg)) == 0) {
        if (nm.n > DMP_CLUSTER_PULL_MAX_NAMES)
            abort();
        dmp_cluster_names_free(&nm);
    }
    dmp_buf_t w;
    dmp_buf_init(&w);
    if (dmp_cluster_manifest_resp_parse(data, size, &w) == 0 && w.len == 0)
        abort();
    dmp_buf_free(&w);
    dmp_cluster_cursor_t c;
    if (dmp_cluster_cursor_parse((const char *)data, size, &c) == 0) {
        char back[400];
        if (c.name_len > DMP_CLUSTER_NAME_MAX || dmp_cluster_cursor_format(&c, back, sizeof(back)))
            abort();
    }
    return 0;
}
