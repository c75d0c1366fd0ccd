/* util: implementation. */
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

const char *dmp_strerror(int err)
{
    switch (err) {
    case DMP_OK:
        return "ok";
    case DMP_EINVAL:
        return "invalid argument";
    case DMP_ENOMEM:
        return "out of memory";
    case DMP_ETRUNC:
        return "truncated input";
    case DMP_ETOOBIG:
        return "too large";
    case DMP_EBASE64:
        return "invalid base64";
    case DMP_EHEX:
        return "invalid hex";
    case DMP_EFORMAT:
        return "malformed";
    case DMP_EMAGIC:
        return "wrong magic or prefix";
    case DMP_EVERSION:
        return "unsupported version";
    case DMP_ESIG:
        return "bad signature";
    case DMP_EWEAKKEY:
        return "weak public key";
    case DMP_EEXPIRED:
        return "expired";
    case DMP_EFUTURE:
        return "too far in the future";
    case DMP_ENAME:
        return "invalid DNS name";
    case DMP_ECHECKSUM:
        return "checksum mismatch";
    case DMP_EDECODE:
        return "cannot decode";
    case DMP_ENOTFOUND:
        return "not found";
    case DMP_EEXIST:
        return "already exists";
    case DMP_EIO:
        return "I/O error";
    case DMP_EFULL:
        return "full";
    case DMP_EAGAIN:
        return "try again";
    case DMP_EAUTH:
        return "not authorised";
    case DMP_ERANGE:
        return "out of range";
    case DMP_EUNSUPPORTED:
        return "unsupported";
    case DMP_ECRYPTO:
        return "cryptographic operation failed";
    case DMP_EMISMATCH:
        return "embedded field mismatch";
    case DMP_EDUP:
        return "duplicate";
    case DMP_ESYS:
        return "system error";
    case DMP_EMSGSIZE:
        return "answer would not fit one DNS message";
    default:
        return err <= -100 ? "module error" : "unknown error";
    }
}

