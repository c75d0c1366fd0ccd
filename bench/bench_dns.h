/* The DNS load generator shared by `dnsmesh-bench dns` and `dnsmesh-bench dmp`:
 *
 *   bench_dns_names.c   query names in wire form (files in dnsperf's format, patterns)
 *   bench_dns_expect.c  what each name should answer (records loaded from JSON lines, or added
 *                       as they are published) and the check of every answer against it
 *   bench_dns_engine.c  sockets, sendmmsg/recvmmsg, io_uring, TCP, the TC=1 -> TCP retry
 *   bench_dns_report.c  per-kind counters and the text / JSON report
 *   bench_dns.c         the `dns` command line, query mixes and fixed-rate steps
 *   bench_dmp.c         the `dmp` workload (simulated users polling mailbox slots)
 */
#ifndef DMP_BENCH_DNS_H
#define DMP_BENCH_DNS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "bench_dns_util.h"

#define DMPB_MAX_NAMES 20000000
#define DMPB_MAX_SOCKETS 64
#define DMPB_MAX_BATCH 1024
#define DMPB_MAX_WINDOW 65536
#define DMPB_QBUF 300  /* a query: 12 header + 255 name + 4 + 11 OPT */
#define DMPB_RBUF 4096 /* one received datagram */
#define DMPB_MAX_KINDS 8
#define DMPB_VAL_MAX 65535

/* ---- names (bench_dns_names.c) ------------------------------------------------------------ */

/* Query names in wire form, packed back to back: off[i]..off[i+1] is name i (lower case, ending
 * in the root label). qtype[i] is its query type, kind[i] the report line it counts under and
 * exp[i] what it should answer (DMPB_EXP_*, or an entry index + DMPB_EXP_ENTRY). Owns every
 * array. */
typedef struct {
    uint8_t *wire;
    size_t wire_len, wire_cap;
    uint32_t *off;
    uint16_t *qtype;
    uint8_t *kind;
    uint32_t *exp;
    size_t n, cap;
} dmpb_names_t;

enum { DMPB_EXP_NONE = 0, DMPB_EXP_NXDOMAIN = 1, DMPB_EXP_NODATA = 2, DMPB_EXP_ENTRY = 3 };

/* Appends `name` (text, optional trailing dot); -1 with a message if it is not a valid name. */
int dmpb_names_add(dmpb_names_t *nm, const char *name, size_t len, uint16_t qtype, uint8_t kind);
/* One query per line, dnsperf's format: "name [TYPE]" (TYPE defaults to `qtype`); '#' comments
 * and blank lines skipped. */
int dmpb_names_load_file(dmpb_names_t *nm, const char *path, uint16_t qtype);
int dmpb_names_from_pattern(dmpb_names_t *nm, const char *pat, int64_t count, uint16_t qtype);
void dmpb_names_free(dmpb_names_t *nm);
/* Name i as text without the final dot into buf[cap] (at least 256). */
const char *dmpb_name_text(const dmpb_names_t *nm, uint32_t i, char *buf, size_t cap);
/* A, NS, SOA, TXT, AAAA or a number. */
int dmpb_parse_qtype(const char *s, uint16_t *out);
const char *dmpb_qtype_name(uint16_t t, char buf[8]);

/* ---- expected answers (bench_dns_expect.c) ------------------------------------------------- */

/* One TXT value of an entry. acked_ns: from this time on the value must be in every answer
 * (0 = always, INT64_MAX = maybe: published but not (yet) acknowledged). */
typedef struct {
    uint64_t off; /* in the arena */
    uint32_t len;
    uint32_t next; /* next value of the entry + 1; 0 ends the list */
    int64_t acked_ns;
    uint32_t tag; /* caller's (the dmp workload: the message index + 1) */
} dmpb_value_t;

typedef struct {
    uint32_t first; /* value index + 1; 0 = none */
    uint32_t nvals;
} dmpb_entry_t;

/* What names should answer. Owns every array. */
typedef struct {
    uint8_t *arena;
    uint64_t arena_len, arena_cap;
    dmpb_value_t *vals;
    size_t nvals, vals_cap;
    dmpb_entry_t *ents;
    size_t nents, ents_cap;
    /* zone in wire form: names under it with no entry are NXDOMAIN (or NODATA when they are
     * an empty non-terminal); other names are not checked */
    uint8_t zone[256];
    size_t zone_len;
} dmpb_expect_t;

int dmpb_expect_init(dmpb_expect_t *e, const char *zone);
void dmpb_expect_free(dmpb_expect_t *e);
/* A new entry; its index (>= 0) or -1. */
int64_t dmpb_expect_entry_new(dmpb_expect_t *e);
/* Adds value to entry `ent`; its value index or -1. */
int64_t dmpb_expect_value_add(dmpb_expect_t *e, uint32_t ent, const uint8_t *v, size_t len,
                              int64_t acked_ns, uint32_t tag);
/* Reads JSON lines {"name","value"} (gen_records.py's records.jsonl) and sets exp[] of every
 * name in nm: its entry, NODATA for an empty non-terminal (a proper ancestor of a record name
 * inside the zone, or the apex), NXDOMAIN for other names in the zone, NONE outside it (and
 * for query types other than TXT). *records_out gets the number of records read. */
