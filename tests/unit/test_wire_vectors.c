/* Unit tests for src/wire against the reference vectors in DMP_SHARED_DIR/vectors: every case
 * signs byte-exact from its seed and inputs, and parses to the documented result. Skips (77)
 * when the shared folder is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <jansson.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "wire/wire.h"

#define NOW_DEFAULT 2050000000

static json_t *load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vectors/%s.json", DMP_SHARED_DIR, name);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fail_msg("cannot load %s: %s", path, err.text);
    assert_true(json_is_array(j));
    return j;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_int_t jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void hex32(const char *h, uint8_t out[32])
{
    assert_non_null(h);
    assert_int_equal(dmp_hex_decode(h, strlen(h), out, 32), 0);
}

/* The case's inputs (or those of the case it borrows its wire from). */
static json_t *inputs_of(json_t *arr, json_t *c)
{
    json_t *in = json_object_get(c, "inputs");
    if (in)
        return in;
    json_t *from = json_object_get(c, "wire_from_case");
    assert_true(json_is_integer(from));
    return json_object_get(json_array_get(arr, (size_t)json_integer_value(from)), "inputs");
}

static void wire_bytes(json_t *c, dmp_buf_t *w)
{
    dmp_buf_init(w);
    const char *h = jstr(c, "expected_wire_hex");
    assert_non_null(h);
    assert_int_equal(dmp_hex_decode_buf(h, strlen(h), w), 0);
}

static void keys_from(json_t *c, const char *seed_key, dmp_crypto_identity_t *id)
{
    uint8_t seed[32];
    hex32(jstr(c, seed_key), seed);
    assert_int_equal(dmp_crypto_identity_from_x25519(seed, id), 0);
}

static void expect_sign(json_t *c, const dmp_buf_t *got)
{
    dmp_buf_t want;
    wire_bytes(c, &want);
    if (got->len != want.len || memcmp(got->data, want.data, want.len) != 0)
        fail_msg("%s: signed wire differs (%zu vs %zu bytes)", jstr(c, "description"), got->len,
                 want.len);
    dmp_buf_free(&want);
}

static bool want_none(json_t *c)
{
    const char *r = jstr(c, "expected_parse_result");
    return r && strcmp(r, "none") == 0;
}

static int64_t now_of(json_t *c)
{
    json_t *v = json_object_get(c, "verify_with_now");
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : NOW_DEFAULT;
}

/* ------------------------------------------------------------------ identity */
static void test_vec_identity(void **state)
{
    (void)state;
    json_t *arr = load("identity_record");
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        json_t *in = inputs_of(arr, c);
        dmp_crypto_identity_t id;
        keys_from(c, "identity_seed_hex", &id);
        uint8_t spk[32];
        hex32(jstr(in, "ed25519_spk_hex"), spk);
        assert_memory_equal(spk, id.ed_pk, 32);
        if (json_object_get(c, "inputs")) {
            dmp_wire_identity_t rec;
            memset(&rec, 0, sizeof rec);
            const char *u = jstr(in, "username");
            rec.username_len = strlen(u);
            memcpy(rec.username, u, rec.username_len);
            hex32(jstr(in, "x25519_pk_hex"), rec.x25519_pk);
            memcpy(rec.ed25519_spk, spk, 32);
            rec.ts = (uint64_t)jint(in, "ts");
            json_t *vs = json_object_get(in, "versions");
            if (vs) {
                size_t k;
                json_t *v;
                json_array_foreach(vs, k, v) rec.versions[rec.n_versions++] =
                    (uint8_t)json_integer_value(v);
            } else {
                rec.versions[0] = 1;
                rec.n_versions = 1;
            }
            dmp_buf_t out;
            dmp_buf_init(&out);
            assert_int_equal(dmp_wire_identity_encode(&rec, id.ed_sk, &out), 0);
            expect_sign(c, &out);
            dmp_buf_free(&out);
        }
        dmp_buf_t w;
        wire_bytes(c, &w);
        dmp_wire_identity_t got;
        int rc = dmp_wire_identity_parse(w.data, w.len, &got);
        if (want_none(c)) {
            assert_int_equal(rc, DMP_EWIRE_SIG);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(got.username, jstr(c, "expected_parse_username"));
            json_t *ev = json_object_get(c, "expected_parse_versions");
            if (ev) {
                assert_int_equal(got.n_versions, json_array_size(ev));
                for (size_t k = 0; k < got.n_versions; k++)
                    assert_int_equal(got.versions[k], json_integer_value(json_array_get(ev, k)));
            } else {
                assert_int_equal(got.n_versions, 1);
                assert_int_equal(got.versions[0], 1);
            }
        }
        dmp_buf_free(&w);
    }
    json_decref(arr);
}

