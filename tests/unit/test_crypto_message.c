/* Unit tests for src/crypto messages: the Appendix A encryption transcript, DMPHeader /
 * DMPMessage / outer parsing of good and malformed input, the prekey forward-secrecy path, and
 * hashed names. */
#include "crypto_harness.h"

static const char *AAD_JSON =
    "{\"v\":1,\"type\":\"DATA\",\"msg_id\":\"00112233445566778899aabbccddeeff\",\"sender\":"
    "\"b3c34c71f8f4724e432b662d6cc1cdf4cd78f327a77ec9e11153b91fbee01862\",\"recipient\":"
    "\"a2a399f18a48dc9dead9276dfb1ba69bd85fce3a9b1b018f45566ad179a23fe4\",\"total\":0,"
    "\"chunk\":0,\"ts\":1893456000,\"ttl\":300}";

static const char *ENC_HEX =
    "a1db04c1184353be439f6af75c77ab2e4e48b0d4a4d3b09639e55af09d716e2e000102030405060708090a0bf2"
    "40a018feb8a6d26e4b13ca24364f81b6c48cfc7d52c06004";

static void appendix_a_header(dmp_msg_header_t *h)
{
    memset(h, 0, sizeof *h);
    h->v = 1;
    h->type = DMP_MSG_DATA;
    unhex("00112233445566778899aabbccddeeff", h->msg_id, 16);
    unhex("b3c34c71f8f4724e432b662d6cc1cdf4cd78f327a77ec9e11153b91fbee01862", h->sender, 32);
    unhex("a2a399f18a48dc9dead9276dfb1ba69bd85fce3a9b1b018f45566ad179a23fe4", h->recipient, 32);
    h->total = 1;
    h->chunk = 0;
    h->ts = 1893456000;
    h->ttl = 300;
}

/* --- Appendix A: message encryption transcript ------------------------------------------ */

