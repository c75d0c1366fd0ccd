/* Unit tests for dnsmesh-bench writefloor's pure logic (bench/bench_writefloor_http.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bench_writefloor.h"

static ssize_t rl(const char *s, size_t cap)
{
    return dmpb_wf_request_len(s, strlen(s), cap);
}

/* What `dnsmesh-bench writes` sends, and every prefix of it. */
static void test_request_complete_and_partial(void **state)
{
    (void)state;
    const char *req = "POST /v1/records/chunk-0001-00000000abcd.mesh.test HTTP/1.1\r\n"
                      "Host: 127.0.0.1:8053\r\nContent-Type: application/json\r\n"
                      "Content-Length: 11\r\n\r\n{\"ttl\":300}";
    size_t n = strlen(req);
    assert_int_equal(rl(req, 16384), (ssize_t)n);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(dmpb_wf_request_len(req, k, 16384), 0);
    /* two pipelined requests: the first one's length */
    char two[1024];
    snprintf(two, sizeof two, "%s%s", req, req);
    assert_int_equal(rl(two, 16384), (ssize_t)n);
    /* no body, case-insensitive header names, spaces around the value */
    assert_int_equal(rl("GET / HTTP/1.1\r\n\r\n", 100), 18);
    assert_int_equal(rl("POST /x HTTP/1.0\r\ncontent-LENGTH:  2 \r\n\r\nab", 100), 43);
    assert_int_equal(rl("POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 100), 39);
}

static void test_request_refused(void **state)
{
    (void)state;
    assert_int_equal(rl("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 100), -1);
    assert_int_equal(rl("POST /x HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 100), -1);
    assert_int_equal(rl("POST /x HTTP/1.1\r\nContent-Length:\r\n\r\n", 100), -1);
    assert_int_equal(rl("POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na", 100),
                     -1);
    assert_int_equal(rl("post /x HTTP/1.1\r\n\r\n", 100), -1);
    assert_int_equal(rl("POST /x HTTP/2.0\r\n\r\n", 100), -1);
    assert_int_equal(rl("POST HTTP/1.1\r\n\r\n", 100), -1);
    assert_int_equal(rl("\r\n\r\n", 100), -1);
    /* larger than the buffer: a body past cap, or headers that never end */
    assert_int_equal(rl("POST /x HTTP/1.1\r\nContent-Length: 90\r\n\r\n", 100), -1);
    assert_int_equal(rl("POST /x HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n", 100), -1);
    char big[64];
    memset(big, 'a', sizeof big);
    assert_int_equal(dmpb_wf_request_len(big, sizeof big, 64), -1);
    assert_int_equal(dmpb_wf_request_len(big, sizeof big, 65), 0);
}

static void test_proc_parsing(void **state)
{
    (void)state;
    uint64_t t = 0;
    /* a comm with spaces and a parenthesis; utime 120, stime 35 */
    const char *st = "4242 (dmp) x (y) S 1 4242 4242 0 -1 4194368 99 0 0 0 120 35 0 0 20 0 7 0 "
                     "1000 100000 50\n";
    assert_int_equal(dmpb_wf_stat_ticks(st, strlen(st), &t), 0);
    assert_int_equal(t, 155);
    assert_int_equal(dmpb_wf_stat_ticks("4242 dmp S 1", 12, &t), -1);
    assert_int_equal(dmpb_wf_stat_ticks("1 (a) S 1 2", 11, &t), -1); /* cut short */
    uint64_t ns = 0;
    const char *ss = "123456789 2000 17\n";
    assert_int_equal(dmpb_wf_schedstat_ns(ss, strlen(ss), &ns), 0);
    assert_int_equal(ns, 123456789);
    assert_int_equal(dmpb_wf_schedstat_ns("x1 2", 4, &ns), -1);
    assert_int_equal(dmpb_wf_schedstat_ns("12x 2", 5, &ns), -1);
}

static void test_stats(void **state)
{
    (void)state;
    double odd[] = {9, 1, 5};
    assert_true(dmpb_wf_median(odd, 3) == 5);
    double even[] = {4, 1, 3, 2};
    assert_true(dmpb_wf_median(even, 4) == 2.5);
    assert_true(dmpb_wf_median(NULL, 0) == 0);
    assert_true(dmpb_wf_us_per(30000000, 1000) == 30.0); /* 30 ms over 1,000 = 30 us */
    assert_true(dmpb_wf_us_per(5, 0) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_complete_and_partial),
        cmocka_unit_test(test_request_refused),
        cmocka_unit_test(test_proc_parsing),
        cmocka_unit_test(test_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
