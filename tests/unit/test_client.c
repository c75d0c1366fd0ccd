/* Unit tests for src/client: the whole send/receive pipeline, including the reference's
 * deterministic send transcript (reference/client.md Appendix A), reproduced record for record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "util/util.h"

/* Appendix A: records alice publishes for "hello bob" (name, TXT value). */
static const char *const transcript[5][2] = {
    {"chunk-0000-99dcc09a82e6.mesh.example",
     "v=dmp1;t=chunk;d=ccSAWa5kqCMAAAFxAQp7InYiOjEsInR5cGUiOiJEQVRBIiwibXNnX2lkIjoiMDAxMTIyMzM0N"
     "DU1NjY3Nzg4OTlhYWJiY2NkZGVlZmYiLCJzZW5kZXIiOiJiM2MzNGM3MWY4ZjQ3MjRlNDMyYjY2MmQ2Y2MxY2RmNGN"
     "kNzhmMzI3YTc3ZWM5ZYTuyfD/VkefdABd0fAAiXKYAIG/Rb3lCw5vwneRSfPH"},
    {"chunk-0001-99dcc09a82e6.mesh.example",
     "v=dmp1;t=chunk;d=Hye57InrptkxMTE1M2I5MWZiZWUwMTg2MiIsInJlY2lwaWVudCI6ImEyYTM5OWYxOGE0OGRjO"
     "WRlYWQ5Mjc2ZGZiMWJhNjliZDg1ZmNlM2E5YjFiMDE4ZjQ1NTY2YWQxNzlhMjNmZTQiLCJ0b3RhbCI6MSwiY2h1bms"
     "iOjAsInRzIjoxODkzNMaLATRmxN3BjCgseZZagZgGM3cRrLQF08ERyFdPdyVh"},
    {"chunk-0002-99dcc09a82e6.mesh.example",
     "v=dmp1;t=chunk;d=BOhMWXuYUus1NjAwMCwidHRsIjozMDB9odsEwRhDU75Dn2r3XHerLk5IsNSk07CWOeVa8J1xb"
     "i4AAQIDBAUGBwgJCgvyQKAY/rim0m5LE8okNk+BtsSM/H1SwGAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
     "AAAAAAAAAAAAAAAAAAJYhodn9oL4BlzAirTJo2kPtuL+3wfag+LHGUstbNV6z"},
    {"chunk-0003-99dcc09a82e6.mesh.example",
     "v=dmp1;t=chunk;d=9b8HGEnw1IMrITrwKrmaU/qhqJGO1qsjhsSG2gRDIOfY6de8A9knq/sGSyzJCJ3ESVhv23I1n"
     "d0xBiT/tc7Mb10UvAk9OzlBH0Nv+X5LVkr2qmowJ8MxTk1AE/upHgy1p+1atbQ3HIwkTBGUW6gAVCvinnYPNEG3ZnQ"
     "r7ehFEZSfGO219N7/lMJ5qmhPvM82l/3t7VGHPtc/MuaWYVI1lZ1p1cWpscS7"},
    {"slot-7.mb-7cce4761260b.mesh.example",
     "v=dmp1;t=manifest;d=ABEiM0RVZneImaq7zN3u/ya267bNlINfctRLVOyzV/TX+zIkLOSh7zj9SUhoCQoOoqOZ8Y"
     "pI3J3q2Sdt+xumm9hfzjqbGwGPRVZq0XmiP+QAAAAEAAAAAwAAAAAAAAAAcNvYgAAAAABw29msxMOVvGmE4sz3utl/"
     "3AZlLDuWuoKWW0CaFszBby7mmROyl0OQoIVvdrpsoxQm1Mv93rl1Y3ixsjnnbiyBRCT3o9HMVaYvIAfOR3duXJ6wHU"
     "U9clNVMem+dbzuAnl2W6XUhR3OV1CDDNwI2loMTW40x44l5GHTlOZcJ4NEW/Xdy1Q6dD3MfepKEy68hD+EppaVdn+x"
     "XZdswZcCxeeC/r10qsOyHeVau8GvvxuPhPoHbOvbzMIQw8clSmcALgIvdDMG"},
};

#define NOW 1893456000

/* The records a sender composed, with some names pretended missing. */
typedef struct {
    dmp_client_memzone_t z;
    const char *skip[4];
} memzone_t;

static int mem_fetch(void *ctx, const char *name, const dmp_client_txt_t **vals, size_t *n)
{
    memzone_t *m = ctx;
    for (size_t i = 0; i < 4; i++)
        if (m->skip[i] && strcmp(m->skip[i], name) == 0)
            return DMP_ENOTFOUND;
    return dmp_client_memzone_fetch(&m->z, name, vals, n);
}

typedef struct {
    dmp_crypto_identity_t alice, bob;
} people_t;