/* --- buffers --- */
void dmp_buf_init(dmp_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

int dmp_buf_reserve(dmp_buf_t *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return DMP_ENOMEM;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return DMP_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int dmp_buf_append(dmp_buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = dmp_buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int dmp_buf_append_u8(dmp_buf_t *b, uint8_t v)
{
    return dmp_buf_append(b, &v, 1);
}
int dmp_buf_append_u16be(dmp_buf_t *b, uint16_t v)
{
    uint8_t t[2];
    dmp_store_u16be(t, v);
    return dmp_buf_append(b, t, 2);
}
int dmp_buf_append_u32be(dmp_buf_t *b, uint32_t v)
{
    uint8_t t[4];
    dmp_store_u32be(t, v);
    return dmp_buf_append(b, t, 4);
}
int dmp_buf_append_u64be(dmp_buf_t *b, uint64_t v)
{
    uint8_t t[8];
    dmp_store_u64be(t, v);
    return dmp_buf_append(b, t, 8);
}
int dmp_buf_append_str(dmp_buf_t *b, const char *s)
{
    return dmp_buf_append(b, s, strlen(s));
}

void dmp_buf_free(dmp_buf_t *b)
{
    free(b->data);
    dmp_buf_init(b);
}

void dmp_buf_free_secret(dmp_buf_t *b)
{
    if (b->data)
        sodium_memzero(b->data, b->cap);
    dmp_buf_free(b);
}

/* --- reader --- */
void dmp_rd_init(dmp_rd_t *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
}

int dmp_rd_bytes(dmp_rd_t *r, size_t n, const uint8_t **out)
{
    if (n > r->len - r->off)
        return DMP_ETRUNC;
    *out = r->p + r->off;
    r->off += n;
    return 0;
}

int dmp_rd_copy(dmp_rd_t *r, void *dst, size_t n)
{
    const uint8_t *p;
    int rc = dmp_rd_bytes(r, n, &p);
    if (rc)
        return rc;
    if (n)
        memcpy(dst, p, n);
    return 0;
}

int dmp_rd_u8(dmp_rd_t *r, uint8_t *out)
{
    const uint8_t *p;
    int rc = dmp_rd_bytes(r, 1, &p);
    if (!rc)
        *out = p[0];
    return rc;
}
int dmp_rd_u16(dmp_rd_t *r, uint16_t *out)
{
    const uint8_t *p;
    int rc = dmp_rd_bytes(r, 2, &p);
    if (!rc)
        *out = dmp_load_u16be(p);
    return rc;
}
int dmp_rd_u32(dmp_rd_t *r, uint32_t *out)
{
    const uint8_t *p;
    int rc = dmp_rd_bytes(r, 4, &p);
    if (!rc)
        *out = dmp_load_u32be(p);
    return rc;
}
int dmp_rd_u64(dmp_rd_t *r, uint64_t *out)
{
    const uint8_t *p;
    int rc = dmp_rd_bytes(r, 8, &p);
    if (!rc)
        *out = dmp_load_u64be(p);
    return rc;
}

/* --- arena --- */
struct dmp_arena_block {
    dmp_arena_block_t *next;
    size_t size; /* usable bytes in data */
    size_t used;
    _Alignas(16) uint8_t data[];
};

void dmp_arena_init(dmp_arena_t *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 4096;
}

void *dmp_arena_alloc(dmp_arena_t *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    dmp_arena_block_t *b = a->head;
    if (!b || b->size - b->used < need) {
        size_t sz = need > a->block_size ? need : a->block_size;
        if (sz > SIZE_MAX - sizeof(*b))
            return NULL;
        b = malloc(sizeof(*b) + sz);
        if (!b)
            return NULL;
        b->size = sz;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

void dmp_arena_reset(dmp_arena_t *a)
{
    dmp_arena_block_t *b = a->head;
    if (!b)
        return;
    dmp_arena_block_t *rest = b->next;
    while (rest) {
        dmp_arena_block_t *n = rest->next;
        free(rest);
        rest = n;
    }
    b->next = NULL;
    b->used = 0;
}

void dmp_arena_free(dmp_arena_t *a)
{
    dmp_arena_reset(a);
    free(a->head);
    a->head = NULL;
}

/* --- hex --- */
int dmp_hex_encode(const uint8_t *in, size_t len, char *out, size_t out_cap)
{
    if (len > (SIZE_MAX - 1) / 2 || out_cap < len * 2 + 1)
        return DMP_ETOOBIG;
    sodium_bin2hex(out, out_cap, in, len);
    return 0;
}

int dmp_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int dmp_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len)
{
    if (in_len != out_len * 2)
        return DMP_EHEX;
    for (size_t i = 0; i < out_len; i++) {
        int h = dmp_hex_digit(in[2 * i]), l = dmp_hex_digit(in[2 * i + 1]);
        if (h < 0 || l < 0)
            return DMP_EHEX;
        out[i] = (uint8_t)(h << 4 | l);
    }
    return 0;
}

int dmp_hex_decode_buf(const char *in, size_t in_len, dmp_buf_t *out)
{
    if (in_len % 2)
        return DMP_EHEX;
    int rc = dmp_buf_reserve(out, in_len / 2);
    if (rc)
        return rc;
    rc = dmp_hex_decode(in, in_len, out->data + out->len, in_len / 2);
    if (!rc)
        out->len += in_len / 2;
    return rc;
}

/* --- base64 --- */

int dmp_b64_encode(const uint8_t *in, size_t len, char *out, size_t out_cap)
{
    if (len > (SIZE_MAX / 4 - 1) * 3 || out_cap < dmp_b64_encoded_len(len) + 1)
        return DMP_ETOOBIG;
    sodium_bin2base64(out, out_cap, in, len, sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

int dmp_b64_encode_buf(const uint8_t *in, size_t len, dmp_buf_t *out)
{
    size_t n = dmp_b64_encoded_len(len);
    int rc = dmp_buf_reserve(out, n + 1);
    if (rc)
        return rc;
    sodium_bin2base64((char *)out->data + out->len, n + 1, in, len, sodium_base64_VARIANT_ORIGINAL);
    out->len += n;
    return 0;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Both modes follow CPython 3.11's binascii.a2b_base64 (b64decode with validate=False / True).
 * Data symbols accumulate in quads; '=' ends the data once the quad holds at least two symbols
 * and the padding completes it. A quad left incomplete is an error. LAX skips non-alphabet
 * characters (and early '='); STRICT rejects them, a leading '=', symbols after any '=', and
 * anything after a completing pad. Non-zero unused trailing bits are accepted in both. */
int dmp_b64_decode(const char *in, size_t len, dmp_b64_mode_t mode, dmp_buf_t *out)
{
    int rc = dmp_buf_reserve(out, len / 4 * 3 + 3);
    if (rc)
        return rc;
    const bool strict = mode == DMP_B64_STRICT;
    size_t start = out->len;
    uint32_t acc = 0;
    int nq = 0;   /* symbols in the current quad */
    int pads = 0; /* '=' counted towards completing the current quad */
    bool padding_started = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '=') {
            padding_started = true;
            if (strict && i == 0)
                goto bad;
            if (nq >= 2 && nq + ++pads >= 4) {
                if (strict && i + 1 < len)
                    goto bad;
                if (nq == 2) {
                    out->data[out->len++] = (uint8_t)(acc >> 4);
                } else {
                    out->data[out->len++] = (uint8_t)(acc >> 10);
                    out->data[out->len++] = (uint8_t)(acc >> 2);
                }
                return 0;
            }
            continue;
        }
        int v = b64val(c);
        if (v < 0) {
            if (strict)
                goto bad;
            continue;
        }
        if (strict && padding_started)
            goto bad;
        pads = 0;
        acc = acc << 6 | (uint32_t)v;
        if (++nq == 4) {
            out->data[out->len++] = (uint8_t)(acc >> 16);
            out->data[out->len++] = (uint8_t)(acc >> 8);
            out->data[out->len++] = (uint8_t)acc;
            acc = 0;
            nq = 0;
        }
    }
    if (nq == 0)
        return 0;
bad:
    out->len = start;
    return DMP_EBASE64;
}

/* --- clocks --- */
static int64_t system_now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t fixed_now_ms(void *ctx)
{
    return *(const int64_t *)ctx;
}

dmp_clock_t dmp_clock_system(void)
{
    return (dmp_clock_t){system_now_ms, NULL};
}

dmp_clock_t dmp_clock_fixed(int64_t *ms_ptr)
{
    return (dmp_clock_t){fixed_now_ms, ms_ptr};
}

int64_t dmp_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- logging --- */
static dmp_log_level_t g_level = DMP_LOG_INFO;
static dmp_log_format_t g_format = DMP_LOG_TEXT;

void dmp_log_set_level(dmp_log_level_t lvl)
{
    g_level = lvl;
}
void dmp_log_set_format(dmp_log_format_t fmt)
{
    g_format = fmt;
}
dmp_log_level_t dmp_log_get_level(void)
{
    return g_level;
}

int dmp_log_level_parse(const char *s, dmp_log_level_t *out)
{
    static const struct {
        const char *n;
        dmp_log_level_t l;
    } t[] = {{"debug", DMP_LOG_DEBUG}, {"info", DMP_LOG_INFO},   {"warning", DMP_LOG_WARN},
             {"warn", DMP_LOG_WARN},   {"error", DMP_LOG_ERROR}, {"critical", DMP_LOG_ERROR}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (strcasecmp(s, t[i].n) == 0) {
            *out = t[i].l;
            return 0;
        }
    }
    return DMP_EINVAL;
}

int dmp_log_format_parse(const char *s, dmp_log_format_t *out)
{
    if (strcasecmp(s, "text") == 0) {
        *out = DMP_LOG_TEXT;
        return 0;
    }
    if (strcasecmp(s, "json") == 0) {
        *out = DMP_LOG_JSON;
        return 0;
    }
    return DMP_EINVAL;
}

void dmp_log(dmp_log_level_t lvl, const char *fmt, ...)
{
    if (lvl < g_level)
        return;
    static const char *names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    char line[1400];
    if (g_format == DMP_LOG_JSON) {
        /* escape the message for JSON */
        char esc[1200];
        size_t o = 0;
        for (const char *p = msg; *p && o + 7 < sizeof(esc); p++) {
            unsigned char c = (unsigned char)*p;
            if (c == '"' || c == '\\') {
                esc[o++] = '\\';
                esc[o++] = (char)c;
            } else if (c < 0x20) {
                o += (size_t)snprintf(esc + o, sizeof(esc) - o, "\\u%04x", c);
            } else {
                esc[o++] = (char)c;
            }
        }
        esc[o] = 0;
        snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}\n", when,
                 names[lvl], esc);
    } else {
        snprintf(line, sizeof(line), "%s %s %s\n", when, names[lvl], msg);
    }
    fputs(line, stderr); /* stdio locks the stream per call */
}

bool dmp_log_limit_pass(dmp_log_limit_t *l, int64_t now_ms, uint64_t *suppressed)
{
    int64_t next = atomic_load_explicit(&l->next_ms, memory_order_relaxed);
    if (now_ms >= next &&
        atomic_compare_exchange_strong(&l->next_ms, &next,
                                       now_ms + (l->every_ms > 0 ? l->every_ms : 1000))) {
        uint64_t more = atomic_exchange(&l->suppressed, 0);
        if (suppressed)
            *suppressed = more;
        return true;
    }
    atomic_fetch_add_explicit(&l->suppressed, 1, memory_order_relaxed);
    return false;
}

void dmp_log_limited(dmp_log_limit_t *l, dmp_log_level_t lvl, const char *fmt, ...)
{
    if (lvl < g_level)
        return;
    uint64_t more = 0;
    if (!dmp_log_limit_pass(l, dmp_monotonic_ns() / 1000000, &more))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (more)
        dmp_log(lvl, "%s (%llu more like it left out)", msg, (unsigned long long)more);
    else
        dmp_log(lvl, "%s", msg);
}

/* --- parsing --- */
int dmp_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s)
        return DMP_EINVAL;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return DMP_EINVAL;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return DMP_ERANGE;
    while (isspace((unsigned char)*end))
        end++;
    if (*end || end == s)
        return DMP_EINVAL;
    if (v < min || v > max)
        return DMP_ERANGE;
    *out = v;
    return 0;
}

int dmp_parse_double(const char *s, double min, double max, double *out)
{
    if (!s)
        return DMP_EINVAL;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return DMP_EINVAL;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno == ERANGE)
        return DMP_ERANGE;
    while (isspace((unsigned char)*end))
        end++;
    if (*end || end == s || isnan(v))
        return DMP_EINVAL;
    if (v < min || v > max)
        return DMP_ERANGE;
    *out = v;
    return 0;
}

int dmp_parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};
    if (!s)
        return DMP_EINVAL;
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return DMP_EINVAL;
}

bool dmp_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return false;
    if (alen == 0)
        return true;
    return sodium_memcmp(a, b, alen) == 0;
}

void dmp_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

void dmp_py_strip(const uint8_t **p, size_t *n)
{
    while (*n && dmp_py_space((*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n && dmp_py_space((*p)[*n - 1]))
        (*n)--;
}

int dmp_txt_split(const uint8_t *val, size_t len, dmp_buf_t *rdata)
{
    if ((!val && len) || !rdata)
        return DMP_EINVAL;
    size_t pieces = len == 0 ? 1 : (len + 254) / 255;
    int rc = dmp_buf_reserve(rdata, len + pieces);
    if (rc)
        return rc;
    if (len == 0)
        return dmp_buf_append_u8(rdata, 0);
    for (size_t off = 0; off < len; off += 255) {
        size_t k = len - off < 255 ? len - off : 255;
        rdata->data[rdata->len++] = (uint8_t)k;
        memcpy(rdata->data + rdata->len, val + off, k);
        rdata->len += k;
    }
    return 0;
}
