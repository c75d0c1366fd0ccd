/* libFuzzer: dnsmesh-bench's answer check (dmpb_expect_check), which reads every reply a server
 * under load sends. Input: one byte choosing the query name, then the reply (header, question,
 * answers). The check must never read past the reply and must return one known outcome. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench_dns.h"

static dmpb_names_t nm;
static dmpb_expect_t ex;

static void setup(void)
{
    static const char *const names[] = {"a.mesh.test", "b.mesh.test", "mesh.test", "c.other"};
    for (unsigned i = 0; i < 4; i++)
        if (dmpb_names_add(&nm, names[i], strlen(names[i]), 16, 0) != 0)
            abort();
    if (dmpb_expect_init(&ex, "mesh.test") != 0)
        abort();
    int64_t e = dmpb_expect_entry_new(&ex);
    if (e < 0 ||
        dmpb_expect_value_add(&ex, (uint32_t)e, (const uint8_t *)"v=dmp1;t=chunk;d=QUJD", 21, 0,
                              0) < 0 ||
        dmpb_expect_value_add(&ex, (uint32_t)e, (const uint8_t *)"pending", 7, INT64_MAX, 1) < 0)
        abort();
    nm.exp[0] = DMPB_EXP_ENTRY + (uint32_t)e;
    nm.exp[1] = DMPB_EXP_NXDOMAIN;
    nm.exp[2] = DMPB_EXP_NODATA;
    nm.exp[3] = DMPB_EXP_NONE;
}

static void on_value(void *ctx, uint32_t vi)
{
    (void)ctx;
    if (vi >= ex.nvals)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!nm.n)
        setup();
    if (size < 1 + 12)
        return 0;
    uint32_t qi = data[0] % 4;
    const uint8_t *r = data + 1;
    size_t len = size - 1;
    /* the engine calls the check only after the question matched: header + name + type/class */
    size_t qend = 12 + (nm.off[qi + 1] - nm.off[qi]) + 4;
    if (qend > len)
        return 0;
    /* a copy of exactly len bytes, so ASan sees any read past the reply */
    uint8_t *copy = malloc(len);
    if (!copy)
        return 0;
    memcpy(copy, r, len);
    int out = dmpb_expect_check(&ex, &nm, qi, copy, len, qend, 1, on_value, NULL);
    free(copy);
    if (out < DMPB_V_OK || out >= DMPB_V_NOUT)
        abort();
    return 0;
}
