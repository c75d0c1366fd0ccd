/* erasure: reedsolo RSCodec(32)-compatible Reed-Solomon over GF(2^8)/0x11D, generator 2, fcr 0.
 *
 * Encoding is the systematic remainder m(x) * x^32 mod g(x), g(x) = prod_{i<32} (x - a^i),
 * computed eight message bytes at a time with slicing tables (64 KiB, built once).
 * Decoding: syndromes (via re-encoding, so an intact codeword costs one encode), Berlekamp-Massey,
 * Chien search over the codeword's own positions, Forney, and a final syndrome check: the
 * decoder only ever returns a codeword, and reports failure exactly where reedsolo raises
 * ReedSolomonError (too many errors for the locator, or root count != locator degree). */
#include <pthread.h>
#include <string.h>

#include "erasure/erasure.h"
#include "erasure/erasure_internal.h"

#define NSYM DMP_ERASURE_RS_NSYM

/* Invariant after rs_init: rs_gen[0..32] = g(x) highest degree first (rs_gen[0] = 1);
 * rs_slice[j][v] = remainder state (4 big-endian u64 words = 32 parity bytes) after feeding the
 * 8-byte message that is v at offset j and zero elsewhere into a zero LFSR. */
static uint8_t rs_gen[NSYM + 1];
static uint64_t rs_slice[8][256][4];
static pthread_once_t rs_once = PTHREAD_ONCE_INIT;

/* Byte-at-a-time LFSR: the definition the slicing tables are derived from. */
static void rs_lfsr_bytes(uint8_t reg[NSYM], const uint8_t *msg, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t f = msg[i] ^ reg[0];
        memmove(reg, reg + 1, NSYM - 1);
        reg[NSYM - 1] = 0;
        if (f != 0) {
            for (int j = 0; j < NSYM; j++)
                reg[j] ^= dmp_gf_mul(rs_gen[j + 1], f);
        }
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
    for (int j = 0; j < 8; j++) {
        for (int v = 0; v < 256; v++) {
            uint8_t msg[8] = {0}, reg[NSYM] = {0};
            msg[j] = (uint8_t)v;
            rs_lfsr_bytes(reg, msg, 8);
            for (int w = 0; w < 4; w++)
                rs_slice[j][v][w] = dmp_load_u64be(reg + 8 * w);
        }
    }
}

static void rs_init(void)
{
    pthread_once(&rs_once, rs_build);
}

/* Remainder of msg (len a multiple of 8) into parity. */
static void rs_remainder8(const uint8_t *msg, size_t len, uint8_t parity[NSYM])
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t u = s0 ^ dmp_load_u64be(msg + i);
        s0 = s1;
        s1 = s2;
        s2 = s3;
        s3 = 0;
        for (int j = 0; j < 8; j++) {
            const uint64_t *t = rs_slice[j][(u >> (56 - 8 * j)) & 0xff];
            s0 ^= t[0];
            s1 ^= t[1];
            s2 ^= t[2];
            s3 ^= t[3];
        }
    }
    dmp_store_u64be(parity, s0);
    dmp_store_u64be(parity + 8, s1);
    dmp_store_u64be(parity + 16, s2);
    dmp_store_u64be(parity + 24, s3);
}

static void rs_remainder(const uint8_t *msg, size_t len, uint8_t parity[NSYM])
{
    if (len % 8 == 0) {
        rs_remainder8(msg, len, parity);
        return;
    }
    /* leading zero coefficients do not change the remainder */
    uint8_t tmp[DMP_ERASURE_RS_MAX_CW_LEN + 8] = {0};
    size_t pad = 8 - len % 8;
    memcpy(tmp + pad, msg, len);
    rs_remainder8(tmp, len + pad, parity);
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