int dmpb_expect_load(dmpb_expect_t *e, dmpb_names_t *nm, const char *jsonl, size_t *records_out);
/* The records file's owner names as one list per class (for query mixes): names with an entry
 * whose answer fits in `udp_size` (exist), whose answer does not (tc), and the empty
 * non-terminals (ent). Each list holds names in text form, '\n' separated. */
typedef struct {
    char *exist, *tc, *ent;
    size_t exist_n, tc_n, ent_n;
    size_t exist_len, tc_len, ent_len;
} dmpb_record_names_t;
int dmpb_expect_record_names(const char *jsonl, const char *zone, unsigned udp_size,
                             dmpb_record_names_t *out);
void dmpb_record_names_free(dmpb_record_names_t *r);

/* Outcome of checking one answer. */
enum {
    DMPB_V_OK = 0,
    DMPB_V_UNCHECKED, /* nothing known about the name */
    DMPB_V_RCODE,     /* wrong RCODE */
    DMPB_V_COUNT,     /* a value that must be there is missing, or the answer count is off */
    DMPB_V_DATA,      /* a TXT value that was never published (or malformed RDATA) */
    DMPB_V_NOUT
};
/* Checks a reply whose question (name `qi` of nm) was already matched and ends at `qend`.
 * sent_ns: when the query left (values acknowledged before then must be there). On a value
 * that matches, `on_value(ctx, value index)` is called (may be NULL). */
int dmpb_expect_check(const dmpb_expect_t *e, const dmpb_names_t *nm, uint32_t qi, const uint8_t *r,
                      size_t len, size_t qend, int64_t sent_ns,
                      void (*on_value)(void *ctx, uint32_t vi), void *ctx);

/* ---- counters and report (bench_dns_report.c) ---------------------------------------------- */

typedef struct {
    uint64_t sent, answered, ok, lost, truncated, tcp_retries, late_sends;
    uint64_t wrong[DMPB_V_NOUT]; /* by outcome; [DMPB_V_OK] and [UNCHECKED] unused */
    uint64_t rcode[16];
    dmpb_hist_t hist;
} dmpb_kind_stats_t;

typedef struct {
    uint64_t sent, answered, lost, late, mismatched, malformed, truncated, send_errors, reconnects;
    uint64_t nodata, unchecked, wrong, tcp_retries, tcp_retry_lost;
    uint64_t rcode[16];
    dmpb_hist_t hist;
    dmpb_kind_stats_t kind[DMPB_MAX_KINDS];
    int64_t t_start, t_send_end, t_last_answer;
    uint32_t wrong_shown;
} dmpb_stats_t;

extern const char *const dmpb_rcode_names[16];
extern const char *const dmpb_outcome_names[DMPB_V_NOUT];

/* ---- the engine (bench_dns_engine.c) --------------------------------------------------------- */

typedef struct dmpb_gen dmpb_gen_t;

/* Picks the next query: a name index, or -1 when none is due now. *kind gets its report kind. */
typedef int64_t (*dmpb_pick_fn)(void *ctx, int64_t now, uint8_t *kind);
/* Called before replies are checked (so a workload can fold in what it published). */
typedef void (*dmpb_sync_fn)(void *ctx);

typedef struct {
    struct sockaddr_storage target;
    socklen_t target_len;
    int sockets, batch, window;
    int64_t timeout_ms;
    int edns; /* 0 = no OPT */
    bool tcp, uring;
    bool tc_retry;  /* retry a TC=1 UDP answer over TCP */
    int show_wrong; /* print up to this many wrong answers on stderr */
    const char *const *kind_names;
    int nkinds;
    dmpb_names_t *names;
    dmpb_expect_t *expect; /* NULL = answers are not checked */
    dmpb_pick_fn pick;
    dmpb_sync_fn sync;
    void (*on_value)(void *ctx, uint32_t vi);
    void *ctx;
} dmpb_gen_cfg_t;

int dmpb_gen_new(const dmpb_gen_cfg_t *cfg, dmpb_gen_t **out);
void dmpb_gen_free(dmpb_gen_t *g);
/* One step: sends for `duration` s or `max_queries`, at most `rate` q/s (0 = as the window
 * allows), then waits at most timeout_ms for the answers. `tick(ctx, now)` (may be NULL) runs
 * about every 10 ms. Counters go to st (zeroed here). */
int dmpb_gen_run(dmpb_gen_t *g, double duration, int64_t max_queries, double rate, bool progress,
                 void (*tick)(void *ctx, int64_t now), dmpb_stats_t *st);

/* ---- report ---------------------------------------------------------------------------------- */
typedef struct {
    const char *target;
    const char *mode; /* "dns" or "dmp" */
    int sockets, batch, window;
    bool tcp, uring, checked;
    size_t names;
    double rate; /* offered, 0 = unlimited */
    const char *const *kind_names;
    int nkinds;
} dmpb_report_info_t;

void dmpb_report_text(FILE *f, const dmpb_report_info_t *ri, const dmpb_stats_t *st);
/* A JSON object (jansson json_t *, returned as void * to keep jansson out of this header). */
void *dmpb_report_json(const dmpb_report_info_t *ri, const dmpb_stats_t *st);

#endif
