/* erasure: reedsolo RSCodec(32)-compatible Reed-Solomon over GF(2^8)/0x11D, generator 2, fcr 0.
 *
 * Encoding is the systematic remainder m(x) * x^32 mod g(x), g(x) = prod_{i<32} (x - a^i),
 * computed as a table-driven linear map (per-degree nibble tables, built once).
 * Decoding: syndromes (via re-encoding, so an intact codeword costs one encode), Berlekamp-Massey,
 * Chien search over the codeword's own positions, Forney, and a final syndrome check: the
 * decoder only ever returns a codeword, and reports failure exactly where reedsolo raises
 * ReedSolomonError (too many errors for the locator, or root count != locator degree). */
#include <pthread.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#include <string.h>

#include "erasure/erasure.h"
#include "erasure/erasure_internal.h"

#define NSYM DMP_ERASURE_RS_NSYM

/* Invariant after rs_init: rs_gen[0..32] = g(x) highest degree first (rs_gen[0] = 1);
 * rs_tbl[d][h][v] = (v << 4h) * (x^(d+32) mod g(x)) as 32 parity bytes, for every message
 * coefficient degree d < 223: the remainder is linear in the message, so
 * parity = XOR over message bytes m_i (degree len-1-i) of rs_tbl[d][0][m_i & 15] ^
 * rs_tbl[d][1][m_i >> 4]. 223 * 1 KiB; a 128-byte block touches 128 KiB of it. */
typedef uint8_t rs_vec_t __attribute__((vector_size(32), aligned(32)));
static uint8_t rs_gen[NSYM + 1];
static rs_vec_t rs_tbl[DMP_ERASURE_RS_MAX_CW_LEN - NSYM][2][16];
static pthread_once_t rs_once = PTHREAD_ONCE_INIT;
static int rs_use_avx2;

/* GFNI path. The CPU multiplies in GF(2^8)/0x11B (AES field); phi maps our field (0x11D) onto it
 * (a field isomorphism, so it preserves products and sums: phi(a^j) = b^j for a root b of 0x11D
 * in the AES field, linear over GF(2), i.e. one 8x8 bit matrix for gf2p8affineqb).
 * parity = phi^-1( XOR_i phi(m_i) * phi(x^(d_i+32) mod g) ): a broadcast, a gf2p8mulb and an XOR
 * per message byte against a 7 KiB table that stays in L1. rs_gfni_p[d] = phi(rs_tbl row d). */
static uint8_t rs_gfni_p[DMP_ERASURE_RS_MAX_CW_LEN - NSYM][NSYM] __attribute__((aligned(32)));
static uint64_t rs_phi_mat, rs_phi_inv_mat;
static int rs_use_gfni;
static int rs_force_generic; /* tests: exercise the portable path on GFNI machines */

static uint8_t aes_mul(uint8_t a, uint8_t b)
{
    uint8_t r = 0;
    while (b) {
        if (b & 1)
            r ^= a;
        a = (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1b : 0));
        b >>= 1;
    }
    return r;
}

/* gf2p8affineqb matrix for the linear map whose value on bit j is col[j]: output bit i is the
 * parity of (matrix byte 7-i) & x, so byte 7-i collects bit i of every column. */
static uint64_t affine_matrix(const uint8_t col[8])
{
    uint64_t m = 0;
    for (int i = 0; i < 8; i++) {
        uint8_t row = 0;
        for (int j = 0; j < 8; j++)
            row |= (uint8_t)(((col[j] >> i) & 1) << j);
        m |= (uint64_t)row << (8 * (7 - i));
    }
    return m;
}

