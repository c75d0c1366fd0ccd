/* erasure: SHA-256 for chunk checksums and chunk hashes. With OpenSSL's libcrypto (SHA-NI where
 * the CPU has it, about 4x libsodium's portable code on 168-byte inputs) when the build found it,
 * libsodium otherwise. Each thread keeps one EVP_MD_CTX, freed when the thread exits. */
#include "erasure/erasure_internal.h"

#ifdef DMP_ERASURE_HAVE_LIBCRYPTO
#include <openssl/evp.h>
#include <pthread.h>

static EVP_MD *sha_md;
static pthread_key_t sha_key;
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static _Thread_local EVP_MD_CTX *sha_ctx;

static void sha_ctx_free(void *p)
{
    EVP_MD_CTX_free(p);
}

static void sha_setup(void)
{
    sha_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (pthread_key_create(&sha_key, sha_ctx_free) != 0) {
        EVP_MD_free(sha_md);
        sha_md = NULL;
    }
}
#endif

#include <sodium.h>

void dmp_erasure_sha256(const uint8_t *p, size_t len, uint8_t out[32])
{
#ifdef DMP_ERASURE_HAVE_LIBCRYPTO
    pthread_once(&sha_once, sha_setup);
    if (sha_md != NULL && sha_ctx == NULL) {
        sha_ctx = EVP_MD_CTX_new();
        if (sha_ctx != NULL && pthread_setspecific(sha_key, sha_ctx) != 0) {
            EVP_MD_CTX_free(sha_ctx);
            sha_ctx = NULL;
        }
    }
    if (sha_ctx != NULL) {
        unsigned int olen = 0;
        if (EVP_DigestInit_ex2(sha_ctx, sha_md, NULL) == 1 &&
            EVP_DigestUpdate(sha_ctx, p, len) == 1 &&
            EVP_DigestFinal_ex(sha_ctx, out, &olen) == 1 && olen == 32)
            return;
    }
#endif
    crypto_hash_sha256(out, p, len);
}
