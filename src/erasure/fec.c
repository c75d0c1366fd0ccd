/* erasure: zfec-compatible systematic k-of-n code over GF(2^8)/0x11D, arithmetic by ISA-L.
 *
 * E = V * inverse(V[0:k]) where V is the 256 x k Vandermonde matrix at the points
 * 0, 1, a, a^2, ..., a^254 (zfec fec_new). Row r of E does not depend on n, so one code object per
 * k holds the parity rows k..255 and (built on the first encode) ISA-L's expanded tables for
 * them; an (k, n) encode uses the first n-k rows. Code objects are published with an atomic
 * compare-and-swap and never freed: readers take no lock.
 * Decoding needs no cached state: E's rows are Lagrange basis values (share r is the data
 * polynomial evaluated at zfec's point for r), so missing data blocks are interpolated from the
 * k chosen shares with barycentric weights, O(k^2) table lookups instead of an O(k^3) inversion;
 * any k shares determine the same data, so the result equals zfec's. */
#include <isa-l/erasure_code.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "erasure/erasure.h"
#include "erasure/erasure_internal.h"

#define MAXS DMP_ERASURE_MAX_SHARES

/* Immutable once published, except enc_tbls which goes once from NULL to its final value.
 * rows: (256 - k) x k, row-major, row i is E[k + i]. enc_tbls: 32 * k * (256 - k) bytes. */
typedef struct {
    uint32_t k;
    uint8_t *rows;
    _Atomic(uint8_t *) enc_tbls;
} fec_code_t;

static _Atomic(fec_code_t *) fec_codes[MAXS + 1];

/* fec_const_tbl[c] = ISA-L's 32-byte multiply-by-c table (gf_vect_mul_init(c)), so that a
 * coefficient matrix expands into ec_encode_data tables by copying instead of recomputing. */
static uint8_t fec_const_tbl[256][32];
static pthread_once_t fec_once = PTHREAD_ONCE_INIT;

static void fec_const_build(void)
{
    dmp_erasure_gf_init();
    for (unsigned c = 0; c < 256; c++)
        gf_vect_mul_init((unsigned char)c, fec_const_tbl[c]);
}

/* Same layout as ec_init_tables(k, rows, a, tbls). */
static void fec_init_tables(uint32_t k, size_t rows, const uint8_t *a, uint8_t *tbls)
{
    for (size_t i = 0; i < rows * k; i++)
        memcpy(tbls + 32 * i, fec_const_tbl[a[i]], 32);
}

/* Evaluation point of share r (zfec): 0 for r = 0, a^(r-1) otherwise. */
static inline uint8_t fec_point(uint32_t r)
{
    return r == 0 ? 0 : dmp_gf_pow2(r - 1);
}

static int fec_params_ok(uint32_t k, uint32_t n)
{
    return k >= 1 && n >= k && n <= MAXS;
}

static fec_code_t *fec_build(uint32_t k)
{
    size_t nrows = MAXS - k;
    fec_code_t *c = calloc(1, sizeof *c);
    uint8_t *vtop = malloc((size_t)k * k);
    uint8_t *inv = malloc((size_t)k * k);
    uint8_t *rows = nrows ? malloc(nrows * k) : NULL;
    if (c == NULL || vtop == NULL || inv == NULL || (nrows && rows == NULL))
        goto fail;
    for (uint32_t r = 0; r < k; r++) {
        for (uint32_t col = 0; col < k; col++)
            vtop[r * k + col] = r == 0 ? (col == 0) : dmp_gf_pow2((r - 1) * col);
    }
    if (gf_invert_matrix(vtop, inv, (int)k) != 0)
        goto fail; /* cannot happen: distinct points */
    uint8_t vrow[MAXS];
    for (size_t i = 0; i < nrows; i++) {
        uint32_t r = k + (uint32_t)i;
        for (uint32_t col = 0; col < k; col++)
            vrow[col] = dmp_gf_pow2((r - 1) * col);
        for (uint32_t j = 0; j < k; j++) {
            uint8_t acc = 0;
            for (uint32_t col = 0; col < k; col++)
                acc ^= dmp_gf_mul(vrow[col], inv[col * k + j]);
            rows[i * k + j] = acc;
        }
    }
    free(vtop);
    free(inv);
    c->k = k;
    c->rows = rows;
    atomic_init(&c->enc_tbls, NULL);
    return c;
fail:
    free(vtop);
    free(inv);
    free(rows);
    free(c);
    return NULL;
}

static const fec_code_t *fec_get(uint32_t k)
{
    pthread_once(&fec_once, fec_const_build);
    fec_code_t *c = atomic_load_explicit(&fec_codes[k], memory_order_acquire);
    if (c)
        return c;
    fec_code_t *mine = fec_build(k);
    if (mine == NULL)
        return NULL;
    fec_code_t *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(&fec_codes[k], &expected, mine,
                                                memory_order_acq_rel, memory_order_acquire))
        return mine;
    free(mine->rows);
    free(mine);
    return expected;
}

static uint8_t *fec_enc_tbls(const fec_code_t *cc)
{
    fec_code_t *c = (fec_code_t *)cc;
    uint8_t *t = atomic_load_explicit(&c->enc_tbls, memory_order_acquire);
    if (t)
        return t;
    size_t nrows = MAXS - c->k;
    uint8_t *mine = malloc(32 * (size_t)c->k * (nrows ? nrows : 1));
    if (mine == NULL)
        return NULL;
    if (nrows)
        fec_init_tables(c->k, nrows, c->rows, mine);
    uint8_t *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(&c->enc_tbls, &expected, mine, memory_order_acq_rel,
                                                memory_order_acquire))
        return mine;
    free(mine);
    return expected;
}

