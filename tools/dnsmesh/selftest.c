/* dnsmesh selftest: runs the whole message pipeline locally and reports each step. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "dnsmesh.h"
#include "util/util.h"

static double ms_since(int64_t t0)
{
    return (double)(dmp_monotonic_ns() - t0) / 1e6;
}

static void hex_line(const char *label, const uint8_t *b, size_t n)
{
    char h[129];
    dmp_hex_encode(b, n, h, sizeof(h));
    printf("  %-18s %s\n", label, h);
}

static void help(void)
{
    printf("usage: dnsmesh selftest [--message TEXT] [--domain ZONE] [--verbose]\n\n"
           "Derives two identities from passphrases (Argon2id, as `dnsmesh init` will), seals\n"
           "TEXT from alice to bob (X25519 + ChaCha20-Poly1305), erasure-codes and chunks it into\n"
           "signed DMP TXT records, then walks bob's mailbox in an in-memory zone, verifies,\n"
           "decodes and opens the message. No network is used. Exit 0 and 'selftest: ok' on\n"
           "success, 1 on any failure.\n\n"
           "  --message TEXT  message to send (default \"hello bob\")\n"
           "  --domain ZONE   zone the records are published in (default mesh.example)\n"
           "  --verbose       print every record\n");
}

int dnsmesh_selftest(int argc, char **argv)
{
    const char *message = "hello bob", *domain = "mesh.example";
    int verbose = 0;
    static const struct option opts[] = {{"message", required_argument, NULL, 'm'},
                                         {"domain", required_argument, NULL, 'd'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:d:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            message = optarg;
            break;
        case 'd':
            domain = optarg;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            help();
            return 0;
        default:
            fprintf(stderr, "dnsmesh selftest: see --help\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dnsmesh selftest: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (dmp_crypto_init()) {
        fprintf(stderr, "selftest: libsodium failed to initialise\n");
        return 1;
    }

    int rc = 1;
    dmp_crypto_identity_t alice, bob;
    uint8_t salt[32];
    dmp_crypto_sha256((const uint8_t *)"dnsmesh selftest salt", 21, salt);
    int64_t t0 = dmp_monotonic_ns();
    if (dmp_crypto_identity_from_passphrase("alice-pass", 10, salt, 32, &alice) ||
        dmp_crypto_identity_from_passphrase("bob-pass", 8, salt, 32, &bob)) {
        fprintf(stderr, "selftest: identity derivation failed\n");
        return 1;
    }
    printf("1. identities derived (Argon2id t=2 m=32MiB p=2, 2 in %.0f ms)\n", ms_since(t0));
    hex_line("alice signing key", alice.ed_pk, 32);
    hex_line("bob x25519 key", bob.x25519_pk, 32);

    dmp_client_records_t recs = {0};
    dmp_client_send_t s = {.sender = &alice,
                           .sender_domain = domain,
                           .recipient_pk = bob.x25519_pk,
                           .now = (int64_t)time(NULL),
                           .ttl = 300,
                           .envelope_from = "alice@mesh.example"};
    t0 = dmp_monotonic_ns();
    int err = dmp_client_compose(&s, (const uint8_t *)message, strlen(message), &recs);
    if (err) {
        fprintf(stderr, "selftest: compose failed: %s (%d)\n", dmp_strerror(err), err);
        goto out;
    }
    printf("2. sealed %zu bytes to bob and erasure-coded it into %zu chunk records + 1 signed "
           "manifest in %.3f ms\n",
           strlen(message), recs.n - 1, ms_since(t0));
    for (size_t i = 0; i < recs.n; i++) {
        if (verbose || i + 1 == recs.n || i == 0)
            printf("  %s  TXT \"%.60s%s\"\n", recs.v[i].name, recs.v[i].value,
                   recs.v[i].value_len > 60 ? "..." : "");
        else if (i == 1)
            printf("  ... (--verbose prints every record)\n");
    }

    dmp_client_memzone_t z = {.recs = &recs};
    dmp_client_recv_t r = {.self = &bob,
                           .zone = domain,
                           .now = s.now,
                           .fetch = dmp_client_memzone_fetch,
                           .fetch_ctx = &z,
                           .pinned_spks = (const uint8_t(*)[32])alice.ed_pk,
                           .npinned = 1};
    dmp_client_message_t *msgs = NULL;
    size_t n = 0;
    t0 = dmp_monotonic_ns();
    err = dmp_client_receive(&r, &msgs, &n);
    if (err || n != 1) {
        fprintf(stderr, "selftest: bob received %zu messages (%s)\n", n, dmp_strerror(err));
        dmp_client_messages_free(msgs, n);
        goto out;
    }
    printf("3. bob walked 10 mailbox slots (%u lookups), verified the manifest, decoded and "
           "opened it in %.3f ms\n",
           z.lookups, ms_since(t0));
    printf("  from %s: \"%.*s\"\n", msgs[0].from[0] ? msgs[0].from : "(no envelope)",
           (int)msgs[0].body.len, (const char *)msgs[0].body.data);
    if (msgs[0].body.len == strlen(message) &&
        memcmp(msgs[0].body.data, message, msgs[0].body.len) == 0) {
        printf("selftest: ok\n");
        rc = 0;
    } else {
        fprintf(stderr, "selftest: message differs from what was sent\n");
    }
    dmp_client_messages_free(msgs, n);
out:
    dmp_client_records_free(&recs);
    dmp_crypto_identity_wipe(&alice);
    dmp_crypto_identity_wipe(&bob);
    return rc;
}
