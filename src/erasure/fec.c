/* erasure: zfec-compatible systematic k-of-n code over GF(2^8)/0x11D, arithmetic by ISA-L.
 *
 * E = V * inverse(V[0:k]) where V is the 256 x k Vandermonde matrix at the points
 * 0, 1, a, a^2, ..., a^254 (zfec fec_new). Row r of E does not depend on n, so one code object per
 * k holds the parity rows k..255 and (built on the first encode) ISA-L's expanded tables for
 * them; an (k, n) encode uses the first n-k rows. Code objects are published with an atomic
 * compare-and-swap and never freed: readers take no lock. */
#include <isa-l/erasure_code.h>
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
    fec_code_t *c = atomic_load_explicit(&fec_codes[k], memory_order_acquire);
    if (c)
        return c;
    dmp_erasure_gf_init();
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
        ec_init_tables((int)c->k, (int)nrows, c->rows, mine);
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

    /* the k lowest share numbers: every present data share plus the lowest parity shares */
    uint32_t missing[MAXS], par[MAXS];
    uint32_t e = 0, npar = 0;
    for (uint32_t j = 0; j < k; j++) {
        if (by_id[j] == NULL)
            missing[e++] = j;
    }
    for (uint32_t r = k; r < n && npar < e; r++) {
        if (by_id[r] != NULL)
            par[npar++] = r;
    }
    if (npar < e)
        return DMP_EERASURE_SHARES; /* unreachable: count >= k distinct ids */
    for (uint32_t j = 0; j < k; j++) {
        if (by_id[j] != NULL && by_id[j] != data_out[j])
            memmove(data_out[j], by_id[j], len);
    }
    if (e == 0 || len == 0)
        return 0;

    const fec_code_t *c = fec_get(k);
    if (c == NULL)
        return DMP_ENOMEM;
    /* Solve A * d_missing = y with A = E[par][missing] (e x e); see the derivation in
     * dmp_erasure_fec_decode's header comment: y = share_par + E[par][present] * d_present. */
    int rc = DMP_ENOMEM;
    uint8_t *a = malloc((size_t)e * e), *ainv = malloc((size_t)e * e);
    uint8_t *dec = malloc((size_t)e * k), *tbls = malloc(32 * (size_t)e * k);
    if (a == NULL || ainv == NULL || dec == NULL || tbls == NULL)
        goto out;
    for (uint32_t i = 0; i < e; i++) {
        const uint8_t *row = c->rows + (size_t)(par[i] - k) * k;
        for (uint32_t j = 0; j < e; j++)
            a[i * e + j] = row[missing[j]];
    }
    if (gf_invert_matrix(a, ainv, (int)e) != 0) {
        rc = DMP_EERASURE_PARAM; /* cannot happen for an MDS code */
        goto out;
    }
    /* inputs: present data shares in id order, then the e parity shares */
    const uint8_t *in[MAXS];
    uint32_t nin = 0;
    for (uint32_t j = 0; j < k; j++) {
        if (by_id[j] != NULL)
            in[nin++] = data_out[j];
    }
    for (uint32_t i = 0; i < e; i++)
        in[nin++] = by_id[par[i]];
    uint8_t *outp[MAXS];
    for (uint32_t b = 0; b < e; b++) {
        uint8_t *drow = dec + (size_t)b * k;
        uint32_t col = 0;
        for (uint32_t j = 0; j < k; j++) {
            if (by_id[j] == NULL)
                continue;
            uint8_t acc = 0;
            for (uint32_t i = 0; i < e; i++)
                acc ^= dmp_gf_mul(ainv[b * e + i], c->rows[(size_t)(par[i] - k) * k + j]);
            drow[col++] = acc;
        }
        for (uint32_t i = 0; i < e; i++)
            drow[col++] = ainv[b * e + i];
        outp[b] = data_out[missing[b]];
    }
    ec_init_tables((int)k, (int)e, dec, tbls);
    ec_encode_data((int)len, (int)k, (int)e, tbls, (unsigned char **)in, outp);
    rc = 0;
out:
    free(a);
    free(ainv);
    free(dec);
    free(tbls);
    return rc;
}
