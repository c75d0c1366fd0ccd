/* crypto: X25519, AEAD, message encryption (client.md §3.5/§3.6), DMPHeader / DMPMessage /
 * EncryptedMessage (§1.8), prekeys (§5.5), registration and TSIG PoP inputs (§3.8). */
#include "crypto/crypto.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

static const uint8_t HKDF_SALT[] = "DMP-v1";                 /* 6 bytes used */
static const uint8_t HKDF_INFO[] = "DMP-Message-Encryption"; /* 22 bytes used */

/* --- X25519 ------------------------------------------------------------------------------ */

int dmp_crypto_x25519_keypair(uint8_t sk[32], uint8_t pk[32])
{
    if (!sk || !pk)
        return DMP_EINVAL;
    randombytes_buf(sk, 32);
    return dmp_crypto_x25519_public(sk, pk);
}

int dmp_crypto_x25519_shared(const uint8_t sk[32], const uint8_t peer_pk[32], uint8_t shared[32])
{
    if (!sk || !peer_pk || !shared)
        return DMP_EINVAL;
    /* libsodium fails exactly when the result is all zero (low-order peer key). */
    if (crypto_scalarmult_curve25519(shared, sk, peer_pk) != 0) {
        sodium_memzero(shared, 32);
        return DMP_CRYPTO_EZEROSHARED;
    }
    return 0;
}

/* --- AEAD -------------------------------------------------------------------------------- */

int dmp_crypto_aead_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
                         size_t ad_len, const uint8_t *pt, size_t pt_len, uint8_t *out)
{
    unsigned long long clen = 0;
    if (!key || !nonce || !out || (!ad && ad_len) || (!pt && pt_len))
        return DMP_EINVAL;
    if (pt_len > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX)
        return DMP_ETOOBIG;
    if (crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, pt_len, ad, ad_len, NULL, nonce,
                                                  key) != 0)
        return DMP_ECRYPTO;
    return 0;
}

int dmp_crypto_aead_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
                         size_t ad_len, const uint8_t *ct, size_t ct_len, uint8_t *out)
{
    unsigned long long plen = 0;
    if (!key || !nonce || (!ad && ad_len) || (!ct && ct_len))
        return DMP_EINVAL;
    if (ct_len < DMP_CRYPTO_AEAD_TAG_LEN)
        return DMP_ETRUNC;
    if (!out && ct_len > DMP_CRYPTO_AEAD_TAG_LEN)
        return DMP_EINVAL;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &plen, NULL, ct, ct_len, ad, ad_len, nonce,
                                                  key) != 0) {
        if (out)
            sodium_memzero(out, ct_len - DMP_CRYPTO_AEAD_TAG_LEN);
        return DMP_ECRYPTO;
    }
    return 0;
}

/* --- message encryption ------------------------------------------------------------------ */

int dmp_crypto_message_key(const uint8_t shared[32], uint8_t key[32])
{
    if (!shared || !key)
        return DMP_EINVAL;
    return dmp_crypto_hkdf_sha256(HKDF_SALT, sizeof HKDF_SALT - 1, shared, 32, HKDF_INFO,
                                  sizeof HKDF_INFO - 1, key, 32);
}

int dmp_crypto_encrypt_with(const uint8_t recipient_pk[32], const uint8_t eph_sk[32],
                            const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                            const uint8_t *pt, size_t pt_len, dmp_buf_t *out)
{
    uint8_t shared[32], key[32], eph_pk[32];
    int rc;

    if (!recipient_pk || !eph_sk || !nonce || !out || (!aad && aad_len) || (!pt && pt_len))
        return DMP_EINVAL;
    if (pt_len > SIZE_MAX - DMP_CRYPTO_ENC_OVERHEAD ||
        pt_len > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX)
        return DMP_ETOOBIG;
    rc = dmp_crypto_x25519_public(eph_sk, eph_pk);
    if (rc == 0)
        rc = dmp_crypto_x25519_shared(eph_sk, recipient_pk, shared);
    if (rc == 0)
        rc = dmp_crypto_message_key(shared, key);
    if (rc == 0)
        rc = dmp_buf_reserve(out, pt_len + DMP_CRYPTO_ENC_OVERHEAD);
    if (rc == 0) {
        uint8_t *p = out->data + out->len;
        memcpy(p, eph_pk, 32);
        memcpy(p + 32, nonce, 12);
        rc = dmp_crypto_aead_seal(key, nonce, aad, aad_len, pt, pt_len, p + 44);
        if (rc == 0)
            out->len += pt_len + DMP_CRYPTO_ENC_OVERHEAD;
    }
    sodium_memzero(shared, sizeof shared);
    sodium_memzero(key, sizeof key);
    return rc;
}

