/* Shared fixtures of the TSIG and UPDATE unit tests; see dns_update_harness.h. */
#include "dns_update_harness.h"

/* ---------------------------------------------------------------------------------------- */
/* fixtures                                                                                    */

int read_vec(const char *name, uint8_t *buf, size_t cap, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/unit/data/dns_update/%s.bin", DMP_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    *len = fread(buf, 1, cap, f);
    fclose(f);
    return 0;
}

const vec_t k_vecs[] = {
    {"nsupdate-hmac-md5", DMP_TSIG_HMAC_MD5, true},
    {"nsupdate-none", DMP_TSIG_HMAC_MD5, true}, /* -y name:secret without algorithm */
    {"nsupdate-hmac-sha1", DMP_TSIG_HMAC_SHA1, true},
    {"nsupdate-hmac-sha224", DMP_TSIG_HMAC_SHA224, true},
    {"nsupdate-hmac-sha256", DMP_TSIG_HMAC_SHA256, true},
    {"nsupdate-hmac-sha384", DMP_TSIG_HMAC_SHA384, true},
    {"nsupdate-hmac-sha512", DMP_TSIG_HMAC_SHA512, true},
    {"knsupdate-hmac-md5", DMP_TSIG_HMAC_MD5, true},
    {"knsupdate-hmac-sha256", DMP_TSIG_HMAC_SHA256, true},
    {"knsupdate-hmac-sha512", DMP_TSIG_HMAC_SHA512, true},
    {"nsupdate-small-sha256", DMP_TSIG_HMAC_SHA256, false},
};
