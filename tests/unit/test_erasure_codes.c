/* Unit tests for src/erasure's codes: zfec-compatible k-of-n (parameters, rows, every subset)
 * and reedsolo-compatible RS(160,128) (known answers, vectors, random and excess errors, first
 * use from many threads), with the RS tests run again on the portable RS path. The vector test
 * reads ../shared/vectors/pipeline.json and skips when it is absent. */
#include "erasure_harness.h"

/* ---------- own known answers (reference client.md Appendix A/B) ---------- */

static void test_choose_kn(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        uint32_t k, n;
    } t[] = {{0, 1, 2},        {124, 1, 2},       {125, 2, 3},       {252, 2, 3},
             {253, 3, 4},      {369, 3, 4},       {1000, 8, 11},     {2000, 16, 21},
             {10000, 79, 103}, {20000, 157, 205}, {25080, 196, 255}, {25084, 196, 255}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint32_t k = 0, n = 0;
        assert_int_equal(dmp_erasure_choose_kn(t[i].len, &k, &n), 0);
        assert_int_equal(k, t[i].k);
        assert_int_equal(n, t[i].n);
    }
    uint32_t k, n;
    assert_int_equal(dmp_erasure_choose_kn(25085, &k, &n), DMP_ETOOBIG);
    assert_int_equal(dmp_erasure_choose_kn(25600, &k, &n), DMP_ETOOBIG);
    /* ceil(k*0.3) == ceil(3k/10) over every valid k */
    for (size_t len = 0; len <= DMP_ERASURE_MAX_MSG_LEN; len += 128) {
        assert_int_equal(dmp_erasure_choose_kn(len, &k, &n), 0);
        uint32_t p = (uint32_t)__builtin_ceil(k * 0.3);
        assert_int_equal(n, k + (p ? p : 1));
    }
}

static void test_fec_rows(void **state)
{
    (void)state;
    uint8_t row[256];
    assert_int_equal(dmp_erasure_fec_row(1, 1, row), 0);
    assert_int_equal(row[0], 1);
    assert_int_equal(dmp_erasure_fec_row(2, 2, row), 0);
    assert_int_equal(row[0], 3);
    assert_int_equal(row[1], 2);
    assert_int_equal(dmp_erasure_fec_row(3, 3, row), 0);
    assert_int_equal(row[0], 15);
    assert_int_equal(row[1], 8);
    assert_int_equal(row[2], 6);
    assert_int_equal(dmp_erasure_fec_row(3, 1, row), 0); /* systematic: unit row */
    assert_int_equal(row[0], 0);
    assert_int_equal(row[1], 1);
    assert_int_equal(row[2], 0);
    assert_int_equal(dmp_erasure_fec_row(0, 0, row), DMP_EERASURE_PARAM);
    assert_int_equal(dmp_erasure_fec_row(3, 256, row), DMP_EERASURE_PARAM);
    assert_int_equal(dmp_erasure_fec_row(257, 0, row), DMP_EERASURE_PARAM);
}

static void test_rs_known_answer(void **state)
{
    (void)state;
    uint8_t block[128], parity[32], wire[168];
    for (int i = 0; i < 128; i++)
        block[i] = (uint8_t)i;
    assert_int_equal(dmp_erasure_rs_encode(block, 128, parity), 0);
    assert_hex_equal(parity, 32,
                     "c1b13256c52283a89aaa18220186766121c15b5a1148ec9c8062880a13ab7f2d");
    dmp_erasure_chunk_wrap(block, wire);
    assert_hex_equal(wire, 8, "471fb943aa23c511");
    char txt[242];
    assert_int_equal(dmp_erasure_chunk_txt_encode(wire, txt, sizeof txt), 0);
    assert_string_equal(
        txt, "v=dmp1;t=chunk;d=Rx+5Q6ojxREAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCk"
             "qKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2h"
             "pamtsbW5vcHFyc3R1dnd4eXp7fH1+f8GxMlbFIoOomqoYIgGGdmEhwVtaEUjsnIBiiAoTq38t");
    assert_int_equal(strlen(txt), DMP_ERASURE_CHUNK_TXT_LEN);
    /* generator polynomial: the parity of x^0 (block = 0..0 1) is g(x) mod-reduced form;
     * check g itself through the codeword 1 || g[1..32] being valid */
    uint8_t g[33];
    assert_int_equal(dmp_hex_decode("01744034ae367e10c2a221219db0c5e10c3b37fde4942fb3b9188afd148e3"
                                    "7ac58",
                                    66, g, 33),
                     0);
    uint8_t one = 1, p1[32];
    assert_int_equal(dmp_erasure_rs_encode(&one, 1, p1), 0);
    assert_memory_equal(p1, g + 1, 32);
    /* odd lengths and the full 223-byte message */
    uint8_t m[223], cw[255];
    rnd_fill(m, sizeof m);
    for (size_t len = 1; len <= 223; len += 37) {
        memcpy(cw, m, len);
        assert_int_equal(dmp_erasure_rs_encode(m, len, cw + len), 0);
        cw[0] ^= 0x55;
        cw[len + 31] ^= 0x01;
        int fixed = -1;
        assert_int_equal(dmp_erasure_rs_decode(cw, len + 32, &fixed), 0);
        assert_int_equal(fixed, 2);
        assert_memory_equal(cw, m, len);
    }
    assert_int_equal(dmp_erasure_rs_encode(m, 224, parity), DMP_EINVAL);
    assert_int_equal(dmp_erasure_rs_decode(cw, 32, NULL), DMP_EINVAL);
    assert_int_equal(dmp_erasure_rs_decode(cw, 256, NULL), DMP_EINVAL);
}

