/* Unit tests for src/wire that need no shared data: known answers from reference/client.md
 * Appendix A/B, round trips of every record, owner names, DNS-name rules, TXT split/join, and
 * bad inputs reaching every DMP_EWIRE_* code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "wire/wire.h"
#include "wire/wire_internal.h"

#define TS_2030 1893456000LL
#define S(x) (const uint8_t *)(x), strlen(x)
#define S2(x) (x), strlen(x)

static const char *ALICE_SK = "1be520dc7f398c81caf5b84683fd1a2855649932c44f6d8c7195cc56ae86b105";
static const char *ALICE_SPK = "26b6ebb6cd94835f72d44b54ecb357f4d7fb32242ce4a1ef38fd494868090a0e";
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

static void hexn(const char *h, uint8_t *out, size_t n)
{
    assert_int_equal(dmp_hex_decode(h, strlen(h), out, n), 0);
}

static dmp_crypto_identity_t alice(void)
{
    uint8_t sk[32];
    dmp_crypto_identity_t id;
    hexn(ALICE_SK, sk, 32);
    assert_int_equal(dmp_crypto_identity_from_x25519(sk, &id), 0);
    uint8_t spk[32];
    hexn(ALICE_SPK, spk, 32);
    assert_memory_equal(id.ed_pk, spk, 32);
    return id;
}

static dmp_crypto_identity_t key_n(uint8_t n)
{
    uint8_t sk[32];
    memset(sk, n, sizeof sk);
    dmp_crypto_identity_t id;
    assert_int_equal(dmp_crypto_identity_from_x25519(sk, &id), 0);
    return id;
}

static void buf_eq_str(const dmp_buf_t *b, const char *s)
{
    assert_int_equal(b->len, strlen(s));
    assert_memory_equal(b->data, s, b->len);
}

/* Signs an arbitrary body under a prefix (to reach body-level errors behind a valid sig). */
static void craft(const char *prefix, const uint8_t *body, size_t bl, const uint8_t sk[64],
                  dmp_buf_t *out)
{
    dmp_buf_init(out);
    assert_int_equal(dmp_wire__wrap(prefix, body, bl, sk, 0, out), 0);
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

/* ------------------------------------------------------------------ identity / prekey */

static void test_identity(void **state)
{
    (void)state;
    dmp_crypto_identity_t a = alice();
    dmp_wire_identity_t r, g;
    memset(&r, 0, sizeof r);
    strcpy(r.username, "alice");
    r.username_len = 5;
    memcpy(r.x25519_pk, a.x25519_pk, 32);
    memcpy(r.ed25519_spk, a.ed_pk, 32);
    r.ts = TS_2030;
    r.versions[0] = 2;
    r.versions[1] = 1;
    r.versions[2] = 2;
    r.n_versions = 3; /* normalized to (1, 2): suffix 02 01 02 */
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_wire_identity_encode(&r, a.ed_sk, &out), 0);
    assert_int_equal(dmp_wire_identity_parse(out.data, out.len, &g), 0);
    assert_int_equal(g.n_versions, 2);
    assert_int_equal(g.versions[0], 1);
    assert_int_equal(g.versions[1], 2);
    assert_string_equal(g.username, "alice");
    assert_memory_equal(g.x25519_pk, a.x25519_pk, 32);
    /* {1} emits no suffix: same bytes as a record built without versions */
    r.versions[0] = 1;
    r.n_versions = 1;
    dmp_buf_t v1;
    dmp_buf_init(&v1);
    assert_int_equal(dmp_wire_identity_encode(&r, a.ed_sk, &v1), 0);
    assert_true(v1.len < out.len);
    assert_int_equal(dmp_wire_identity_parse(v1.data, v1.len, &g), 0);
    assert_int_equal(g.n_versions, 1);
    /* lax base64: whitespace inside the payload is skipped */
    dmp_buf_t sp;
    dmp_buf_init(&sp);
    assert_int_equal(dmp_buf_append(&sp, v1.data, 30), 0);
    assert_int_equal(dmp_buf_append(&sp, " \n", 2), 0);
    assert_int_equal(dmp_buf_append(&sp, v1.data + 30, v1.len - 30), 0);
    assert_int_equal(dmp_wire_identity_parse(sp.data, sp.len, &g), 0);
    dmp_buf_free(&sp);
    /* sign refusals */
    r.n_versions = 0;
    assert_int_equal(dmp_wire_identity_encode(&r, a.ed_sk, &out), DMP_EWIRE_VERSION);
    r.n_versions = 1;
    r.username_len = 0;
    assert_int_equal(dmp_wire_identity_encode(&r, a.ed_sk, &out), DMP_EWIRE_FIELD);
    r.username_len = 65;
    assert_int_equal(dmp_wire_identity_encode(&r, a.ed_sk, &out), DMP_EWIRE_FIELD);
    strcpy(r.username, "\xff");
    r.username_len = 1;
    assert_int_equal(dmp_wire_identity_encode(&r, a.ed_sk, &out), DMP_EWIRE_UTF8);
    strcpy(r.username, "alice");
    r.username_len = 5;
    dmp_crypto_identity_t other = key_n(7);
    assert_int_equal(dmp_wire_identity_encode(&r, other.ed_sk, &out), DMP_EWIRE_SIGNER);

    /* crafted bodies behind a valid signature */
    uint8_t body[200];
    size_t o = 0;
    body[o++] = 5;
    memcpy(body + o, "alice", 5);
    o += 5;
    memcpy(body + o, a.x25519_pk, 32);
    o += 32;
    memcpy(body + o, a.ed_pk, 32);
    o += 32;
    dmp_store_u64be(body + o, TS_2030);
    o += 8;
    size_t base = o;
    dmp_buf_t w;
    body[o++] = 0; /* versions_len 0 */
    craft("v=dmp1;t=identity;d=", body, o, a.ed_sk, &w);
    assert_int_equal(dmp_wire_identity_parse(w.data, w.len, &g), DMP_EWIRE_VERSION);
    dmp_buf_free(&w);
    o = base;
    body[o++] = 2;
    body[o++] = 2;
    body[o++] = 1; /* unsorted */
    craft("v=dmp1;t=identity;d=", body, o, a.ed_sk, &w);
    assert_int_equal(dmp_wire_identity_parse(w.data, w.len, &g), DMP_EWIRE_VERSION);
    dmp_buf_free(&w);
    o = base;
    body[o++] = 3;
    body[o++] = 1;
    body[o++] = 2; /* declares 3, has 2 */
    craft("v=dmp1;t=identity;d=", body, o, a.ed_sk, &w);
    assert_int_equal(dmp_wire_identity_parse(w.data, w.len, &g), DMP_EWIRE_TRUNC);
    dmp_buf_free(&w);
    o = base;
    body[o++] = 1;
    body[o++] = 1;
    body[o++] = 9; /* trailing byte */
    craft("v=dmp1;t=identity;d=", body, o, a.ed_sk, &w);
    assert_int_equal(dmp_wire_identity_parse(w.data, w.len, &g), DMP_EWIRE_TRAILING);
    dmp_buf_free(&w);
    body[0] = 0; /* username length 0 */
    craft("v=dmp1;t=identity;d=", body, base, a.ed_sk, &w);
    assert_int_equal(dmp_wire_identity_parse(w.data, w.len, &g), DMP_EWIRE_FIELD);
    dmp_buf_free(&w);
    body[0] = 5;
    body[1] = 0xC0; /* overlong UTF-8 */
    body[2] = 0x80;
    craft("v=dmp1;t=identity;d=", body, base, a.ed_sk, &w);
    assert_int_equal(dmp_wire_identity_parse(w.data, w.len, &g), DMP_EWIRE_UTF8);
    dmp_buf_free(&w);
    body[0] = 40; /* declares more than the body holds */
    craft("v=dmp1;t=identity;d=", body, base, a.ed_sk, &w);
    assert_int_equal(dmp_wire_identity_parse(w.data, w.len, &g), DMP_EWIRE_TRUNC);
    dmp_buf_free(&w);
    /* garbage */
    assert_int_equal(dmp_wire_identity_parse(S("not-a-dmp-record"), &g), DMP_EWIRE_PREFIX);
    assert_int_equal(dmp_wire_identity_parse(S("v=dmp1;t=identity;d=QUJD"), &g), DMP_EWIRE_SHORT);
    assert_int_equal(dmp_wire_identity_parse(S("v=dmp1;t=identity;d=notbase64"), &g),
                     DMP_EWIRE_B64);
    /* weak embedded key: identity point 01 00..00 */
    memset(body + 38, 0, 32);
    body[38] = 1;
    body[0] = 5;
    memcpy(body + 1, "alice", 5);
    craft("v=dmp1;t=identity;d=", body, base, a.ed_sk, &w);
    assert_int_equal(dmp_wire_identity_parse(w.data, w.len, &g), DMP_EWIRE_WEAKKEY);
    dmp_buf_free(&w);
    dmp_buf_free(&out);
    dmp_buf_free(&v1);

    char name[DMP_WIRE_NAME_MAX];
    assert_int_equal(dmp_wire_name_identity("alice", 5, "mesh.example..", name, sizeof name), 0);
    assert_string_equal(name, "id-2bd806c97f0e00af.mesh.example");
    assert_int_equal(dmp_wire_name_identity_zone("example.com.", name, sizeof name), 0);
    assert_string_equal(name, "dmp.example.com");
    assert_int_equal(dmp_wire_name_prekeys("alice", 5, "mesh.example", name, sizeof name), 0);
    assert_string_equal(name, "prekeys.id-2bd806c97f0e.mesh.example");
    assert_int_equal(dmp_wire_name_rotate_user("alice", 5, "mesh.example.", name, sizeof name), 0);
    assert_string_equal(name, "rotate.id-2bd806c97f0e00af.mesh.example");
    assert_int_equal(dmp_wire_name_rotate_user_zone("example.com.", name, sizeof name), 0);
    assert_string_equal(name, "rotate.dmp.example.com");
}