static void rs_build_gfni(void)
{
    uint8_t beta = 0;
    for (unsigned b = 2; b < 256 && beta == 0; b++) {
        uint8_t p[9] = {1};
        for (int i = 1; i <= 8; i++)
            p[i] = aes_mul(p[i - 1], (uint8_t)b);
        if ((p[8] ^ p[4] ^ p[3] ^ p[2] ^ p[0]) == 0)
            beta = (uint8_t)b;
    }
    uint8_t col[8], phi[256], inv[256], icol[8];
    col[0] = 1;
    for (int j = 1; j < 8; j++)
        col[j] = aes_mul(col[j - 1], beta);
    for (unsigned x = 0; x < 256; x++) {
        uint8_t y = 0;
        for (int j = 0; j < 8; j++) {
            if (x >> j & 1)
                y ^= col[j];
        }
        phi[x] = y;
        inv[y] = (uint8_t)x;
    }
    for (int j = 0; j < 8; j++)
        icol[j] = inv[1u << j];
    rs_phi_mat = affine_matrix(col);
    rs_phi_inv_mat = affine_matrix(icol);
    for (size_t d = 0; d < DMP_ERASURE_RS_MAX_CW_LEN - NSYM; d++) {
        for (int j = 0; j < NSYM; j++)
            rs_gfni_p[d][j] = phi[rs_tbl[d][0][1][j]];
    }
}

static void rs_build(void)
{
    dmp_erasure_gf_init();
    /* g(x) = prod (x - a^i), coefficients highest degree first */
    uint8_t g[NSYM + 1] = {1};
    size_t deg = 0;
    for (unsigned i = 0; i < NSYM; i++) {
        uint8_t root = dmp_gf_pow2(i);
        uint8_t ng[NSYM + 1] = {0};
        for (size_t j = 0; j <= deg; j++) {
            ng[j] ^= g[j];
            ng[j + 1] ^= dmp_gf_mul(g[j], root);
        }
        deg++;
        memcpy(g, ng, sizeof g);
    }
    memcpy(rs_gen, g, sizeof rs_gen);
    /* p = x^(d+32) mod g, highest degree first; x^32 mod g = g[1..32] */
    uint8_t p[NSYM];
    memcpy(p, g + 1, NSYM);
    for (size_t d = 0; d < DMP_ERASURE_RS_MAX_CW_LEN - NSYM; d++) {
        for (unsigned h = 0; h < 2; h++) {
            for (unsigned v = 0; v < 16; v++) {
                uint8_t c = (uint8_t)(v << (4 * h));
                for (int j = 0; j < NSYM; j++)
                    rs_tbl[d][h][v][j] = dmp_gf_mul(c, p[j]);
            }
        }
        uint8_t f = p[0];
        memmove(p, p + 1, NSYM - 1);
        p[NSYM - 1] = 0;
        for (int j = 0; j < NSYM; j++)
            p[j] ^= dmp_gf_mul(f, g[j + 1]);
    }
#if defined(__x86_64__) && defined(__GNUC__)
    rs_use_avx2 = __builtin_cpu_supports("avx2");
    rs_use_gfni = rs_use_avx2 && __builtin_cpu_supports("gfni");
    if (rs_use_gfni)
        rs_build_gfni();
#endif
}

static void rs_init(void)
{
    pthread_once(&rs_once, rs_build);
}

void dmp_erasure_rs_force_generic(int on)
{
    rs_init();
    rs_force_generic = on;
}