/* ------------------------------------------------------------------ prekey */
static void test_vec_prekey(void **state)
{
    (void)state;
    json_t *arr = load("prekey");
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        json_t *in = inputs_of(arr, c);
        dmp_crypto_identity_t id;
        keys_from(c, "signer_seed_hex", &id);
        if (json_object_get(c, "inputs")) {
            dmp_wire_prekey_t rec;
            rec.prekey_id = (uint32_t)jint(in, "prekey_id");
            hex32(jstr(in, "public_key_hex"), rec.public_key);
            rec.exp = (uint64_t)jint(in, "exp");
            dmp_buf_t out;
            dmp_buf_init(&out);
            assert_int_equal(dmp_wire_prekey_encode(&rec, id.ed_sk, &out), 0);
            expect_sign(c, &out);
            dmp_buf_free(&out);
        }
        uint8_t vk[32];
        hex32(jstr(c, "verify_with_signer_spk_hex"), vk);
        dmp_buf_t w;
        wire_bytes(c, &w);
        dmp_wire_prekey_t got;
        int rc = dmp_wire_prekey_parse(w.data, w.len, vk, NOW_DEFAULT, &got);
        if (want_none(c)) {
            assert_int_equal(rc, DMP_EWIRE_SIG);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(got.prekey_id, jint(c, "expected_parse_prekey_id"));
            /* expiry is the caller's check: case 3 (exp 100) is expired at exp + 1 */
            assert_int_equal(dmp_wire_prekey_expired(&got, (int64_t)got.exp + 1), true);
            assert_int_equal(dmp_wire_prekey_expired(&got, (int64_t)got.exp), false);
        }
        dmp_buf_free(&w);
    }
    json_decref(arr);
}

/* ------------------------------------------------------------------ slot manifest */
static void test_vec_manifest(void **state)
{
    (void)state;
    json_t *arr = load("slot_manifest");
    dmp_wire_manifest_t *m = calloc(1, sizeof *m);
    assert_non_null(m);
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        json_t *in = inputs_of(arr, c);
        dmp_crypto_identity_t id;
        keys_from(c, "sender_seed_hex", &id);
        if (json_object_get(c, "inputs")) {
            memset(m, 0, sizeof *m);
            const char *mid = jstr(in, "msg_id_hex");
            assert_int_equal(dmp_hex_decode(mid, strlen(mid), m->msg_id, 16), 0);
            hex32(jstr(in, "sender_spk_hex"), m->sender_spk);
            assert_memory_equal(m->sender_spk, id.ed_pk, 32);
            hex32(jstr(in, "recipient_id_hex"), m->recipient_id);
            m->total_chunks = (uint32_t)jint(in, "total_chunks");
            m->data_chunks = (uint32_t)jint(in, "data_chunks");
            m->prekey_id = (uint32_t)jint(in, "prekey_id");
            m->ts = (uint64_t)jint(in, "ts");
            m->exp = (uint64_t)jint(in, "exp");
            m->has_hashes = false; /* the shipped vectors are legacy 108-byte bodies */
            dmp_buf_t out;
            dmp_buf_init(&out);
            assert_int_equal(dmp_wire_manifest_encode(m, id.ed_sk, &out), 0);
            expect_sign(c, &out);
            dmp_buf_free(&out);
        }
        dmp_buf_t w;
        wire_bytes(c, &w);
        int rc = dmp_wire_manifest_parse(w.data, w.len, NOW_DEFAULT, false, m);
        if (want_none(c)) {
            assert_int_equal(rc, DMP_EWIRE_SIG);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(m->total_chunks, jint(c, "expected_parse_total_chunks"));
            assert_false(m->has_hashes);
            /* a receiver refuses them */
            assert_int_equal(dmp_wire_manifest_parse(w.data, w.len, NOW_DEFAULT, true, m),
                             DMP_EWIRE_NOHASHES);
        }
        dmp_buf_free(&w);
    }
    free(m);
    json_decref(arr);
}