int dmp_erasure_fec_row(uint32_t k, uint32_t row, uint8_t *out)
{
    if (!fec_params_ok(k, k) || row >= MAXS || out == NULL)
        return DMP_EERASURE_PARAM;
    if (row < k) {
        memset(out, 0, k);
        out[row] = 1;
        return 0;
    }
    const fec_code_t *c = fec_get(k);
    if (c == NULL)
        return DMP_ENOMEM;
    memcpy(out, c->rows + (size_t)(row - k) * k, k);
    return 0;
}

int dmp_erasure_fec_encode(uint32_t k, uint32_t n, size_t len, const uint8_t *const *data,
                           uint8_t *const *parity)
{
    if (!fec_params_ok(k, n) || len > INT32_MAX || data == NULL || (n > k && parity == NULL))
        return DMP_EERASURE_PARAM;
    if (n == k || len == 0)
        return 0;
    const fec_code_t *c = fec_get(k);
    if (c == NULL)
        return DMP_ENOMEM;
    uint8_t *tbls = fec_enc_tbls(c);
    if (tbls == NULL)
        return DMP_ENOMEM;
    ec_encode_data((int)len, (int)k, (int)(n - k), tbls, (unsigned char **)data,
                   (unsigned char **)parity);
    return 0;
}

int dmp_erasure_fec_decode(uint32_t k, uint32_t n, size_t len, const uint32_t *ids,
                           const uint8_t *const *shares, size_t count, uint8_t *const *data_out)
{
    if (!fec_params_ok(k, n) || len > INT32_MAX || (count && (ids == NULL || shares == NULL)) ||
        data_out == NULL)
        return DMP_EERASURE_PARAM;
    const uint8_t *by_id[MAXS] = {0};
    for (size_t i = 0; i < count; i++) {
        if (ids[i] >= n || shares[i] == NULL)
            return DMP_EERASURE_PARAM;
        if (by_id[ids[i]] != NULL)
            return DMP_EERASURE_DUPSHARE;
        by_id[ids[i]] = shares[i];
    }
    if (count < k)
        return DMP_EERASURE_SHARES;

    /* the k lowest share numbers: every present data share plus the lowest e parity shares */
    uint32_t missing[MAXS];
    uint32_t e = 0;
    for (uint32_t j = 0; j < k; j++) {
        if (by_id[j] == NULL)
            missing[e++] = j;
    }
    for (uint32_t j = 0; j < k; j++) {
        if (by_id[j] != NULL && by_id[j] != data_out[j])
            memmove(data_out[j], by_id[j], len);
    }
    if (e == 0 || len == 0)
        return 0;

    /* The selected shares are k evaluations of the data polynomial f (degree < k, f(x_j) =
     * data_j for j < k; share r is f at point x_r = 0 for r = 0, a^(r-1) otherwise). Each
     * missing data block is f at its own point, i.e. a Lagrange combination of the selected
     * shares, with barycentric weights computed in the log domain (O(k^2 + e*k) table lookups,
     * no matrix inversion). All differences x_s + x_t of distinct points are non-zero. */
    uint32_t sel[MAXS];
    uint32_t nsel = 0;
    for (uint32_t r = 0; r < n && nsel < k; r++) {
        if (by_id[r] != NULL)
            sel[nsel++] = r;
    }
    pthread_once(&fec_once, fec_const_build);
    uint8_t *tbls = malloc(32 * (size_t)e * k);
    if (tbls == NULL)
        return DMP_ENOMEM;
    const uint8_t *lg = dmp_erasure_gf_log;
    uint8_t xs[MAXS];
    unsigned logw[MAXS]; /* -log prod_{t != s} (x_s + x_t), mod 255 */
    for (uint32_t i = 0; i < k; i++)
        xs[i] = fec_point(sel[i]);
    for (uint32_t i = 0; i < k; i++) {
        unsigned acc = 0;
        for (uint32_t t = 0; t < k; t++) {
            if (t != i)
                acc += lg[xs[i] ^ xs[t]];
        }
        logw[i] = (255 - acc % 255) % 255;
    }
    const uint8_t *in[MAXS];
    uint8_t *outp[MAXS];
    for (uint32_t i = 0; i < k; i++)
        in[i] = by_id[sel[i]];
    for (uint32_t b = 0; b < e; b++) {
        uint8_t xm = fec_point(missing[b]);
        unsigned logl = 0;
        for (uint32_t t = 0; t < k; t++)
            logl += lg[xm ^ xs[t]];
        logl %= 255;
        uint8_t *tb = tbls + 32 * (size_t)b * k;
        for (uint32_t i = 0; i < k; i++) {
            unsigned lc = (logl + 255 - lg[xm ^ xs[i]] + logw[i]) % 255;
            memcpy(tb + 32 * (size_t)i, fec_const_tbl[dmp_erasure_gf_exp[lc]], 32);
        }
        outp[b] = data_out[missing[b]];
    }
    ec_encode_data((int)len, (int)k, (int)e, tbls, (unsigned char **)in, outp);
    free(tbls);
    return 0;
}