static void test_appendix_a_message(void **state)
{
    (void)state;
    uint8_t eph_sk[32], eph_pk[32], bob_pk[32], bob_sk[32], shared[32], key[32], nonce[12];
    sha256_str("vectors/ephemeral", eph_sk);
    assert_hex(eph_sk, 32, "4dd7813486844ac9daed36cf2b14003872c50fa51578108133f6428fce6eeeb9");
    assert_int_equal(dmp_crypto_x25519_public(eph_sk, eph_pk), 0);
    assert_hex(eph_pk, 32, "a1db04c1184353be439f6af75c77ab2e4e48b0d4a4d3b09639e55af09d716e2e");
    unhex(BOB_PK, bob_pk, 32);
    unhex(BOB_SK, bob_sk, 32);
    assert_int_equal(dmp_crypto_x25519_shared(eph_sk, bob_pk, shared), 0);
    assert_hex(shared, 32, "3658cdd8a6550559ef63dad55c3d09bf7c2c645b7d735892c177e5ffc394344b");
    assert_int_equal(dmp_crypto_message_key(shared, key), 0);
    assert_hex(key, 32, "ee9ed65ed8ae5f3b6f73fb0f5bd60dea91156d8af9c10b55bfa5dfdfaa8773ed");

    dmp_msg_header_t h;
    appendix_a_header(&h);
    dmp_buf_t aad, enc, outer, pt, hj;
    dmp_buf_init(&aad);
    dmp_buf_init(&enc);
    dmp_buf_init(&outer);
    dmp_buf_init(&pt);
    dmp_buf_init(&hj);
    assert_int_equal(dmp_crypto_aad(&h, 0, &aad), 0);
    assert_int_equal(aad.len, strlen(AAD_JSON) + 4);
    assert_memory_equal(aad.data, AAD_JSON, strlen(AAD_JSON));
    assert_memory_equal(aad.data + strlen(AAD_JSON), "\0\0\0\0", 4);
    assert_int_equal(dmp_crypto_header_json(&h, &hj), 0);
    assert_int_equal(hj.len, 266);

    unhex("000102030405060708090a0b", nonce, 12);
    assert_int_equal(dmp_crypto_encrypt_with(bob_pk, eph_sk, nonce, aad.data, aad.len,
                                             (const uint8_t *)"hello bob", 9, &enc),
                     0);
    assert_int_equal(enc.len, 9 + DMP_CRYPTO_ENC_OVERHEAD);
    assert_hex(enc.data, enc.len, ENC_HEX);

    assert_int_equal(dmp_crypto_outer_build(&h, enc.data, enc.len, &outer), 0);
    assert_int_equal(outer.len, 369);
    assert_int_equal(outer.data[0], 0x01);
    assert_int_equal(outer.data[1], 0x0a);
    /* Appendix A's data shares 0..2 (128 B each) are u32 length (0x171 = 369) || outer || pad. */
    static const char *const shares[3] = {
        "00000171010a7b2276223a312c2274797065223a2244415441222c226d73675f6964223a223030313132"
        "323333343435353636373738383939616162626363646465656666222c2273656e646572223a22623363"
        "333463373166386634373234653433326236363264366363316364663463643738663332376137376563"
        "3965",
        "3131313533623931666265653031383632222c22726563697069656e74223a2261326133393966313861"
        "343864633964656164393237366466623162613639626438356663653361396231623031386634353536"
        "366164313739613233666534222c22746f74616c223a312c226368756e6b223a302c227473223a313839"
        "3334",
        "35363030302c2274746c223a3330307da1db04c1184353be439f6af75c77ab2e4e48b0d4a4d3b09639e5"
        "5af09d716e2e000102030405060708090a0bf240a018feb8a6d26e4b13ca24364f81b6c48cfc7d52c060"
        "040000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000",
    };
    uint8_t joined[384];
    for (int i = 0; i < 3; i++)
        unhex(shares[i], joined + 128 * i, 128);
    assert_int_equal(dmp_load_u32be(joined), 369);
    assert_memory_equal(joined + 4, outer.data, 369);

    /* Bob opens it: rebuilds the AAD from the parsed header. */
    dmp_msg_header_t got;
    assert_int_equal(dmp_crypto_open_message(outer.data, outer.len, 0, bob_sk, &got, &pt), 0);
    assert_int_equal(pt.len, 9);
    assert_memory_equal(pt.data, "hello bob", 9);
    assert_memory_equal(&got.msg_id, h.msg_id, 16);
    assert_int_equal(got.total, 1);
    assert_int_equal(got.ts, 1893456000);
    /* Wrong prekey id in the AAD, wrong key, or any flipped ciphertext byte: DMP_ECRYPTO. */
    pt.len = 0;
    assert_int_equal(dmp_crypto_open_message(outer.data, outer.len, 5, bob_sk, NULL, &pt),
                     DMP_ECRYPTO);
    uint8_t alice_sk[32];
    unhex(ALICE_SK, alice_sk, 32);
    assert_int_equal(dmp_crypto_open_message(outer.data, outer.len, 0, alice_sk, NULL, &pt),
                     DMP_ECRYPTO);
    for (size_t i = 268; i < 268 + enc.len; i += 7) {
        outer.data[i] ^= 0x40;
        assert_int_equal(dmp_crypto_open_message(outer.data, outer.len, 0, bob_sk, NULL, &pt),
                         DMP_ECRYPTO);
        outer.data[i] ^= 0x40;
    }
    /* The header is authenticated through the AAD: change ts digit -> fails. */
    outer.data[2 + 250] = (uint8_t)(outer.data[2 + 250] == '1' ? '2' : '1');
    assert_int_equal(dmp_crypto_open_message(outer.data, outer.len, 0, bob_sk, NULL, &pt),
                     DMP_ECRYPTO);
    assert_int_equal(pt.len, 0);
    /* Direct decrypt of the EncryptedMessage. */
    assert_int_equal(dmp_crypto_decrypt(bob_sk, aad.data, aad.len, enc.data, enc.len, &pt), 0);
    assert_memory_equal(pt.data, "hello bob", 9);
    dmp_buf_free(&aad);
    dmp_buf_free(&enc);
    dmp_buf_free(&outer);
    dmp_buf_free(&pt);
    dmp_buf_free(&hj);
}

static void test_enc_parse(void **state)
{
    (void)state;
    uint8_t buf[80] = {0}, sk[32] = {9};
    dmp_crypto_enc_t e;
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_crypto_enc_parse(buf, 43, &e), DMP_ETRUNC);
    assert_int_equal(dmp_crypto_enc_parse(buf, 44, &e), 0);
    assert_int_equal(e.ct_len, 0);
    assert_ptr_equal(e.nonce, buf + 32);
    /* 44..59 bytes parse but cannot hold a tag. */
    assert_int_equal(dmp_crypto_decrypt(sk, NULL, 0, buf, 59, &out), DMP_ETRUNC);
    assert_int_equal(dmp_crypto_decrypt(sk, NULL, 0, buf, 10, &out), DMP_ETRUNC);
    /* All-zero ephemeral key: low order. */
    assert_int_equal(dmp_crypto_decrypt(sk, NULL, 0, buf, 60, &out), DMP_CRYPTO_EZEROSHARED);
    buf[0] = 9; /* base point: valid key, garbage tag */
    assert_int_equal(dmp_crypto_decrypt(sk, NULL, 0, buf, 80, &out), DMP_ECRYPTO);
    assert_int_equal(out.len, 0);
    dmp_buf_free(&out);
}