int dmp_crypto_encrypt(const uint8_t recipient_pk[32], const uint8_t *aad, size_t aad_len,
                       const uint8_t *pt, size_t pt_len, dmp_buf_t *out)
{
    uint8_t eph_sk[32], nonce[12];
    randombytes_buf(eph_sk, sizeof eph_sk);
    randombytes_buf(nonce, sizeof nonce);
    int rc = dmp_crypto_encrypt_with(recipient_pk, eph_sk, nonce, aad, aad_len, pt, pt_len, out);
    sodium_memzero(eph_sk, sizeof eph_sk);
    return rc;
}

int dmp_crypto_enc_parse(const uint8_t *buf, size_t len, dmp_crypto_enc_t *out)
{
    if (!out || (!buf && len))
        return DMP_EINVAL;
    /* The reference accepts >= 44 bytes; anything shorter than 60 then fails to open. */
    if (len < 44)
        return DMP_ETRUNC;
    out->eph_pk = buf;
    out->nonce = buf + 32;
    out->ct = buf + 44;
    out->ct_len = len - 44;
    return 0;
}

int dmp_crypto_decrypt(const uint8_t sk[32], const uint8_t *aad, size_t aad_len, const uint8_t *buf,
                       size_t len, dmp_buf_t *out)
{
    dmp_crypto_enc_t enc;
    uint8_t shared[32], key[32];
    int rc;

    if (!sk || !out || (!aad && aad_len))
        return DMP_EINVAL;
    rc = dmp_crypto_enc_parse(buf, len, &enc);
    if (rc)
        return rc;
    if (enc.ct_len < DMP_CRYPTO_AEAD_TAG_LEN)
        return DMP_ETRUNC;
    size_t pt_len = enc.ct_len - DMP_CRYPTO_AEAD_TAG_LEN;
    rc = dmp_crypto_x25519_shared(sk, enc.eph_pk, shared);
    if (rc == 0)
        rc = dmp_crypto_message_key(shared, key);
    if (rc == 0)
        rc = dmp_buf_reserve(out, pt_len + 1);
    if (rc == 0) {
        rc = dmp_crypto_aead_open(key, enc.nonce, aad, aad_len, enc.ct, enc.ct_len,
                                  out->data + out->len);
        if (rc == 0)
            out->len += pt_len;
    }
    sodium_memzero(shared, sizeof shared);
    sodium_memzero(key, sizeof key);
    return rc;
}

/* --- DMPHeader -------------------------------------------------------------------------- */

static const char *const MSG_TYPE_NAMES[] = {"DATA", "ACK", "DISCOVERY", "IDENTITY", "MAILBOX"};
#define MSG_TYPE_COUNT (sizeof MSG_TYPE_NAMES / sizeof MSG_TYPE_NAMES[0])

const char *dmp_msg_type_name(dmp_msg_type_t t)
{
    return (unsigned)t < MSG_TYPE_COUNT ? MSG_TYPE_NAMES[t] : NULL;
}

