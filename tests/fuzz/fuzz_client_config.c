/* libFuzzer: config.yaml parser (dmp_client_config_parse); whatever parses must emit and parse
 * again to the same contacts and resolvers. */
#include <stdint.h>
#include <stdlib.h>

#include "client/client.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dmp_client_config_t c, back;
    char err[128];
    if (dmp_client_config_parse(data, size, &c, err, sizeof err) == 0) {
        dmp_buf_t out;
        dmp_buf_init(&out);
        if (dmp_client_config_emit(&c, &out) == 0) {
            if (dmp_client_config_parse(out.data, out.len, &back, err, sizeof err) != 0 ||
                back.n_contacts != c.n_contacts || back.n_resolvers != c.n_resolvers ||
                strcmp(back.username, c.username) != 0)
                abort();
            dmp_client_config_free(&back);
        }
        dmp_buf_free(&out);
    }
    dmp_client_config_free(&c);
    return 0;
}