/* ---------- pipeline.json ---------- */

static void test_rs_vectors(void **state)
{
    (void)state;
    json_t *root = load_vectors();
    if (root == NULL) {
        skip();
        return;
    }
    json_t *cases = json_object_get(root, "rs_cases");
    assert_int_equal(json_array_size(cases), 24);
    size_t idx;
    json_t *c;
    int n_ok = 0, n_fail = 0;
    json_array_foreach(cases, idx, c)
    {
        size_t bl, pl, rl;
        uint8_t *block = unhex(json_string_value(json_object_get(c, "block_hex")), &bl);
        uint8_t *par = unhex(json_string_value(json_object_get(c, "parity_hex")), &pl);
        uint8_t *recv = unhex(json_string_value(json_object_get(c, "received_hex")), &rl);
        assert_int_equal(bl, 128);
        assert_int_equal(pl, 32);
        assert_int_equal(rl, 160);
        int errors = (int)json_integer_value(json_object_get(c, "errors"));
        const char *outcome = json_string_value(json_object_get(c, "reference_outcome"));
        int unwrap_ok = json_is_true(json_object_get(c, "chunk_unwrap_ok"));

        uint8_t p[32];
        assert_int_equal(dmp_erasure_rs_encode(block, 128, p), 0);
        assert_memory_equal(p, par, 32);
        int diff = 0;
        for (int i = 0; i < 128; i++)
            diff += block[i] != recv[i];
        for (int i = 0; i < 32; i++)
            diff += par[i] != recv[128 + i];
        assert_int_equal(diff, errors);

        uint8_t cw[160];
        memcpy(cw, recv, 160);
        int fixed = -1;
        int rc = dmp_erasure_rs_decode(cw, 160, &fixed);
        if (strcmp(outcome, "decoded") == 0) {
            assert_int_equal(rc, 0);
            assert_int_equal(fixed, errors);
            assert_memory_equal(cw, block, 128);
            assert_memory_equal(cw + 128, par, 32);
            n_ok++;
        } else {
            assert_string_equal(outcome, "uncorrectable");
            assert_int_equal(rc, DMP_EERASURE_RS);
            assert_memory_equal(cw, recv, 160); /* left unchanged */
            n_fail++;
        }
        uint8_t wire[168], out[128];
        uint8_t h[32];
        crypto_hash_sha256(h, block, 128);
        memcpy(wire, h, 8);
        memcpy(wire + 8, recv, 160);
        rc = dmp_erasure_chunk_unwrap(wire, 168, out);
        assert_int_equal(rc == 0, unwrap_ok);
        if (rc == 0)
            assert_memory_equal(out, block, 128);
        free(block);
        free(par);
        free(recv);
    }
    assert_int_equal(n_ok, 16);
    assert_int_equal(n_fail, 8);
    json_decref(root);
}

/* ---------- behaviour ---------- */

