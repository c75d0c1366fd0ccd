/* dnsmesh-admin cluster|bootstrap sign: build and sign a cluster manifest (cluster.md §1) or a
 * bootstrap record (§2) with the operator's Ed25519 key, print its owner name and TXT value, and
 * optionally publish it to a node over HTTP (POST /v1/records/<owner>). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "admin.h"
#include "cluster/cluster.h"
#include "crypto/crypto.h"
#include "wire/wire.h"

static int read_seed(const char *file, const char *hex, uint8_t seed[32])
{
    char buf[200] = "";
    if (file) {
        FILE *f = fopen(file, "r");
        if (!f || !fgets(buf, sizeof(buf), f)) {
            if (f)
                fclose(f);
            fprintf(stderr, "dnsmesh-admin: cannot read key file %s\n", file);
            return -1;
        }
        fclose(f);
        hex = buf;
    }
    if (!hex) {
        fprintf(stderr, "dnsmesh-admin: give the operator key: --key-file F or --key-hex H "
                        "(64 hex digits: the Ed25519 seed)\n");
        return -1;
    }
    size_t l = strlen(hex);
    while (l && (hex[l - 1] == '\n' || hex[l - 1] == ' ' || hex[l - 1] == '\r'))
        l--;
    int rc = dmp_hex_decode(hex, l, seed, 32);
    sodium_memzero(buf, sizeof(buf));
    if (rc != 0)
        fprintf(stderr, "dnsmesh-admin: the key must be 64 hex digits (an Ed25519 seed)\n");
    return rc ? -1 : 0;
}

/* POST {"value": wire, "ttl": ttl} to url/v1/records/owner. */
static int publish(const char *url, const char *token, const char *owner, const dmp_buf_t *wire,
                   uint32_t ttl)
{
    char full[600], tok[300] = "";
    snprintf(full, sizeof(full), "%s/v1/records/%s", url, owner);
    dmp_buf_t body;
    dmp_buf_init(&body);
    char head[64];
    snprintf(head, sizeof(head), "{\"ttl\": %u, \"value\": \"", ttl);
    dmp_buf_append_str(&body, head);
    dmp_buf_append(&body, wire->data, wire->len); /* base64 and ASCII: no escaping needed */
    dmp_buf_append_str(&body, "\"}");
    if (token)
        snprintf(tok, sizeof(tok), "%s", token);
    dmp_cluster_http_opts_t o = {.token = token ? tok : NULL, .timeout_ms = 10000};
    dmp_cluster_http_global_init();
    dmp_cluster_http_resp_t r;
    int rc = dmp_cluster_http_request(&o, full, body.data, body.len, "application/json", &r);
    dmp_buf_free(&body);
    sodium_memzero(tok, sizeof(tok));
    if (rc != 0 || r.status != 201) {
        fprintf(stderr, "dnsmesh-admin: publish to %s failed: %s (HTTP %ld) %.*s\n", full,
                rc ? dmp_cluster_strerror(rc) : "refused", r.status, (int)r.len,
                r.body ? (const char *)r.body : "");
        dmp_cluster_http_resp_free(&r);
        return 1;
    }
    dmp_cluster_http_resp_free(&r);
    fprintf(stderr, "published at %s\n", full);
    return 0;
}

static void usage(FILE *f, bool cluster)
{
    if (cluster)
        fprintf(f,
                "usage: dnsmesh-admin cluster sign --name BASE --seq N (--key-file F | --key-hex "
                "H)\n"
                "         --node ID=HTTP_URL[,DNS_ENDPOINT] ... [--exp UNIX | --valid-days D "
                "(365)]\n"
                "         [--publish NODE_URL [--token T] [--ttl S (86400)]]\n"
                "Signs a cluster manifest for cluster.BASE (1..32 nodes) and prints the owner "
                "name,\nthe TXT value, and the operator public key (DMP_SYNC_OPERATOR_SPK).\n");
    else
        fprintf(f, "usage: dnsmesh-admin bootstrap sign --domain USER_DOMAIN --seq N (--key-file F "
                   "| --key-hex H)\n"
                   "         --entry PRIORITY=BASE_DOMAIN=OPERATOR_SPK_HEX ... [--exp UNIX | "
                   "--valid-days D (365)]\n"
                   "         [--publish NODE_URL [--token T] [--ttl S (86400)]]\n"
                   "Signs a bootstrap record for _dmp.USER_DOMAIN (1..16 entries).\n");
}