/* --- DMPHeader / DMPMessage parse ------------------------------------------------------- */

static int parse_str(const char *s, dmp_msg_header_t *h)
{
    return dmp_crypto_header_parse((const uint8_t *)s, strlen(s), h);
}

static void test_header_parse(void **state)
{
    (void)state;
    dmp_msg_header_t h, want;
    appendix_a_header(&want);
    dmp_buf_t j;
    dmp_buf_init(&j);
    assert_int_equal(dmp_crypto_header_json(&want, &j), 0);
    assert_int_equal(dmp_crypto_header_parse(j.data, j.len, &h), 0);
    assert_memory_equal(&h, &want, sizeof h);
    dmp_buf_free(&j);

    /* Key order, whitespace, upper-case hex and bytes.fromhex spaces are all accepted; extra
     * keys ignored; duplicate keys: last wins. */
    const char *loose =
        " { \"ttl\" : 300, \"ts\":1893456000,\"chunk\":0,\"total\":1, \"extra\":[1,{}],"
        "\"recipient\":\"A2A399F18A48DC9DEAD9276DFB1BA69BD85FCE3A9B1B018F45566AD179A23FE4\","
        "\"sender\":\"b3 c3 4c71f8f4724e432b662d6cc1cdf4cd78f327a77ec9e11153b91fbee01862 \","
        "\"msg_id\":\"00112233445566778899aabbccddeeff\",\"type\":\"ACK\",\"type\":\"DATA\","
        "\"v\":1}\n";
    assert_int_equal(parse_str(loose, &h), 0);
    assert_memory_equal(&h, &want, sizeof h);

    const char *mid = "\"msg_id\":\"00112233445566778899aabbccddeeff\",";
    const char *ids =
        "\"sender\":\"b3c34c71f8f4724e432b662d6cc1cdf4cd78f327a77ec9e11153b91fbee01862"
        "\",\"recipient\":\"a2a399f18a48dc9dead9276dfb1ba69bd85fce3a9b1b018f45566ad"
        "179a23fe4\",";
    char buf[1024];
#define HDR(v, type, m, tail)                                                                      \
    (snprintf(buf, sizeof buf, "{\"v\":%s,\"type\":%s,%s%s%s}", v, type, m, ids, tail), buf)
    const char *tail = "\"total\":1,\"chunk\":0,\"ts\":5,\"ttl\":300";
    assert_int_equal(parse_str(HDR("1", "\"MAILBOX\"", mid, tail), &h), 0);
    assert_int_equal(h.type, DMP_MSG_MAILBOX);
    assert_int_equal(h.ts, 5);
    assert_int_equal(parse_str(HDR("1", "\"data\"", mid, tail), &h), DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("1", "1", mid, tail), &h), DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("1.0", "\"DATA\"", mid, tail), &h), DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("true", "\"DATA\"", mid, tail), &h), DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("\"1\"", "\"DATA\"", mid, tail), &h), DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("1", "\"DATA\"", mid, "\"total\":1,\"chunk\":0,\"ts\":5"), &h),
                     DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("1", "\"DATA\"", "\"msg_id\":\"0011zz\",", tail), &h), DMP_EHEX);
    assert_int_equal(parse_str(HDR("1", "\"DATA\"", "\"msg_id\":\"001\",", tail), &h), DMP_EHEX);
    assert_int_equal(parse_str(HDR("1", "\"DATA\"", "\"msg_id\":\"0011\",", tail), &h),
                     DMP_EFORMAT);
    assert_int_equal(
        parse_str(HDR("1", "\"DATA\"", "\"msg_id\":\"0 0112233445566778899aabbccddeeff\",", tail),
                  &h),
        DMP_EHEX);
    assert_int_equal(parse_str(HDR("99999999999999999999", "\"DATA\"", mid, tail), &h),
                     DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("-3", "\"DATA\"", mid, tail), &h), 0);
    assert_int_equal(h.v, -3);
