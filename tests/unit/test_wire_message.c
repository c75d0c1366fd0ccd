/* Unit tests for src/wire's message records: claim, manifest and chunk known answers from
 * reference/client.md Appendix A/B, chunk framing, bad manifests reaching their DMP_EWIRE_* codes,
 * and record classification. */
#include "wire_harness.h"

static const char *BOB_UID = "a2a399f18a48dc9dead9276dfb1ba69bd85fce3a9b1b018f45566ad179a23fe4";

static const char *MSG_ID = "00112233445566778899aabbccddeeff";

static const char *CLAIM_KAT =
    "v=dmp1;t=claim;"
    "RE1QQ0wwMQARIjNEVWZ3iJmqu8zd7v8mtuu2zZSDX3LUS1Tss1f01/syJCzkoe84/UlIaAkKDgxtZXNoLmV4YW1wbGUHA"
    "AAAAHDb2IAAAAAAcNvZrF0XypeifK8NApQTEliBfJUjrGApmr9No2OSIQ9WAv+S0VlCAhhOslWu52DmER/"
    "sj4IDm+abhAoBdUdWt7xO0Ao=";

static const char *MANIFEST_KAT =
    "v=dmp1;t=manifest;d=ABEiM0RVZneImaq7zN3u/ya267bNlINfctRLVOyzV/"
    "TX+zIkLOSh7zj9SUhoCQoOoqOZ8YpI3J3q2Sdt+"
    "xumm9hfzjqbGwGPRVZq0XmiP+QAAAAEAAAAAwAAAAAAAAAAcNvYgAAAAABw29msxMOVvGmE4sz3utl/"
    "3AZlLDuWuoKWW0CaFszBby7mmROyl0OQoIVvdrpsoxQm1Mv93rl1Y3ixsjnnbiyBRCT3o9HMVaYvIAfOR3duXJ6wHUU9cl"
    "NVMe"
    "m+dbzuAnl2W6XUhR3OV1CDDNwI2loMTW40x44l5GHTlOZcJ4NEW/Xdy1Q6dD3MfepKEy68hD+"
    "EppaVdn+xXZdswZcCxeeC/r10qsOyHeVau8GvvxuPhPoHbOvbzMIQw8clSmcALgIvdDMG";

static const char *MANIFEST_HASHES[4] = {
    "c4c395bc6984e2ccf7bad97fdc06652c3b96ba82965b409a16ccc16f2ee69913",
    "b2974390a0856f76ba6ca31426d4cbfddeb9756378b1b239e76e2c814424f7a3",
    "d1cc55a62f2007ce47776e5c9eb01d453d72535531e9be75bcee0279765ba5d4",
    "851dce5750830cdc08da5a0c4d6e34c78e25e461d394e65c2783445bf5ddcb54",
};

static const char *CHUNK0_KAT =
    "v=dmp1;t=chunk;d="
    "ccSAWa5kqCMAAAFxAQp7InYiOjEsInR5cGUiOiJEQVRBIiwibXNnX2lkIjoiMDAxMTIyMzM0NDU1NjY3Nzg4OTlhYWJiY2"
    "NkZGVlZmYiLCJzZW5kZXIiOiJiM2MzNGM3MWY4ZjQ3MjRlNDMyYjY2MmQ2Y2MxY2RmNGNkNzhmMzI3YTc3ZWM5ZYTuyfD/"
    "VkefdABd0fAAiXKYAIG/Rb3lCw5vwneRSfPH";

static const char *CHUNK_B_KAT =
    "v=dmp1;t=chunk;d=Rx+"
    "5Q6ojxREAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/"
    "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+"
    "f8GxMlbFIoOomqoYIgGGdmEhwVtaEUjsnIBiiAoTq38t";

static void buf_eq_str(const dmp_buf_t *b, const char *s)
{
    assert_int_equal(b->len, strlen(s));
    assert_memory_equal(b->data, s, b->len);
}

/* ------------------------------------------------------------------ known answers */