/* ------------------------------------------------------------------ cluster manifest */
static void fill_str(char *dst, size_t *dlen, const char *s)
{
    *dlen = s ? strlen(s) : 0;
    if (s)
        memcpy(dst, s, *dlen);
    dst[*dlen] = '\0';
}

static void check_multi(json_t *c, const dmp_buf_t *w)
{
    json_t *ms = json_object_get(c, "expected_multi_string");
    if (!json_is_true(ms))
        return;
    assert_true(w->len > 255);
    dmp_buf_t rd, back;
    dmp_buf_init(&rd);
    dmp_buf_init(&back);
    assert_int_equal(dmp_wire_txt_split(w->data, w->len, &rd), 0);
    assert_int_equal(rd.data[0], 255);
    assert_int_equal(rd.len, w->len + (w->len + 254) / 255);
    assert_int_equal(dmp_wire_txt_join(rd.data, rd.len, &back), 0);
    assert_int_equal(back.len, w->len);
    assert_memory_equal(back.data, w->data, w->len);
    dmp_buf_free(&rd);
    dmp_buf_free(&back);
}

static void test_vec_cluster(void **state)
{
    (void)state;
    json_t *arr = load("cluster_manifest");
    size_t i;
    json_t *c;
    dmp_wire_cluster_t cm;
    json_array_foreach(arr, i, c)
    {
        json_t *in = inputs_of(arr, c);
        dmp_crypto_identity_t id;
        keys_from(c, "operator_seed_hex", &id);
        uint8_t opk[32];
        hex32(jstr(in, "operator_spk_hex"), opk);
        assert_memory_equal(opk, id.ed_pk, 32);
        if (json_object_get(c, "inputs")) {
            memset(&cm, 0, sizeof cm);
            cm.seq = (uint64_t)jint(in, "seq");
            cm.exp = (uint64_t)jint(in, "exp");
            memcpy(cm.operator_spk, opk, 32);
            fill_str(cm.cluster_name, &cm.cluster_name_len, jstr(in, "cluster_name"));
            json_t *nodes = json_object_get(in, "nodes");
            size_t k;
            json_t *nd;
            json_array_foreach(nodes, k, nd)
            {
                dmp_wire_cluster_node_t *n = &cm.nodes[cm.n_nodes++];
                fill_str(n->node_id, &n->node_id_len, jstr(nd, "node_id"));
                fill_str(n->http_endpoint, &n->http_endpoint_len, jstr(nd, "http_endpoint"));
                fill_str(n->dns_endpoint, &n->dns_endpoint_len, jstr(nd, "dns_endpoint"));
            }
            dmp_buf_t out;
            dmp_buf_init(&out);
            assert_int_equal(dmp_wire_cluster_encode(&cm, id.ed_sk, &out), 0);
            expect_sign(c, &out);
            dmp_buf_free(&out);
        }
        const char *vk = jstr(c, "verify_with_operator_spk_hex");
        uint8_t key[32];
        if (vk)
            hex32(vk, key);
        else
            memcpy(key, opk, 32);
        dmp_buf_t w;
        wire_bytes(c, &w);
        check_multi(c, &w);
        int rc = dmp_wire_cluster_parse(w.data, w.len, key, now_of(c), NULL, &cm);
        if (want_none(c)) {
            assert_int_equal(rc, vk ? DMP_EWIRE_SIG : DMP_EWIRE_EXPIRED);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(cm.cluster_name, jstr(c, "expected_parse_cluster_name"));
            assert_int_equal(cm.seq, jint(c, "expected_parse_seq"));
            assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, key, now_of(c),
                                                    jstr(c, "expected_parse_cluster_name"), &cm),
                             0);
        }
        dmp_buf_free(&w);
    }
    json_decref(arr);
}