static void test_prekey(void **state)
{
    (void)state;
    dmp_crypto_identity_t a = alice();
    dmp_wire_prekey_t p = {.prekey_id = 42, .exp = TS_2030 + 86400};
    memset(p.public_key, 0x55, 32);
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_wire_prekey_encode(&p, a.ed_sk, &out), 0);
    assert_int_equal(out.len, 162);
    dmp_wire_prekey_t g;
    assert_int_equal(dmp_wire_prekey_parse(out.data, out.len, a.ed_pk, TS_2030, &g), 0);
    assert_int_equal(g.prekey_id, 42);
    assert_int_equal(dmp_wire_prekey_parse(out.data, out.len, a.ed_pk, TS_2030 - 30 * 86400, &g),
                     DMP_EWIRE_FUTURE);
    assert_int_equal(dmp_wire_prekey_parse(out.data, out.len, a.ed_pk, TS_2030 - 29 * 86400, &g),
                     0);
    dmp_crypto_identity_t b = key_n(9);
    assert_int_equal(dmp_wire_prekey_parse(out.data, out.len, b.ed_pk, TS_2030, &g), DMP_EWIRE_SIG);
    uint8_t zero[32] = {0};
    assert_int_equal(dmp_wire_prekey_parse(out.data, out.len, zero, TS_2030, &g),
                     DMP_EWIRE_WEAKKEY);
    p.prekey_id = 0;
    assert_int_equal(dmp_wire_prekey_encode(&p, a.ed_sk, &out), DMP_EWIRE_FIELD);
    uint8_t body[44] = {0};
    dmp_buf_t w;
    craft("v=dmp1;t=prekey;d=", body, 44, a.ed_sk, &w);
    assert_int_equal(dmp_wire_prekey_parse(w.data, w.len, a.ed_pk, TS_2030, &g), DMP_EWIRE_FIELD);
    dmp_buf_free(&w);
    craft("v=dmp1;t=prekey;d=", body, 43, a.ed_sk, &w);
    assert_int_equal(dmp_wire_prekey_parse(w.data, w.len, a.ed_pk, TS_2030, &g), DMP_EWIRE_LEN);
    dmp_buf_free(&w);
    dmp_buf_free(&out);
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

/* ------------------------------------------------------------------ rotation / revocation */

static void rot_fill(dmp_wire_rotation_t *r, uint8_t type, const char *subj,
                     const dmp_crypto_identity_t *o, const dmp_crypto_identity_t *n)
{
    memset(r, 0, sizeof *r);
    r->subject_type = type;
    r->subject_len = strlen(subj);
    memcpy(r->subject, subj, r->subject_len);
    memcpy(r->old_spk, o->ed_pk, 32);
    memcpy(r->new_spk, n->ed_pk, 32);
    r->seq = 5;
    r->ts = TS_2030;
    r->exp = TS_2030 + 86400;
}