static int sign_main(int argc, char **argv, bool cluster)
{
    static const struct option lo[] = {{"name", 1, 0, 'n'},       {"domain", 1, 0, 'n'},
                                       {"seq", 1, 0, 's'},        {"key-file", 1, 0, 'k'},
                                       {"key-hex", 1, 0, 'K'},    {"node", 1, 0, 'N'},
                                       {"entry", 1, 0, 'N'},      {"exp", 1, 0, 'e'},
                                       {"valid-days", 1, 0, 'v'}, {"publish", 1, 0, 'p'},
                                       {"token", 1, 0, 't'},      {"ttl", 1, 0, 'T'},
                                       {"help", 0, 0, 'h'},       {0, 0, 0, 0}};
    const char *name = NULL, *kfile = NULL, *khex = NULL, *url = NULL, *token = NULL;
    const char *items[64];
    size_t nitems = 0;
    int64_t seq = -1, exp = 0, days = 365, ttl = 86400;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (o) {
        case 'n':
            name = optarg;
            break;
        case 's':
            if (dmp_parse_i64(optarg, 0, INT64_MAX, &seq))
                seq = -2;
            break;
        case 'k':
            kfile = optarg;
            break;
        case 'K':
            khex = optarg;
            break;
        case 'N':
            if (nitems < 64)
                items[nitems++] = optarg;
            break;
        case 'e':
            if (dmp_parse_i64(optarg, 1, INT64_MAX, &exp))
                exp = -1;
            break;
        case 'v':
            if (dmp_parse_i64(optarg, 1, 3650, &days))
                days = -1;
            break;
        case 'p':
            url = optarg;
            break;
        case 't':
            token = optarg;
            break;
        case 'T':
            if (dmp_parse_i64(optarg, 1, 2147483647, &ttl))
                ttl = -1;
            break;
        case 'h':
            usage(stdout, cluster);
            return 0;
        default:
            usage(stderr, cluster);
            return 2;
        }
    }
    if (!name || seq < 0 || nitems == 0 || exp < 0 || days < 0 || ttl < 0) {
        usage(stderr, cluster);
        return 2;
    }
    uint8_t seed[32], pk[32], sk[64];
    if (read_seed(kfile, khex, seed) != 0 || dmp_crypto_ed25519_from_seed(seed, pk, sk) != 0)
        return 2;
    sodium_memzero(seed, sizeof(seed));
    if (exp == 0)
        exp = (int64_t)time(NULL) + days * 86400;
    dmp_buf_t wire;
    dmp_buf_init(&wire);
    char owner[DMP_WIRE_NAME_MAX];
    int rc;
    if (cluster) {
        dmp_wire_cluster_t m;
        memset(&m, 0, sizeof(m));
        m.seq = (uint64_t)seq;
        m.exp = (uint64_t)exp;
        memcpy(m.operator_spk, pk, 32);
        snprintf(m.cluster_name, sizeof(m.cluster_name), "%s", name);
        m.cluster_name_len = strlen(m.cluster_name);
        for (size_t i = 0; i < nitems && i < DMP_WIRE_CLUSTER_MAX_NODES; i++) {
            const char *eq = strchr(items[i], '=');
            if (!eq) {
                fprintf(stderr, "dnsmesh-admin: --node wants ID=HTTP_URL[,DNS_ENDPOINT]\n");
                return 2;
            }
            dmp_wire_cluster_node_t *nd = &m.nodes[m.n_nodes++];
            snprintf(nd->node_id, sizeof(nd->node_id), "%.*s", (int)(eq - items[i]), items[i]);
            nd->node_id_len = strlen(nd->node_id);
            const char *comma = strchr(eq + 1, ',');
            snprintf(nd->http_endpoint, sizeof(nd->http_endpoint), "%.*s",
                     (int)(comma ? (size_t)(comma - eq - 1) : strlen(eq + 1)), eq + 1);
            nd->http_endpoint_len = strlen(nd->http_endpoint);
            if (comma) {
                snprintf(nd->dns_endpoint, sizeof(nd->dns_endpoint), "%s", comma + 1);
                nd->dns_endpoint_len = strlen(nd->dns_endpoint);
            }
        }
        rc = dmp_wire_cluster_encode(&m, sk, &wire);
        if (rc == 0)
            rc = dmp_wire_name_cluster(name, owner, sizeof(owner));
    } else {
        dmp_wire_bootstrap_t b;
        memset(&b, 0, sizeof(b));
        b.seq = (uint64_t)seq;
        b.exp = (uint64_t)exp;
        memcpy(b.signer_spk, pk, 32);
        snprintf(b.user_domain, sizeof(b.user_domain), "%s", name);
        b.user_domain_len = strlen(b.user_domain);
        for (size_t i = 0; i < nitems && i < DMP_WIRE_BOOTSTRAP_MAX_ENTRIES; i++) {
            char tmp[256];
            snprintf(tmp, sizeof(tmp), "%s", items[i]);
            char *a = strchr(tmp, '='), *c = a ? strchr(a + 1, '=') : NULL;
            int64_t pr;
            if (!a || !c) {
                fprintf(stderr, "dnsmesh-admin: --entry wants PRIORITY=BASE=SPK_HEX\n");
                return 2;
            }
            *a = *c = 0;
            dmp_wire_bootstrap_entry_t *e = &b.entries[b.n_entries++];
            if (dmp_parse_i64(tmp, 0, 65535, &pr) ||
                dmp_hex_decode(c + 1, strlen(c + 1), e->operator_spk, 32)) {
                fprintf(stderr, "dnsmesh-admin: bad --entry '%s'\n", items[i]);
                return 2;
            }
            e->priority = (uint16_t)pr;
            snprintf(e->cluster_base_domain, sizeof(e->cluster_base_domain), "%s", a + 1);
            e->base_len = strlen(e->cluster_base_domain);
        }
        rc = dmp_wire_bootstrap_encode(&b, sk, &wire);
        if (rc == 0)
            rc = dmp_wire_name_bootstrap(name, owner, sizeof(owner));
    }
    sodium_memzero(sk, sizeof(sk));
    if (rc != 0) {
        fprintf(stderr, "dnsmesh-admin: cannot sign: %s\n", dmp_wire_strerror(rc));
        dmp_buf_free(&wire);
        return 2;
    }
    char pkhex[65];
    dmp_hex_encode(pk, 32, pkhex, sizeof(pkhex));
    printf("owner: %s\noperator_spk: %s\nvalue: %.*s\n", owner, pkhex, (int)wire.len,
           (const char *)wire.data);
    int status = url ? publish(url, token, owner, &wire, (uint32_t)ttl) : 0;
    dmp_buf_free(&wire);
    return status;
}

int dmp_admin_cluster(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "sign") != 0) {
        usage(argc < 2 ? stderr : stdout, true);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    return sign_main(argc - 1, argv + 1, true);
}

int dmp_admin_bootstrap(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "sign") != 0) {
        usage(argc < 2 ? stderr : stdout, false);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    return sign_main(argc - 1, argv + 1, false);
}