static void test_claim_kat(void **state)
{
    (void)state;
    dmp_crypto_identity_t a = alice();
    dmp_wire_claim_t c;
    memset(&c, 0, sizeof c);
    hexn(MSG_ID, c.msg_id, 16);
    memcpy(c.sender_spk, a.ed_pk, 32);
    strcpy(c.sender_mailbox_domain, "mesh.example");
    c.domain_len = 12;
    c.slot = 7;
    c.ts = TS_2030;
    c.exp = TS_2030 + 300;
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_wire_claim_encode(&c, a.ed_sk, &out), 0);
    buf_eq_str(&out, CLAIM_KAT);
    assert_int_equal(out.len, 215);
    dmp_wire_claim_t got;
    assert_int_equal(dmp_wire_claim_parse(out.data, out.len, TS_2030, &got), 0);
    assert_string_equal(got.sender_mailbox_domain, "mesh.example");
    assert_int_equal(got.slot, 7);
    assert_memory_equal(got.sender_spk, a.ed_pk, 32);
    /* time rules */
    assert_int_equal(dmp_wire_claim_parse(out.data, out.len, TS_2030 + 300, &got),
                     DMP_EWIRE_EXPIRED);
    assert_int_equal(dmp_wire_claim_parse(out.data, out.len, TS_2030 - 301, &got),
                     DMP_EWIRE_FUTURE);
    assert_int_equal(dmp_wire_claim_parse(out.data, out.len, TS_2030 - 300, &got), 0);
    /* name */
    uint8_t uid[32];
    hexn(BOB_UID, uid, 32);
    char name[DMP_WIRE_NAME_MAX];
    assert_int_equal(dmp_wire_name_claim(uid, 7, "provider.example", name, sizeof name), 0);
    assert_string_equal(name, "claim-7.mb-7cce4761260b.provider.example");
    assert_int_equal(dmp_wire_name_claim(uid, 10, "p.example", name, sizeof name), DMP_EINVAL);
    assert_int_equal(dmp_wire_name_claim(uid, 1, "", name, sizeof name), DMP_EWIRE_NAME);
    /* max domain makes exactly 255 bytes */
    memset(c.sender_mailbox_domain, 'd', 43);
    c.sender_mailbox_domain[43] = 0;
    c.domain_len = 43;
    dmp_buf_free(&out);
    assert_int_equal(dmp_wire_claim_encode(&c, a.ed_sk, &out), 0);
    assert_int_equal(out.len, 255);
    assert_int_equal(dmp_wire_claim_parse(out.data, out.len, TS_2030, &got), 0);
    /* one more byte of wire is over the cap */
    assert_int_equal(dmp_buf_append_u8(&out, 'A'), 0);
    assert_int_equal(dmp_wire_claim_parse(out.data, out.len, TS_2030, &got), DMP_EWIRE_TOOBIG);
    dmp_buf_free(&out);
}

static void test_manifest_kat(void **state)
{
    (void)state;
    dmp_crypto_identity_t a = alice();
    dmp_wire_manifest_t *m = calloc(1, sizeof *m), *g = calloc(1, sizeof *g);
    assert_non_null(m);
    assert_non_null(g);
    hexn(MSG_ID, m->msg_id, 16);
    memcpy(m->sender_spk, a.ed_pk, 32);
    hexn(BOB_UID, m->recipient_id, 32);
    m->total_chunks = 4;
    m->data_chunks = 3;
    m->prekey_id = 0;
    m->ts = TS_2030;
    m->exp = TS_2030 + 300;
    m->has_hashes = true;
    for (int i = 0; i < 4; i++)
        hexn(MANIFEST_HASHES[i], m->chunk_hashes[i], 32);
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_wire_manifest_encode(m, a.ed_sk, &out), 0);
    buf_eq_str(&out, MANIFEST_KAT);
    assert_int_equal(dmp_wire_manifest_parse(out.data, out.len, TS_2030, true, g), 0);
    assert_true(g->has_hashes);
    assert_int_equal(g->total_chunks, 4);
    assert_int_equal(g->data_chunks, 3);
    assert_memory_equal(g->chunk_hashes, m->chunk_hashes, 4 * 32);
    assert_false(dmp_wire_manifest_expired(g, TS_2030 + 300));
    assert_true(dmp_wire_manifest_expired(g, TS_2030 + 301));
    /* exp more than 30 days ahead of now */
    assert_int_equal(dmp_wire_manifest_parse(out.data, out.len, TS_2030 - 2592001 + 300, true, g),
                     DMP_EWIRE_FUTURE);

    /* chunk 0 of the same transcript matches hash 0 and not hash 1 */
    dmp_buf_t body;
    dmp_buf_init(&body);
    assert_int_equal(dmp_wire_chunk_parse(S(CHUNK0_KAT), &body), 0);
    assert_int_equal(body.len, 168);
    assert_int_equal(dmp_wire_manifest_check_chunk(g, 0, body.data, body.len), 0);
    assert_int_equal(dmp_wire_manifest_check_chunk(g, 1, body.data, body.len), DMP_EWIRE_CHUNKHASH);
    assert_int_equal(dmp_wire_manifest_check_chunk(g, 4, body.data, body.len), DMP_EWIRE_COUNT);
    dmp_buf_t re;
    dmp_buf_init(&re);
    assert_int_equal(dmp_wire_chunk_encode(body.data, body.len, &re), 0);
    buf_eq_str(&re, CHUNK0_KAT);
    dmp_buf_free(&re);
    dmp_buf_free(&body);

    /* owner names of the transcript */
    char name[DMP_WIRE_NAME_MAX];
    assert_int_equal(dmp_wire_slot_for_msg_id(m->msg_id), 7);
    assert_int_equal(dmp_wire_name_slot(m->recipient_id, 7, "mesh.example", name, sizeof name), 0);
    assert_string_equal(name, "slot-7.mb-7cce4761260b.mesh.example");
    assert_int_equal(dmp_wire_name_chunk(3, m->msg_id, m->recipient_id, m->sender_spk,
                                         "mesh.example", name, sizeof name),
                     0);
    assert_string_equal(name, "chunk-0003-99dcc09a82e6.mesh.example");
    assert_int_equal(
        dmp_wire_name_chunk(0, m->msg_id, m->recipient_id, m->sender_spk, "mesh.example", name, 10),
        DMP_ETOOBIG);

    /* legacy body without hashes: parses only where hashes are not required */
    m->has_hashes = false;
    dmp_buf_free(&out);
    assert_int_equal(dmp_wire_manifest_encode(m, a.ed_sk, &out), 0);
    assert_int_equal(dmp_wire_manifest_parse(out.data, out.len, TS_2030, false, g), 0);
    assert_int_equal(dmp_wire_manifest_parse(out.data, out.len, TS_2030, true, g),
                     DMP_EWIRE_NOHASHES);
    assert_int_equal(dmp_wire_manifest_check_chunk(g, 0, (const uint8_t *)"x", 1),
                     DMP_EWIRE_NOHASHES);
    dmp_buf_free(&out);
    free(m);
    free(g);
}