static void test_rs_random_errors(void **state)
{
    (void)state;
    for (int trial = 0; trial < 40; trial++) {
        for (int e = 0; e <= 32; e++) {
            uint8_t block[128], cw[160], orig[160];
            rnd_fill(block, 128);
            memcpy(cw, block, 128);
            assert_int_equal(dmp_erasure_rs_encode(block, 128, cw + 128), 0);
            memcpy(orig, cw, 160);
            uint8_t hit[160] = {0};
            for (int i = 0; i < e;) {
                uint32_t p = rnd() % 160;
                if (hit[p])
                    continue;
                hit[p] = 1;
                cw[p] ^= (uint8_t)(1 + rnd() % 255);
                i++;
            }
            uint8_t bad[160];
            memcpy(bad, cw, 160);
            int fixed = -1;
            int rc = dmp_erasure_rs_decode(cw, 160, &fixed);
            if (e <= 16) {
                assert_int_equal(rc, 0);
                assert_int_equal(fixed, e);
                assert_memory_equal(cw, orig, 160);
            } else {
                /* beyond capacity: reported, and the input is left as it was */
                assert_int_equal(rc, DMP_EERASURE_RS);
                assert_memory_equal(cw, bad, 160);
            }
        }
    }
}

/* Beyond 16 errors the received word can lie within 16 of ANOTHER codeword; then every bounded-
 * distance decoder, reedsolo included, returns that codeword (it is unique), and only the chunk
 * checksum catches it. Build one: c2 = c1 + c_g, c_g = g(x) (weight 33), received = c1 + 17 of
 * c_g's symbols (17 from c1, 16 from c2). */
static void test_rs_beyond_capacity_nearest(void **state)
{
    (void)state;
    uint8_t block[128], c1[160], cg[160] = {0}, recv[160];
    rnd_fill(block, 128);
    memcpy(c1, block, 128);
    assert_int_equal(dmp_erasure_rs_encode(block, 128, c1 + 128), 0);
    uint8_t unit[128] = {0};
    unit[127] = 1;
    memcpy(cg, unit, 128);
    assert_int_equal(dmp_erasure_rs_encode(unit, 128, cg + 128), 0);
    int w = 0;
    for (int i = 0; i < 160; i++)
        w += cg[i] != 0;
    assert_int_equal(w, 33); /* minimum distance n-k+1 */
    memcpy(recv, c1, 160);
    int flipped = 0;
    for (int i = 127; i < 160 && flipped < 17; i++, flipped++)
        recv[i] ^= cg[i];
    uint8_t cw[160];
    memcpy(cw, recv, 160);
    int fixed = -1;
    assert_int_equal(dmp_erasure_rs_decode(cw, 160, &fixed), 0);
    assert_int_equal(fixed, 16);
    for (int i = 0; i < 160; i++)
        assert_int_equal(cw[i], c1[i] ^ cg[i]);
    /* the chunk layer rejects it: the checksum is over the original block */
    uint8_t wire[168], h[32], out[128];
    crypto_hash_sha256(h, block, 128);
    memcpy(wire, h, 8);
    memcpy(wire + 8, recv, 160);
    assert_int_equal(dmp_erasure_chunk_unwrap(wire, 168, out), DMP_EERASURE_CHECKSUM);
    /* 16 of c_g's symbols: now 16 from c1, 17 from c2: corrected back to c1 */
    memcpy(cw, c1, 160);
    for (int i = 127; i < 143; i++)
        cw[i] ^= cg[i];
    assert_int_equal(dmp_erasure_rs_decode(cw, 160, &fixed), 0);
    assert_memory_equal(cw, c1, 160);
}

static void check_subsets_len(uint32_t k, uint32_t n, size_t len)
{
    uint8_t *buf = malloc((size_t)n * len);
    assert_non_null(buf);
    rnd_fill(buf, (size_t)k * len);
    const uint8_t *data[256];
    uint8_t *par[256];
    for (uint32_t j = 0; j < k; j++)
        data[j] = buf + j * len;
    for (uint32_t r = k; r < n; r++)
        par[r - k] = buf + r * len;
    assert_int_equal(dmp_erasure_fec_encode(k, n, len, data, par), 0);
    /* parity really is E * data */
    uint8_t row[256];
    for (uint32_t r = k; r < n; r++) {
        assert_int_equal(dmp_erasure_fec_row(k, r, row), 0);
        for (size_t b = 0; b < len; b += 13) {
            uint8_t acc = 0;
            for (uint32_t j = 0; j < k; j++) {
                uint8_t x = row[j], y = data[j][b], prod = 0;
                while (y) {
                    if (y & 1)
                        prod ^= x;
                    x = (uint8_t)((x << 1) ^ ((x & 0x80) ? 0x1d : 0));
                    y >>= 1;
                }
                acc ^= prod;
            }
            assert_int_equal(acc, buf[r * len + b]);
        }
    }
    uint8_t *out = malloc((size_t)k * len);
    assert_non_null(out);
    uint8_t *outp[256];
    for (uint32_t j = 0; j < k; j++)
        outp[j] = out + j * len;
    unsigned subsets = 0;
    for (uint32_t mask = 0; mask < (1u << n); mask++) {
        if ((uint32_t)__builtin_popcount(mask) != k)
            continue;
        uint32_t ids[256];
        const uint8_t *sh[256];
        uint32_t m = 0;
        for (uint32_t i = n; i-- > 0;) { /* reversed order: decode must not care */
            if (mask & (1u << i)) {
                ids[m] = i;
                sh[m++] = buf + i * len;
            }
        }
        memset(out, 0xEE, (size_t)k * len);
        assert_int_equal(dmp_erasure_fec_decode(k, n, len, ids, sh, m, outp), 0);
        assert_memory_equal(out, buf, (size_t)k * len);
        subsets++;
    }
    assert_true(subsets > 0);
    free(out);
    free(buf);
}