#undef HDR
    assert_int_equal(parse_str("[]", &h), DMP_EFORMAT);
    assert_int_equal(parse_str("", &h), DMP_EFORMAT);
    assert_int_equal(parse_str("{\"v\":1", &h), DMP_EFORMAT);
    assert_int_equal(dmp_crypto_header_parse((const uint8_t *)"{\"v\":\"\xff\"}", 10, &h),
                     DMP_EFORMAT);
}

static void test_outer_parse(void **state)
{
    (void)state;
    uint8_t buf[64] = {0};
    dmp_msg_outer_t o;
    assert_int_equal(dmp_crypto_outer_parse(buf, 33, &o), DMP_ETRUNC);
    assert_int_equal(dmp_crypto_outer_parse(NULL, 0, &o), DMP_ETRUNC);
    assert_int_equal(dmp_crypto_outer_parse(buf, 34, &o), 0);
    assert_int_equal(o.header_len, 0);
    assert_int_equal(o.payload_len, 0);
    assert_ptr_equal(o.signature, buf + 2);
    buf[1] = 10; /* header_len 10 needs >= 44 bytes */
    assert_int_equal(dmp_crypto_outer_parse(buf, 43, &o), DMP_ETRUNC);
    assert_int_equal(dmp_crypto_outer_parse(buf, 44, &o), 0);
    assert_int_equal(dmp_crypto_outer_parse(buf, 64, &o), 0);
    assert_int_equal(o.payload_len, 20);
    assert_ptr_equal(o.payload, buf + 12);
    buf[0] = 0xff;
    assert_int_equal(dmp_crypto_outer_parse(buf, 64, &o), DMP_ETRUNC);
    /* open_message propagates structure errors before doing any crypto. */
    dmp_buf_t pt;
    dmp_buf_init(&pt);
    uint8_t sk[32] = {1};
    assert_int_equal(dmp_crypto_open_message(buf, 20, 0, sk, NULL, &pt), DMP_ETRUNC);
    buf[0] = 0;
    buf[1] = 2;
    memcpy(buf + 2, "{}", 2);
    assert_int_equal(dmp_crypto_open_message(buf, 64, 0, sk, NULL, &pt), DMP_EFORMAT);
}

/* --- prekey forward-secrecy path -------------------------------------------------------- */

static void test_prekey_path(void **state)
{
    (void)state;
    dmp_crypto_prekey_t pk;
    dmp_crypto_identity_t bob;
    uint8_t bob_sk[32];
    unhex(BOB_SK, bob_sk, 32);
    assert_int_equal(dmp_crypto_identity_from_x25519(bob_sk, &bob), 0);
    assert_int_equal(dmp_crypto_prekey_generate(&pk), 0);
    assert_int_not_equal(pk.id, 0);
    uint8_t chk[32];
    assert_int_equal(dmp_crypto_x25519_public(pk.sk, chk), 0);
    assert_memory_equal(chk, pk.pk, 32);

    dmp_msg_header_t h, got;
    appendix_a_header(&h);
    dmp_buf_t msg, pt;
    dmp_buf_init(&msg);
    dmp_buf_init(&pt);
    const uint8_t body[] = "forward secret";
    assert_int_equal(dmp_crypto_seal_message(&h, pk.id, pk.pk, body, sizeof body, &msg), 0);
    assert_int_equal(msg.len, 360 + sizeof body);
    assert_int_equal(dmp_crypto_open_message(msg.data, msg.len, pk.id, pk.sk, &got, &pt), 0);
    assert_int_equal(pt.len, sizeof body);
    assert_memory_equal(pt.data, body, sizeof body);
    /* The long-term key cannot open it, nor the prekey sk under another id. */
    pt.len = 0;
    assert_int_equal(dmp_crypto_open_message(msg.data, msg.len, pk.id, bob.x25519_sk, NULL, &pt),
                     DMP_ECRYPTO);
    assert_int_equal(dmp_crypto_open_message(msg.data, msg.len, 0, pk.sk, NULL, &pt), DMP_ECRYPTO);
    assert_int_equal(dmp_crypto_open_message(msg.data, msg.len, pk.id ^ 1, pk.sk, NULL, &pt),
                     DMP_ECRYPTO);
    /* Two seals of the same message differ (fresh ephemeral key and nonce). */
    dmp_buf_t msg2;
    dmp_buf_init(&msg2);
    assert_int_equal(dmp_crypto_seal_message(&h, pk.id, pk.pk, body, sizeof body, &msg2), 0);
    assert_int_equal(msg2.len, msg.len);
    assert_memory_not_equal(msg.data + 268, msg2.data + 268, 44);
    /* Non-FS path with the long-term key. */
    msg.len = 0;
    assert_int_equal(dmp_crypto_seal_message(&h, 0, bob.x25519_pk, NULL, 0, &msg), 0);
    assert_int_equal(dmp_crypto_open_message(msg.data, msg.len, 0, bob.x25519_sk, NULL, &pt), 0);
    assert_int_equal(pt.len, 0);
    dmp_crypto_prekey_wipe(&pk);
    assert_int_equal(pk.id, 0);
    dmp_crypto_identity_wipe(&bob);
    dmp_buf_free(&msg);
    dmp_buf_free(&msg2);
    dmp_buf_free(&pt);
}

