/* util: functions. No I/O except logging to stderr. */
#ifndef DMP_UTIL_H
#define DMP_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "util/util_types.h"

const char *dmp_strerror(int err);

/* --- buffers --- */
void dmp_buf_init(dmp_buf_t *b);
int dmp_buf_reserve(dmp_buf_t *b, size_t extra);
int dmp_buf_append(dmp_buf_t *b, const void *p, size_t n);
int dmp_buf_append_u8(dmp_buf_t *b, uint8_t v);
int dmp_buf_append_u16be(dmp_buf_t *b, uint16_t v);
int dmp_buf_append_u32be(dmp_buf_t *b, uint32_t v);
int dmp_buf_append_u64be(dmp_buf_t *b, uint64_t v);
int dmp_buf_append_str(dmp_buf_t *b, const char *s);
/* Frees the buffer; dmp_buf_free_secret wipes it first. Both leave it empty and reusable. */
void dmp_buf_free(dmp_buf_t *b);
void dmp_buf_free_secret(dmp_buf_t *b);

/* --- big-endian helpers on raw memory (caller guarantees bounds) --- */
static inline uint16_t dmp_load_u16be(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t dmp_load_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t dmp_load_u64be(const uint8_t *p)
{
    return (uint64_t)dmp_load_u32be(p) << 32 | dmp_load_u32be(p + 4);
}
static inline void dmp_store_u16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void dmp_store_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void dmp_store_u64be(uint8_t *p, uint64_t v)
{
    dmp_store_u32be(p, (uint32_t)(v >> 32));
    dmp_store_u32be(p + 4, (uint32_t)v);
}

/* --- bounds-checked reader: each returns DMP_ETRUNC without moving when short --- */
void dmp_rd_init(dmp_rd_t *r, const uint8_t *p, size_t len);
int dmp_rd_u8(dmp_rd_t *r, uint8_t *out);
int dmp_rd_u16(dmp_rd_t *r, uint16_t *out);
int dmp_rd_u32(dmp_rd_t *r, uint32_t *out);
int dmp_rd_u64(dmp_rd_t *r, uint64_t *out);
/* Points *out into the reader's bytes (no copy). */
int dmp_rd_bytes(dmp_rd_t *r, size_t n, const uint8_t **out);
int dmp_rd_copy(dmp_rd_t *r, void *dst, size_t n);
static inline size_t dmp_rd_left(const dmp_rd_t *r)
{
    return r->len - r->off;
}

/* --- arena --- */
void dmp_arena_init(dmp_arena_t *a, size_t block_size);
/* 16-byte aligned; NULL on allocation failure. */
void *dmp_arena_alloc(dmp_arena_t *a, size_t n);
void dmp_arena_reset(dmp_arena_t *a); /* keeps one block for reuse */
void dmp_arena_free(dmp_arena_t *a);

/* --- hex (lowercase) and base64 (standard alphabet, padded) --- */
/* Value of one hex digit (either case), or -1. */
int dmp_hex_digit(char c);
/* Writes 2*len hex chars plus NUL into out (out_cap >= 2*len+1). */
int dmp_hex_encode(const uint8_t *in, size_t len, char *out, size_t out_cap);
/* Decodes exactly out_len bytes; the input must be exactly 2*out_len hex digits. */
int dmp_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len);
/* Decodes hex of any even length into a new buffer. */
int dmp_hex_decode_buf(const char *in, size_t in_len, dmp_buf_t *out);

static inline size_t dmp_b64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}
/* Writes the padded encoding plus NUL; out_cap >= dmp_b64_encoded_len(len) + 1. */
int dmp_b64_encode(const uint8_t *in, size_t len, char *out, size_t out_cap);
int dmp_b64_encode_buf(const uint8_t *in, size_t len, dmp_buf_t *out); /* appends, no NUL */
/* Appends the decoded bytes to out. */
int dmp_b64_decode(const char *in, size_t len, dmp_b64_mode_t mode, dmp_buf_t *out);

/* --- clocks --- */
dmp_clock_t dmp_clock_system(void);
/* A clock that always returns *ms_ptr (tests move it by writing the variable). */
dmp_clock_t dmp_clock_fixed(int64_t *ms_ptr);
static inline int64_t dmp_clock_now_ms(const dmp_clock_t *c)
{
    return c->now_ms(c->ctx);
}
static inline int64_t dmp_clock_now_s(const dmp_clock_t *c)
{
    return c->now_ms(c->ctx) / 1000;
}
int64_t dmp_monotonic_ns(void);

/* --- logging (stderr; thread-safe line at a time) --- */
void dmp_log_set_level(dmp_log_level_t lvl);
void dmp_log_set_format(dmp_log_format_t fmt);
dmp_log_level_t dmp_log_get_level(void);
int dmp_log_level_parse(const char *s, dmp_log_level_t *out);   /* debug|info|warning|warn|error */
int dmp_log_format_parse(const char *s, dmp_log_format_t *out); /* text|json */
void dmp_log(dmp_log_level_t lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define dmp_debug(...) dmp_log(DMP_LOG_DEBUG, __VA_ARGS__)
#define dmp_info(...) dmp_log(DMP_LOG_INFO, __VA_ARGS__)
#define dmp_warn(...) dmp_log(DMP_LOG_WARN, __VA_ARGS__)
#define dmp_error(...) dmp_log(DMP_LOG_ERROR, __VA_ARGS__)
/* Rate-limited dmp_log (see dmp_log_limit_t): lines below the log level cost nothing; a line
 * written after others were left out ends with "(N more like it left out)". Any thread. */
void dmp_log_limited(dmp_log_limit_t *l, dmp_log_level_t lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The limiter's decision at now_ms (monotonic; injectable for tests): true = write a line now,
 * with *suppressed (may be NULL) the number left out since the last one; false = count it. */
bool dmp_log_limit_pass(dmp_log_limit_t *l, int64_t now_ms, uint64_t *suppressed);

/* --- number / flag parsing for env vars and flags ---
 * Whole string must parse (surrounding whitespace allowed); range inclusive. */
int dmp_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int dmp_parse_double(const char *s, double min, double max, double *out);
/* 1/true/yes/on and 0/false/no/off (case-insensitive). */
int dmp_parse_bool(const char *s, bool *out);

/* --- Python-compatible text helpers (the reference's str.strip() and TXT splitting) --- */
/* Python's str.strip() whitespace within ASCII: \t \n \v \f \r, 0x1c..0x1f and space. */
static inline bool dmp_py_space(unsigned char c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
}
/* Moves *p / shrinks *n past leading and trailing dmp_py_space bytes (str.strip()). */
void dmp_py_strip(const uint8_t **p, size_t *n);

/* One TXT value -> RDATA: consecutive character-strings of at most 255 bytes (raw byte
 * boundaries, not semantic), appended to rdata. An empty value is one empty string. */
int dmp_txt_split(const uint8_t *val, size_t len, dmp_buf_t *rdata);

/* Constant-time equality for secrets (0 when equal length and bytes). */
bool dmp_ct_equal(const void *a, size_t alen, const void *b, size_t blen);
/* Wipes memory the compiler may not elide. */
void dmp_wipe(void *p, size_t n);

#endif
