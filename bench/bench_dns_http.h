/* dnsmesh-bench load / writes (bench_dns_http.c): the state shared with the request builder
 * (bench_dns_http_req.c): options, counters, one connection, the record source. */
#ifndef DMP_BENCH_DNS_HTTP_H
#define DMP_BENCH_DNS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_dns_util.h"

#define DMPB_HTTP_MAX_CONNS 256
#define DMPB_HTTP_RESP_CAP 65536
#define DMPB_HTTP_REQ_CAP                                                                          \
    80000 /* request line + headers + a body (a batch of 64 DMP chunks ~20 KiB) */
#define DMPB_HTTP_BATCH_MAX 64 /* the node's DMP_NODE_BATCH_MAX */

/* One connection. Owns `req` (the request being written) and `resp` (bytes read so far). */
typedef struct {
    int fd;
    int state;       /* C_* (bench_dns_http.c) */
    int64_t t_start; /* first byte of the current request, or connect start */
    char req[DMPB_HTTP_REQ_CAP];
    size_t req_len, req_off;
    char resp[DMPB_HTTP_RESP_CAP];
    size_t resp_len;
    uint64_t served; /* requests answered on this connection since it opened */
    char *src;       /* load: the input lines of the request in flight (malloc'd), or NULL */
    unsigned nrec;   /* records in the request in flight */
} dmpb_http_conn_t;

typedef struct {
    bool writes; /* which subcommand */
    const char *host;
    int port;
    const char *file;
    const char *failed; /* load: write the lines that did not get a 2xx here */
    const char *token;
    const char *zone;
    int64_t conns, max_requests, timeout_ms, value_bytes, ttl, cpu, seed, batch;
    double rate, duration; /* rate: requests/s (records/s over batch) */
    double rec_rate;       /* --rate as given: records/s */
    bool json, quiet;
} dmpb_http_opts_t;

typedef struct {
    uint64_t sent, done, ok, s4xx, s5xx, other, errors, timeouts, behind, reconnects, bad_lines;
    uint64_t records_ok; /* records in the requests that got a 2xx */
    uint64_t status[600];
    dmpb_hist_t hist;
    int64_t t_start, t_end;
} dmpb_http_stats_t;

/* Yields request bodies. For `load` it owns the open file and a getline buffer; for `writes`
 * it owns the PRNG state and the run tag that keeps names unique across runs. */
typedef struct {
    FILE *f;
    char *line;
    size_t line_cap;
    uint64_t lineno;
    uint64_t rng;
    uint64_t tag;
    uint64_t n;
} dmpb_http_source_t;

/* Writes the next HTTP request into c->req: one record to /v1/records/{name}, or up to o->batch
 * records to /v1/records (c->nrec says how many; for `load --failed`, c->src their input lines).
 * Returns 0, 1 at the end of the input, -1 on a bad record (counted in st->bad_lines). */
int dmpb_http_next_request(dmpb_http_source_t *src, const dmpb_http_opts_t *o, dmpb_http_conn_t *c,
                           dmpb_http_stats_t *st);

#endif