/* --- hashed names ----------------------------------------------------------------------- */

static void test_hashed_names(void **state)
{
    (void)state;
    uint8_t bob_pk[32], spk[32];
    char h[65], name[128];
    unhex(BOB_PK, bob_pk, 32);
    dmp_crypto_mailbox_hash(bob_pk, h);
    assert_string_equal(h, "7cce4761260b"); /* Appendix A: mb-7cce4761260b */
    assert_int_equal(dmp_crypto_sha256_hex((const uint8_t *)"alice", 5, 16, h), 0);
    assert_string_equal(h, "2bd806c97f0e00af");
    assert_int_equal(dmp_crypto_sha256_hex((const uint8_t *)"abc", 3, 64, h), 0);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(dmp_crypto_sha256_hex((const uint8_t *)"abc", 3, 65, h), DMP_EINVAL);
    /* Appendix A chunk key: hex(SHA-256(msg_id || recipient_id || sender_spk))[:12]. */
    uint8_t ck[16 + 32 + 32];
    unhex("00112233445566778899aabbccddeeff", ck, 16);
    unhex("a2a399f18a48dc9dead9276dfb1ba69bd85fce3a9b1b018f45566ad179a23fe4", ck + 16, 32);
    unhex("26b6ebb6cd94835f72d44b54ecb357f4d7fb32242ce4a1ef38fd494868090a0e", ck + 48, 32);
    assert_int_equal(dmp_crypto_sha256_hex(ck, sizeof ck, 12, h), 0);
    assert_string_equal(h, "99dcc09a82e6");

    /* TSIG key name (node.md 5.4). */
    memcpy(spk, ck + 48, 32);
    assert_int_equal(dmp_crypto_tsig_key_name(" Alice", 6, spk, "Alice@Mesh.Example", 18,
                                              " Mesh.Example.. ", 16, name, sizeof name),
                     0);
    assert_string_equal(name, "alice-26b6ebb6-0fae28.mesh.example.");
    assert_int_equal(dmp_crypto_tsig_key_name("alice", 5, spk, NULL, 0, "z", 1, name, sizeof name),
                     0);
    assert_string_equal(name, "alice-26b6ebb6.z.");
    assert_int_equal(dmp_crypto_tsig_key_name("", 0, spk, "a@z", 3, "z", 1, name, sizeof name),
                     DMP_EINVAL);
    assert_int_equal(dmp_crypto_tsig_key_name("a", 1, spk, "a@z", 3, "...", 3, name, sizeof name),
                     DMP_EINVAL);
    char l47[48], l48[49];
    memset(l47, 'x', 47);
    l47[47] = 0;
    memset(l48, 'x', 48);
    l48[48] = 0;
    assert_int_equal(dmp_crypto_tsig_key_name(l47, 47, spk, "s@z", 3, "z", 1, name, sizeof name),
                     0);
    assert_int_equal(strlen(name), 63 + 3);
    assert_int_equal(dmp_crypto_tsig_key_name(l48, 48, spk, "s@z", 3, "z", 1, name, sizeof name),
                     DMP_ENAME);
    assert_int_equal(dmp_crypto_tsig_key_name("a", 1, spk, "s@z", 3, "zone", 4, name, 20),
                     DMP_ETOOBIG);
}

int main(void)
{
    if (dmp_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appendix_a_message), cmocka_unit_test(test_enc_parse),
        cmocka_unit_test(test_header_parse),       cmocka_unit_test(test_outer_parse),
        cmocka_unit_test(test_prekey_path),        cmocka_unit_test(test_hashed_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