/* ------------------------------------------------------------------ bootstrap */
static void test_vec_bootstrap(void **state)
{
    (void)state;
    json_t *arr = load("bootstrap_record");
    size_t i;
    json_t *c;
    dmp_wire_bootstrap_t b;
    json_array_foreach(arr, i, c)
    {
        json_t *in = inputs_of(arr, c);
        dmp_crypto_identity_t id;
        keys_from(c, "signer_seed_hex", &id);
        uint8_t spk[32];
        hex32(jstr(in, "signer_spk_hex"), spk);
        assert_memory_equal(spk, id.ed_pk, 32);
        if (json_object_get(c, "inputs")) {
            memset(&b, 0, sizeof b);
            b.seq = (uint64_t)jint(in, "seq");
            b.exp = (uint64_t)jint(in, "exp");
            memcpy(b.signer_spk, spk, 32);
            fill_str(b.user_domain, &b.user_domain_len, jstr(in, "user_domain"));
            size_t k;
            json_t *e;
            json_array_foreach(json_object_get(in, "entries"), k, e)
            {
                dmp_wire_bootstrap_entry_t *en = &b.entries[b.n_entries++];
                en->priority = (uint16_t)jint(e, "priority");
                fill_str(en->cluster_base_domain, &en->base_len, jstr(e, "cluster_base_domain"));
                hex32(jstr(e, "operator_spk_hex"), en->operator_spk);
            }
            dmp_buf_t out;
            dmp_buf_init(&out);
            assert_int_equal(dmp_wire_bootstrap_encode(&b, id.ed_sk, &out), 0);
            expect_sign(c, &out);
            dmp_buf_free(&out);
        }
        const char *vk = jstr(c, "verify_with_signer_spk_hex");
        uint8_t key[32];
        if (vk)
            hex32(vk, key);
        else
            memcpy(key, spk, 32);
        dmp_buf_t w;
        wire_bytes(c, &w);
        check_multi(c, &w);
        int rc = dmp_wire_bootstrap_parse(w.data, w.len, key, now_of(c), NULL, &b);
        if (want_none(c)) {
            assert_int_equal(rc, vk ? DMP_EWIRE_SIG : DMP_EWIRE_EXPIRED);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(b.user_domain, jstr(c, "expected_parse_user_domain"));
            assert_int_equal(b.seq, jint(c, "expected_parse_seq"));
            assert_int_equal(b.n_entries, json_array_size(json_object_get(in, "entries")));
        }
        dmp_buf_free(&w);
    }
    json_decref(arr);
}

/* ------------------------------------------------------------------ rotation */
static void test_vec_rotation(void **state)
{
    (void)state;
    json_t *arr = load("rotation_record");
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        json_t *in = inputs_of(arr, c);
        dmp_crypto_identity_t oid, nid;
        keys_from(c, "old_seed_hex", &oid);
        keys_from(c, "new_seed_hex", &nid);
        dmp_wire_rotation_t r;
        memset(&r, 0, sizeof r);
        r.subject_type = (uint8_t)jint(in, "subject_type");
        fill_str(r.subject, &r.subject_len, jstr(in, "subject"));
        hex32(jstr(in, "old_spk_hex"), r.old_spk);
        hex32(jstr(in, "new_spk_hex"), r.new_spk);
        assert_memory_equal(r.old_spk, oid.ed_pk, 32);
        assert_memory_equal(r.new_spk, nid.ed_pk, 32);
        r.seq = (uint64_t)jint(in, "seq");
        r.ts = (uint64_t)jint(in, "ts");
        r.exp = (uint64_t)jint(in, "exp");
        if (json_object_get(c, "inputs")) {
            dmp_buf_t out;
            dmp_buf_init(&out);
            assert_int_equal(dmp_wire_rotation_encode(&r, oid.ed_sk, nid.ed_sk, &out), 0);
            expect_sign(c, &out);
            dmp_buf_free(&out);
        }
        dmp_buf_t w;
        wire_bytes(c, &w);
        dmp_wire_rotation_t got;
        int rc = dmp_wire_rotation_parse(w.data, w.len, now_of(c), NULL, NULL, 0, &got);
        if (want_none(c)) {
            assert_int_equal(rc, json_object_get(c, "inputs") ? DMP_EWIRE_EXPIRED : DMP_EWIRE_SIG);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(got.subject, jstr(c, "expected_parse_subject"));
            assert_int_equal(got.seq, jint(c, "expected_parse_seq"));
            assert_int_equal(dmp_wire_rotation_parse(w.data, w.len, now_of(c), oid.ed_pk,
                                                     got.subject, got.subject_len, &got),
                             0);
        }
        dmp_buf_free(&w);
    }
    json_decref(arr);
}