static void test_rotation(void **state)
{
    (void)state;
    dmp_crypto_identity_t o = key_n(1), n = key_n(2), x = key_n(3);
    dmp_wire_rotation_t r, g;
    dmp_buf_t out;
    dmp_buf_init(&out);
    rot_fill(&r, 1, "alice@Example.COM.", &o, &n);
    assert_int_equal(dmp_wire_rotation_encode(&r, o.ed_sk, n.ed_sk, &out), 0);
    assert_int_equal(
        dmp_wire_rotation_parse(out.data, out.len, TS_2030, o.ed_pk, "alice@example.com", 17, &g),
        0);
    assert_int_equal(g.seq, 5);
    assert_int_equal(
        dmp_wire_rotation_parse(out.data, out.len, TS_2030, NULL, "bob@example.com", 15, &g),
        DMP_EWIRE_EXPECTED);
    assert_int_equal(dmp_wire_rotation_parse(out.data, out.len, TS_2030, n.ed_pk, NULL, 0, &g),
                     DMP_EWIRE_SIGNER);
    assert_int_equal(dmp_wire_rotation_parse(out.data, out.len, TS_2030 + 86400, NULL, NULL, 0, &g),
                     0);
    assert_int_equal(dmp_wire_rotation_parse(out.data, out.len, TS_2030 + 86401, NULL, NULL, 0, &g),
                     DMP_EWIRE_EXPIRED);
    assert_int_equal(
        dmp_wire_rotation_parse(out.data, out.len, TS_2030 + 86400 - 157680001, NULL, NULL, 0, &g),
        DMP_EWIRE_FUTURE);
    /* strict base64: whitespace is refused */
    dmp_buf_t sp;
    dmp_buf_init(&sp);
    assert_int_equal(dmp_buf_append(&sp, out.data, out.len - 4), 0);
    assert_int_equal(dmp_buf_append(&sp, " ", 1), 0);
    assert_int_equal(dmp_buf_append(&sp, out.data + out.len - 4, 4), 0);
    assert_int_equal(dmp_wire_rotation_parse(sp.data, sp.len, TS_2030, NULL, NULL, 0, &g),
                     DMP_EWIRE_B64);
    dmp_buf_free(&sp);
    /* forged second signature */
    dmp_buf_t f;
    dmp_buf_init(&f);
    {
        uint8_t body[200];
        size_t S = r.subject_len;
        memcpy(body, "DMPROT1", 7);
        body[7] = 1;
        body[8] = (uint8_t)S;
        memcpy(body + 9, r.subject, S);
        memcpy(body + 9 + S, o.ed_pk, 32);
        memcpy(body + 41 + S, n.ed_pk, 32);
        memset(body + 73 + S, 0, 24);
        size_t bl = 97 + S;
        uint8_t blob[400];
        memcpy(blob, body, bl);
        assert_int_equal(dmp_crypto_sign(o.ed_sk, body, bl, blob + bl), 0);
        assert_int_equal(dmp_crypto_sign(x.ed_sk, body, bl, blob + bl + 64), 0);
        assert_int_equal(dmp_buf_append_str(&f, "v=dmp1;t=rotation;"), 0);
        assert_int_equal(dmp_b64_encode_buf(blob, bl + 128, &f), 0);
        assert_int_equal(dmp_wire_rotation_parse(f.data, f.len, 0, NULL, NULL, 0, &g),
                         DMP_EWIRE_SIG);
        f.len = 0;
        memcpy(blob, "DMPROTX", 7);
        assert_int_equal(dmp_buf_append_str(&f, "v=dmp1;t=rotation;"), 0);
        assert_int_equal(dmp_b64_encode_buf(blob, bl + 128, &f), 0);
        assert_int_equal(dmp_wire_rotation_parse(f.data, f.len, 0, NULL, NULL, 0, &g),
                         DMP_EWIRE_MAGIC);
        f.len = 0;
        memcpy(blob, "DMPROT1", 7);
        blob[7] = 4;
        assert_int_equal(dmp_buf_append_str(&f, "v=dmp1;t=rotation;"), 0);
        assert_int_equal(dmp_b64_encode_buf(blob, bl + 128, &f), 0);
        assert_int_equal(dmp_wire_rotation_parse(f.data, f.len, 0, NULL, NULL, 0, &g),
                         DMP_EWIRE_FIELD);
        f.len = 0;
        blob[7] = 1;
        blob[8] = (uint8_t)(S + 1); /* declares one byte more than present */
        assert_int_equal(dmp_buf_append_str(&f, "v=dmp1;t=rotation;"), 0);
        assert_int_equal(dmp_b64_encode_buf(blob, bl + 128, &f), 0);
        assert_int_equal(dmp_wire_rotation_parse(f.data, f.len, 0, NULL, NULL, 0, &g),
                         DMP_EWIRE_TRUNC);
        f.len = 0;
        blob[8] = (uint8_t)(S - 1);
        assert_int_equal(dmp_buf_append_str(&f, "v=dmp1;t=rotation;"), 0);
        assert_int_equal(dmp_b64_encode_buf(blob, bl + 128, &f), 0);
        assert_int_equal(dmp_wire_rotation_parse(f.data, f.len, 0, NULL, NULL, 0, &g),
                         DMP_EWIRE_TRAILING);
    }
    dmp_buf_free(&f);
    /* sign refusals */
    rot_fill(&r, 1, "alice@example.com", &o, &o);
    assert_int_equal(dmp_wire_rotation_encode(&r, o.ed_sk, o.ed_sk, &out), DMP_EWIRE_SAMEKEY);
    rot_fill(&r, 1, "alice.example.com", &o, &n);
    assert_int_equal(dmp_wire_rotation_encode(&r, o.ed_sk, n.ed_sk, &out), DMP_EWIRE_SUBJECT);
    rot_fill(&r, 1, " @example.com", &o, &n);
    assert_int_equal(dmp_wire_rotation_encode(&r, o.ed_sk, n.ed_sk, &out), DMP_EWIRE_SUBJECT);
    rot_fill(&r, 2, "bad_name.example", &o, &n);
    assert_int_equal(dmp_wire_rotation_encode(&r, o.ed_sk, n.ed_sk, &out), DMP_EWIRE_SUBJECT);
    rot_fill(&r, 4, "example.com", &o, &n);
    assert_int_equal(dmp_wire_rotation_encode(&r, o.ed_sk, n.ed_sk, &out), DMP_EWIRE_FIELD);
    rot_fill(&r, 3, "example.com", &o, &n);
    assert_int_equal(dmp_wire_rotation_encode(&r, n.ed_sk, n.ed_sk, &out), DMP_EWIRE_SIGNER);
    /* 64-byte type-2 subject fits, 65 does not */
    char sub[80];
    memset(sub, 'a', 64);
    sub[30] = '.';
    sub[64] = 0;
    rot_fill(&r, 2, sub, &o, &n);
    out.len = 0;
    assert_int_equal(dmp_wire_rotation_encode(&r, o.ed_sk, n.ed_sk, &out), 0);
    assert_int_equal(dmp_wire_rotation_parse(out.data, out.len, TS_2030, NULL, NULL, 0, &g), 0);
    sub[64] = 'a';
    sub[65] = 0;
    rot_fill(&r, 2, sub, &o, &n);
    assert_int_equal(dmp_wire_rotation_encode(&r, o.ed_sk, n.ed_sk, &out), DMP_EWIRE_SUBJECT);
    dmp_buf_free(&out);

    char name[DMP_WIRE_NAME_MAX];
    assert_int_equal(dmp_wire_name_rotate_cluster("mesh.example.com.", name, sizeof name), 0);
    assert_string_equal(name, "rotate.cluster.mesh.example.com");
    assert_int_equal(dmp_wire_name_rotate_bootstrap("example.com", name, sizeof name), 0);
    assert_string_equal(name, "rotate._dmp.example.com");
    assert_int_equal(dmp_wire_name_rotate_cluster("bad..name", name, sizeof name), DMP_EWIRE_NAME);
}