static void test_chunk_framing(void **state)
{
    (void)state;
    dmp_buf_t body;
    dmp_buf_init(&body);
    assert_int_equal(dmp_wire_chunk_parse(S(CHUNK_B_KAT), &body), 0);
    assert_int_equal(body.len, 168);
    static const uint8_t ck[8] = {0x47, 0x1f, 0xb9, 0x43, 0xaa, 0x23, 0xc5, 0x11};
    assert_memory_equal(body.data, ck, 8);
    for (int i = 0; i < 128; i++)
        assert_int_equal(body.data[8 + i], i);
    dmp_buf_free(&body);
    /* generic k=v parse: order, whitespace, defaults */
    assert_int_equal(dmp_wire_chunk_parse(S("v=dmp1; d = QUJD ;t=chunk"), &body), 0);
    assert_int_equal(body.len, 3);
    body.len = 0;
    assert_int_equal(dmp_wire_chunk_parse(S("v=dmp1;d=QUJD;m=e30="), &body), 0);
    assert_int_equal(body.len, 3);
    body.len = 0;
    assert_int_equal(dmp_wire_chunk_parse(S("v=dmp1;t=chunk"), &body), 0);
    assert_int_equal(body.len, 0);
    assert_int_equal(dmp_wire_chunk_parse(S("x=dmp1;t=chunk;d=QUJD"), &body), DMP_EWIRE_PREFIX);
    assert_int_equal(dmp_wire_chunk_parse(S("v=dmp2;t=chunk;d=QUJD"), &body), DMP_EWIRE_VERSION);
    assert_int_equal(dmp_wire_chunk_parse(S("v=dmpx;t=chunk;d=QUJD"), &body), DMP_EWIRE_VERSION);
    assert_int_equal(dmp_wire_chunk_parse(S("v=dmp1;t=manifest;d=QUJD"), &body), DMP_EWIRE_TYPE);
    assert_int_equal(dmp_wire_chunk_parse(S("v=dmp1;t=chunk;d=QUJ"), &body), DMP_EWIRE_B64);
    assert_int_equal(dmp_wire_chunk_parse(S("v=dmp1;t=chunk;d=QU\xc3\xa9JD"), &body),
                     DMP_EWIRE_B64);
    dmp_buf_free(&body);
}

static void test_manifest_bad(void **state)
{
    (void)state;
    dmp_crypto_identity_t a = alice();
    dmp_wire_manifest_t *m = calloc(1, sizeof *m);
    assert_non_null(m);
    memcpy(m->sender_spk, a.ed_pk, 32);
    m->exp = TS_2030;
    dmp_buf_t out;
    dmp_buf_init(&out);
    m->total_chunks = 0;
    m->data_chunks = 0;
    assert_int_equal(dmp_wire_manifest_encode(m, a.ed_sk, &out), DMP_EWIRE_COUNT);
    m->total_chunks = 2;
    m->data_chunks = 3;
    assert_int_equal(dmp_wire_manifest_encode(m, a.ed_sk, &out), DMP_EWIRE_COUNT);
    /* n = 1025 with a body of the matching length, correctly signed */
    size_t bl = 108 + 32 * 1025;
    uint8_t *body = calloc(1, bl);
    assert_non_null(body);
    memcpy(body + 16, a.ed_pk, 32);
    dmp_store_u32be(body + 80, 1025);
    dmp_store_u32be(body + 84, 1);
    dmp_buf_t w;
    craft("v=dmp1;t=manifest;d=", body, bl, a.ed_sk, &w);
    assert_int_equal(dmp_wire_manifest_parse(w.data, w.len, TS_2030, false, m), DMP_EWIRE_COUNT);
    dmp_buf_free(&w);
    /* hashes length not 32 n */
    dmp_store_u32be(body + 80, 2);
    craft("v=dmp1;t=manifest;d=", body, 108 + 32, a.ed_sk, &w);
    assert_int_equal(dmp_wire_manifest_parse(w.data, w.len, TS_2030, false, m), DMP_EWIRE_LEN);
    dmp_buf_free(&w);
    free(body);
    free(m);
}