static int setup_people(void **state)
{
    people_t *p = calloc(1, sizeof(*p));
    assert_int_equal(dmp_crypto_init(), 0);
    uint8_t salt[32];
    dmp_crypto_sha256((const uint8_t *)"vectors/kdf-salt", 16, salt);
    assert_int_equal(dmp_crypto_identity_from_passphrase("alice-pass", 10, salt, 32, &p->alice), 0);
    assert_int_equal(dmp_crypto_identity_from_passphrase("bob-pass", 8, salt, 32, &p->bob), 0);
    *state = p;
    return 0;
}

static int teardown_people(void **state)
{
    people_t *p = *state;
    dmp_crypto_identity_wipe(&p->alice);
    dmp_crypto_identity_wipe(&p->bob);
    free(p);
    return 0;
}

static void appendix_a_send(const people_t *p, dmp_client_records_t *recs)
{
    uint8_t msg_id[16], eph[32], nonce[12];
    assert_int_equal(dmp_hex_decode("00112233445566778899aabbccddeeff", 32, msg_id, 16), 0);
    dmp_crypto_sha256((const uint8_t *)"vectors/ephemeral", 17, eph);
    for (int i = 0; i < 12; i++)
        nonce[i] = (uint8_t)i;
    dmp_client_send_t s = {.sender = &p->alice,
                           .sender_domain = "mesh.example",
                           .recipient_pk = p->bob.x25519_pk,
                           .now = NOW,
                           .ttl = 300,
                           .msg_id = msg_id,
                           .eph_sk = eph,
                           .nonce = nonce};
    assert_int_equal(dmp_client_compose(&s, (const uint8_t *)"hello bob", 9, recs), 0);
}

static void test_appendix_a_records(void **state)
{
    people_t *p = *state;
    dmp_client_records_t recs = {0};
    appendix_a_send(p, &recs);
    assert_int_equal(recs.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(recs.v[i].name, transcript[i][0]);
        assert_string_equal(recs.v[i].value, transcript[i][1]);
        assert_int_equal(recs.v[i].value_len, strlen(transcript[i][1]));
        assert_int_equal(recs.v[i].ttl, 300);
    }
    dmp_client_records_free(&recs);
}

static size_t receive(const people_t *p, const dmp_crypto_identity_t *self, memzone_t *z,
                      int64_t now, const uint8_t (*pins)[32], size_t npins,
                      dmp_client_message_t **msgs)
{
    (void)p;
    dmp_client_recv_t r = {.self = self,
                           .zone = "mesh.example",
                           .now = now,
                           .fetch = mem_fetch,
                           .fetch_ctx = z,
                           .pinned_spks = pins,
                           .npinned = npins};
    size_t count = 0;
    *msgs = NULL;
    assert_int_equal(dmp_client_receive(&r, msgs, &count), 0);
    return count;
}

static void test_appendix_a_receive(void **state)
{
    people_t *p = *state;
    dmp_client_records_t recs = {0};
    appendix_a_send(p, &recs);
    memzone_t z = {.z = {.recs = &recs}};
    dmp_client_message_t *msgs;

    size_t n = receive(p, &p->bob, &z, NOW + 10, NULL, 0, &msgs);
    assert_int_equal(n, 1);
    assert_int_equal(msgs[0].body.len, 9);
    assert_memory_equal(msgs[0].body.data, "hello bob", 9);
    assert_memory_equal(msgs[0].sender_spk, p->alice.ed_pk, 32);
    assert_int_equal(msgs[0].ts, NOW);
    assert_string_equal(msgs[0].from, "");
    dmp_client_messages_free(msgs, n);

    /* one chunk lost: the parity chunk makes up for it */
    z.skip[0] = transcript[1][0];
    assert_int_equal(receive(p, &p->bob, &z, NOW, NULL, 0, &msgs), 1);
    dmp_client_messages_free(msgs, 1);
    /* two lost of n=4, k=3: undeliverable, skipped without error */
    z.skip[1] = transcript[3][0];
    assert_int_equal(receive(p, &p->bob, &z, NOW, NULL, 0, &msgs), 0);
    free(msgs);
    z.skip[0] = z.skip[1] = NULL;

    /* after the inner ttl (and the manifest's exp) nothing is delivered */
    assert_int_equal(receive(p, &p->bob, &z, NOW + 301, NULL, 0, &msgs), 0);
    free(msgs);
    /* alice's mailbox is elsewhere: she gets nothing */
    assert_int_equal(receive(p, &p->alice, &z, NOW, NULL, 0, &msgs), 0);
    free(msgs);
    /* pinned to someone else's key: refused; pinned to alice: delivered */
    const uint8_t other[1][32] = {{1, 2, 3}};
    assert_int_equal(receive(p, &p->bob, &z, NOW, other, 1, &msgs), 0);
    free(msgs);
    const uint8_t(*alice_pin)[32] = (const uint8_t(*)[32])p->alice.ed_pk;
    assert_int_equal(receive(p, &p->bob, &z, NOW, alice_pin, 1, &msgs), 1);
    dmp_client_messages_free(msgs, 1);
    dmp_client_records_free(&recs);
}