int dmp_crypto_header_json(const dmp_msg_header_t *h, dmp_buf_t *out)
{
    char mid[33], snd[65], rcp[65];
    char tmp[512];

    if (!h || !out)
        return DMP_EINVAL;
    const char *type = dmp_msg_type_name(h->type);
    if (!type)
        return DMP_EINVAL;
    dmp_hex_encode(h->msg_id, 16, mid, sizeof mid);
    dmp_hex_encode(h->sender, 32, snd, sizeof snd);
    dmp_hex_encode(h->recipient, 32, rcp, sizeof rcp);
    int n = snprintf(tmp, sizeof tmp,
                     "{\"v\":%" PRId64 ",\"type\":\"%s\",\"msg_id\":\"%s\",\"sender\":\"%s\","
                     "\"recipient\":\"%s\",\"total\":%" PRId64 ",\"chunk\":%" PRId64
                     ",\"ts\":%" PRId64 ",\"ttl\":%" PRId64 "}",
                     h->v, type, mid, snd, rcp, h->total, h->chunk, h->ts, h->ttl);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return DMP_ETOOBIG;
    return dmp_buf_append(out, tmp, (size_t)n);
}

static bool is_py_hex_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Python bytes.fromhex: pairs of hex digits (either case), ASCII whitespace allowed between
 * pairs. The result must be exactly out_len bytes (the reference compares msg_id and
 * recipient with the 16/32-byte manifest fields; sender is always 32 bytes when sent). */