/* ------------------------------------------------------------------ classification */

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(dmp_wire_classify(S(CLAIM_KAT)), DMP_WIRE_REC_CLAIM);
    assert_int_equal(dmp_wire_classify(S(MANIFEST_KAT)), DMP_WIRE_REC_MANIFEST);
    assert_int_equal(dmp_wire_classify(S(CHUNK0_KAT)), DMP_WIRE_REC_CHUNK);
    assert_int_equal(dmp_wire_classify(S("v=dmp1;t=heartbeat;QUJD")), DMP_WIRE_REC_HEARTBEAT);
    assert_int_equal(dmp_wire_classify(S("v=dmp1;t=rotation;")), DMP_WIRE_REC_ROTATION);
    assert_int_equal(dmp_wire_classify(S("v=dmp1;t=revocation;x")), DMP_WIRE_REC_REVOCATION);
    assert_int_equal(dmp_wire_classify(S("v=dmp1;t=identity;d=")), DMP_WIRE_REC_IDENTITY);
    assert_int_equal(dmp_wire_classify(S("v=dmp1;t=prekey;d=")), DMP_WIRE_REC_PREKEY);
    assert_int_equal(dmp_wire_classify(S("v=dmp1;t=cluster;")), DMP_WIRE_REC_CLUSTER);
    assert_int_equal(dmp_wire_classify(S("v=dmp1;t=bootstrap;")), DMP_WIRE_REC_BOOTSTRAP);
    assert_int_equal(dmp_wire_classify(S("v=dmp1;t=chunk;")), DMP_WIRE_REC_UNKNOWN_DMP);
    assert_int_equal(dmp_wire_classify(S("v=dmp2;t=chunk;d=")), DMP_WIRE_REC_UNKNOWN_DMP);
    assert_int_equal(dmp_wire_classify(S("v=dmp")), DMP_WIRE_REC_UNKNOWN_DMP);
    assert_int_equal(dmp_wire_classify(S("v=DMARC1; p=reject")), DMP_WIRE_REC_NONDMP);
    assert_int_equal(dmp_wire_classify(S("")), DMP_WIRE_REC_EMPTY);
    assert_string_equal(dmp_wire_rec_name(DMP_WIRE_REC_CLAIM), "claim");
    assert_string_equal(dmp_wire_rec_name(DMP_WIRE_REC_UNKNOWN_DMP), "unknown-dmp");
    static const char *res[] = {"slot-7.mb-7cce4761260b.mesh.example",
                                "SLOT-12.MB-ABC.x",
                                "chunk-0000-99dcc09a82e6.z",
                                "mb-0.z",
                                "id-2bd8.z",
                                "prekeys.id-2bd806c97f0e.z",
                                "_dnsmesh-seen.z",
                                "claim-7.mb-7cce.provider.example",
                                "cluster.mesh.example.com",
                                "_dmp.example.com",
                                "dmp.example.com",
                                "rotate.dmp.example.com"};
    for (size_t i = 0; i < sizeof res / sizeof res[0]; i++)
        if (!dmp_wire_owner_reserved(res[i], strlen(res[i])))
            fail_msg("should be reserved: %s", res[i]);
    static const char *free_[] = {"www.example.com",
                                  "slot-.mb-a.z",
                                  "slot-1.mb-xyz.z",
                                  "chunk-1-.z",
                                  "id-.z",
                                  "mb-a",
                                  "dmpx.example.com",
                                  "clusters.example",
                                  ""};
    for (size_t i = 0; i < sizeof free_ / sizeof free_[0]; i++)
        if (dmp_wire_owner_reserved(free_[i], strlen(free_[i])))
            fail_msg("should not be reserved: %s", free_[i]);
}

int main(void)
{
    if (dmp_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_kat),     cmocka_unit_test(test_manifest_kat),
        cmocka_unit_test(test_chunk_framing), cmocka_unit_test(test_manifest_bad),
        cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
