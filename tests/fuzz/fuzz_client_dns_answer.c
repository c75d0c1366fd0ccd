/* libFuzzer: resolver-answer parser (dmp_client_dns_answer_parse). The first two input bytes are
 * the id the answer must carry; values must stay within the answer's size. */
#include <stdint.h>
#include <stdlib.h>

#include "client/client.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint16_t id = (uint16_t)(data[0] << 8 | data[1]);
    dmp_client_txtset_t s;
    dmp_client_txtset_init(&s);
    bool tc;
    int rcode;
    if (dmp_client_dns_answer_parse(data + 2, size - 2, id, "slot-1.mb-abc.example", size & 1, &s,
                                    &tc, &rcode) == 0) {
        size_t total = 0;
        for (size_t i = 0; i < s.n; i++)
            total += s.v[i].len;
        if (total > size || (tc && s.n))
            abort();
    }
    dmp_client_txtset_free(&s);
    return 0;
}