static void test_revocation(void **state)
{
    (void)state;
    dmp_crypto_identity_t k = key_n(4), x = key_n(5);
    dmp_wire_revocation_t r = {.subject_type = 2, .reason_code = 2, .ts = TS_2030};
    strcpy(r.subject, "mesh.example.com");
    r.subject_len = 16;
    memcpy(r.revoked_spk, k.ed_pk, 32);
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_wire_revocation_encode(&r, k.ed_sk, &out), 0);
    dmp_wire_revocation_t g;
    assert_int_equal(dmp_wire_revocation_parse(out.data, out.len, TS_2030 + 315360000, k.ed_pk,
                                               "MESH.example.com.", 17, -1, &g),
                     0);
    assert_int_equal(
        dmp_wire_revocation_parse(out.data, out.len, TS_2030 - 301, NULL, NULL, 0, -1, &g),
        DMP_EWIRE_FUTURE);
    assert_int_equal(
        dmp_wire_revocation_parse(out.data, out.len, TS_2030 + 100, NULL, NULL, 0, 99, &g),
        DMP_EWIRE_STALE);
    assert_int_equal(
        dmp_wire_revocation_parse(out.data, out.len, TS_2030, NULL, "other.com", 9, -1, &g),
        DMP_EWIRE_EXPECTED);
    assert_int_equal(
        dmp_wire_revocation_parse(out.data, out.len, TS_2030, x.ed_pk, NULL, 0, -1, &g),
        DMP_EWIRE_SIGNER);
    r.reason_code = 5;
    assert_int_equal(dmp_wire_revocation_encode(&r, k.ed_sk, &out), DMP_EWIRE_FIELD);
    r.reason_code = 1;
    assert_int_equal(dmp_wire_revocation_encode(&r, x.ed_sk, &out), DMP_EWIRE_SIGNER);
    /* crafted: reason 0, trailing byte, too short */
    uint8_t body[80];
    memcpy(body, "DMPRV01", 7);
    body[7] = 2;
    body[8] = 16;
    memcpy(body + 9, "mesh.example.com", 16);
    memcpy(body + 25, k.ed_pk, 32);
    body[57] = 0;
    dmp_store_u64be(body + 58, TS_2030);
    dmp_buf_t w;
    craft("v=dmp1;t=revocation;", body, 66, k.ed_sk, &w);
    assert_int_equal(dmp_wire_revocation_parse(w.data, w.len, TS_2030, NULL, NULL, 0, -1, &g),
                     DMP_EWIRE_FIELD);
    dmp_buf_free(&w);
    body[57] = 1;
    body[66] = 0;
    craft("v=dmp1;t=revocation;", body, 67, k.ed_sk, &w);
    assert_int_equal(dmp_wire_revocation_parse(w.data, w.len, TS_2030, NULL, NULL, 0, -1, &g),
                     DMP_EWIRE_TRAILING);
    dmp_buf_free(&w);
    body[9] = '_';
    craft("v=dmp1;t=revocation;", body, 66, k.ed_sk, &w);
    assert_int_equal(dmp_wire_revocation_parse(w.data, w.len, TS_2030, NULL, NULL, 0, -1, &g),
                     DMP_EWIRE_SUBJECT);
    dmp_buf_free(&w);
    assert_int_equal(
        dmp_wire_revocation_parse(S("v=dmp1;t=revocation;QUJD"), TS_2030, NULL, NULL, 0, -1, &g),
        DMP_EWIRE_SHORT);
    /* > 1200 bytes */
    dmp_buf_t big;
    dmp_buf_init(&big);
    assert_int_equal(dmp_buf_append_str(&big, "v=dmp1;t=revocation;"), 0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(dmp_buf_append_str(&big, "QUJD"), 0);
    assert_int_equal(dmp_wire_revocation_parse(big.data, big.len, TS_2030, NULL, NULL, 0, -1, &g),
                     DMP_EWIRE_TOOBIG);
    dmp_buf_free(&big);
    dmp_buf_free(&out);
}

/* ------------------------------------------------------------------ cluster / bootstrap */

static void node_set(dmp_wire_cluster_node_t *n, const char *id, const char *http, const char *dns)
{
    memset(n, 0, sizeof *n);
    n->node_id_len = strlen(id);
    memcpy(n->node_id, id, n->node_id_len);
    n->http_endpoint_len = strlen(http);
    memcpy(n->http_endpoint, http, n->http_endpoint_len);
    if (dns) {
        n->dns_endpoint_len = strlen(dns);
        memcpy(n->dns_endpoint, dns, n->dns_endpoint_len);
    }
}

