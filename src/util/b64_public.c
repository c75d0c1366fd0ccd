/* util: variable-time base64 encoder for public data (see b64_public.h). */
#include <pthread.h>
#include <string.h>

#include "util/b64_public.h"
#include "util/util.h"

static const char b64_alphabet[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* b64_pair[v] = the two characters encoding the 12-bit value v. Built once, read-only after. */
static char b64_pair[4096][2];
static pthread_once_t b64_pair_once = PTHREAD_ONCE_INIT;

static void b64_pair_build(void)
{
    for (unsigned v = 0; v < 4096; v++) {
        b64_pair[v][0] = b64_alphabet[v >> 6];
        b64_pair[v][1] = b64_alphabet[v & 63];
    }
}

int dmp_b64_encode_public(const uint8_t *in, size_t len, char *out, size_t out_cap)
{
    if (len > (SIZE_MAX / 4 - 1) * 3 || out_cap < dmp_b64_encoded_len(len) + 1)
        return DMP_ETOOBIG;
    pthread_once(&b64_pair_once, b64_pair_build);
    size_t i = 0, o = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        memcpy(out + o, b64_pair[v >> 12], 2);
        memcpy(out + o + 2, b64_pair[v & 4095], 2);
        o += 4;
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        out[o] = b64_alphabet[v >> 18];
        out[o + 1] = b64_alphabet[(v >> 12) & 63];
        out[o + 2] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o + 3] = '=';
        o += 4;
    }
    out[o] = '\0';
    return 0;
}

/* b64_dec[c] = 0..63 for alphabet characters, 0x80 for everything else. Built once. */
static uint8_t b64_dec[256];
static pthread_once_t b64_dec_once = PTHREAD_ONCE_INIT;

static void b64_dec_build(void)
{
    memset(b64_dec, 0x80, sizeof b64_dec);
    for (unsigned i = 0; i < 64; i++)
        b64_dec[(uint8_t)b64_alphabet[i]] = (uint8_t)i;
}

int dmp_b64_decode_canonical(const char *in, size_t len, uint8_t *out, size_t out_cap,
                             size_t *out_len)
{
    if (out_len == NULL || (in == NULL && len) || len % 4 != 0)
        return DMP_EBASE64;
    *out_len = 0;
    if (len == 0)
        return 0;
    pthread_once(&b64_dec_once, b64_dec_build);
    const uint8_t *p = (const uint8_t *)in;
    size_t pad = p[len - 1] == '=' ? (p[len - 2] == '=' ? 2 : 1) : 0;
    size_t n = len / 4 * 3 - pad;
    if (n > out_cap)
        return DMP_ETOOBIG;
    uint8_t bad = 0;
    size_t o = 0, i = 0;
    for (; i + 4 < len; i += 4) { /* every quad but the last: four alphabet characters */
        uint8_t a = b64_dec[p[i]], b = b64_dec[p[i + 1]], c = b64_dec[p[i + 2]],
                d = b64_dec[p[i + 3]];
        bad |= a | b | c | d;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
        out[o] = (uint8_t)(v >> 16);
        out[o + 1] = (uint8_t)(v >> 8);
        out[o + 2] = (uint8_t)v;
        o += 3;
    }
    if (bad & 0x80)
        return DMP_EBASE64;
    /* last quad: 4 - pad alphabet characters, then pad '=' */
    uint8_t q[4] = {0, 0, 0, 0};
    for (size_t j = 0; j < 4 - pad; j++) {
        q[j] = b64_dec[p[i + j]];
        if (q[j] & 0x80)
            return DMP_EBASE64;
    }
    uint32_t v = (uint32_t)q[0] << 18 | (uint32_t)q[1] << 12 | (uint32_t)q[2] << 6 | q[3];
    out[o++] = (uint8_t)(v >> 16);
    if (pad < 2)
        out[o++] = (uint8_t)(v >> 8);
    if (pad < 1)
        out[o++] = (uint8_t)v;
    *out_len = n;
    return 0;
}
