/* util: shared types: error codes, byte buffers, readers, arenas, clocks. */
#ifndef DMP_UTIL_TYPES_H
#define DMP_UTIL_TYPES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Every function returns 0 (DMP_OK) or one of these negative codes. Generic codes live here;
 * a module may define finer codes of its own in its range (wire -100.., erasure -200..,
 * dns -300.., store -400.., crypto -500.., net -600.., node -700..) with a strerror of its own.
 * dmp_strerror() names every generic code and says "module error" for the rest. */
enum {
    DMP_OK = 0,
    DMP_EINVAL = -1,        /* bad argument or parameter */
    DMP_ENOMEM = -2,        /* allocation failed */
    DMP_ETRUNC = -3,        /* input ends before a field it declares */
    DMP_ETOOBIG = -4,       /* input or output larger than its cap */
    DMP_EBASE64 = -5,       /* not valid base64 for the required mode */
    DMP_EHEX = -6,          /* not valid hex */
    DMP_EFORMAT = -7,       /* structurally malformed */
    DMP_EMAGIC = -8,        /* wrong magic / prefix */
    DMP_EVERSION = -9,      /* unsupported version */
    DMP_ESIG = -10,         /* signature does not verify */
    DMP_EWEAKKEY = -11,     /* public key on the weak-key list */
    DMP_EEXPIRED = -12,     /* past its expiry */
    DMP_EFUTURE = -13,      /* timestamp or expiry too far in the future */
    DMP_ENAME = -14,        /* not a valid DNS name / label */
    DMP_ECHECKSUM = -15,    /* checksum or hash mismatch */
    DMP_EDECODE = -16,      /* not enough data to decode (uncorrectable / too few shares) */
    DMP_ENOTFOUND = -17,    /* no such item */
    DMP_EEXIST = -18,       /* already exists */
    DMP_EIO = -19,          /* I/O or storage error */
    DMP_EFULL = -20,        /* queue/cap full */
    DMP_EAGAIN = -21,       /* try again later */
    DMP_EAUTH = -22,        /* not authorised */
    DMP_ERANGE = -23,       /* number out of range */
    DMP_EUNSUPPORTED = -24, /* feature not available here */
    DMP_ECRYPTO = -25,      /* crypto primitive failed (decrypt, key derivation) */
    DMP_EMISMATCH = -26,    /* embedded field disagrees with its cross-check */
    DMP_EDUP = -27,         /* duplicate entry */
    DMP_ESYS = -28,         /* system call failed; see errno */
    DMP_EMSGSIZE = -29,     /* a DNS answer would no longer fit one DNS message */
};

/* Growable byte buffer. Owns `data` (malloc'd); len <= cap; data may be NULL when cap == 0. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} dmp_buf_t;

/* Bounds-checked big-endian reader over caller-owned bytes. Invariant: off <= len. */
typedef struct {
    const uint8_t *p;
    size_t len;
    size_t off;
} dmp_rd_t;

/* Bump allocator: allocations live until dmp_arena_reset/free. Owns its blocks. */
typedef struct dmp_arena_block dmp_arena_block_t;
typedef struct {
    dmp_arena_block_t *head;
    size_t block_size;
} dmp_arena_t;

/* Injectable clock. now_ms returns Unix time in milliseconds. */
typedef struct {
    int64_t (*now_ms)(void *ctx);
    void *ctx;
} dmp_clock_t;

typedef enum {
    DMP_LOG_DEBUG = 0,
    DMP_LOG_INFO = 1,
    DMP_LOG_WARN = 2,
    DMP_LOG_ERROR = 3,
} dmp_log_level_t;

typedef enum {
    DMP_LOG_TEXT = 0,
    DMP_LOG_JSON = 1,
} dmp_log_format_t;

/* A log line limiter for code on a query thread (a failing disk fails every read): at most one
 * line per every_ms, the next line saying how many were left out. Static storage, zero state:
 *   static dmp_log_limit_t lim = DMP_LOG_LIMIT_INIT(1000);
 *   dmp_log_limited(&lim, DMP_LOG_ERROR, "store read failed: %s", why); */
typedef struct {
    int64_t every_ms;
    _Atomic int64_t next_ms;     /* monotonic ms before which lines are counted, not written */
    _Atomic uint64_t suppressed; /* lines left out since the last one written */
} dmp_log_limit_t;
#define DMP_LOG_LIMIT_INIT(every)                                                                  \
    {                                                                                              \
        (every), 0, 0                                                                              \
    }

/* Base64 decoding modes (see reference/client.md §1.0 and cluster.md §1.9).
 * STRICT: standard alphabet, padding required, no other characters, nothing after padding;
 *         non-zero unused trailing bits accepted (as Python's validate=True).
 * LAX:    as Python's b64decode default: non-alphabet characters skipped, padding required,
 *         everything after the first complete padding group ignored. */
typedef enum {
    DMP_B64_STRICT = 0,
    DMP_B64_LAX = 1,
} dmp_b64_mode_t;

#endif
