/* dnsmesh-bench erasure: throughput of the message pipeline (length prefix, zfec-compatible
 * k-of-n, RS(160,128), checksums, base64 chunk TXT values, chunk hashes) and of a raw ISA-L
 * stripe, side by side with Debian's python3-zfec measured in the same run on the same bytes
 * (bench/zfec_bench.py under /usr/bin/python3). All figures are medians over repeated samples,
 * single-threaded (so GB/s are per core). */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "crypto/crypto.h"
#include "erasure/erasure.h"
#include "util/util.h"

#define STRIPE_K 10
#define STRIPE_M 4
#define SHARD_BYTES (1u << 20)
#define NSIZES 3
static const size_t msg_sizes[NSIZES] = {1024, 8192, DMP_ERASURE_MAX_MSG_LEN};
static const char *msg_labels[NSIZES] = {"1 KiB", "8 KiB", "max (24.5 KiB)"};

typedef void (*bench_fn)(void *ctx);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double med, min; /* ns per call */
} tm_t;

/* Median and minimum per-call time over `reps` samples; each sample runs enough calls for
 * >= 2 ms. The minimum is printed too because this 2-core machine is shared: the median moves
 * with other people's load, the minimum much less. */
static tm_t measure(bench_fn fn, void *ctx, int reps)
{
    long iters = 1;
    for (;;) {
        int64_t t0 = dmp_monotonic_ns();
        for (long i = 0; i < iters; i++)
            fn(ctx);
        int64_t dt = dmp_monotonic_ns() - t0;
        if (dt >= 2000000 || iters >= (1L << 20))
            break;
        iters *= 2;
    }
    double s[64];
    if (reps > 64)
        reps = 64;
    for (int r = 0; r < reps; r++) {
        int64_t t0 = dmp_monotonic_ns();
        for (long i = 0; i < iters; i++)
            fn(ctx);
        s[r] = (double)(dmp_monotonic_ns() - t0) / (double)iters;
    }
    qsort(s, (size_t)reps, sizeof s[0], cmp_double);
    return (tm_t){s[reps / 2], s[0]};
}

/* ---- the measured operations ---- */

typedef struct {
    uint32_t k, n;
    const uint8_t *data[DMP_ERASURE_MAX_SHARES];
    uint8_t *parity[DMP_ERASURE_MAX_SHARES];
    size_t len;
    /* decode */
    uint32_t ids[DMP_ERASURE_MAX_SHARES];
    const uint8_t *sub[DMP_ERASURE_MAX_SHARES];
    uint8_t *out[DMP_ERASURE_MAX_SHARES];
    int rc;
} fec_ctx_t;

static void op_fec_encode(void *p)
{
    fec_ctx_t *c = p;
    c->rc |= dmp_erasure_fec_encode(c->k, c->n, c->len, c->data, c->parity);
}

static void op_fec_decode(void *p)
{
    fec_ctx_t *c = p;
    c->rc |= dmp_erasure_fec_decode(c->k, c->n, c->len, c->ids, c->sub, c->k, c->out);
}

typedef struct {
    const uint8_t *msg;
    size_t len;
    /* full seal */
    dmp_msg_header_t hdr;
    uint8_t rpk[32];
    const uint8_t *pt;
    size_t pt_len;
    dmp_buf_t sealed;
    /* decode */
    dmp_erasure_chunks_t ch;
    dmp_erasure_chunk_in_t in[DMP_ERASURE_MAX_SHARES];
    size_t nin;
    dmp_buf_t out;
    int rc;
} msg_ctx_t;

static void op_pipeline_encode(void *p)
{
    msg_ctx_t *c = p;
    dmp_erasure_chunks_t ch;
    c->rc |= dmp_erasure_encode_message(c->msg, c->len, &ch);
    dmp_erasure_chunks_free(&ch);
}

static void op_seal_pipeline(void *p)
{
    msg_ctx_t *c = p;
    c->sealed.len = 0;
    c->rc |= dmp_crypto_seal_message(&c->hdr, 0, c->rpk, c->pt, c->pt_len, &c->sealed);
    dmp_erasure_chunks_t ch;
    c->rc |= dmp_erasure_encode_message(c->sealed.data, c->sealed.len, &ch);
    dmp_erasure_chunks_free(&ch);
}

