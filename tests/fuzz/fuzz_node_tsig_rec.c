/* libFuzzer target: a stored TSIG key row (JSON) into dmp_node_tsig_decode, then the scope
 * matcher with the decoded suffixes. Checks: decode + encode + decode is stable, strings stay
 * NUL-terminated within their fields, the secret length is bounded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/tsig_keys.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dmp_node_tsig_rec_t r, r2;
    if (dmp_node_tsig_decode(data, size, &r) != 0)
        return 0;
    if (r.key.secret_len == 0 || r.key.secret_len > DMP_TSIG_MAX_SECRET ||
        r.n_suffixes > DMP_NODE_TSIG_MAX_SUFFIXES || strlen(r.key.name) >= sizeof(r.key.name))
        abort();
    for (size_t i = 0; i < r.n_suffixes; i++) {
        (void)dmp_node_tsig_scope_match("slot-1.mb-0123456789ab.mesh.test", r.suffixes[i]);
        (void)dmp_node_tsig_scope_match(r.suffixes[i], r.suffixes[i]);
    }
    (void)dmp_node_tsig_covers(&r, "a.b.c", true);
    dmp_buf_t b;
    dmp_buf_init(&b);
    if (dmp_node_tsig_encode(&r, &b) != 0)
        abort();
    if (dmp_node_tsig_decode(b.data, b.len, &r2) != 0)
        abort();
    if (r2.key.secret_len != r.key.secret_len ||
        memcmp(r2.key.secret, r.key.secret, r.key.secret_len) != 0 ||
        strcmp(r2.key.name, r.key.name) != 0 || r2.n_suffixes != r.n_suffixes)
        abort();
    dmp_buf_free(&b);
    return 0;
}
