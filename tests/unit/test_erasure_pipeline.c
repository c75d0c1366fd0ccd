/* Unit tests for src/erasure's chunk records and the sender/receiver pipeline: the reference's
 * Appendix A, ../shared/vectors/pipeline.json (skips when it is absent), chunk TXT parsing,
 * message decoding faults, round trips of many sizes, and util/b64_public; the RS-dependent ones
 * run again on the portable RS path. */
#include "erasure_harness.h"

static void sha256_hex_equal(const void *p, size_t len, const char *want_hex)
{
    uint8_t h[32];
    crypto_hash_sha256(h, p, len);
    assert_hex_equal(h, 32, want_hex);
}

/* ---------- CPython random.Random(str) (MT19937, seed version 2), to regenerate the large
 * plaintexts of pipeline.json ("bytes from random.Random('shared-1') stream") ---------- */

typedef struct {
    uint32_t mt[624];
    int idx;
} mt_t;

static void mt_init(mt_t *m, uint32_t s)
{
    m->mt[0] = s;
    for (int i = 1; i < 624; i++)
        m->mt[i] = 1812433253u * (m->mt[i - 1] ^ (m->mt[i - 1] >> 30)) + (uint32_t)i;
    m->idx = 624;
}

static void mt_init_by_array(mt_t *m, const uint32_t *key, int klen)
{
    mt_init(m, 19650218u);
    int i = 1, j = 0;
    for (int k = 624 > klen ? 624 : klen; k; k--) {
        m->mt[i] =
            (m->mt[i] ^ ((m->mt[i - 1] ^ (m->mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= 624) {
            m->mt[0] = m->mt[623];
            i = 1;
        }
        if (j >= klen)
            j = 0;
    }
    for (int k = 623; k; k--) {
        m->mt[i] = (m->mt[i] ^ ((m->mt[i - 1] ^ (m->mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= 624) {
            m->mt[0] = m->mt[623];
            i = 1;
        }
    }
    m->mt[0] = 0x80000000u;
}

static uint32_t mt_next(mt_t *m)
{
    if (m->idx >= 624) {
        for (int i = 0; i < 624; i++) {
            uint32_t y = (m->mt[i] & 0x80000000u) | (m->mt[(i + 1) % 624] & 0x7fffffffu);
            m->mt[i] = m->mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) ? 0x9908b0dfu : 0);
        }
        m->idx = 0;
    }
    uint32_t y = m->mt[m->idx++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* random.Random(s) for a str s: int.from_bytes(s + sha512(s), "big") as little-endian words. */
static void mt_seed_str(mt_t *m, const char *s)
{
    size_t sl = strlen(s);
    uint8_t buf[256];
    assert_true(sl + 64 <= sizeof buf && sl > 0 && s[0] != 0);
    memcpy(buf, s, sl);
    crypto_hash_sha512(buf + sl, (const uint8_t *)s, sl);
    size_t bl = sl + 64;
    uint32_t key[64];
    int nw = 0;
    for (size_t end = bl; end > 0;) {
        uint32_t w = 0;
        size_t start = end >= 4 ? end - 4 : 0;
        for (size_t i = start; i < end; i++)
            w = w << 8 | buf[i];
        key[nw++] = w;
        end = start;
    }
    while (nw > 1 && key[nw - 1] == 0)
        nw--;
    mt_init_by_array(m, key, nw);
}

static uint32_t mt_randbelow(mt_t *m, uint32_t n)
{
    int bits = 0;
    while ((n >> bits) != 0)
        bits++;
    for (;;) {
        uint32_t r = mt_next(m) >> (32 - bits);
        if (r < n)
            return r;
    }
}

/* Appendix A: 369-byte outer message -> k=3, n=4, shares and chunk TXT values. */
static const char *appx_shares[4] = {
    "00000171010a7b2276223a312c2274797065223a2244415441222c226d73675f6964223a223030313132323333343"
    "435353636373738383939616162626363646465656666222c2273656e646572223a2262336333346337316638663"
    "4373234653433326236363264366363316364663463643738663332376137376563396"
    "5",
    "3131313533623931666265653031383632222c22726563697069656e74223a22613261333939663138613438646339"
    "6465616439323736646662316261363962643835666365336139623162303138663435353636616431373961323366"
    "6534222c22746f74616c223a312c226368756e6b223a302c227473223a3138393334",
    "35363030302c2274746c223a3330307da1db04c1184353be439f6af75c77ab2e4e48b0d4a4d3b09639e55af09d716e"
    "2e000102030405060708090a0bf240a018feb8a6d26e4b13ca24364f81b6c48cfc7d52c06004000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000",
    "2b213af02ab99a53faa1a8918ed6ab2386c486da044320e7d8e9d7bc03d927abfb064b2cc9089dc449586fdb72359d"
    "dd310624ffb5cecc6f5d14bc093d3b39411f436ff97e4b564af6aa6a3027c3314e4d4013fba91e0cb5a7ed5ab5b437"
    "1c8c244c11945ba800542be29e760f3441b766742bede84511949f18edb5f4deff94",
};

static const char *appx_txt[4] = {
    "v=dmp1;t=chunk;d=ccSAWa5kqCMAAAFxAQp7InYiOjEsInR5cGUiOiJEQVRBIiwibXNnX2lkIjoiMDAxMTIyMzM0NDU1N"
    "jY3Nzg4OTlhYWJiY2NkZGVlZmYiLCJzZW5kZXIiOiJiM2MzNGM3MWY4ZjQ3MjRlNDMyYjY2MmQ2Y2MxY2RmNGNkNzhmMzI"
    "3YTc3ZWM5ZYTuyfD/VkefdABd0fAAiXKYAIG/Rb3lCw5vwneRSfPH",
    "v=dmp1;t=chunk;d=Hye57InrptkxMTE1M2I5MWZiZWUwMTg2MiIsInJlY2lwaWVudCI6ImEyYTM5OWYxOGE0OGRjOWRlY"
    "WQ5Mjc2ZGZiMWJhNjliZDg1ZmNlM2E5YjFiMDE4ZjQ1NTY2YWQxNzlhMjNmZTQiLCJ0b3RhbCI6MSwiY2h1bmsiOjAsInR"
    "zIjoxODkzNMaLATRmxN3BjCgseZZagZgGM3cRrLQF08ERyFdPdyVh",
    "v=dmp1;t=chunk;d=BOhMWXuYUus1NjAwMCwidHRsIjozMDB9odsEwRhDU75Dn2r3XHerLk5IsNSk07CWOeVa8J1xbi4AA"
    "QIDBAUGBwgJCgvyQKAY/rim0m5LE8okNk+BtsSM/H1SwGAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAJYhodn9oL4BlzAirTJo2kPtuL+3wfag+LHGUstbNV6z",
    "v=dmp1;t=chunk;d=9b8HGEnw1IMrITrwKrmaU/qhqJGO1qsjhsSG2gRDIOfY6de8A9knq/sGSyzJCJ3ESVhv23I1nd0xB"
    "iT/tc7Mb10UvAk9OzlBH0Nv+X5LVkr2qmowJ8MxTk1AE/upHgy1p+1atbQ3HIwkTBGUW6gAVCvinnYPNEG3ZnQr7ehFEZS"
    "fGO219N7/lMJ5qmhPvM82l/3t7VGHPtc/MuaWYVI1lZ1p1cWpscS7",
};

static const char *appx_hash[4] = {
    "c4c395bc6984e2ccf7bad97fdc06652c3b96ba82965b409a16ccc16f2ee69913",
    "b2974390a0856f76ba6ca31426d4cbfddeb9756378b1b239e76e2c814424f7a3",
    "d1cc55a62f2007ce47776e5c9eb01d453d72535531e9be75bcee0279765ba5d4",
    "851dce5750830cdc08da5a0c4d6e34c78e25e461d394e65c2783445bf5ddcb54",
};

static void appx_outer(dmp_buf_t *outer)
{
    static const char header[] =
        "{\"v\":1,\"type\":\"DATA\",\"msg_id\":\"00112233445566778899aabbccddeeff\",\"sender\":"
        "\"b3c34c71f8f4724e432b662d6cc1cdf4cd78f327a77ec9e11153b91fbee01862\",\"recipient\":"
        "\"a2a399f18a48dc9dead9276dfb1ba69bd85fce3a9b1b018f45566ad179a23fe4\",\"total\":1,"
        "\"chunk\":0,\"ts\":1893456000,\"ttl\":300}";
    static const char encmsg[] = "a1db04c1184353be439f6af75c77ab2e4e48b0d4a4d3b09639e55af09d716e2e0"
                                 "00102030405060708090a0bf240a018feb8a6d26e4b13ca24364f81b6c48cfc7d"
                                 "52c06004";
    dmp_buf_init(outer);
    assert_int_equal(dmp_buf_append_u16be(outer, (uint16_t)strlen(header)), 0);
    assert_int_equal(strlen(header), 0x10a);
    assert_int_equal(dmp_buf_append_str(outer, header), 0);
    assert_int_equal(dmp_hex_decode_buf(encmsg, strlen(encmsg), outer), 0);
    uint8_t zero[32] = {0};
    assert_int_equal(dmp_buf_append(outer, zero, 32), 0);
    assert_int_equal(outer->len, 369);
}

static void test_appendix_a(void **state)
{
    (void)state;
    dmp_buf_t outer;
    appx_outer(&outer);
    uint32_t k, n;
    uint8_t *shares = NULL;
    assert_int_equal(dmp_erasure_encode_shares(outer.data, outer.len, &k, &n, &shares), 0);
    assert_int_equal(k, 3);
    assert_int_equal(n, 4);
    for (int i = 0; i < 4; i++)
        assert_hex_equal(shares + 128 * i, 128, appx_shares[i]);
    free(shares);

    dmp_erasure_chunks_t ch;
    assert_int_equal(dmp_erasure_encode_message(outer.data, outer.len, &ch), 0);
    assert_int_equal(ch.k, 3);
    assert_int_equal(ch.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(ch.txt + 242 * i, appx_txt[i]);
        assert_hex_equal(ch.hashes + 32 * i, 32, appx_hash[i]);
    }
    /* receiver: every 3-of-4 subset, with the manifest hashes */
    for (int drop = 0; drop < 4; drop++) {
        dmp_erasure_chunk_in_t in[3];
        int m = 0;
        for (int i = 0; i < 4; i++) {
            if (i == drop)
                continue;
            in[m].index = (uint32_t)i;
            in[m].txt = (const uint8_t *)appx_txt[i];
            in[m].len = strlen(appx_txt[i]);
            m++;
        }
        dmp_buf_t out;
        dmp_buf_init(&out);
        assert_int_equal(dmp_erasure_decode_message(3, 4, in, 3, ch.hashes, &out), 0);
        assert_int_equal(out.len, outer.len);
        assert_memory_equal(out.data, outer.data, outer.len);
        dmp_buf_free(&out);
    }
    dmp_erasure_chunks_free(&ch);
    dmp_buf_free(&outer);
}

static void test_pipeline_vectors(void **state)
{
    (void)state;
    json_t *root = load_vectors();
    if (root == NULL) {
        skip();
        return;
    }
    json_t *cases = json_object_get(root, "erasure_cases");
    assert_true(json_is_array(cases));
    assert_int_equal(json_array_size(cases), 14);
    mt_t mt;
    mt_seed_str(&mt, "shared-1");
    size_t idx;
    json_t *c;
    json_array_foreach(cases, idx, c)
    {
        size_t plen = (size_t)json_integer_value(json_object_get(c, "plaintext_len"));
        uint32_t k = (uint32_t)json_integer_value(json_object_get(c, "k"));
        uint32_t n = (uint32_t)json_integer_value(json_object_get(c, "n"));
        /* the generator's stream: plaintext bytes, then a shuffle of range(n) for the ids */
        uint8_t *pt = malloc(plen + 1);
        assert_non_null(pt);
        for (size_t i = 0; i < plen; i++)
            pt[i] = (uint8_t)(mt_next(&mt) >> 24);
        uint32_t perm[256];
        for (uint32_t i = 0; i < n; i++)
            perm[i] = i;
        for (uint32_t i = n - 1; i >= 1; i--) {
            uint32_t j = mt_randbelow(&mt, i + 1);
            uint32_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        json_t *pth = json_object_get(c, "plaintext_hex");
        if (pth) {
            size_t l;
            uint8_t *want = unhex(json_string_value(pth), &l);
            assert_int_equal(l, plen);
            if (plen)
                assert_memory_equal(pt, want, plen);
            free(want);
        }
        sha256_hex_equal(pt, plen, json_string_value(json_object_get(c, "plaintext_sha256")));

        uint32_t gk, gn;
        uint8_t *shares = NULL;
        assert_int_equal(dmp_erasure_encode_shares(pt, plen, &gk, &gn, &shares), 0);
        assert_int_equal(gk, k);
        assert_int_equal(gn, n);
        json_t *sh = json_object_get(c, "share_sha256");
        json_t *shx = json_object_get(c, "shares_hex");
        assert_int_equal(json_array_size(sh), n);
        for (uint32_t i = 0; i < n; i++) {
            sha256_hex_equal(shares + 128 * i, 128, json_string_value(json_array_get(sh, i)));
            if (shx)
                assert_hex_equal(shares + 128 * i, 128, json_string_value(json_array_get(shx, i)));
        }

        dmp_erasure_chunks_t ch;
        assert_int_equal(dmp_erasure_encode_message(pt, plen, &ch), 0);
        assert_int_equal(ch.k, k);
        assert_int_equal(ch.n, n);
        json_t *ct = json_object_get(c, "chunk_txt");
        json_t *cth = json_object_get(c, "chunk_txt_sha256");
        for (uint32_t i = 0; i < n; i++) {
            const char *txt = ch.txt + 242 * i;
            sha256_hex_equal(txt, strlen(txt), json_string_value(json_array_get(cth, i)));
            if (ct)
                assert_string_equal(txt, json_string_value(json_array_get(ct, i)));
        }

        /* documented decode: the listed k-subset, which is also the generator's shuffle */
        json_t *ids_j = json_object_get(c, "decode_from_share_ids");
        assert_int_equal(json_array_size(ids_j), k);
        uint8_t sel[256] = {0};
        for (uint32_t i = 0; i < k; i++)
            sel[perm[i]] = 1;
        uint32_t ids[256];
        uint8_t *sub = malloc((size_t)k * 128);
        dmp_erasure_chunk_in_t in[256];
        assert_non_null(sub);
        for (uint32_t i = 0; i < k; i++) {
            ids[i] = (uint32_t)json_integer_value(json_array_get(ids_j, i));
            assert_true(sel[ids[i]]);
            memcpy(sub + 128 * i, shares + 128 * ids[i], 128);
            in[i].index = ids[i];
            in[i].txt = (const uint8_t *)(ch.txt + 242 * ids[i]);
            in[i].len = DMP_ERASURE_CHUNK_TXT_LEN;
        }
        dmp_buf_t out;
        dmp_buf_init(&out);
        assert_int_equal(dmp_erasure_decode_shares(k, n, ids, sub, k, &out), 0);
        assert_int_equal(out.len, plen);
        if (plen)
            assert_memory_equal(out.data, pt, plen);
        dmp_buf_free(&out);
        assert_int_equal(dmp_erasure_decode_message(k, n, in, k, ch.hashes, &out), 0);
        assert_int_equal(out.len, plen);
        if (plen)
            assert_memory_equal(out.data, pt, plen);
        dmp_buf_free(&out);
        /* one fewer chunk cannot decode */
        assert_int_equal(dmp_erasure_decode_message(k, n, in, k - 1, ch.hashes, &out),
                         DMP_EERASURE_SHARES);

        free(sub);
        dmp_erasure_chunks_free(&ch);
        free(shares);
        free(pt);
    }
    json_decref(root);
}

static void test_txt_parse(void **state)
{
    (void)state;
    uint8_t block[128], wire[168], got[168];
    rnd_fill(block, 128);
    dmp_erasure_chunk_wrap(block, wire);
    char txt[242];
    assert_int_equal(dmp_erasure_chunk_txt_encode(wire, txt, sizeof txt), 0);
    assert_int_equal(dmp_erasure_chunk_txt_encode(wire, txt, 241), DMP_EINVAL);
    const char *b64 = txt + 17;
    char buf[600];
#define PARSE(s) dmp_erasure_chunk_txt_parse((const uint8_t *)(s), strlen(s), got)
    assert_int_equal(PARSE(txt), 0);
    assert_memory_equal(got, wire, 168);
    snprintf(buf, sizeof buf, "v=dmp1; t = chunk ;d= %s ;m=e30=", b64);
    assert_int_equal(PARSE(buf), 0);
    assert_memory_equal(got, wire, 168);
    snprintf(buf, sizeof buf, "v=dmp1;d=%s", b64); /* t defaults to chunk */
    assert_int_equal(PARSE(buf), 0);
    snprintf(buf, sizeof buf, "v=dmp1;t=chunk;d=AAAA;d=%s", b64); /* last wins */
    assert_int_equal(PARSE(buf), 0);
    snprintf(buf, sizeof buf, "v=dmp1;t=chunk;d=%.100s\n%s", b64, b64 + 100); /* lax base64 */
    assert_int_equal(PARSE(buf), 0);
    assert_memory_equal(got, wire, 168);
    snprintf(buf, sizeof buf, "v=dmp1 ;t=chunk;d=%s", b64); /* value stripped */
    assert_int_equal(PARSE(buf), 0);
    snprintf(buf, sizeof buf, "v=dmp001;t=chunk;d=%s", b64);
    assert_int_equal(PARSE(buf), 0);
    /* docs/wire.md divergence #3: v= must be the integer 1 written with digits only; the
     * reference's int() would also take these */
    snprintf(buf, sizeof buf, "v=dmp2;t=chunk;d=%s", b64);
    assert_int_equal(PARSE(buf), DMP_EERASURE_NOTCHUNK);
    snprintf(buf, sizeof buf, "v=dmp1_0;t=chunk;d=%s", b64);
    assert_int_equal(PARSE(buf), DMP_EERASURE_NOTCHUNK);
    snprintf(buf, sizeof buf, "v=dmp %0100d ;t=chunk;d=%s", 7, b64);
    assert_int_equal(PARSE(buf), DMP_EERASURE_NOTCHUNK);
    snprintf(buf, sizeof buf, "v=dmpdmp-2dmp;t=chunk;d=%s", b64);
    assert_int_equal(PARSE(buf), DMP_EERASURE_NOTCHUNK);
    snprintf(buf, sizeof buf, "v=dmp+1;t=chunk;d=%s", b64);
    assert_int_equal(PARSE(buf), DMP_EERASURE_NOTCHUNK);

    snprintf(buf, sizeof buf, " v=dmp1;t=chunk;d=%s", b64);
    assert_int_equal(PARSE(buf), DMP_EERASURE_NOTCHUNK);
    snprintf(buf, sizeof buf, "v=dmp1;t=manifest;d=%s", b64);
    assert_int_equal(PARSE(buf), DMP_EERASURE_NOTCHUNK);
    snprintf(buf, sizeof buf, "v=dmpx;t=chunk;d=%s", b64);
    assert_int_equal(PARSE(buf), DMP_EERASURE_NOTCHUNK);
    snprintf(buf, sizeof buf, "v=dmp;t=chunk;d=%s", b64);
    assert_int_equal(PARSE(buf), DMP_EERASURE_NOTCHUNK);
    snprintf(buf, sizeof buf, "v=dmp1__0;t=chunk;d=%s", b64);
    assert_int_equal(PARSE(buf), DMP_EERASURE_NOTCHUNK);
    snprintf(buf, sizeof buf, "v=dmp1_;t=chunk;d=%s", b64);
    assert_int_equal(PARSE(buf), DMP_EERASURE_NOTCHUNK);
    snprintf(buf, sizeof buf, "v=dmp+ 1;t=chunk;d=%s", b64);
    assert_int_equal(PARSE(buf), DMP_EERASURE_NOTCHUNK);
    snprintf(buf, sizeof buf, "v=dmp1;v=ddmpmp1;t=chunk;d=%s", b64); /* one pass leaves "dmp1" */
    assert_int_equal(PARSE(buf), DMP_EERASURE_NOTCHUNK);
    assert_int_equal(PARSE("v=dmp1;t=chunk"), DMP_EFORMAT);
    assert_int_equal(PARSE("v=dmp1;t=chunk;d=QUJD"), DMP_EFORMAT);
    snprintf(buf, sizeof buf, "v=dmp1;t=chunk;d=%.223s", b64); /* bad padding */
    assert_int_equal(PARSE(buf), DMP_EFORMAT);
    snprintf(buf, sizeof buf, "v=dmp1;t=chunk;d=\xc3\xa9%s", b64); /* non-ASCII */
    assert_int_equal(PARSE(buf), DMP_EFORMAT);
    assert_int_equal(PARSE(""), DMP_EERASURE_NOTCHUNK);
    assert_int_equal(dmp_erasure_chunk_txt_parse(NULL, 0, got), DMP_EERASURE_NOTCHUNK);
#undef PARSE
}

static void test_decode_message_faults(void **state)
{
    (void)state;
    uint8_t msg[2000];
    rnd_fill(msg, sizeof msg);
    dmp_erasure_chunks_t ch;
    assert_int_equal(dmp_erasure_encode_message(msg, sizeof msg, &ch), 0);
    assert_int_equal(ch.k, 16);
    assert_int_equal(ch.n, 21);
    char vals[21][242];
    for (uint32_t i = 0; i < 21; i++)
        memcpy(vals[i], ch.txt + 242 * i, 242);

    /* corrupt 3 bytes inside chunk 2's wire (RS-correctable), garbage at chunk 7, lose 0,1,4 */
    uint8_t wire[168];
    assert_int_equal(dmp_erasure_chunk_txt_parse((const uint8_t *)vals[2], 241, wire), 0);
    wire[10] ^= 1;
    wire[50] ^= 0xff;
    wire[160] ^= 0x42;
    assert_int_equal(dmp_erasure_chunk_txt_encode(wire, vals[2], 242), 0);
    strcpy(vals[7], "v=dmp1;t=chunk;d=garbage");
    dmp_erasure_chunk_in_t in[40];
    size_t m = 0;
    /* junk first for index 3 (wrong data), then the real one */
    in[m].index = 3;
    in[m].txt = (const uint8_t *)vals[5];
    in[m++].len = 241;
    for (uint32_t i = 0; i < 21; i++) {
        if (i == 0 || i == 1 || i == 4)
            continue;
        in[m].index = i;
        in[m].txt = (const uint8_t *)vals[i];
        in[m++].len = strlen(vals[i]);
    }
    in[m].index = 99; /* out of range: ignored */
    in[m].txt = (const uint8_t *)vals[8];
    in[m++].len = 241;

    dmp_buf_t out;
    dmp_buf_init(&out);
    /* with the manifest hashes: the misplaced value (a valid chunk 5 offered as 3) and the
     * corrupted chunk 2 are skipped; exactly k = 16 usable chunks remain */
    assert_int_equal(dmp_erasure_decode_message(16, 21, in, m, ch.hashes, &out), 0);
    assert_int_equal(out.len, sizeof msg);
    assert_memory_equal(out.data, msg, sizeof msg);
    dmp_buf_free(&out);
    /* without hashes and without the misplaced value, RS repairs chunk 2 */
    assert_int_equal(dmp_erasure_decode_message(16, 21, in + 1, m - 1, NULL, &out), 0);
    assert_int_equal(out.len, sizeof msg);
    assert_memory_equal(out.data, msg, sizeof msg);
    dmp_buf_free(&out);
    /* too many losses: 0,1,4 lost, 7 garbage, 2 rejected by hash; drop 5 more -> < 16 */
    assert_int_equal(dmp_erasure_decode_message(16, 21, in + 1, 15, ch.hashes, &out),
                     DMP_EERASURE_SHARES);
    dmp_erasure_chunks_free(&ch);
}

static void test_pipeline_roundtrip_sizes(void **state)
{
    (void)state;
    static uint8_t msg[DMP_ERASURE_MAX_MSG_LEN];
    rnd_fill(msg, sizeof msg);
    static const size_t sizes[] = {0, 1, 124, 125, 369, 1024, 8192, 20000, DMP_ERASURE_MAX_MSG_LEN};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        dmp_erasure_chunks_t ch;
        assert_int_equal(dmp_erasure_encode_message(msg, sizes[s], &ch), 0);
        /* keep only the last k chunks (mostly parity) */
        dmp_erasure_chunk_in_t in[256];
        for (uint32_t i = 0; i < ch.k; i++) {
            uint32_t idx = ch.n - 1 - i;
            in[i].index = idx;
            in[i].txt = (const uint8_t *)(ch.txt + 242 * idx);
            in[i].len = 241;
        }
        dmp_buf_t out;
        dmp_buf_init(&out);
        assert_int_equal(dmp_erasure_decode_message(ch.k, ch.n, in, ch.k, ch.hashes, &out), 0);
        assert_int_equal(out.len, sizes[s]);
        if (sizes[s])
            assert_memory_equal(out.data, msg, sizes[s]);
        dmp_buf_free(&out);
        dmp_erasure_chunks_free(&ch);
    }
}

/* util/b64_public (added for the chunk path): same output as the util codec */
static void test_b64_public(void **state)
{
    (void)state;
    uint8_t in[300] = {0}, dec[300];
    char a[410], b[410];
    for (size_t len = 0; len <= 300; len++) {
        rnd_fill(in, len);
        assert_int_equal(dmp_b64_encode(in, len, a, sizeof a), 0);
        assert_int_equal(dmp_b64_encode_public(in, len, b, sizeof b), 0);
        assert_string_equal(a, b);
        size_t got = 0;
        assert_int_equal(dmp_b64_decode_canonical(b, strlen(b), dec, sizeof dec, &got), 0);
        assert_int_equal(got, len);
        if (len)
            assert_memory_equal(dec, in, len);
        if (len)
            assert_int_equal(dmp_b64_decode_canonical(b, strlen(b), dec, len - 1, &got),
                             DMP_ETOOBIG);
    }
    assert_int_equal(dmp_b64_encode_public(in, 3, b, 4), DMP_ETOOBIG);
    static const char *reject[] = {
        "QQ=", "Q===", "====", "QQ==QQ==", "Q Q=", "QUJ\n", "QU=D", "QUJ=QUJD", "\xff\xff\xff\xff"};
    for (size_t i = 0; i < sizeof reject / sizeof reject[0]; i++) {
        size_t got;
        assert_int_equal(
            dmp_b64_decode_canonical(reject[i], strlen(reject[i]), dec, sizeof dec, &got),
            DMP_EBASE64);
    }
    size_t got;
    assert_int_equal(dmp_b64_decode_canonical("QR==", 4, dec, sizeof dec, &got), 0);
    assert_int_equal(got, 1);
    assert_int_equal(dec[0], 'A');
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appendix_a),
        cmocka_unit_test(test_pipeline_vectors),
        cmocka_unit_test(test_txt_parse),
        cmocka_unit_test(test_decode_message_faults),
        cmocka_unit_test(test_pipeline_roundtrip_sizes),
        cmocka_unit_test(test_b64_public),
    };
    const struct CMUnitTest generic[] = {
        cmocka_unit_test(test_appendix_a),
        cmocka_unit_test(test_pipeline_vectors),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    failed +=
        cmocka_run_group_tests_name("portable RS path", generic, setup_generic, teardown_generic);
    return failed;
}
