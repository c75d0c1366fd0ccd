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

/* 0..63 for alphabet characters, 0 for everything else too: b64_is() tells them apart */
static const uint8_t b64_value[256] = {
    ['A'] = 0,  ['B'] = 1,  ['C'] = 2,  ['D'] = 3,  ['E'] = 4,  ['F'] = 5,  ['G'] = 6,  ['H'] = 7,
    ['I'] = 8,  ['J'] = 9,  ['K'] = 10, ['L'] = 11, ['M'] = 12, ['N'] = 13, ['O'] = 14, ['P'] = 15,
    ['Q'] = 16, ['R'] = 17, ['S'] = 18, ['T'] = 19, ['U'] = 20, ['V'] = 21, ['W'] = 22, ['X'] = 23,
    ['Y'] = 24, ['Z'] = 25, ['a'] = 26, ['b'] = 27, ['c'] = 28, ['d'] = 29, ['e'] = 30, ['f'] = 31,
    ['g'] = 32, ['h'] = 33, ['i'] = 34, ['j'] = 35, ['k'] = 36, ['l'] = 37, ['m'] = 38, ['n'] = 39,
    ['o'] = 40, ['p'] = 41, ['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45, ['u'] = 46, ['v'] = 47,
    ['w'] = 48, ['x'] = 49, ['y'] = 50, ['z'] = 51, ['0'] = 52, ['1'] = 53, ['2'] = 54, ['3'] = 55,
    ['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59, ['8'] = 60, ['9'] = 61, ['+'] = 62, ['/'] = 63,
};

static int b64_is(uint8_t c)
{
    return b64_value[c] != 0 || c == 'A';
}

int dmp_b64_decode_canonical(const char *in, size_t len, uint8_t *out, size_t out_cap,
                             size_t *out_len)
{
    if (out_len == NULL || (in == NULL && len) || len % 4 != 0)
        return DMP_EBASE64;
    *out_len = 0;
    if (len == 0)
        return 0;
    const uint8_t *p = (const uint8_t *)in;
    size_t pad = p[len - 1] == '=' ? (p[len - 2] == '=' ? 2 : 1) : 0;
    size_t n = len / 4 * 3 - pad;
    if (n > out_cap)
        return DMP_ETOOBIG;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        for (size_t j = 0; j < 4; j++) {
            if (!b64_is(p[i + j]) && !(last && j >= 4 - pad))
                return DMP_EBASE64;
        }
        uint32_t v = (uint32_t)b64_value[p[i]] << 18 | (uint32_t)b64_value[p[i + 1]] << 12;
        if (!(last && pad == 2))
            v |= (uint32_t)b64_value[p[i + 2]] << 6;
        if (!(last && pad))
            v |= b64_value[p[i + 3]];
        out[o++] = (uint8_t)(v >> 16);
        if (o < n)
            out[o++] = (uint8_t)(v >> 8);
        if (o < n)
            out[o++] = (uint8_t)v;
    }
    *out_len = n;
    return 0;
}