#define RS_REMAINDER_BODY                                                                          \
    rs_vec_t a = {0}, b = {0};                                                                     \
    size_t i = 0;                                                                                  \
    for (; i + 2 <= len; i += 2) {                                                                 \
        const rs_vec_t(*t0)[16] = rs_tbl[len - 1 - i], (*t1)[16] = rs_tbl[len - 2 - i];            \
        a ^= t0[0][msg[i] & 15] ^ t0[1][msg[i] >> 4];                                              \
        b ^= t1[0][msg[i + 1] & 15] ^ t1[1][msg[i + 1] >> 4];                                      \
    }                                                                                              \
    if (i < len)                                                                                   \
        a ^= rs_tbl[0][0][msg[i] & 15] ^ rs_tbl[0][1][msg[i] >> 4];                                \
    a ^= b;                                                                                        \
    memcpy(parity, &a, NSYM);

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static void rs_remainder_avx2(const uint8_t *msg, size_t len,
                                                              uint8_t parity[NSYM])
{
    RS_REMAINDER_BODY
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,gfni"))) static void rs_remainder_gfni(const uint8_t *msg, size_t len,
                                                                   uint8_t parity[NSYM])
{
    uint8_t mapped[DMP_ERASURE_RS_MAX_CW_LEN - NSYM + 1] __attribute__((aligned(32))) = {0};
    memcpy(mapped, msg, len);
    const __m256i phi = _mm256_set1_epi64x((long long)rs_phi_mat);
    for (size_t i = 0; i < len; i += 32) {
        __m256i v = _mm256_load_si256((const __m256i *)(mapped + i));
        _mm256_store_si256((__m256i *)(mapped + i), _mm256_gf2p8affine_epi64_epi8(v, phi, 0));
    }
    __m256i a = _mm256_setzero_si256(), b = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 2 <= len; i += 2) {
        __m256i p0 = _mm256_load_si256((const __m256i *)rs_gfni_p[len - 1 - i]);
        __m256i p1 = _mm256_load_si256((const __m256i *)rs_gfni_p[len - 2 - i]);
        a = _mm256_xor_si256(a, _mm256_gf2p8mul_epi8(_mm256_set1_epi8((char)mapped[i]), p0));
        b = _mm256_xor_si256(b, _mm256_gf2p8mul_epi8(_mm256_set1_epi8((char)mapped[i + 1]), p1));
    }
    if (i < len) {
        __m256i p0 = _mm256_load_si256((const __m256i *)rs_gfni_p[0]);
        a = _mm256_xor_si256(a, _mm256_gf2p8mul_epi8(_mm256_set1_epi8((char)mapped[i]), p0));
    }
    a = _mm256_xor_si256(a, b);
    a = _mm256_gf2p8affine_epi64_epi8(a, _mm256_set1_epi64x((long long)rs_phi_inv_mat), 0);
    _mm256_storeu_si256((__m256i *)parity, a);
}
#endif

static void rs_remainder_generic(const uint8_t *msg, size_t len, uint8_t parity[NSYM])
{
    RS_REMAINDER_BODY
}

/* parity = msg(x) * x^32 mod g(x); len <= 223. */
static void rs_remainder(const uint8_t *msg, size_t len, uint8_t parity[NSYM])
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (rs_use_gfni && !rs_force_generic) {
        rs_remainder_gfni(msg, len, parity);
        return;
    }
    if (rs_use_avx2) {
        rs_remainder_avx2(msg, len, parity);
        return;
    }
#endif
    rs_remainder_generic(msg, len, parity);
}

int dmp_erasure_rs_encode(const uint8_t *msg, size_t msg_len, uint8_t parity[NSYM])
{
    if ((msg == NULL && msg_len != 0) || parity == NULL ||
        msg_len > DMP_ERASURE_RS_MAX_CW_LEN - NSYM)
        return DMP_EINVAL;
    rs_init();
    rs_remainder(msg, msg_len, parity);
    return 0;
}

/* Syndromes S_i = r(a^i), i < 32, of the received word, computed from the difference between the
 * received parity and the parity of the received message part (the re-encoded word is a codeword,
 * so only the 32-coefficient difference contributes). Returns whether any is non-zero. */
static int rs_syndromes(const uint8_t *cw, size_t len, uint8_t synd[NSYM])
{
    uint8_t p[NSYM];
    rs_remainder(cw, len - NSYM, p);
    int nz = 0;
    for (int j = 0; j < NSYM; j++) {
        p[j] ^= cw[len - NSYM + j];
        nz |= p[j];
    }
    if (!nz) {
        memset(synd, 0, NSYM);
        return 0;
    }
    for (unsigned i = 0; i < NSYM; i++) {
        uint8_t x = dmp_gf_pow2(i), s = 0;
        for (int j = 0; j < NSYM; j++)
            s = dmp_gf_mul(s, x) ^ p[j];
        synd[i] = s;
    }
    return 1;
}

