/* store: SHA-256 for the write path (value hashes, Merkle buckets and item digests) through
 * OpenSSL, which uses the CPU's SHA extensions or AVX2 where it has them: libsodium's portable
 * SHA-256 was ~44,000 instructions per HTTP write (five hashes), a fifth of the store's share
 * (docs/store.md "Write path cost"). One EVP context per thread, made on first use and freed
 * when the thread exits; the algorithm is fetched once (OpenSSL 3's one-shot SHA256() looks it
 * up on every call). libsodium when OpenSSL cannot give either: same bytes either way. */
#include "store/store_internal.h"

#include <openssl/evp.h>
#include <pthread.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;
static bool g_key_ok;
static EVP_MD *g_md;

static void ctx_free(void *p)
{
    EVP_MD_CTX_free(p);
}

static void sha_setup(void)
{
    g_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    g_key_ok = pthread_key_create(&g_key, ctx_free) == 0;
}

static EVP_MD_CTX *thread_ctx(void)
{
    pthread_once(&g_once, sha_setup);
    if (g_md == NULL || !g_key_ok)
        return NULL;
    EVP_MD_CTX *c = pthread_getspecific(g_key);
    if (c == NULL) {
        c = EVP_MD_CTX_new();
        if (c != NULL && pthread_setspecific(g_key, c) != 0) {
            EVP_MD_CTX_free(c);
            c = NULL;
        }
    }
    return c;
}

void dmp_store_sha256v(uint8_t out[32], const dmp_store_iov_t *v, size_t n)
{
    EVP_MD_CTX *c = thread_ctx();
    unsigned int ol = 0;
    bool ok = c != NULL && EVP_DigestInit_ex2(c, g_md, NULL) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = v[i].len == 0 || EVP_DigestUpdate(c, v[i].p, v[i].len) == 1;
    if (ok && EVP_DigestFinal_ex(c, out, &ol) == 1 && ol == 32)
        return;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < n; i++)
        if (v[i].len)
            crypto_hash_sha256_update(&st, v[i].p, v[i].len);
    crypto_hash_sha256_final(&st, out);
}

void dmp_store_sha256(uint8_t out[32], const void *p, size_t len)
{
    dmp_store_iov_t v = {p, len};
    dmp_store_sha256v(out, &v, 1);
}
