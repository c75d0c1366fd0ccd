/* Tests: request-body collection for the libmicrohttpd fakes of a node (test_client_net.c,
 * test_client_batch.c). In an access handler:
 *     fake_body_t *b;
 *     if (fake_body_collect(ptr, data, size, &b))
 *         return MHD_YES;               (the body is still arriving)
 *     ... b->body holds it ...
 * and fake_body_done as the daemon's MHD_OPTION_NOTIFY_COMPLETED callback. */
#ifndef DMP_TESTS_FAKE_HTTP_BODY_H
#define DMP_TESTS_FAKE_HTTP_BODY_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/util.h"

typedef struct {
    dmp_buf_t body;
} fake_body_t;

/* True while the request's body is still arriving: the first call makes the state, later
 * calls with data append it. False once it is whole; *out then points at it. */
static inline bool fake_body_collect(void **ptr, const char *data, size_t *size, fake_body_t **out)
{
    fake_body_t *b = *ptr;
    if (!b) {
        b = calloc(1, sizeof(*b));
        if (!b)
            abort();
        dmp_buf_init(&b->body);
        *ptr = b;
        return true;
    }
    *out = b;
    if (*size) {
        dmp_buf_append(&b->body, data, *size);
        *size = 0;
        return true;
    }
    return false;
}

static inline void fake_body_done(void *cls, struct MHD_Connection *c, void **ptr,
                                  enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    fake_body_t *b = *ptr;
    if (b) {
        dmp_buf_free(&b->body);
        free(b);
    }
    *ptr = NULL;
}

#endif