static void test_cluster(void **state)
{
    (void)state;
    dmp_crypto_identity_t op = key_n(6), x = key_n(7);
    dmp_wire_cluster_t c, g;
    memset(&c, 0, sizeof c);
    c.seq = 3;
    c.exp = TS_2030 + 3600;
    memcpy(c.operator_spk, op.ed_pk, 32);
    strcpy(c.cluster_name, "Mesh.Example.COM.");
    c.cluster_name_len = 17;
    node_set(&c.nodes[0], "a", "https://host_with_under.example.com:8053/path?x=1", NULL);
    node_set(&c.nodes[1], "b", "http://b.example:8053", "b.example:53");
    c.n_nodes = 2;
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_wire_cluster_encode(&c, op.ed_sk, &out), 0);
    assert_int_equal(
        dmp_wire_cluster_parse(out.data, out.len, op.ed_pk, TS_2030, "mesh.example.com.", &g), 0);
    assert_string_equal(g.cluster_name, "Mesh.Example.COM");
    assert_int_equal(g.n_nodes, 2);
    assert_string_equal(g.nodes[1].dns_endpoint, "b.example:53");
    assert_int_equal(g.nodes[0].dns_endpoint_len, 0);
    assert_int_equal(dmp_wire_cluster_parse(out.data, out.len, op.ed_pk, TS_2030, "other.com", &g),
                     DMP_EWIRE_EXPECTED);
    assert_int_equal(dmp_wire_cluster_parse(out.data, out.len, x.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_SIG);
    assert_int_equal(dmp_wire_cluster_parse(out.data, out.len, op.ed_pk, TS_2030 + 3601, NULL, &g),
                     DMP_EWIRE_EXPIRED);
    assert_int_equal(dmp_wire_cluster_parse(out.data, out.len, op.ed_pk, TS_2030 + 3600, NULL, &g),
                     0);
    /* wrong prefix */
    assert_int_equal(dmp_wire_cluster_parse(S("v=dmp1;t=bootstrap;QUJD"), op.ed_pk, 0, NULL, &g),
                     DMP_EWIRE_PREFIX);
    assert_int_equal(
        dmp_wire_cluster_parse(S("v=dmp1;t=cluster;not-valid-base64!!!@@@"), op.ed_pk, 0, NULL, &g),
        DMP_EWIRE_B64);
    /* sign refusals */
    strcpy(c.nodes[1].node_id, "a");
    assert_int_equal(dmp_wire_cluster_encode(&c, op.ed_sk, &out), DMP_EWIRE_DUP);
    strcpy(c.nodes[1].node_id, "b");
    c.n_nodes = 0;
    assert_int_equal(dmp_wire_cluster_encode(&c, op.ed_sk, &out), DMP_EWIRE_COUNT);
    c.n_nodes = 2;
    assert_int_equal(dmp_wire_cluster_encode(&c, x.ed_sk, &out), DMP_EWIRE_SIGNER);
    strcpy(c.cluster_name, "mesh..example");
    c.cluster_name_len = 13;
    assert_int_equal(dmp_wire_cluster_encode(&c, op.ed_sk, &out), DMP_EWIRE_NAME);
    memset(c.cluster_name, 'a', 64);
    c.cluster_name[64] = 0;
    c.cluster_name[10] = '.';
    c.cluster_name_len = 64;
    c.cluster_name[63] = 'a';
    assert_int_equal(dmp_wire_cluster_encode(&c, op.ed_sk, &out), 0);
    /* 32 fat nodes exceed 1200 */
    c.n_nodes = 32;
    for (int i = 0; i < 32; i++) {
        char id[8], http[129];
        snprintf(id, sizeof id, "n%02d", i);
        memset(http, 'h', 128);
        http[128] = 0;
        node_set(&c.nodes[i], id, http, NULL);
    }
    assert_int_equal(dmp_wire_cluster_encode(&c, op.ed_sk, &out), DMP_EWIRE_TOOBIG);

    /* crafted bodies signed by the operator */
    uint8_t body[300];
    size_t o = 0;
    memcpy(body, "DMPCL01", 7);
    o = 7;
    dmp_store_u64be(body + o, 1);
    dmp_store_u64be(body + o + 8, TS_2030 + 10);
    o += 16;
    memcpy(body + o, op.ed_pk, 32);
    o += 32;
    body[o++] = 17;
    memcpy(body + o, "mesh.example.com.", 17);
    o += 17;
    size_t cnt = o;
    body[o++] = 0; /* zero nodes: accepted on parse (reference parity) */
    dmp_buf_t w;
    craft("v=dmp1;t=cluster;", body, o, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g), 0);
    assert_string_equal(g.cluster_name, "mesh.example.com");
    dmp_buf_free(&w);
    body[cnt] = 2; /* duplicate ids */
    o = cnt + 1;
    for (int i = 0; i < 2; i++) {
        body[o++] = 1;
        body[o++] = 'x';
        dmp_store_u16be(body + o, 1);
        o += 2;
        body[o++] = 'h';
        dmp_store_u16be(body + o, 0);
        o += 2;
    }
    craft("v=dmp1;t=cluster;", body, o, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_DUP);
    dmp_buf_free(&w);
    body[cnt] = 33;
    craft("v=dmp1;t=cluster;", body, cnt + 1, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_COUNT);
    dmp_buf_free(&w);
    body[cnt] = 0;
    craft("v=dmp1;t=cluster;", body, cnt + 2, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_TRAILING);
    dmp_buf_free(&w);
    body[cnt] = 1;
    craft("v=dmp1;t=cluster;", body, cnt + 3, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_TRUNC);
    dmp_buf_free(&w);
    memcpy(body + 23, x.ed_pk, 32); /* embedded operator differs from the signer */
    body[cnt] = 0;
    craft("v=dmp1;t=cluster;", body, cnt + 1, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_SIGNER);
    dmp_buf_free(&w);
    memcpy(body, "BADMAGX", 7);
    craft("v=dmp1;t=cluster;", body, cnt + 1, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_MAGIC);
    dmp_buf_free(&w);
    memcpy(body, "DMPCL01", 7);
    memcpy(body + 23, op.ed_pk, 32);
    memcpy(body + 56, "mesh..xample.com.", 17);
    craft("v=dmp1;t=cluster;", body, cnt + 1, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_NAME);
    dmp_buf_free(&w);
    dmp_store_u64be(body + 15, TS_2030 + 157680001);
    memcpy(body + 56, "mesh.example.com.", 17);
    craft("v=dmp1;t=cluster;", body, cnt + 1, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_FUTURE);
    dmp_buf_free(&w);
    dmp_buf_free(&out);

    char name[DMP_WIRE_NAME_MAX];
    assert_int_equal(dmp_wire_name_cluster("mesh.example.com.", name, sizeof name), 0);
    assert_string_equal(name, "cluster.mesh.example.com");
    assert_int_equal(dmp_wire_name_bootstrap("example.com", name, sizeof name), 0);
    assert_string_equal(name, "_dmp.example.com");
    assert_int_equal(dmp_wire_name_cluster("caf\xc3\xa9.com", name, sizeof name), DMP_EWIRE_NAME);
}

