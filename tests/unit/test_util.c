/* Unit tests for src/util. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/util.h"

struct b64case {
    const char *in;
    int strict_ok;
    const char *strict_out;
    int lax_ok;
    const char *lax_out;
};

/* Accept sets measured against CPython 3.11 b64decode(validate=True/False). */
static const struct b64case b64cases[] = {
    {"QQ==", 1, "A", 1, "A"},
    {"QR==", 1, "A", 1, "A"},
    {"QQ", 0, NULL, 0, NULL},
    {"QQ=", 0, NULL, 0, NULL},
    {"QUJD====", 1, "ABC", 1, "ABC"},
    {"QQ==QQ==", 0, NULL, 1, "A"},
    {"QUI=QUJD", 0, NULL, 1, "AB"},
    {"Q=Q==", 0, NULL, 1, "A"},
    {"QU=I=", 0, NULL, 1, "AB"},
    {"QUJD=", 1, "ABC", 1, "ABC"},
    {"Q Q==", 0, NULL, 1, "A"},
    {"QQ==\n", 0, NULL, 1, "A"},
    {"=QQ==", 0, NULL, 1, "A"},
    {"QQ===", 0, NULL, 1, "A"},
    {"", 1, "", 1, ""},
    {"QUJD", 1, "ABC", 1, "ABC"},
    {"Q", 0, NULL, 0, NULL},
    {"QUJDRA==", 1, "ABCD", 1, "ABCD"},
};

static void check_mode(const char *in, dmp_b64_mode_t mode, int ok, const char *want)
{
    dmp_buf_t b;
    dmp_buf_init(&b);
    int rc = dmp_b64_decode(in, strlen(in), mode, &b);
    if (ok) {
        assert_int_equal(rc, 0);
        assert_int_equal(b.len, strlen(want));
        if (b.len)
            assert_memory_equal(b.data, want, b.len);
    } else {
        assert_int_equal(rc, DMP_EBASE64);
        assert_int_equal(b.len, 0);
    }
    dmp_buf_free(&b);
}

static void test_b64_modes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(b64cases) / sizeof(b64cases[0]); i++) {
        const struct b64case *c = &b64cases[i];
        print_message("case %zu: %s\n", i, c->in);
        check_mode(c->in, DMP_B64_STRICT, c->strict_ok, c->strict_out);
        check_mode(c->in, DMP_B64_LAX, c->lax_ok, c->lax_out);
    }
}

static void test_b64_roundtrip(void **state)
{
    (void)state;
    uint8_t data[300];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 3);
    for (size_t n = 0; n < sizeof(data); n += 13) {
        char enc[420];
        assert_int_equal(dmp_b64_encode(data, n, enc, sizeof(enc)), 0);
        assert_int_equal(strlen(enc), dmp_b64_encoded_len(n));
        dmp_buf_t b;
        dmp_buf_init(&b);
        assert_int_equal(dmp_b64_decode(enc, strlen(enc), DMP_B64_STRICT, &b), 0);
        assert_int_equal(b.len, n);
        if (n)
            assert_memory_equal(b.data, data, n);
        dmp_buf_free(&b);
    }
    char small[4];
    assert_int_equal(dmp_b64_encode(data, 3, small, sizeof(small)), DMP_ETOOBIG);
}

static void test_hex(void **state)
{
    (void)state;
    uint8_t in[3] = {0x00, 0xab, 0xff}, out[3];
    char h[7];
    assert_int_equal(dmp_hex_encode(in, 3, h, sizeof(h)), 0);
    assert_string_equal(h, "00abff");
    assert_int_equal(dmp_hex_decode("00ABff", 6, out, 3), 0);
    assert_memory_equal(in, out, 3);
    assert_int_equal(dmp_hex_decode("00abf", 5, out, 3), DMP_EHEX);
    assert_int_equal(dmp_hex_decode("00abfg", 6, out, 3), DMP_EHEX);
    assert_int_equal(dmp_hex_encode(in, 3, h, 6), DMP_ETOOBIG);
}

