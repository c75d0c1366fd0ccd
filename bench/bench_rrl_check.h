/* dnsmesh-bench rrl: the expect file and the check of one reply against it (bench_rrl.c).
 * Every parser here takes (buf, len) and never reads past len. */
#ifndef DMP_BENCH_RRL_CHECK_H
#define DMP_BENCH_RRL_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One name the legitimate client may ask, with what its TXT answer must hold. */
typedef struct {
    uint8_t wire[256]; /* lowercase wire form, ending in the root label */
    uint16_t wire_len;
    uint8_t rcode;
    uint16_t count; /* TXT records in the answer */
    uint32_t bytes; /* their values' bytes (character-strings joined, length octets excluded) */
    uint64_t hash;  /* sum over the values of FNV-1a-64(value) */
    /* the first label is DMPB_RRL_RANDOM_LABEL lowercase hex digits, a different one in each
     * query (a random-subdomain flood): any such label matches */
    bool random_label;
} dmpb_rrl_expect_t;

#define DMPB_RRL_RANDOM_LABEL 12

/* What the parser found in one reply. */
typedef struct {
    bool question_ok; /* one question, equal to the one asked (case-insensitive), TXT IN */
    bool tc;
    uint8_t rcode;
    uint16_t ancount;
    uint16_t txt_count;
    uint32_t txt_bytes;
    uint64_t txt_hash;
    bool parsed; /* every answer record was inside the datagram */
} dmpb_rrl_reply_t;

/* "a.b.c" (a trailing dot allowed) -> lowercase wire form in w[256]; -1 if not a valid name. */
int dmpb_rrl_name_to_wire(const char *s, size_t n, uint8_t *w, uint16_t *wlen);

/* Reads lines 'name rcode count bytes hash16' (# comments allowed); *out is malloc'd, the
 * caller frees it. -1 with a message on stderr on any bad line or an empty file. */
int dmpb_rrl_expect_load(const char *path, dmpb_rrl_expect_t **out, size_t *n);

/* Writes a TXT IN query for e with ID id (and an OPT of payload edns unless 0) into q, which
 * has room for 300 bytes; returns its length. */
size_t dmpb_rrl_build_query(uint8_t *q, const dmpb_rrl_expect_t *e, uint16_t id, int64_t edns);

/* Parses r[0..len) as the reply to e's question. */
void dmpb_rrl_parse_reply(const uint8_t *r, size_t len, const dmpb_rrl_expect_t *e,
                          dmpb_rrl_reply_t *out);

/* The reply echoes the question, TC=0, the expected RCODE and exactly the expected values. */
bool dmpb_rrl_reply_full(const dmpb_rrl_reply_t *rp, const dmpb_rrl_expect_t *e);

#endif
