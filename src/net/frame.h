/* net: RFC 1035 §4.2.2 / RFC 7766 TCP framing (2-byte big-endian length + message). */
#ifndef DMP_NET_FRAME_H
#define DMP_NET_FRAME_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DMP_NET_FRAME_MORE = 0, /* no complete message yet: read more */
    DMP_NET_FRAME_MSG = 1,  /* a message: bytes [2, 2 + *msg_len) of buf */
    DMP_NET_FRAME_BAD = 2,  /* length 0 or above max_msg: close the connection */
} dmp_net_frame_t;

/* Looks at the first frame of buf (len bytes, caller-owned; nothing is read past len). */
static inline dmp_net_frame_t dmp_net_frame_next(const uint8_t *buf, size_t len, size_t max_msg,
                                                 size_t *msg_len)
{
    *msg_len = 0;
    if (len < 2) {
        return DMP_NET_FRAME_MORE;
    }
    size_t l = (size_t)buf[0] << 8 | buf[1];
    if (l == 0 || l > max_msg) {
        return DMP_NET_FRAME_BAD;
    }
    *msg_len = l;
    return len - 2 >= l ? DMP_NET_FRAME_MSG : DMP_NET_FRAME_MORE;
}

#endif