static void test_tampered_chunk_rejected(void **state)
{
    people_t *p = *state;
    dmp_client_records_t recs = {0};
    appendix_a_send(p, &recs);
    /* flip one base64 character of chunk 0: its hash no longer matches the signed manifest, so
     * it is dropped and the parity chunk is used instead */
    recs.v[0].value[40] = recs.v[0].value[40] == 'A' ? 'B' : 'A';
    memzone_t z = {.z = {.recs = &recs}};
    dmp_client_message_t *msgs;
    assert_int_equal(receive(p, &p->bob, &z, NOW, NULL, 0, &msgs), 1);
    assert_memory_equal(msgs[0].body.data, "hello bob", 9);
    dmp_client_messages_free(msgs, 1);
    /* and a tampered manifest is not accepted at all */
    recs.v[4].value[60] = recs.v[4].value[60] == 'A' ? 'B' : 'A';
    assert_int_equal(receive(p, &p->bob, &z, NOW, NULL, 0, &msgs), 0);
    free(msgs);
    dmp_client_records_free(&recs);
}

static int fixed_prekey(void *ctx, uint32_t id, uint8_t sk[32])
{
    const dmp_crypto_prekey_t *pk = ctx;
    if (id != pk->id)
        return DMP_ENOTFOUND;
    memcpy(sk, pk->sk, 32);
    return 0;
}

static void test_prekey_envelope_roundtrip(void **state)
{
    people_t *p = *state;
    dmp_crypto_prekey_t pre;
    assert_int_equal(dmp_crypto_prekey_generate(&pre), 0);
    /* a 5 KiB message: many chunks, random msg_id, ephemeral key and nonce */
    size_t len = 5000;
    uint8_t *msg = malloc(len);
    for (size_t i = 0; i < len; i++)
        msg[i] = (uint8_t)(i * 31 + 7);
    dmp_client_send_t s = {.sender = &p->alice,
                           .sender_domain = "mesh.example",
                           .recipient_pk = p->bob.x25519_pk,
                           .prekey_pk = pre.pk,
                           .prekey_id = pre.id,
                           .now = NOW,
                           .ttl = 600,
                           .envelope_from = "alice@mesh.example"};
    dmp_client_records_t recs = {0};
    assert_int_equal(dmp_client_compose(&s, msg, len, &recs), 0);
    assert_true(recs.n > 10);
    memzone_t z = {.z = {.recs = &recs}};
    dmp_client_recv_t r = {.self = &p->bob,
                           .zone = "mesh.example",
                           .now = NOW + 1,
                           .fetch = mem_fetch,
                           .fetch_ctx = &z};
    dmp_client_message_t *msgs = NULL;
    size_t n = 0;
    /* without the prekey's private key the message cannot be opened */
    assert_int_equal(dmp_client_receive(&r, &msgs, &n), 0);
    assert_int_equal(n, 0);
    r.prekey = fixed_prekey;
    r.prekey_ctx = &pre;
    assert_int_equal(dmp_client_receive(&r, &msgs, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(msgs[0].prekey_id, pre.id);
    assert_int_equal(msgs[0].body.len, len);
    assert_memory_equal(msgs[0].body.data, msg, len);
    assert_string_equal(msgs[0].from, "alice@mesh.example");
    dmp_client_messages_free(msgs, n);
    dmp_client_records_free(&recs);
    dmp_crypto_prekey_wipe(&pre);
    free(msg);
}

static void test_bad_arguments(void **state)
{
    people_t *p = *state;
    dmp_client_records_t recs = {0};
    dmp_client_send_t s = {.sender = &p->alice,
                           .sender_domain = "mesh.example",
                           .recipient_pk = p->bob.x25519_pk,
                           .now = NOW,
                           .ttl = 0};
    assert_int_equal(dmp_client_compose(&s, (const uint8_t *)"x", 1, &recs), DMP_EINVAL);
    s.ttl = 300;
    s.prekey_id = 5; /* id without a key */
    assert_int_equal(dmp_client_compose(&s, (const uint8_t *)"x", 1, &recs), DMP_EINVAL);
    s.prekey_id = 0;
    s.sender_domain = "bad domain with spaces";
    assert_int_not_equal(dmp_client_compose(&s, (const uint8_t *)"x", 1, &recs), 0);
    assert_int_equal(recs.n, 0);
    /* too large for n <= 256 shares */
    s.sender_domain = "mesh.example";
    size_t big = 200000;
    uint8_t *msg = calloc(1, big);
    assert_int_not_equal(dmp_client_compose(&s, msg, big, &recs), 0);
    assert_int_equal(recs.n, 0);
    free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appendix_a_records),
        cmocka_unit_test(test_appendix_a_receive),
        cmocka_unit_test(test_tampered_chunk_rejected),
        cmocka_unit_test(test_prekey_envelope_roundtrip),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup_people, teardown_people);
}