/* ------------------------------------------------------------------ revocation */
static void test_vec_revocation(void **state)
{
    (void)state;
    json_t *arr = load("revocation_record");
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        json_t *in = inputs_of(arr, c);
        dmp_crypto_identity_t id;
        keys_from(c, "revoked_seed_hex", &id);
        if (json_object_get(c, "inputs")) {
            dmp_wire_revocation_t r;
            memset(&r, 0, sizeof r);
            r.subject_type = (uint8_t)jint(in, "subject_type");
            fill_str(r.subject, &r.subject_len, jstr(in, "subject"));
            hex32(jstr(in, "revoked_spk_hex"), r.revoked_spk);
            assert_memory_equal(r.revoked_spk, id.ed_pk, 32);
            r.reason_code = (uint8_t)jint(in, "reason_code");
            r.ts = (uint64_t)jint(in, "ts");
            dmp_buf_t out;
            dmp_buf_init(&out);
            assert_int_equal(dmp_wire_revocation_encode(&r, id.ed_sk, &out), 0);
            expect_sign(c, &out);
            dmp_buf_free(&out);
        }
        const char *ek = jstr(c, "verify_with_expected_revoked_spk_hex");
        uint8_t ekey[32];
        if (ek)
            hex32(ek, ekey);
        json_t *ma = json_object_get(c, "verify_with_max_age_seconds");
        int64_t max_age = json_is_integer(ma) ? (int64_t)json_integer_value(ma) : -1;
        dmp_buf_t w;
        wire_bytes(c, &w);
        dmp_wire_revocation_t got;
        int rc = dmp_wire_revocation_parse(w.data, w.len, now_of(c), ek ? ekey : NULL, NULL, 0,
                                           max_age, &got);
        if (want_none(c)) {
            assert_int_equal(rc, ek ? DMP_EWIRE_SIGNER : DMP_EWIRE_STALE);
            if (max_age >= 0) /* permanent by default: accepted without the cap */
                assert_int_equal(
                    dmp_wire_revocation_parse(w.data, w.len, now_of(c), NULL, NULL, 0, -1, &got),
                    0);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(got.subject, jstr(c, "expected_parse_subject"));
            assert_int_equal(got.reason_code, jint(c, "expected_parse_reason_code"));
        }
        dmp_buf_free(&w);
    }
    json_decref(arr);
}

int main(void)
{
    struct stat st;
    char p[512];
    snprintf(p, sizeof p, "%s/vectors", DMP_SHARED_DIR);
    if (stat(p, &st) != 0) {
        printf("SKIP: %s absent; vector tests need the shared folder\n", p);
        return 77;
    }
    if (dmp_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vec_identity),   cmocka_unit_test(test_vec_prekey),
        cmocka_unit_test(test_vec_manifest),   cmocka_unit_test(test_vec_cluster),
        cmocka_unit_test(test_vec_bootstrap),  cmocka_unit_test(test_vec_rotation),
        cmocka_unit_test(test_vec_revocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
