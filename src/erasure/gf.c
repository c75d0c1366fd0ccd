/* erasure: GF(2^8)/0x11D log and exp tables. */
#include <pthread.h>

#include "erasure/erasure_internal.h"

uint8_t dmp_erasure_gf_exp[512];
uint8_t dmp_erasure_gf_log[256];

static pthread_once_t gf_once = PTHREAD_ONCE_INIT;

static void gf_build(void)
{
    unsigned x = 1;
    for (unsigned i = 0; i < 255; i++) {
        dmp_erasure_gf_exp[i] = (uint8_t)x;
        dmp_erasure_gf_log[x] = (uint8_t)i;
        x <<= 1;
        if (x & 0x100)
            x ^= 0x11D;
    }
    for (unsigned i = 255; i < 512; i++)
        dmp_erasure_gf_exp[i] = dmp_erasure_gf_exp[i - 255];
    dmp_erasure_gf_log[0] = 0; /* never used: callers test for zero first */
}

void dmp_erasure_gf_init(void)
{
    pthread_once(&gf_once, gf_build);
}