static void check_subsets(uint32_t k, uint32_t n)
{
    check_subsets_len(k, n, 131); /* not a multiple of the SIMD width */
}

static void test_every_subset(void **state)
{
    (void)state;
    static const size_t lens[] = {1, 5, 16, 31, 64, 200, 1000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        check_subsets_len(4, 7, lens[i]);
    check_subsets(1, 2);
    check_subsets(3, 4);
    check_subsets(4, 7);
    check_subsets(6, 10);
    check_subsets(5, 12);
}

static void test_bad_params(void **state)
{
    (void)state;
    uint8_t a[128] = {0}, b[128] = {0}, c[128] = {0};
    const uint8_t *data[3] = {a, b, c};
    uint8_t *par[3] = {a, b, c};
    assert_int_equal(dmp_erasure_fec_encode(0, 2, 128, data, par), DMP_EERASURE_PARAM);
    assert_int_equal(dmp_erasure_fec_encode(3, 2, 128, data, par), DMP_EERASURE_PARAM);
    assert_int_equal(dmp_erasure_fec_encode(2, 257, 128, data, par), DMP_EERASURE_PARAM);
    assert_int_equal(dmp_erasure_fec_encode(2, 3, 128, NULL, par), DMP_EERASURE_PARAM);
    assert_int_equal(dmp_erasure_fec_encode(2, 2, 128, data, NULL), 0); /* no parity */

    uint32_t ids[3] = {0, 0, 1};
    const uint8_t *sh[3] = {a, b, c};
    uint8_t o1[128], o2[128];
    uint8_t *outp[2] = {o1, o2};
    assert_int_equal(dmp_erasure_fec_decode(2, 3, 128, ids, sh, 3, outp), DMP_EERASURE_DUPSHARE);
    ids[1] = 5;
    assert_int_equal(dmp_erasure_fec_decode(2, 3, 128, ids, sh, 3, outp), DMP_EERASURE_PARAM);
    ids[1] = 2;
    assert_int_equal(dmp_erasure_fec_decode(2, 3, 128, ids, sh, 1, outp), DMP_EERASURE_SHARES);
    assert_int_equal(dmp_erasure_fec_decode(0, 3, 128, ids, sh, 3, outp), DMP_EERASURE_PARAM);
    assert_int_equal(dmp_erasure_fec_decode(4, 3, 128, ids, sh, 3, outp), DMP_EERASURE_PARAM);
    assert_int_equal(dmp_erasure_fec_decode(2, 300, 128, ids, sh, 3, outp), DMP_EERASURE_PARAM);
    assert_int_equal(dmp_erasure_fec_decode(2, 3, 128, ids, sh, 3, outp), 0);

    dmp_buf_t out;
    dmp_buf_init(&out);
    uint8_t shares[3 * 128] = {0};
    uint32_t sids[3] = {0, 1, 2};
    assert_int_equal(dmp_erasure_decode_shares(2, 3, sids, shares, 1, &out), DMP_EERASURE_SHARES);
    sids[1] = 0;
    assert_int_equal(dmp_erasure_decode_shares(2, 3, sids, shares, 2, &out), DMP_EERASURE_DUPSHARE);
    sids[1] = 1;
    dmp_store_u32be(shares, 253); /* capacity 2*128-4 = 252 */
    assert_int_equal(dmp_erasure_decode_shares(2, 3, sids, shares, 2, &out), DMP_EERASURE_LENGTH);
    dmp_store_u32be(shares, 252);
    assert_int_equal(dmp_erasure_decode_shares(2, 3, sids, shares, 2, &out), 0);
    assert_int_equal(out.len, 252);
    dmp_buf_free(&out);

    uint32_t k, n;
    uint8_t *sp = NULL;
    static uint8_t big[30000];
    assert_int_equal(dmp_erasure_encode_shares(big, 25085, &k, &n, &sp), DMP_ETOOBIG);
    assert_null(sp);
    dmp_erasure_chunks_t ch;
    assert_int_equal(dmp_erasure_encode_message(big, 25600, &ch), DMP_ETOOBIG);
    assert_null(ch.txt);
    assert_int_equal(dmp_erasure_decode_message(0, 2, NULL, 0, NULL, &out), DMP_EERASURE_PARAM);
    assert_int_equal(dmp_erasure_decode_message(3, 2, NULL, 0, NULL, &out), DMP_EERASURE_PARAM);
    assert_int_equal(dmp_erasure_decode_message(3, 257, NULL, 0, NULL, &out), DMP_EERASURE_PARAM);
    assert_int_equal(dmp_erasure_decode_message(3, 4, NULL, 0, NULL, &out), DMP_EERASURE_SHARES);

    uint8_t wire[168], blk[128];
    assert_int_equal(dmp_erasure_chunk_unwrap(wire, 167, blk), DMP_EERASURE_PARAM);
    assert_int_equal(dmp_erasure_chunk_unwrap(wire, 8, blk), DMP_EERASURE_PARAM);
    assert_string_equal(dmp_erasure_strerror(DMP_EERASURE_RS),
                        "Reed-Solomon: too many errors to correct");
    assert_string_equal(dmp_erasure_strerror(DMP_EINVAL), dmp_strerror(DMP_EINVAL));
}

/* Many threads hit an uncached k at once: every one must get the same, correct parity. */
#define CONC_THREADS 6

typedef struct {
    uint32_t k, n;
    const uint8_t *msg;
    size_t len;
    uint8_t *shares;
    int rc;
} conc_arg_t;

static void *conc_worker(void *p)
{
    conc_arg_t *a = p;
    uint32_t k, n;
    a->rc = dmp_erasure_encode_shares(a->msg, a->len, &k, &n, &a->shares);
    a->k = k;
    a->n = n;
    return NULL;
}

static void test_concurrent_first_use(void **state)
{
    (void)state;
    static uint8_t msg[18000];
    rnd_fill(msg, sizeof msg);
    pthread_t th[CONC_THREADS];
    conc_arg_t args[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].msg = msg;
        args[i].len = sizeof msg; /* k = 141: used by no other test */
        assert_int_equal(pthread_create(&th[i], NULL, conc_worker, &args[i]), 0);
    }
    for (int i = 0; i < CONC_THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < CONC_THREADS; i++) {
        assert_int_equal(args[i].rc, 0);
        assert_int_equal(args[i].k, 141);
        assert_int_equal(args[i].n, 141 + 43);
        assert_memory_equal(args[i].shares, args[0].shares, (size_t)args[0].n * 128);
    }
    /* and the parity decodes: drop the first 43 data shares */
    uint32_t ids[141];
    for (uint32_t i = 0; i < 141; i++)
        ids[i] = 43 + i;
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_erasure_decode_shares(141, 184, ids, args[0].shares + 43 * 128, 141, &out),
                     0);
    assert_int_equal(out.len, sizeof msg);
    assert_memory_equal(out.data, msg, sizeof msg);
    dmp_buf_free(&out);
    for (int i = 0; i < CONC_THREADS; i++)
        free(args[i].shares);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choose_kn),
        cmocka_unit_test(test_fec_rows),
        cmocka_unit_test(test_rs_known_answer),
        cmocka_unit_test(test_rs_vectors),
        cmocka_unit_test(test_rs_random_errors),
        cmocka_unit_test(test_rs_beyond_capacity_nearest),
        cmocka_unit_test(test_concurrent_first_use),
        cmocka_unit_test(test_every_subset),
        cmocka_unit_test(test_bad_params),
    };
    const struct CMUnitTest generic[] = {
        cmocka_unit_test(test_rs_known_answer),
        cmocka_unit_test(test_rs_vectors),
        cmocka_unit_test(test_rs_random_errors),
        cmocka_unit_test(test_rs_beyond_capacity_nearest),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    failed +=
        cmocka_run_group_tests_name("portable RS path", generic, setup_generic, teardown_generic);
    return failed;
}