static int py_fromhex_exact(const char *s, size_t len, uint8_t *out, size_t out_len)
{
    size_t i = 0, n = 0;
    for (;;) {
        while (i < len && is_py_hex_space((unsigned char)s[i]))
            i++;
        if (i == len)
            break;
        if (len - i < 2)
            return DMP_EHEX;
        int hi = dmp_hex_digit(s[i]), lo = dmp_hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0)
            return DMP_EHEX;
        if (n == out_len)
            return DMP_EFORMAT;
        out[n++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return n == out_len ? 0 : DMP_EFORMAT;
}

static int get_int(json_t *obj, const char *key, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || !json_is_integer(v))
        return DMP_EFORMAT;
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int get_hex(json_t *obj, const char *key, uint8_t *out, size_t out_len)
{
    json_t *v = json_object_get(obj, key);
    if (!v || !json_is_string(v))
        return DMP_EFORMAT;
    return py_fromhex_exact(json_string_value(v), json_string_length(v), out, out_len);
}

int dmp_crypto_header_parse(const uint8_t *buf, size_t len, dmp_msg_header_t *out)
{
    json_error_t jerr;
    dmp_msg_header_t h;
    int rc;

    if (!out || (!buf && len))
        return DMP_EINVAL;
    memset(&h, 0, sizeof h);
    /* json_loadb validates UTF-8 (as the reference's data.decode("utf-8")); a JSON number too
     * large for json_int_t fails the whole parse. */
    json_t *root = json_loadb((const char *)(buf ? buf : (const uint8_t *)""), len, 0, &jerr);
    if (!root)
        return DMP_EFORMAT;
    if (!json_is_object(root)) {
        rc = DMP_EFORMAT;
        goto done;
    }
    if ((rc = get_int(root, "v", &h.v)) != 0)
        goto done;
    json_t *t = json_object_get(root, "type");
    if (!t || !json_is_string(t)) {
        rc = DMP_EFORMAT;
        goto done;
    }
    rc = DMP_EFORMAT;
    for (size_t i = 0; i < MSG_TYPE_COUNT; i++) {
        if (json_string_length(t) == strlen(MSG_TYPE_NAMES[i]) &&
            memcmp(json_string_value(t), MSG_TYPE_NAMES[i], json_string_length(t)) == 0) {
            h.type = (dmp_msg_type_t)i;
            rc = 0;
            break;
        }
    }
    if (rc)
        goto done;
    if ((rc = get_hex(root, "msg_id", h.msg_id, sizeof h.msg_id)) != 0 ||
        (rc = get_hex(root, "sender", h.sender, sizeof h.sender)) != 0 ||
        (rc = get_hex(root, "recipient", h.recipient, sizeof h.recipient)) != 0 ||
        (rc = get_int(root, "total", &h.total)) != 0 ||
        (rc = get_int(root, "chunk", &h.chunk)) != 0 || (rc = get_int(root, "ts", &h.ts)) != 0 ||
        (rc = get_int(root, "ttl", &h.ttl)) != 0)
        goto done;
    *out = h;
done:
    json_decref(root);
    return rc;
}

int dmp_crypto_aad(const dmp_msg_header_t *h, uint32_t prekey_id, dmp_buf_t *out)
{
    if (!h || !out)
        return DMP_EINVAL;
    dmp_msg_header_t a = *h;
    a.total = 0;
    a.chunk = 0;
    int rc = dmp_crypto_header_json(&a, out);
    if (rc == 0)
        rc = dmp_buf_append_u32be(out, prekey_id);
    return rc;
}

/* --- DMPMessage (outer) ----------------------------------------------------------------- */

int dmp_crypto_outer_build(const dmp_msg_header_t *h, const uint8_t *payload, size_t payload_len,
                           dmp_buf_t *out)
{
    static const uint8_t zero_sig[32];
    dmp_buf_t hj;
    int rc;

    if (!h || !out || (!payload && payload_len))
        return DMP_EINVAL;
    dmp_buf_init(&hj);
    rc = dmp_crypto_header_json(h, &hj);
    if (rc == 0 && hj.len > UINT16_MAX)
        rc = DMP_ETOOBIG;
    if (rc == 0)
        rc = dmp_buf_reserve(out, 2 + hj.len + payload_len + 32);
    if (rc == 0) {
        dmp_buf_append_u16be(out, (uint16_t)hj.len);
        dmp_buf_append(out, hj.data, hj.len);
        if (payload_len)
            dmp_buf_append(out, payload, payload_len);
        dmp_buf_append(out, zero_sig, sizeof zero_sig);
    }
    dmp_buf_free(&hj);
    return rc;
}

int dmp_crypto_outer_parse(const uint8_t *buf, size_t len, dmp_msg_outer_t *out)
{
    if (!out || (!buf && len))
        return DMP_EINVAL;
    if (len < 34)
        return DMP_ETRUNC;
    size_t hl = dmp_load_u16be(buf);
    if (len - 34 < hl) /* len < 2 + hl + 32 */
        return DMP_ETRUNC;
    out->header_json = buf + 2;
    out->header_len = hl;
    out->payload = buf + 2 + hl;
    out->payload_len = len - 34 - hl;
    out->signature = buf + len - 32;
    return 0;
}

int dmp_crypto_seal_message(const dmp_msg_header_t *h, uint32_t prekey_id,
                            const uint8_t recipient_pk[32], const uint8_t *pt, size_t pt_len,
                            dmp_buf_t *out)
{
    dmp_buf_t aad, enc;
    int rc;

    if (!h || !recipient_pk || !out || (!pt && pt_len))
        return DMP_EINVAL;
    dmp_buf_init(&aad);
    dmp_buf_init(&enc);
    rc = dmp_crypto_aad(h, prekey_id, &aad);
    if (rc == 0)
        rc = dmp_crypto_encrypt(recipient_pk, aad.data, aad.len, pt, pt_len, &enc);
    if (rc == 0)
        rc = dmp_crypto_outer_build(h, enc.data, enc.len, out);
    dmp_buf_free(&aad);
    dmp_buf_free(&enc);
    return rc;
}

int dmp_crypto_open_message(const uint8_t *buf, size_t len, uint32_t prekey_id,
                            const uint8_t sk[32], dmp_msg_header_t *hdr_out, dmp_buf_t *pt_out)
{
    dmp_msg_outer_t outer;
    dmp_msg_header_t h;
    dmp_buf_t aad;
    int rc;

    if (!sk || !pt_out || (!buf && len))
        return DMP_EINVAL;
    rc = dmp_crypto_outer_parse(buf, len, &outer);
    if (rc)
        return rc;
    rc = dmp_crypto_header_parse(outer.header_json, outer.header_len, &h);
    if (rc)
        return rc;
    /* AAD is rebuilt from the parsed fields, not the received JSON bytes (client.md §3.6). */
    dmp_buf_init(&aad);
    rc = dmp_crypto_aad(&h, prekey_id, &aad);
    if (rc == 0)
        rc = dmp_crypto_decrypt(sk, aad.data, aad.len, outer.payload, outer.payload_len, pt_out);
    dmp_buf_free(&aad);
    if (rc == 0 && hdr_out)
        *hdr_out = h;
    return rc;
}

/* --- prekeys ---------------------------------------------------------------------------- */

int dmp_crypto_prekey_generate(dmp_crypto_prekey_t *out)
{
    if (!out)
        return DMP_EINVAL;
    uint32_t id;
    do
        id = randombytes_random();
    while (id == 0);
    out->id = id;
    int rc = dmp_crypto_x25519_keypair(out->sk, out->pk);
    if (rc)
        dmp_crypto_prekey_wipe(out);
    return rc;
}

void dmp_crypto_prekey_wipe(dmp_crypto_prekey_t *pk)
{
    if (pk)
        sodium_memzero(pk, sizeof *pk);
}

/* --- registration / TSIG proof of possession -------------------------------------------- */

int dmp_crypto_registration_message(const uint8_t challenge[32], const char *subject,
                                    size_t subject_len, const char *node, size_t node_len,
                                    dmp_buf_t *out)
{
    if (!challenge || !out || (!subject && subject_len) || (!node && node_len))
        return DMP_EINVAL;
    int rc = dmp_buf_reserve(out, 32 + subject_len + node_len + 1);
    if (rc)
        return rc;
    dmp_buf_append(out, challenge, 32);
    if (subject_len)
        dmp_buf_append(out, subject, subject_len);
    if (node_len)
        dmp_buf_append(out, node, node_len);
    return dmp_buf_append_u8(out, 0x01);
}

int dmp_crypto_registration_sign(const uint8_t sk64[64], const uint8_t challenge[32],
                                 const char *subject, size_t subject_len, const char *node,
                                 size_t node_len, uint8_t sig[64])
{
    dmp_buf_t m;
    if (!sk64 || !sig)
        return DMP_EINVAL;
    dmp_buf_init(&m);
    int rc = dmp_crypto_registration_message(challenge, subject, subject_len, node, node_len, &m);
    if (rc == 0)
        rc = dmp_crypto_sign(sk64, m.data, m.len, sig);
    dmp_buf_free(&m);
    return rc;
}

int dmp_crypto_registration_verify(const uint8_t spk[32], const uint8_t challenge[32],
                                   const char *subject, size_t subject_len, const char *node,
                                   size_t node_len, const uint8_t sig[64])
{
    dmp_buf_t m;
    if (!spk || !sig)
        return DMP_EINVAL;
    dmp_buf_init(&m);
    int rc = dmp_crypto_registration_message(challenge, subject, subject_len, node, node_len, &m);
    if (rc == 0)
        rc = dmp_crypto_verify(spk, m.data, m.len, sig);
    dmp_buf_free(&m);
    return rc;
}

int dmp_crypto_x25519_pop(const uint8_t my_sk[32], const uint8_t peer_pk[32],
                          const uint8_t challenge[32], const char *subject, size_t subject_len,
                          const uint8_t x25519_pub[32], uint8_t pop[32])
{
    uint8_t shared[32];
    crypto_auth_hmacsha256_state st;

    if (!my_sk || !peer_pk || !challenge || !x25519_pub || !pop || (!subject && subject_len))
        return DMP_EINVAL;
    int rc = dmp_crypto_x25519_shared(my_sk, peer_pk, shared);
    if (rc)
        return rc;
    crypto_auth_hmacsha256_init(&st, shared, sizeof shared);
    crypto_auth_hmacsha256_update(&st, challenge, 32);
    if (subject_len)
        crypto_auth_hmacsha256_update(&st, (const uint8_t *)subject, subject_len);
    crypto_auth_hmacsha256_update(&st, x25519_pub, 32);
    crypto_auth_hmacsha256_final(&st, pop);
    sodium_memzero(&st, sizeof st);
    sodium_memzero(shared, sizeof shared);
    return 0;
}

int dmp_crypto_x25519_pop_verify(const uint8_t server_eph_sk[32], const uint8_t claimed_pub[32],
                                 const uint8_t challenge[32], const char *subject,
                                 size_t subject_len, const uint8_t pop[32])
{
    uint8_t want[32];
    if (!pop)
        return DMP_EINVAL;
    int rc = dmp_crypto_x25519_pop(server_eph_sk, claimed_pub, challenge, subject, subject_len,
                                   claimed_pub, want);
    if (rc == DMP_CRYPTO_EZEROSHARED)
        return DMP_EAUTH;
    if (rc)
        return rc;
    rc = sodium_memcmp(want, pop, 32) == 0 ? 0 : DMP_EAUTH;
    sodium_memzero(want, sizeof want);
    return rc;
}

/* --- hashed names ----------------------------------------------------------------------- */

int dmp_crypto_sha256_hex(const uint8_t *in, size_t len, size_t nchars, char *out)
{
    uint8_t d[32];
    char hex[65];
    if (!out || nchars > 64 || (!in && len))
        return DMP_EINVAL;
    crypto_hash_sha256(d, in ? in : (const uint8_t *)"", len);
    dmp_hex_encode(d, 32, hex, sizeof hex);
    memcpy(out, hex, nchars);
    out[nchars] = '\0';
    return 0;
}

void dmp_crypto_mailbox_hash(const uint8_t x25519_pk[32], char out[13])
{
    uint8_t uid[32];
    dmp_crypto_user_id(x25519_pk, uid);
    dmp_crypto_sha256_hex(uid, 32, 12, out);
}

/* Python str.strip() (ASCII whitespace) + lower() on ASCII. */
static void strip_lower(const char *s, size_t n, const char **b, size_t *len)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t m = n;
    dmp_py_strip(&p, &m);
    *b = (const char *)p;
    *len = m;
}

