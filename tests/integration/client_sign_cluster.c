/* Test helper for the client integration test: signs a cluster manifest (cluster.md §1).
 *   client_sign_cluster BASE_DOMAIN EXP NODE_ID HTTP_ENDPOINT DNS_ENDPOINT [...]
 * prints the operator spk (hex) on line 1 and the TXT value on line 2. The operator key is
 * derived from a fixed test seed; nothing here is secret. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "util/util.h"
#include "wire/wire.h"

/* client_sign_cluster --bootstrap USER_DOMAIN EXP CLUSTER_BASE OPERATOR_SPK_HEX: prints the
 * bootstrap signer's spk and the _dmp.<user_domain> TXT value. */
static int bootstrap(int argc, char **argv)
{
    if (argc != 6)
        return 2;
    uint8_t seed[32];
    dmp_crypto_sha256((const uint8_t *)"dnsmesh-c/tests/bootstrap-signer", 32, seed);
    dmp_crypto_identity_t sg;
    if (dmp_crypto_identity_from_x25519(seed, &sg))
        return 1;
    static dmp_wire_bootstrap_t b;
    b.seq = 1;
    b.exp = strtoull(argv[3], NULL, 10);
    memcpy(b.signer_spk, sg.ed_pk, 32);
    b.user_domain_len = (size_t)snprintf(b.user_domain, sizeof(b.user_domain), "%s", argv[2]);
    b.n_entries = 1;
    b.entries[0].priority = 10;
    b.entries[0].base_len = (size_t)snprintf(
        b.entries[0].cluster_base_domain, sizeof(b.entries[0].cluster_base_domain), "%s", argv[4]);
    if (strlen(argv[5]) != 64 || dmp_hex_decode(argv[5], 64, b.entries[0].operator_spk, 32))
        return 2;
    dmp_buf_t out;
    dmp_buf_init(&out);
    if (dmp_wire_bootstrap_encode(&b, sg.ed_sk, &out))
        return 1;
    char hx[65];
    dmp_hex_encode(sg.ed_pk, 32, hx, sizeof(hx));
    printf("%s\n%.*s\n", hx, (int)out.len, (const char *)out.data);
    dmp_buf_free(&out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--bootstrap") == 0) {
        if (dmp_crypto_init())
            return 1;
        return bootstrap(argc, argv);
    }
    if (argc < 6 || (argc - 3) % 3 != 0) {
        fprintf(stderr, "usage: %s BASE EXP ID HTTP DNS [ID HTTP DNS ...]\n", argv[0]);
        return 2;
    }
    if (dmp_crypto_init())
        return 1;
    uint8_t seed[32];
    dmp_crypto_sha256((const uint8_t *)"dnsmesh-c/tests/cluster-operator", 32, seed);
    dmp_crypto_identity_t op;
    if (dmp_crypto_identity_from_x25519(seed, &op))
        return 1;
    static dmp_wire_cluster_t m;
    m.seq = 1;
    m.exp = strtoull(argv[2], NULL, 10);
    memcpy(m.operator_spk, op.ed_pk, 32);
    snprintf(m.cluster_name, sizeof(m.cluster_name), "%s", argv[1]);
    m.cluster_name_len = strlen(m.cluster_name);
    for (int i = 3; i + 2 < argc && m.n_nodes < DMP_WIRE_CLUSTER_MAX_NODES; i += 3) {
        dmp_wire_cluster_node_t *n = &m.nodes[m.n_nodes++];
        snprintf(n->node_id, sizeof(n->node_id), "%s", argv[i]);
        n->node_id_len = strlen(n->node_id);
        snprintf(n->http_endpoint, sizeof(n->http_endpoint), "%s", argv[i + 1]);
        n->http_endpoint_len = strlen(n->http_endpoint);
        snprintf(n->dns_endpoint, sizeof(n->dns_endpoint), "%s", argv[i + 2]);
        n->dns_endpoint_len = strlen(n->dns_endpoint);
    }
    dmp_buf_t out;
    dmp_buf_init(&out);
    int rc = dmp_wire_cluster_encode(&m, op.ed_sk, &out);
    if (rc) {
        fprintf(stderr, "encode failed: %d\n", rc);
        return 1;
    }
    char hx[65];
    dmp_hex_encode(op.ed_pk, 32, hx, sizeof(hx));
    printf("%s\n%.*s\n", hx, (int)out.len, (const char *)out.data);
    dmp_buf_free(&out);
    return 0;
}