static void test_reader(void **state)
{
    (void)state;
    const uint8_t b[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    dmp_rd_t r;
    dmp_rd_init(&r, b, sizeof(b));
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    assert_int_equal(dmp_rd_u8(&r, &u8), 0);
    assert_int_equal(u8, 1);
    assert_int_equal(dmp_rd_u16(&r, &u16), 0);
    assert_int_equal(u16, 0x0203);
    assert_int_equal(dmp_rd_u32(&r, &u32), 0);
    assert_int_equal(u32, 0x04050607);
    const uint8_t *bp;
    assert_int_equal(dmp_rd_bytes(&r, 9, &bp), DMP_ETRUNC); /* 8 left */
    assert_int_equal(dmp_rd_left(&r), 8);
    assert_int_equal(dmp_rd_u64(&r, &u64), 0);
    assert_true(u64 == 0x08090a0b0c0d0e0fULL);
    assert_int_equal(dmp_rd_u8(&r, &u8), DMP_ETRUNC);
}

static void test_buf_and_arena(void **state)
{
    (void)state;
    dmp_buf_t b;
    dmp_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(dmp_buf_append_u32be(&b, (uint32_t)i), 0);
    assert_int_equal(b.len, 4000);
    assert_int_equal(dmp_load_u32be(b.data + 4 * 999), 999);
    dmp_buf_free_secret(&b);
    assert_null(b.data);

    dmp_arena_t a;
    dmp_arena_init(&a, 128);
    for (int i = 0; i < 100; i++) {
        uint8_t *p = dmp_arena_alloc(&a, (size_t)i + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xaa, (size_t)i + 1);
    }
    assert_non_null(dmp_arena_alloc(&a, 10000));
    dmp_arena_reset(&a);
    assert_non_null(dmp_arena_alloc(&a, 8));
    dmp_arena_free(&a);
}

static void test_parse(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(dmp_parse_i64(" 42 ", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(dmp_parse_i64("42x", 0, 100, &v), DMP_EINVAL);
    assert_int_equal(dmp_parse_i64("", 0, 100, &v), DMP_EINVAL);
    assert_int_equal(dmp_parse_i64("101", 0, 100, &v), DMP_ERANGE);
    assert_int_equal(dmp_parse_i64("99999999999999999999999", 0, 100, &v), DMP_ERANGE);
    double d;
    assert_int_equal(dmp_parse_double("2.5", 0, 10, &d), 0);
    assert_true(d == 2.5);
    assert_int_equal(dmp_parse_double("nan", 0, 10, &d), DMP_EINVAL);
    bool bo;
    assert_int_equal(dmp_parse_bool("YES", &bo), 0);
    assert_true(bo);
    assert_int_equal(dmp_parse_bool("off", &bo), 0);
    assert_false(bo);
    assert_int_equal(dmp_parse_bool("maybe", &bo), DMP_EINVAL);
    dmp_log_level_t l;
    assert_int_equal(dmp_log_level_parse("WARNING", &l), 0);
    assert_int_equal(l, DMP_LOG_WARN);
    assert_int_equal(dmp_log_level_parse("loud", &l), DMP_EINVAL);
}

static void test_py_text(void **state)
{
    (void)state;
    const char *in = " \t\x1c abc \x1f\r\n\v\f";
    const uint8_t *p = (const uint8_t *)in;
    size_t n = strlen(in);
    dmp_py_strip(&p, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(p, "abc", 3);
    assert_false(dmp_py_space(0x1b));
    assert_false(dmp_py_space(0xa0)); /* not ASCII: never stripped here */
    p = (const uint8_t *)"   ";
    n = 3;
    dmp_py_strip(&p, &n);
    assert_int_equal(n, 0);

    uint8_t val[600];
    memset(val, 'x', sizeof val);
    dmp_buf_t rd;
    dmp_buf_init(&rd);
    assert_int_equal(dmp_txt_split(val, 600, &rd), 0);
    assert_int_equal(rd.len, 603);
    assert_int_equal(rd.data[0], 255);
    assert_int_equal(rd.data[256], 255);
    assert_int_equal(rd.data[512], 90);
    rd.len = 0;
    assert_int_equal(dmp_txt_split(val, 0, &rd), 0);
    assert_int_equal(rd.len, 1);
    assert_int_equal(rd.data[0], 0);
    assert_int_equal(dmp_txt_split(NULL, 3, &rd), DMP_EINVAL);
    dmp_buf_free(&rd);
}

static void test_clock_and_ct(void **state)
{
    (void)state;
    int64_t t = 1234567;
    dmp_clock_t c = dmp_clock_fixed(&t);
    assert_int_equal(dmp_clock_now_ms(&c), 1234567);
    t = 5000;
    assert_int_equal(dmp_clock_now_s(&c), 5);
    dmp_clock_t s = dmp_clock_system();
    assert_true(dmp_clock_now_s(&s) > 1700000000);
    assert_true(dmp_ct_equal("abc", 3, "abc", 3));
    assert_false(dmp_ct_equal("abc", 3, "abd", 3));
    assert_false(dmp_ct_equal("abc", 3, "abcd", 4));
    assert_string_equal(dmp_strerror(DMP_ESIG), "bad signature");
}

/* The log limiter: one line per interval, the next one reporting how many were left out. */
static void test_log_limit(void **state)
{
    (void)state;
    static dmp_log_limit_t l = DMP_LOG_LIMIT_INIT(1000);
    uint64_t more = 99;
    assert_true(dmp_log_limit_pass(&l, 5000, &more));
    assert_int_equal(more, 0);
    for (int i = 0; i < 7; i++)
        assert_false(dmp_log_limit_pass(&l, 5000 + 100 * i, &more));
    assert_false(dmp_log_limit_pass(&l, 5999, NULL));
    assert_true(dmp_log_limit_pass(&l, 6000, &more));
    assert_int_equal(more, 8);
    assert_true(dmp_log_limit_pass(&l, 9000, &more)); /* quiet meanwhile: nothing left out */
    assert_int_equal(more, 0);
    /* below the level: nothing counted, nothing written */
    dmp_log_level_t old = dmp_log_get_level();
    dmp_log_set_level(DMP_LOG_ERROR);
    static dmp_log_limit_t q = DMP_LOG_LIMIT_INIT(1000);
    dmp_log_limited(&q, DMP_LOG_INFO, "not written %d", 1);
    assert_int_equal(atomic_load(&q.suppressed), 0);
    assert_int_equal(atomic_load(&q.next_ms), 0);
    dmp_log_set_level(old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_modes), cmocka_unit_test(test_b64_roundtrip),
        cmocka_unit_test(test_hex),       cmocka_unit_test(test_reader),
        cmocka_unit_test(test_log_limit), cmocka_unit_test(test_buf_and_arena),
        cmocka_unit_test(test_parse),     cmocka_unit_test(test_clock_and_ct),
        cmocka_unit_test(test_py_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