static void put_lower(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
}

int dmp_crypto_tsig_key_name(const char *local, size_t local_len, const uint8_t spk[32],
                             const char *subject, size_t subject_len, const char *zone,
                             size_t zone_len, char *out, size_t out_cap)
{
    const char *lp, *z, *sj;
    size_t lpn, zn, sjn;
    char spk_hex[65], tag[7];

    if (!spk || !out || (!local && local_len) || (!zone && zone_len) || (!subject && subject_len))
        return DMP_EINVAL;
    strip_lower(local ? local : "", local_len, &lp, &lpn);
    strip_lower(zone ? zone : "", zone_len, &z, &zn);
    strip_lower(subject ? subject : "", subject_len, &sj, &sjn);
    while (zn > 0 && z[zn - 1] == '.')
        zn--;
    if (lpn == 0 || zn == 0)
        return DMP_EINVAL;
    size_t label = lpn + 1 + 8 + (sjn ? 7 : 0);
    if (label > 63)
        return DMP_ENAME;
    if (label + 1 + zn + 2 > out_cap)
        return DMP_ETOOBIG;
    dmp_hex_encode(spk, 32, spk_hex, sizeof spk_hex);
    if (sjn) {
        /* The subject hash is over the lower-cased subject. */
        char *low = malloc(sjn);
        if (!low)
            return DMP_ENOMEM;
        put_lower(low, sj, sjn);
        dmp_crypto_sha256_hex((const uint8_t *)low, sjn, 6, tag);
        free(low);
    }
    char *p = out;
    put_lower(p, lp, lpn);
    p += lpn;
    *p++ = '-';
    memcpy(p, spk_hex, 8);
    p += 8;
    if (sjn) {
        *p++ = '-';
        memcpy(p, tag, 6);
        p += 6;
    }
    *p++ = '.';
    put_lower(p, z, zn);
    p += zn;
    *p++ = '.';
    *p = '\0';
    return 0;
}
