/* Fuzz the TCP framing the frontends apply to a connection's byte stream: walk every frame of
 * the input as one buffered stream and check each message stays inside it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "net/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t max_msg = 12 + data[0] * 257u; /* vary the cap with the first byte */
    const uint8_t *p = data + 1;
    size_t len = size - 1, off = 0, msgs = 0;
    for (;;) {
        size_t l = 0;
        dmp_net_frame_t r = dmp_net_frame_next(p + off, len - off, max_msg, &l);
        if (r != DMP_NET_FRAME_MSG) {
            if (r == DMP_NET_FRAME_BAD && len - off < 2) {
                abort(); /* BAD needs a whole length prefix */
            }
            break;
        }
        if (l == 0 || l > max_msg || off + 2 + l > len) {
            abort();
        }
        volatile uint8_t sink = p[off + 2] ^ p[off + 1 + l]; /* touch both ends */
        (void)sink;
        off += 2 + l;
        msgs++;
    }
    (void)msgs;
    return 0;
}