static void test_bootstrap(void **state)
{
    (void)state;
    dmp_crypto_identity_t s = key_n(8), x = key_n(9);
    dmp_wire_bootstrap_t b, g;
    memset(&b, 0, sizeof b);
    b.seq = 2;
    b.exp = TS_2030 + 1000;
    memcpy(b.signer_spk, s.ed_pk, 32);
    strcpy(b.user_domain, "example.com");
    b.user_domain_len = 11;
    const uint16_t prio[3] = {100, 0, 50};
    const char *bases[3] = {"c.example.com", "a.example.com.", "b.example.com"};
    for (int i = 0; i < 3; i++) {
        b.entries[i].priority = prio[i];
        b.entries[i].base_len = strlen(bases[i]);
        memcpy(b.entries[i].cluster_base_domain, bases[i], b.entries[i].base_len);
        memset(b.entries[i].operator_spk, i + 1, 32);
    }
    b.n_entries = 3;
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_wire_bootstrap_encode(&b, s.ed_sk, &out), 0);
    assert_int_equal(
        dmp_wire_bootstrap_parse(out.data, out.len, s.ed_pk, TS_2030, "EXAMPLE.com.", &g), 0);
    assert_int_equal(g.n_entries, 3);
    assert_int_equal(g.entries[0].priority, 0);
    assert_string_equal(g.entries[0].cluster_base_domain, "a.example.com");
    assert_int_equal(g.entries[2].priority, 100);
    assert_int_equal(dmp_wire_bootstrap_parse(out.data, out.len, s.ed_pk, TS_2030, "other.com", &g),
                     DMP_EWIRE_EXPECTED);
    assert_int_equal(dmp_wire_bootstrap_parse(out.data, out.len, x.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_SIG);
    /* sign refusals */
    b.entries[2].priority = 0;
    strcpy(b.entries[2].cluster_base_domain, "A.Example.COM");
    assert_int_equal(dmp_wire_bootstrap_encode(&b, s.ed_sk, &out), DMP_EWIRE_DUP);
    strcpy(b.entries[2].cluster_base_domain, "bad_base.com");
    b.entries[2].base_len = 12;
    assert_int_equal(dmp_wire_bootstrap_encode(&b, s.ed_sk, &out), DMP_EWIRE_NAME);
    b.n_entries = 17;
    assert_int_equal(dmp_wire_bootstrap_encode(&b, s.ed_sk, &out), DMP_EWIRE_COUNT);
    b.n_entries = 0;
    assert_int_equal(dmp_wire_bootstrap_encode(&b, s.ed_sk, &out), DMP_EWIRE_COUNT);
    b.n_entries = 1;
    memset(b.user_domain, 'a', 65);
    b.user_domain_len = 65;
    assert_int_equal(dmp_wire_bootstrap_encode(&b, s.ed_sk, &out), DMP_EWIRE_LEN);
    /* crafted: 0 entries rejected on parse */
    uint8_t body[200];
    memcpy(body, "DMPBS01", 7);
    dmp_store_u64be(body + 7, 1);
    dmp_store_u64be(body + 15, TS_2030 + 10);
    memcpy(body + 23, s.ed_pk, 32);
    body[55] = 12;
    memcpy(body + 56, "example.com.", 12);
    body[68] = 0;
    dmp_buf_t w;
    craft("v=dmp1;t=bootstrap;", body, 69, s.ed_sk, &w);
    assert_int_equal(dmp_wire_bootstrap_parse(w.data, w.len, s.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_COUNT);
    dmp_buf_free(&w);
    body[68] = 1;
    dmp_store_u16be(body + 69, 5);
    body[71] = 66; /* base longer than 64 + dot */
    craft("v=dmp1;t=bootstrap;", body, 72, s.ed_sk, &w);
    assert_int_equal(dmp_wire_bootstrap_parse(w.data, w.len, s.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_LEN);
    dmp_buf_free(&w);
    body[71] = 3;
    memcpy(body + 72, "a\xff", 3);
    craft("v=dmp1;t=bootstrap;", body, 75 + 32, s.ed_sk, &w);
    assert_int_equal(dmp_wire_bootstrap_parse(w.data, w.len, s.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_UTF8);
    dmp_buf_free(&w);
    dmp_buf_free(&out);
}

/* ------------------------------------------------------------------ heartbeat */

static void hb_fill(dmp_wire_heartbeat_t *h, const dmp_crypto_identity_t *k, const char *ep)
{
    memset(h, 0, sizeof *h);
    h->endpoint_len = strlen(ep);
    memcpy(h->endpoint, ep, h->endpoint_len);
    memcpy(h->operator_spk, k->ed_pk, 32);
    strcpy(h->version, "0.7.5");
    h->version_len = 5;
    h->capabilities = DMP_WIRE_CAP_CLAIM_PROVIDER | 0x20;
    strcpy(h->claim_provider_zone, "dmp.example.com");
    h->zone_len = 15;
    h->ts = TS_2030;
    h->exp = TS_2030 + 86400;
}

static void test_heartbeat(void **state)
{
    (void)state;
    uint8_t seed[32], pk[32], sk[64];
    memset(seed, 0x11, 32);
    assert_int_equal(dmp_crypto_ed25519_from_seed(seed, pk, sk), 0);
    dmp_crypto_identity_t k;
    memcpy(k.ed_pk, pk, 32);
    memcpy(k.ed_sk, sk, 64);
    dmp_wire_heartbeat_t h, g;
    hb_fill(&h, &k, "https://dmp.example.com:8053");
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_wire_heartbeat_encode(&h, sk, &out), 0);
    assert_true(out.len <= 255);
    assert_int_equal(dmp_wire_heartbeat_parse(out.data, out.len, TS_2030, -1, &g), 0);
    assert_int_equal(g.magic_version, 3);
    assert_int_equal(g.capabilities, 0x21);
    assert_string_equal(g.claim_provider_zone, "dmp.example.com");
    assert_string_equal(g.endpoint, "https://dmp.example.com:8053");
    assert_int_equal(dmp_wire_heartbeat_parse(out.data, out.len, TS_2030 + 301, -1, &g),
                     DMP_EWIRE_STALE);
    assert_int_equal(dmp_wire_heartbeat_parse(out.data, out.len, TS_2030 - 301, -1, &g),
                     DMP_EWIRE_FUTURE);
    assert_int_equal(dmp_wire_heartbeat_parse(out.data, out.len, TS_2030 + 300, -1, &g), 0);
    assert_int_equal(dmp_wire_heartbeat_parse(out.data, out.len, TS_2030 + 86400, 1000000000, &g),
                     DMP_EWIRE_EXPIRED);
    /* legacy DMPHB02 without the zone field */
    uint8_t body[200];
    size_t o = 0;
    memcpy(body, "DMPHB02", 7);
    o = 7;
    dmp_store_u16be(body + o, 19);
    o += 2;
    memcpy(body + o, "https://example.org", 19);
    o += 19;
    memcpy(body + o, pk, 32);
    o += 32;
    body[o++] = 0;
    dmp_store_u16be(body + o, 1);
    o += 2;
    dmp_store_u64be(body + o, TS_2030);
    dmp_store_u64be(body + o + 8, TS_2030 + 2600000);
    o += 16;
    dmp_buf_t w;
    craft("v=dmp1;t=heartbeat;", body, o, sk, &w);
    assert_int_equal(dmp_wire_heartbeat_parse(w.data, w.len, TS_2030, -1, &g), DMP_EWIRE_FUTURE);
    assert_int_equal(dmp_wire_heartbeat_parse(w.data, w.len, TS_2030 + 200000, 1000000000, &g), 0);
    assert_int_equal(g.magic_version, 2);
    assert_int_equal(g.zone_len, 0);
    dmp_buf_free(&w);
    memcpy(body, "DMPHB01", 7);
    craft("v=dmp1;t=heartbeat;", body, o, sk, &w);
    assert_int_equal(dmp_wire_heartbeat_parse(w.data, w.len, TS_2030, -1, &g), DMP_EWIRE_MAGIC);
    dmp_buf_free(&w);
    memcpy(body, "DMPHB02", 7);
    dmp_store_u64be(body + o - 8, TS_2030); /* exp == ts */
    craft("v=dmp1;t=heartbeat;", body, o, sk, &w);
    assert_int_equal(dmp_wire_heartbeat_parse(w.data, w.len, TS_2030, -1, &g), DMP_EWIRE_TSORDER);
    dmp_buf_free(&w);
    dmp_store_u64be(body + o - 8, TS_2030 + 60);
    craft("v=dmp1;t=heartbeat;", body, o - 1, sk, &w);
    assert_int_equal(dmp_wire_heartbeat_parse(w.data, w.len, TS_2030, -1, &g), DMP_EWIRE_TRUNC);
    dmp_buf_free(&w);
    memcpy(body + 9, "https://10.0.0.001", 18); /* private literal host */
    body[27] = '1';
    craft("v=dmp1;t=heartbeat;", body, o, sk, &w);
    assert_int_equal(dmp_wire_heartbeat_parse(w.data, w.len, TS_2030, -1, &g), DMP_EWIRE_ENDPOINT);
    dmp_buf_free(&w);
    /* tampered sig */
    out.data[out.len - 3] ^= 1;
    assert_int_equal(dmp_wire_heartbeat_parse(out.data, out.len, TS_2030, -1, &g), DMP_EWIRE_SIG);
    /* sign refusals */
    hb_fill(&h, &k, "https://dmp.example.com");
    h.exp = h.ts;
    assert_int_equal(dmp_wire_heartbeat_encode(&h, sk, &out), DMP_EWIRE_TSORDER);
    hb_fill(&h, &k, "https://dmp.example.com");
    h.version_len = 33;
    assert_int_equal(dmp_wire_heartbeat_encode(&h, sk, &out), DMP_EWIRE_FIELD);
    hb_fill(&h, &k, "https://dmp.example.com");
    strcpy(h.claim_provider_zone, "a b");
    h.zone_len = 3;
    assert_int_equal(dmp_wire_heartbeat_encode(&h, sk, &out), DMP_EWIRE_CHARS);
    hb_fill(&h, &k, "https://dmp.example.com");
    assert_int_equal(dmp_wire_heartbeat_encode(&h, alice().ed_sk, &out), DMP_EWIRE_SIGNER);
    dmp_buf_free(&out);

    char name[DMP_WIRE_NAME_MAX];
    assert_int_equal(dmp_wire_name_heartbeat("example.com", name, sizeof name), 0);
    assert_string_equal(name, "_dnsmesh-heartbeat.example.com");
    assert_int_equal(dmp_wire_name_seen("example.com", name, sizeof name), 0);
    assert_string_equal(name, "_dnsmesh-seen.example.com");
}

static void test_endpoints(void **state)
{
    (void)state;
    static const char *ok[] = {
        "https://dmp.example.com", "http://dmp.example.com:8053",   "HTTPS://Node.Example.COM",
        "https://8.8.8.8",         "https://[2606:4700::1111]:443", "https://100.64.0.1",
    };
    static const char *bad[] = {
        "ftp://dmp.example.com",     "https://",
        "https://dmp.example.com/",  "https://dmp.example.com/v1",
        "https://dmp.example.com?",  "https://dmp.example.com#x",
        "https://u@dmp.example.com", "https://localhost",
        "https://LOCALHOST:443",     "https://ip6-localhost",
        "https://127.0.0.1",         "https://127.1",
        "https://10.1.2.3",          "https://192.168.0.1",
        "https://172.16.5.4",        "https://169.254.169.254",
        "https://224.0.0.1",         "https://0.0.0.0",
        "https://203.0.113.9",       "https://[::1]",
        "https://[fc00::1]",         "https://[fe80::1]",
        "https://[ff02::1]",         "https://[2001:db8::1]",
        "https://[::ffff:10.0.0.1]", "https://[::1",
        "https://host:port",         "https://host:70000",
        "https://d\xc3\xa9.com",     "dmp.example.com",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (dmp_wire_heartbeat_endpoint_check(ok[i], strlen(ok[i])) != 0)
            fail_msg("endpoint should pass: %s", ok[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (dmp_wire_heartbeat_endpoint_check(bad[i], strlen(bad[i])) != DMP_EWIRE_ENDPOINT)
            fail_msg("endpoint should fail: %s", bad[i]);
    assert_int_equal(dmp_wire_heartbeat_endpoint_check("https://a b.com", 15), DMP_EWIRE_CHARS);
    assert_int_equal(dmp_wire_heartbeat_endpoint_check("https://a\x7f.com", 15), DMP_EWIRE_CHARS);
}

/* ------------------------------------------------------------------ names, TXT, misc */

static void test_dns_names(void **state)
{
    (void)state;
    static const char *ok[] = {"mesh.example.com",  "a.b",   "x.y.z.w", "node-1.mesh.example.com",
                               "mesh.example.com.", "A.B.C", "a1.b2.c3"};
    static const char *bad[] = {"",
                                ".",
                                "mesh..",
                                ".mesh",
                                "x..",
                                "a..b",
                                "-bad.",
                                "bad-.",
                                "bad_name.com",
                                "caf\xc3\xa9.com",
                                "a/b",
                                "a b",
                                "mesh.example.com.."};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_int_equal(dmp_wire_dns_name_check(ok[i], strlen(ok[i]), NULL), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (dmp_wire_dns_name_check(bad[i], strlen(bad[i]), NULL) != DMP_EWIRE_NAME)
            fail_msg("should be rejected: %s", bad[i]);
    char l63[80], l64[80];
    memset(l63, 'a', 63);
    l63[63] = 0;
    memset(l64, 'a', 64);
    l64[64] = 0;
    size_t sl = 0;
    assert_int_equal(dmp_wire_dns_name_check(l63, 63, &sl), 0);
    assert_int_equal(sl, 63);
    assert_int_equal(dmp_wire_dns_name_check(l64, 64, NULL), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_dns_name_check("a.b.", 4, &sl), 0);
    assert_int_equal(sl, 3);
    /* HTTP record-name rule */
    assert_int_equal(dmp_wire_http_name_check(S2("_dnsmesh-heartbeat.example.com")), 0);
    assert_int_equal(dmp_wire_http_name_check(S2("slot-1.mb-abc.example.com.")), 0);
    assert_int_equal(dmp_wire_http_name_check(S2("a")), 0);
    assert_int_equal(dmp_wire_http_name_check(S2("__x.com")), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_http_name_check(S2("_.com")), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_http_name_check(S2("a-.com")), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_http_name_check(S2("a..com")), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_http_name_check(S2("a\n.com")), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_http_name_check(S2(".")), DMP_EWIRE_NAME);
    char longname[300];
    memset(longname, 'a', 254);
    for (int i = 50; i < 254; i += 50)
        longname[i] = '.';
    longname[254] = 0;
    assert_int_equal(dmp_wire_http_name_check(longname, 254), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_http_name_check(longname, 253), 0);
}

static void test_txt(void **state)
{
    (void)state;
    uint8_t val[600];
    for (size_t i = 0; i < sizeof val; i++)
        val[i] = (uint8_t)('A' + i % 26);
    const size_t lens[] = {0, 1, 255, 256, 510, 511, 600};
    for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
        dmp_buf_t rd, back;
        dmp_buf_init(&rd);
        dmp_buf_init(&back);
        assert_int_equal(dmp_wire_txt_split(val, lens[t], &rd), 0);
        size_t pieces = lens[t] == 0 ? 1 : (lens[t] + 254) / 255;
        assert_int_equal(rd.len, lens[t] + pieces);
        assert_int_equal(dmp_wire_txt_join(rd.data, rd.len, &back), 0);
        assert_int_equal(back.len, lens[t]);
        if (lens[t])
            assert_memory_equal(back.data, val, lens[t]);
        dmp_buf_free(&rd);
        dmp_buf_free(&back);
    }
    dmp_buf_t out;
    dmp_buf_init(&out);
    static const uint8_t two[] = {2, 'a', 'b', 1, 'c', 0};
    assert_int_equal(dmp_wire_txt_join(two, sizeof two, &out), 0);
    assert_int_equal(out.len, 3);
    static const uint8_t trunc[] = {3, 'a', 'b'};
    assert_int_equal(dmp_wire_txt_join(trunc, sizeof trunc, &out), DMP_EWIRE_TRUNC);
    assert_int_equal(out.len, 3);
    assert_int_equal(dmp_wire_txt_join(two, 0, &out), DMP_EWIRE_SHORT);
    dmp_buf_free(&out);
}

static void test_address_subject(void **state)
{
    (void)state;
    char u[80], h[80];
    assert_int_equal(
        dmp_wire_parse_address(S2(" alice @ Example.com.. "), u, sizeof u, h, sizeof h), 0);
    assert_string_equal(u, "alice");
    assert_string_equal(h, "Example.com");
    assert_int_equal(dmp_wire_parse_address(S2("alice"), u, sizeof u, h, sizeof h),
                     DMP_EWIRE_SUBJECT);
    assert_int_equal(dmp_wire_parse_address(S2("@host"), u, sizeof u, h, sizeof h),
                     DMP_EWIRE_SUBJECT);
    assert_int_equal(dmp_wire_parse_address(S2("a@."), u, sizeof u, h, sizeof h),
                     DMP_EWIRE_SUBJECT);
    char n[80];
    size_t nl;
    assert_int_equal(dmp_wire_subject_normalize(1, S2(" Bob @ Example.COM. "), n, sizeof n, &nl),
                     0);
    assert_string_equal(n, "Bob@example.com");
    assert_int_equal(nl, 15);
    assert_int_equal(dmp_wire_subject_normalize(2, S2("Mesh.Example.COM."), n, sizeof n, &nl), 0);
    assert_string_equal(n, "mesh.example.com");
    assert_int_equal(dmp_wire_subject_normalize(2, S2("Mesh.Example.COM."), n, 4, &nl),
                     DMP_ETOOBIG);
}

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

static void test_claim_owner(void **state)
{
    (void)state;
    char h[13];
    assert_int_equal(dmp_wire_claim_owner_match(S2("Claim-7.MB-7CCE4761260B.Provider.Example."),
                                                S2("provider.example"), h),
                     0);
    assert_string_equal(h, "7cce4761260b");
    assert_int_equal(dmp_wire_claim_owner_match(S2("claim-123.mb-7cce4761260b.p.example"),
                                                S2(" p.example. "), NULL),
                     0);
    static const char *bad[] = {"claim-.mb-7cce4761260b.p.example",
                                "claim-1.mb-7cce4761260.p.example",
                                "claim-1.mb-7cce4761260bb.p.example",
                                "claim-1.mb-7cce4761260g.p.example",
                                "x.claim-1.mb-7cce4761260b.p.example",
                                "claim-1a.mb-7cce4761260b.p.example",
                                "claim-1.mx-7cce4761260b.p.example",
                                "claim-1.mb-7cce4761260b.q.example",
                                "claim-1.mb-7cce4761260bp.example",
                                "p.example",
                                ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (dmp_wire_claim_owner_match(bad[i], strlen(bad[i]), S2("p.example"), h) !=
            DMP_EWIRE_NAME)
            fail_msg("should be refused: %s", bad[i]);
    assert_int_equal(dmp_wire_claim_owner_match(S2("claim-1.mb-7cce4761260b."), S2("."), h),
                     DMP_EWIRE_NAME);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int e = DMP_EWIRE_CHUNKHASH; e <= DMP_EWIRE_PREFIX; e++) {
        const char *s = dmp_wire_strerror(e);
        assert_non_null(s);
        assert_string_not_equal(s, dmp_strerror(-999));
    }
    assert_string_equal(dmp_wire_strerror(DMP_ENOMEM), dmp_strerror(DMP_ENOMEM));
}

int main(void)
{
    if (dmp_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_kat),       cmocka_unit_test(test_manifest_kat),
        cmocka_unit_test(test_chunk_framing),   cmocka_unit_test(test_identity),
        cmocka_unit_test(test_prekey),          cmocka_unit_test(test_manifest_bad),
        cmocka_unit_test(test_rotation),        cmocka_unit_test(test_revocation),
        cmocka_unit_test(test_cluster),         cmocka_unit_test(test_bootstrap),
        cmocka_unit_test(test_heartbeat),       cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_dns_names),       cmocka_unit_test(test_txt),
        cmocka_unit_test(test_address_subject), cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_classify),        cmocka_unit_test(test_claim_owner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
