/* Fuzz TXT RDATA join (and split of the result), DNS-name checks, address and subject parsing.
 * Invariants: join(split(v)) == v; names accepted by the DNS rule have the stripped length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dmp_buf_t v, rd, back;
    dmp_buf_init(&v);
    dmp_buf_init(&rd);
    dmp_buf_init(&back);
    if (dmp_wire_txt_join(data, size, &v) == 0) {
        if (v.len > size || dmp_wire_txt_split(v.data, v.len, &rd) != 0 ||
            dmp_wire_txt_join(rd.data, rd.len, &back) != 0 || back.len != v.len ||
            (v.len && memcmp(back.data, v.data, v.len) != 0))
            abort();
    }
    dmp_buf_free(&v);
    dmp_buf_free(&rd);
    dmp_buf_free(&back);

    const char *s = (const char *)data;
    size_t sl = 0;
    if (dmp_wire_dns_name_check(s, size, &sl) == 0 && (sl != size && sl + 1 != size))
        abort();
    (void)dmp_wire_http_name_check(s, size);
    (void)dmp_wire_owner_reserved(s, size);
    char h12[13];
    if (size > 2)
        (void)dmp_wire_claim_owner_match(s + 2, size - 2, s,
                                         data[0] % 3 > size - 2 ? 0 : data[0] % 3, h12);
    (void)dmp_wire_rec_name(dmp_wire_classify(data, size));
    char u[300], h[300], nrm[600];
    (void)dmp_wire_parse_address(s, size, u, sizeof u, h, sizeof h);
    size_t nl;
    if (size <= 255) {
        (void)dmp_wire_subject_normalize(1, s, size, nrm, sizeof nrm, &nl);
        (void)dmp_wire_subject_normalize(2, s, size, nrm, sizeof nrm, &nl);
    }
    return 0;
}