static void op_pipeline_decode(void *p)
{
    msg_ctx_t *c = p;
    c->out.len = 0;
    c->rc |= dmp_erasure_decode_message(c->ch.k, c->ch.n, c->in, c->nin, c->ch.hashes, &c->out);
}

/* ---- python3-zfec peer ---- */

static const char *default_script(void)
{
    static char path[4096];
    const char *f = __FILE__;
    const char *slash = strrchr(f, '/');
    if (slash == NULL)
        return "bench/zfec_bench.py";
    snprintf(path, sizeof path, "%.*s/zfec_bench.py", (int)(slash - f), f);
    return path;
}

static json_t *run_zfec(const char *python, const char *script, const char *datafile, int reps)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' '%s' --data '%s' --stripe-k %d --stripe-m %d --shard-bytes %u "
             "--sizes %zu,%zu,%zu --reps %d",
             python, script, datafile, STRIPE_K, STRIPE_M, SHARD_BYTES, msg_sizes[0], msg_sizes[1],
             msg_sizes[2], reps);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return NULL;
    json_error_t err;
    json_t *j = json_loadf(f, JSON_DISABLE_EOF_CHECK, &err);
    int st = pclose(f);
    if (j == NULL || st != 0) {
        fprintf(stderr, "erasure: zfec peer failed (%s): %s\n", cmd, j ? "exit status" : err.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

static double jnum(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static void hex32(const uint8_t h[32], char out[65])
{
    dmp_hex_encode(h, 32, out, 65);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dnsmesh-bench erasure [--reps N] [--no-zfec] [--python PATH] [--script PATH]\n"
            "\n"
            "Encode/decode throughput of the DMP erasure+chunk pipeline for 1 KiB, 8 KiB and the\n"
            "largest codable message (25,084 B: k=196, n=255; 25 KiB = 25,600 B needs n > 256,\n"
            "which GF(2^8) cannot give), and of a raw k=10 m=4 stripe of 1 MiB shards, side by\n"
            "side with python3-zfec on the same bytes. Medians of N samples (default 9), each\n"
            ">= 2 ms; one thread. Runs for a few seconds.\n"
            "  --no-zfec      skip the python3-zfec peer\n"
            "  --python PATH  interpreter with zfec (default /usr/bin/python3)\n"
            "  --script PATH  peer script (default: bench/zfec_bench.py next to this source)\n");
}

static int bench_erasure_main(int argc, char **argv)
{
    int reps = 9, use_zfec = 1;
    const char *python = "/usr/bin/python3", *script = default_script();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--no-zfec") == 0) {
            use_zfec = 0;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            int64_t v;
            if (dmp_parse_i64(argv[++i], 1, 64, &v) != 0) {
                fprintf(stderr, "erasure: --reps must be 1..64\n");
                return 2;
            }
            reps = (int)v;
        } else if (strcmp(argv[i], "--python") == 0 && i + 1 < argc) {
            python = argv[++i];
        } else if (strcmp(argv[i], "--script") == 0 && i + 1 < argc) {
            script = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (dmp_crypto_init() != 0) {
        fprintf(stderr, "erasure: crypto init failed\n");
        return 1;
    }

    /* the shared input: STRIPE_K MiB of pseudo-random bytes (messages use its prefix) */
    size_t dlen = (size_t)STRIPE_K * SHARD_BYTES;
    uint8_t *data = malloc(dlen);
    uint8_t *par = malloc((size_t)STRIPE_M * SHARD_BYTES);
    if (data == NULL || par == NULL) {
        fprintf(stderr, "erasure: out of memory\n");
        return 1;
    }
    uint64_t x = 0x243f6a8885a308d3ull;
    for (size_t i = 0; i < dlen; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data[i] = (uint8_t)(x >> 32);
    }
    char datafile[] = "/tmp/dnsmesh-bench-erasure-XXXXXX";
    json_t *z = NULL;
    if (use_zfec) {
        int fd = mkstemp(datafile);
        if (fd < 0 || write(fd, data, dlen) != (ssize_t)dlen) {
            fprintf(stderr, "erasure: cannot write %s: %s\n", datafile, strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(datafile);
            }
            return 1;
        }
        close(fd);
        z = run_zfec(python, script, datafile, reps);
        unlink(datafile);
        if (z == NULL)
            fprintf(stderr, "erasure: continuing without the zfec peer\n");
    }

    int rc_all = 0;
    printf("dnsmesh-bench erasure: 1 thread; median and min of %d samples (>= 2 ms each)", reps);
    if (z)
        printf("; peer: python3-zfec %s (Python %s)%s",
               json_string_value(json_object_get(z, "zfec_version")),
               json_string_value(json_object_get(z, "python")),
               json_is_true(json_object_get(z, "reedsolo")) ? " + reedsolo" : "");
    printf("\n");

    /* ---- raw stripe ---- */
    fec_ctx_t *fc = calloc(1, sizeof *fc);
    if (fc == NULL)
        return 1;
    fc->k = STRIPE_K;
    fc->n = STRIPE_K + STRIPE_M;
    fc->len = SHARD_BYTES;
    for (int j = 0; j < STRIPE_K; j++)
        fc->data[j] = data + (size_t)j * SHARD_BYTES;
    for (int j = 0; j < STRIPE_M; j++)
        fc->parity[j] = par + (size_t)j * SHARD_BYTES;
    op_fec_encode(fc); /* builds the cached tables */
    tm_t st = measure(op_fec_encode, fc, reps);
    double stripe_gbs = (double)dlen / st.med;
    uint8_t h[32];
    char hx[65];
    dmp_crypto_sha256(par, (size_t)STRIPE_M * SHARD_BYTES, h);
    hex32(h, hx);
    printf("\nraw stripe k=%d m=%d, 1 MiB shards (ISA-L ec_encode_data, zfec matrix); GB/s of data "
           "per core:\n",
           STRIPE_K, STRIPE_M);
    printf("  %-14s %10s %10s %10s %10s\n", "", "median", "min", "GB/s med", "GB/s max");
    printf("  %-14s %7.3f ms %7.3f ms %10.2f %10.2f\n", "dnsmesh", st.med / 1e6, st.min / 1e6,
           stripe_gbs, (double)dlen / st.min);
    double stripe_ratio = 0;
    if (z) {
        json_t *s = json_object_get(z, "stripe");
        double zmed = jnum(s, "encode_ns"), zmin = jnum(s, "encode_min_ns");
        stripe_ratio = zmed / st.med;
        const char *zh = json_string_value(json_object_get(s, "parity_sha256"));
        int same = zh && strcmp(zh, hx) == 0;
        printf("  %-14s %7.3f ms %7.3f ms %10.2f %10.2f\n", "python3-zfec", zmed / 1e6, zmin / 1e6,
               (double)dlen / zmed, (double)dlen / zmin);
        printf("  %-14s %9.1fx %9.1fx   (zfec time / dnsmesh time); parity identical: %s\n",
               "ratio", stripe_ratio, zmin / st.min, same ? "yes" : "NO");
        if (!same)
            rc_all = 1;
    }

    /* ---- messages ---- */
    double big_enc_med = 0, big_enc_min = 0, big_seal_med = 0;
    const char *pyname = z && json_is_true(json_object_get(z, "reedsolo"))
                             ? "zfec + reedsolo + hashlib + base64"
                             : "zfec + pure-Python RS(32) like reedsolo's (reedsolo is not "
                               "installed) + hashlib + base64";
    for (int si = 0; si < NSIZES; si++) {
        size_t len = msg_sizes[si];
        uint32_t k, n;
        uint8_t *shares = NULL;
        if (dmp_erasure_encode_shares(data, len, &k, &n, &shares) != 0) {
            fprintf(stderr, "erasure: encode failed\n");
            return 1;
        }
        json_t *zm = z ? json_array_get(json_object_get(z, "messages"), (size_t)si) : NULL;
        printf("\nmessage %s (%zu-byte outer message, k=%u n=%u); us per message:\n",
               msg_labels[si], len, k, n);
        printf("  %-44s %9s %9s | %9s %9s | %7s\n", "operation", "median", "min", "zfec-py", "min",
               "x (med)");
        /* fec-only on the padded stripe */
        memset(fc, 0, sizeof *fc);
        fc->k = k;
        fc->n = n;
        fc->len = DMP_ERASURE_BLOCK_LEN;
        uint8_t *pbuf = malloc((size_t)n * DMP_ERASURE_BLOCK_LEN);
        uint8_t *dbuf = malloc((size_t)k * DMP_ERASURE_BLOCK_LEN);
        msg_ctx_t *mc = calloc(1, sizeof *mc);
        if (pbuf == NULL || dbuf == NULL || mc == NULL)
            return 1;
        for (uint32_t j = 0; j < k; j++)
            fc->data[j] = shares + (size_t)j * DMP_ERASURE_BLOCK_LEN;
        for (uint32_t j = k; j < n; j++)
            fc->parity[j - k] = pbuf + (size_t)(j - k) * DMP_ERASURE_BLOCK_LEN;
        tm_t fenc = measure(op_fec_encode, fc, reps);
        /* lossy: the first e = min(n-k, k) data shares missing, the k lowest remaining used */
        uint32_t e = n - k < k ? n - k : k, m = 0;
        for (uint32_t id = e; id < n && m < k; id++) {
            fc->ids[m] = id;
            fc->sub[m++] = shares + (size_t)id * DMP_ERASURE_BLOCK_LEN;
        }
        for (uint32_t j = 0; j < k; j++)
            fc->out[j] = dbuf + (size_t)j * DMP_ERASURE_BLOCK_LEN;
        tm_t fdec = measure(op_fec_decode, fc, reps);
        if (memcmp(dbuf, shares, (size_t)k * DMP_ERASURE_BLOCK_LEN) != 0)
            fc->rc = -1;

        mc->msg = data;
        mc->len = len;
        tm_t enc = measure(op_pipeline_encode, mc, reps);
        mc->rc |= dmp_erasure_encode_message(data, len, &mc->ch);
        for (uint32_t i = 0; i < n; i++) {
            mc->in[i].index = i;
            mc->in[i].txt =
                (const uint8_t *)mc->ch.txt + (size_t)i * (DMP_ERASURE_CHUNK_TXT_LEN + 1);
            mc->in[i].len = DMP_ERASURE_CHUNK_TXT_LEN;
        }
        mc->nin = n;
        dmp_buf_init(&mc->out);
        tm_t dec = measure(op_pipeline_decode, mc, reps);
        memmove(mc->in, mc->in + e, (n - e) * sizeof mc->in[0]);
        mc->nin = n - e;
        tm_t decl = measure(op_pipeline_decode, mc, reps);
        if (mc->out.len != len || memcmp(mc->out.data, data, len) != 0)
            mc->rc = -1;

        /* full seal (X25519 + HKDF + ChaCha20-Poly1305 + outer) + erasure + chunks, with the
         * plaintext sized so that the outer message is `len` bytes */
        mc->hdr.v = 1;
        mc->hdr.type = DMP_MSG_DATA;
        mc->hdr.total = 1;
        mc->hdr.ts = 1893456000;
        mc->hdr.ttl = 300;
        uint8_t rsk[32];
        dmp_crypto_x25519_keypair(rsk, mc->rpk);
        dmp_wipe(rsk, sizeof rsk);
        dmp_buf_init(&mc->sealed);
        mc->rc |= dmp_crypto_seal_message(&mc->hdr, 0, mc->rpk, data, 0, &mc->sealed);
        size_t overhead = mc->sealed.len;
        mc->pt = data;
        mc->pt_len = len > overhead ? len - overhead : 0;
        tm_t seal = measure(op_seal_pipeline, mc, reps);

        double zf[6] = {0};
        int txt_same = 0;
        if (zm) {
            zf[0] = jnum(zm, "fec_encode_ns");
            zf[1] = jnum(zm, "fec_encode_min_ns");
            zf[2] = jnum(zm, "fec_decode_ns");
            zf[3] = jnum(zm, "fec_decode_min_ns");
            zf[4] = jnum(zm, "pipeline_ns");
            zf[5] = jnum(zm, "pipeline_min_ns");
            dmp_crypto_sha256(shares, (size_t)n * DMP_ERASURE_BLOCK_LEN, h);
            hex32(h, hx);
            const char *zh = json_string_value(json_object_get(zm, "shares_sha256"));
            if (!zh || strcmp(zh, hx) != 0) {
                printf("  !! shares differ from zfec\n");
                rc_all = 1;
            }
            /* the n TXT values, concatenated, against the Python pipeline's */
            crypto_hash_sha256_state hs;
            crypto_hash_sha256_init(&hs);
            for (uint32_t i = 0; i < n; i++)
                crypto_hash_sha256_update(
                    &hs, (const uint8_t *)mc->ch.txt + (size_t)i * (DMP_ERASURE_CHUNK_TXT_LEN + 1),
                    DMP_ERASURE_CHUNK_TXT_LEN);
            crypto_hash_sha256_final(&hs, h);
            hex32(h, hx);
            zh = json_string_value(json_object_get(zm, "txt_sha256"));
            txt_same = zh && strcmp(zh, hx) == 0;
            if (!txt_same)
                rc_all = 1;
        }
        struct {
            const char *name;
            tm_t t;
            int zi;
        } rows[] = {
            {"k-of-n encode (parity of the k*128 B stripe)", fenc, 0},
            {"k-of-n decode, first min(n-k,k) data lost", fdec, 2},
            {"encode: prefix+k-of-n+RS+checksum+TXT+hash", enc, 4},
            {"decode: TXT+hash+RS+k-of-n, no loss", dec, -1},
            {"decode: same, first min(n-k,k) chunks lost", decl, -1},
            {"seal (X25519+HKDF+AEAD+outer) + encode", seal, -1},
        };
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            printf("  %-44s %9.2f %9.2f", rows[r].name, rows[r].t.med / 1e3, rows[r].t.min / 1e3);
            if (zm && rows[r].zi >= 0)
                printf(" | %9.2f %9.2f | %6.1fx\n", zf[rows[r].zi] / 1e3, zf[rows[r].zi + 1] / 1e3,
                       zf[rows[r].zi] / rows[r].t.med);
            else
                printf(" | %9s %9s | %7s\n", "", "", "");
        }
        if (zm)
            printf("  (zfec-py encode row = Python pipeline: %s;\n   its %u TXT values are "
                   "identical to ours: %s)\n",
                   pyname, n, txt_same ? "yes" : "NO");
        if (si == NSIZES - 1) {
            big_enc_med = enc.med / 1e3;
            big_enc_min = enc.min / 1e3;
            big_seal_med = seal.med / 1e3;
        }
        if (mc->rc != 0 || fc->rc != 0) {
            printf("  !! an operation failed for %zu bytes\n", len);
            rc_all = 1;
        }
        dmp_buf_free(&mc->sealed);
        dmp_buf_free(&mc->out);
        dmp_erasure_chunks_free(&mc->ch);
        free(mc);
        free(pbuf);
        free(dbuf);
        free(shares);
    }

    printf("\ngoals: stripe >= 5 GB/s per core: %s (%.2f GB/s median); >= 15x zfec: %s (%.1fx); "
           "largest message erasure+chunk < 200 us: %s (median %.1f us, min %.1f us; with seal "
           "%.1f us)\n",
           stripe_gbs >= 5 ? "met" : "MISSED", stripe_gbs,
           !z                   ? "n/a"
           : stripe_ratio >= 15 ? "met"
                                : "MISSED",
           stripe_ratio, big_enc_med < 200 ? "met" : "MISSED", big_enc_med, big_enc_min,
           big_seal_med);
    json_decref(z);
    free(fc);
    free(data);
    free(par);
    return rc_all;
}

static const dmp_bench_cmd_t cmd = {
    "erasure", "erasure+chunk pipeline and ISA-L stripe vs python3-zfec", bench_erasure_main};
DMP_BENCH_REGISTER(cmd)
