/* Fuzz the chunk TXT framing parser. Invariant: a parsed body re-encodes to a value that parses
 * back to the same body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dmp_buf_t body, txt, again;
    dmp_buf_init(&body);
    dmp_buf_init(&txt);
    dmp_buf_init(&again);
    if (dmp_wire_chunk_parse(data, size, &body) == 0) {
        if (dmp_wire_chunk_encode(body.data, body.len, &txt) != 0 ||
            dmp_wire_chunk_parse(txt.data, txt.len, &again) != 0 || again.len != body.len ||
            (body.len && memcmp(again.data, body.data, body.len) != 0))
            abort();
    }
    dmp_buf_free(&body);
    dmp_buf_free(&txt);
    dmp_buf_free(&again);
    return 0;
}