int dmp_erasure_rs_decode(uint8_t *cw, size_t len, int *nfixed)
{
    if (nfixed)
        *nfixed = 0;
    if (cw == NULL || len <= NSYM || len > DMP_ERASURE_RS_MAX_CW_LEN)
        return DMP_EINVAL;
    rs_init();
    uint8_t S[NSYM];
    if (!rs_syndromes(cw, len, S))
        return 0;

    /* Berlekamp-Massey; polynomials lowest degree first. */
    uint8_t C[NSYM + 1] = {1}, B[NSYM + 1] = {1};
    int L = 0, m = 1;
    uint8_t b = 1;
    for (int r = 0; r < NSYM; r++) {
        uint8_t d = S[r];
        for (int i = 1; i <= L; i++)
            d ^= dmp_gf_mul(C[i], S[r - i]);
        if (d == 0) {
            m++;
            continue;
        }
        uint8_t coef = dmp_gf_div(d, b);
        uint8_t T[NSYM + 1];
        memcpy(T, C, sizeof T);
        for (int i = 0; i + m <= NSYM; i++)
            C[i + m] ^= dmp_gf_mul(coef, B[i]);
        if (2 * L <= r) {
            L = r + 1 - L;
            memcpy(B, T, sizeof B);
            b = d;
            m = 1;
        } else {
            m++;
        }
    }
    int deg = NSYM;
    while (deg > 0 && C[deg] == 0)
        deg--;
    if (deg == 0 || 2 * deg > NSYM)
        return DMP_EERASURE_RS;

    /* Chien search over positions 0..len-1; position p has locator X = a^(len-1-p). */
    int pos[NSYM / 2];
    int nroots = 0;
    for (size_t p = 0; p < len; p++) {
        unsigned xinv_log = (255 - (unsigned)((len - 1 - p) % 255)) % 255;
        uint8_t v = C[0];
        for (int i = 1; i <= deg; i++) {
            if (C[i])
                v ^= dmp_erasure_gf_exp[(dmp_erasure_gf_log[C[i]] + xinv_log * (unsigned)i) % 255];
        }
        if (v == 0) {
            if (nroots == deg)
                return DMP_EERASURE_RS;
            pos[nroots++] = (int)p;
        }
    }
    if (nroots != deg)
        return DMP_EERASURE_RS;

    /* Forney: e = X * Omega(X^-1) / Lambda'(X^-1), Omega = S * Lambda mod x^32. */
    uint8_t omega[NSYM] = {0};
    for (int i = 0; i < NSYM; i++) {
        for (int j = 0; j <= deg && j <= i; j++)
            omega[i] ^= dmp_gf_mul(S[i - j], C[j]);
    }
    uint8_t fix[NSYM / 2];
    for (int r = 0; r < nroots; r++) {
        unsigned xlog = (unsigned)((len - 1 - (size_t)pos[r]) % 255);
        unsigned xinv_log = (255 - xlog) % 255;
        uint8_t num = 0, den = 0;
        for (int i = 0; i < NSYM; i++) {
            if (omega[i])
                num ^= dmp_erasure_gf_exp[(dmp_erasure_gf_log[omega[i]] + xinv_log * (unsigned)i) %
                                          255];
        }
        for (int i = 1; i <= deg; i += 2) {
            if (C[i])
                den ^=
                    dmp_erasure_gf_exp[(dmp_erasure_gf_log[C[i]] + xinv_log * (unsigned)(i - 1)) %
                                       255];
        }
        if (den == 0)
            return DMP_EERASURE_RS;
        fix[r] = dmp_gf_mul(dmp_gf_div(num, den), dmp_gf_pow2(xlog));
    }
    for (int r = 0; r < nroots; r++)
        cw[pos[r]] ^= fix[r];
    uint8_t S2[NSYM];
    if (rs_syndromes(cw, len, S2)) {
        for (int r = 0; r < nroots; r++)
            cw[pos[r]] ^= fix[r];
        return DMP_EERASURE_RS;
    }
    if (nfixed)
        *nfixed = nroots;
    return 0;
}
