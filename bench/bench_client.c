/* dnsmesh-bench client: time of a send and a receive of one message through a running local
 * node, for a 1 KB and the largest message (24,724 bytes), split into key derivation (Argon2id),
 * crypto (seal / open), erasure (chunks, hashes and the signed manifest / decode) and network
 * (publishing every record over keep-alive HTTP / fetching them over DNS).
 *
 *   dnsmesh-bench client --dns 127.0.0.1:5353 --http 127.0.0.1:8053 [--rounds N]
 *
 * The node must take 11,132-byte values and 256 writes in a burst
 * (dnsmeshd --max-value-bytes=16384 --http-burst=1000 --dns-rate=0). Loopback addresses only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <time.h>

#include "bench.h"
#include "bench_dns_util.h"
#include "client/client.h"
#include "crypto/crypto.h"
#include "erasure/erasure.h"
#include "util/util.h"
#include "wire/wire.h"

static double ms(int64_t ns)
{
    return (double)ns / 1e6;
}

typedef struct {
    dmp_client_session_t *s;
    int64_t ns;
    unsigned calls;
} timed_fetch_t;

static int tfetch(void *ctx, const char *name, const dmp_client_txt_t **vals, size_t *n)
{
    timed_fetch_t *t = ctx;
    int64_t t0 = dmpb_now_ns();
    int rc = dmp_client_session_fetch(t->s, name, vals, n);
    t->ns += dmpb_now_ns() - t0;
    t->calls++;
    return rc;
}

/* Best of `rounds` for each part. */
typedef struct {
    int64_t crypto, erasure, send_net, send_total, recv_net, recv_decode, recv_open, recv_total;
} times_t;

static void keep_min(int64_t *a, int64_t v)
{
    if (*a == 0 || v < *a)
        *a = v;
}

static int one_round(dmp_client_session_t *s, const dmp_crypto_identity_t *alice,
                     const dmp_crypto_identity_t *bob, size_t len, times_t *t)
{
    uint8_t *msg = malloc(len);
    if (!msg)
        return -1;
    for (size_t i = 0; i < len; i++)
        msg[i] = (uint8_t)('a' + i % 26);
    int64_t now = (int64_t)time(NULL);
    /* crypto alone: header, AAD, seal, outer message */
    dmp_msg_header_t h = {.v = 1, .type = DMP_MSG_DATA, .total = 1, .ts = now, .ttl = 300};
    randombytes_buf(h.msg_id, 16);
    dmp_crypto_user_id(alice->x25519_pk, h.sender);
    dmp_crypto_user_id(bob->x25519_pk, h.recipient);
    dmp_buf_t aad, enc, outer;
    dmp_buf_init(&aad);
    dmp_buf_init(&enc);
    dmp_buf_init(&outer);
    int64_t t0 = dmpb_now_ns();
    dmp_crypto_aad(&h, 0, &aad);
    dmp_crypto_encrypt(bob->x25519_pk, aad.data, aad.len, msg, len, &enc);
    dmp_crypto_outer_build(&h, enc.data, enc.len, &outer);
    int64_t t_crypto = dmpb_now_ns() - t0;
    /* the whole compose; erasure = compose - crypto */
    dmp_client_send_t p = {.sender = alice,
                           .sender_domain = s->domain,
                           .recipient_pk = bob->x25519_pk,
                           .now = now,
                           .ttl = 300};
    dmp_client_records_t recs = {0};
    t0 = dmpb_now_ns();
    int rc = dmp_client_compose(&p, msg, len, &recs);
    int64_t t_compose = dmpb_now_ns() - t0;
    if (rc) {
        fprintf(stderr, "compose failed: %s\n", dmp_strerror(rc));
        return -1;
    }
    bool *ok = calloc(recs.n, sizeof(*ok));
    dmp_client_http_result_t *res = calloc(recs.n, sizeof(*res));
    t0 = dmpb_now_ns();
    rc = dmp_client_publish(s, recs.v, recs.n - 1, ok, res);
    if (!rc)
        rc = dmp_client_publish(s, &recs.v[recs.n - 1], 1, &ok[recs.n - 1], &res[recs.n - 1]);
    int64_t t_net = dmpb_now_ns() - t0;
    for (size_t i = 0; !rc && i < recs.n; i++)
        if (!ok[i]) {
            fprintf(stderr, "publish of %s refused: HTTP %d %s\n", recs.v[i].name, res[i].status,
                    res[i].error);
            rc = -1;
        }
    keep_min(&t->crypto, t_crypto);
    keep_min(&t->erasure, t_compose - t_crypto);
    keep_min(&t->send_net, t_net);
    keep_min(&t->send_total, t_compose + t_net);
    /* receive over DNS: fetch time is network, the rest decode + open */
    if (!rc) {
        timed_fetch_t tf = {.s = s};
        dmp_client_recv_t r = {
            .self = bob, .zone = s->domain, .now = now, .fetch = tfetch, .fetch_ctx = &tf};
        dmp_client_message_t *got = NULL;
        size_t n = 0;
        t0 = dmpb_now_ns();
        rc = dmp_client_receive(&r, &got, &n);
        int64_t t_recv = dmpb_now_ns() - t0;
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= got[i].body.len == len;
        if (!found) {
            fprintf(stderr, "the message did not come back\n");
            rc = -1;
        }
        dmp_client_messages_free(got, n);
        /* open alone (crypto) on the outer message */
        dmp_buf_t pt;
        dmp_buf_init(&pt);
        dmp_msg_header_t hh;
        t0 = dmpb_now_ns();
        (void)dmp_crypto_open_message(outer.data, outer.len, 0, bob->x25519_sk, &hh, &pt);
        int64_t t_open = dmpb_now_ns() - t0;
        dmp_buf_free_secret(&pt);
        keep_min(&t->recv_net, tf.ns);
        keep_min(&t->recv_open, t_open);
        int64_t dec = t_recv - tf.ns - t_open;
        keep_min(&t->recv_decode, dec > 0 ? dec : 1);
        keep_min(&t->recv_total, t_recv);
        /* leave the mailbox empty for the next round */
        for (size_t i = 0; i < recs.n; i++)
            (void)dmp_client_delete(s, recs.v[i].name, recs.v[i].value);
    }
    free(ok);
    free(res);
    dmp_client_records_free(&recs);
    dmp_buf_free(&aad);
    dmp_buf_free(&enc);
    dmp_buf_free(&outer);
    free(msg);
    return rc;
}

