/* Unit tests for src/wire's key records: identity, prekey, rotation and revocation round trips
 * and every bad input reaching its DMP_EWIRE_* code. */
#include "wire_harness.h"

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

int main(void)
{
    if (dmp_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_prekey),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_revocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
