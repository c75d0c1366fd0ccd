/* libFuzzer: registration confirm bodies (dmp_node_reg_parse, then dmp_node_reg_verify against
 * a live challenge store), subject canonicalisation and the record-name scope classifier on the
 * same bytes. Checks: never crash; a parsed body has a canonical subject of the <local>@<fqdn>
 * shape; a random body never verifies (no signature forgery), and a failed verify has a
 * reference status. */
#include <stdlib.h>
#include <string.h>

#include "node/node.h"

static dmp_node_config_t g_cfg;
static dmp_node_reg_t *g_reg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_reg) {
        g_cfg.auth_mode = DMP_NODE_AUTH_MULTI_TENANT;
        g_cfg.registration_enabled = true;
        g_cfg.node_hostname = "node.example";
        if (dmp_node_reg_new(&g_cfg, NULL, NULL, &g_reg) != 0)
            abort();
    }
    dmp_node_reg_req_t q;
    dmp_node_reg_err_t e;
    int rc = dmp_node_reg_parse(data, size, &q, &e);
    if (rc == 0) {
        if (!strchr(q.subject, '@') || strlen(q.spk_hex) != 64)
            abort();
        char c2[256], d[800];
        if (dmp_node_subject_canonical(q.subject, strlen(q.subject), c2, sizeof(c2), d,
                                       sizeof(d)) != 0 ||
            strcmp(c2, q.subject) != 0)
            abort(); /* canonical is a fixed point */
        dmp_node_challenge_t c;
        dmp_node_reg_challenge(g_reg, &c);
        rc = dmp_node_reg_verify(g_reg, &q, &e);
        if (rc != 400 && rc != 401)
            abort();
    } else if (rc != 400 || !e.msg[0]) {
        abort();
    }
    dmp_node_reg_req_free(&q);
    char out[256], d[800];
    if (dmp_node_subject_canonical((const char *)data, size, out, sizeof(out), d, sizeof(d)) == 0 &&
        !strchr(out, '@'))
        abort();
    dmp_node_scope_t sc;
    dmp_node_classify_name((const char *)data, size, &sc);
    if (sc.kind > DMP_NODE_SCOPE_OPERATOR)
        abort();
    return 0;
}