static int client_main(int argc, char **argv)
{
    const char *dns = "127.0.0.1:5353", *http = "127.0.0.1:8053";
    int64_t rounds = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dns") == 0 && i + 1 < argc)
            dns = argv[++i];
        else if (strcmp(argv[i], "--http") == 0 && i + 1 < argc)
            http = argv[++i];
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            if (dmpb_opt_i64("--rounds", argv[++i], 1, 1000, &rounds))
                return 2;
        } else {
            fprintf(stderr, "usage: dnsmesh-bench client [--dns IP:PORT] [--http IP:PORT] "
                            "[--rounds N]\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    char host[64];
    uint16_t port;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (dmp_client_resolver_parse(dns, 53, host, sizeof(host), &port) ||
        dmpb_loopback_addr(host, port, &ss, &sl))
        return 2;
    char hh[64];
    const char *colon = strrchr(http, ':');
    snprintf(hh, sizeof(hh), "%.*s", colon ? (int)(colon - http) : (int)strlen(http), http);
    if (dmpb_loopback_addr(hh, 80, &ss, &sl))
        return 2;
    if (dmp_crypto_init())
        return 1;
    dmp_client_session_t s;
    dmp_client_session_init(&s);
    snprintf(s.domain, sizeof(s.domain), "bench.mesh.test");
    snprintf(s.cfg.endpoint, sizeof(s.cfg.endpoint), "http://%s", http);
    dmp_client_config_add_resolver(&s.cfg, dns);
    if (dmp_client_session_reader(&s) || dmp_client_session_writer(&s)) {
        fprintf(stderr, "dnsmesh-bench client: %s\n", s.err);
        return 2;
    }
    /* key derivation: Argon2id with the reference's parameters, one identity */
    uint8_t salt[32];
    randombytes_buf(salt, 32);
    dmp_crypto_identity_t alice, bob;
    int64_t t0 = dmpb_now_ns();
    if (dmp_crypto_identity_from_passphrase("alice bench", 11, salt, 32, &alice))
        return 1;
    int64_t t_kdf = dmpb_now_ns() - t0;
    if (dmp_crypto_identity_from_passphrase("bob bench", 9, salt, 32, &bob))
        return 1;
    printf("dnsmesh-bench client: node dns=%s http=%s, best of %lld rounds, ms\n", dns, http,
           (long long)rounds);
    printf("key derivation (Argon2id t=2 m=32MiB p=2): %.1f\n\n", ms(t_kdf));
    printf("%-9s %8s %8s %8s %8s | %8s %8s %8s %8s\n", "message", "s.crypto", "s.erasure", "s.net",
           "send", "r.net", "r.decode", "r.open", "recv");
    const size_t sizes[] = {1024, DMP_CLIENT_MAX_MESSAGE};
    int rc = 0;
    for (size_t k = 0; k < 2 && !rc; k++) {
        times_t t = {0};
        for (int64_t r = 0; r < rounds && !rc; r++)
            rc = one_round(&s, &alice, &bob, sizes[k], &t);
        if (!rc)
            printf("%-9zu %8.2f %8.2f %8.2f %8.2f | %8.2f %8.2f %8.2f %8.2f\n", sizes[k],
                   ms(t.crypto), ms(t.erasure), ms(t.send_net), ms(t.send_total), ms(t.recv_net),
                   ms(t.recv_decode), ms(t.recv_open), ms(t.recv_total));
    }
    dmp_crypto_identity_wipe(&alice);
    dmp_crypto_identity_wipe(&bob);
    dmp_client_session_free(&s);
    return rc ? 1 : 0;
}

static const dmp_bench_cmd_t client_cmd = {
    "client", "send/recv time through a local node: KDF, crypto, erasure, network", client_main};
DMP_BENCH_REGISTER(client_cmd)
