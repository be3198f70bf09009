/* test_wecom_crypto.c: bot/sys/crypto.c and bot/chan/wecom/wecom_callback.c against ../shared/wecom/vectors_public.json.
 *
 * The vectors are read at run time with jansson (never copied into C): $FQ_SHARED/wecom/
 * vectors_public.json when FQ_SHARED is set, else ../shared/wecom/vectors_public.json relative
 * to the project root (make runs the tests from there), else the copy in tests/fixtures/wecom/
 * (a container build has no ../shared). When both exist they must be identical, so the copy
 * cannot drift from the published vectors. Every case is checked: positive ones
 * decrypt to the exact plaintext and fields, re-encrypt with their random16 to the exact
 * Encrypt, and carry the exact signature; negative ones fail with the official code the JSON
 * names (and that code is among its acceptable_codes). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bot/sys/crypto.h"
#include "bot/chan/wecom/wecom_callback.h"

#define FIXTURE "tests/fixtures/wecom/vectors_public.json"

static json_t *load_vectors(void)
{
    const char *shared = getenv("FQ_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/wecom/vectors_public.json", shared ? shared : "../shared");
    json_error_t err;
    json_t *v = json_load_file(path, 0, &err);
    json_t *copy = json_load_file(FIXTURE, 0, &err);
    if (v && copy)
        cr_assert(json_equal(v, copy), "%s differs from %s: copy the published vectors again",
                  FIXTURE, path);
    if (!v) {
        snprintf(path, sizeof path, "%s", FIXTURE);
        v = copy;
        copy = NULL;
    }
    json_decref(copy);
    cr_assert_not_null(v, "cannot read %s: %s (set FQ_SHARED to the shared directory)", path,
                       err.text);
    cr_assert_str_eq(json_string_value(json_object_get(v, "format")), "wecom-callback-vectors/1");
    return v;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static size_t unhex(const char *h, unsigned char *out, size_t cap)
{
    size_t n = strlen(h) / 2;
    cr_assert(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
    return n;
}

static void crypt_of(json_t *c, struct wecom_crypt *wc)
{
    cr_assert_eq(wecom_crypt_init(wc, str(c, "token"), str(c, "encoding_aes_key"),
                                  str(c, "receiveid")),
                 WECOM_OK, "%s: key refused", str(c, "id"));
    unsigned char key[32];
    cr_assert_eq(unhex(str(c, "aes_key_hex"), key, sizeof key), 32);
    cr_expect(memcmp(key, wc->key, 32) == 0, "%s: decoded AES key differs", str(c, "id"));
}

/* query parameters of the case's request */
static char *q(json_t *c, const char *name)
{
    const char *query = str(json_object_get(c, "request"), "query");
    cr_assert_not_null(query);
    return wecom_query_param(query, strlen(query), name);
}

Test(wecom_crypto, keysets_decode)
{
    json_t *v = load_vectors();
    size_t i;
    json_t *ks;
    json_array_foreach(json_object_get(v, "keysets"), i, ks) {
        unsigned char key[32], want[32];
        cr_assert(crypto_wecom_key(str(ks, "encoding_aes_key"), key), "%s", str(ks, "id"));
        unhex(str(ks, "aes_key_hex"), want, sizeof want);
        cr_expect(memcmp(key, want, 32) == 0, "keyset %s", str(ks, "id"));
        unsigned char iv[16];
        unhex(str(ks, "iv_hex"), iv, sizeof iv);
        cr_expect(memcmp(key, iv, 16) == 0, "keyset %s: iv is key[0:16]", str(ks, "id"));
    }
    cr_expect_gt(i, 0);
    json_decref(v);
}

Test(wecom_crypto, every_vector)
{
    json_t *v = load_vectors();
    json_t *cases = json_object_get(v, "cases");
    size_t i, checked = 0;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *id = str(c, "id"), *kind = str(c, "kind");
        json_t *exp = json_object_get(c, "expected");
        bool ok = json_is_true(json_object_get(exp, "ok"));
        struct wecom_crypt wc;
        crypt_of(c, &wc);

        /* the signature the case carries is the one we compute (positive cases) */
        const char *enc = str(c, "encrypt");
        char sig[41];
        wecom_signature(wc.token, str(c, "timestamp"), str(c, "nonce"), enc, strlen(enc), sig);
        if (ok)
            cr_expect_str_eq(sig, str(c, "msg_signature"), "%s: signature", id);

        if (strcmp(kind, "url_verify") == 0) {
            char *s = q(c, "msg_signature"), *ts = q(c, "timestamp"), *n = q(c, "nonce"),
                 *echo = q(c, "echostr");
            cr_expect_str_eq(echo, enc, "%s: echostr percent-decoding", id);
            char *plain = NULL;
            size_t len = 0;
            int rc = wecom_url_verify(&wc, s, ts, n, echo, &plain, &len);
            cr_expect_eq(rc, WECOM_OK, "%s: rc %d", id, rc);
            if (plain) {
                const char *body = str(exp, "http_body");
                cr_expect_eq(len, strlen(body), "%s", id);
                cr_expect(memcmp(plain, body, len) == 0, "%s: body", id);
            }
            free(plain);
            free(s), free(ts), free(n), free(echo);
            checked++;
        } else if (strcmp(kind, "callback") == 0) {
            char *s = q(c, "msg_signature"), *ts = q(c, "timestamp"), *n = q(c, "nonce");
            const char *body = str(json_object_get(c, "request"), "body");
            struct wecom_xml x;
            int rc = wecom_callback_open(&wc, s, ts, n, body, strlen(body), 0, 0, &x);
            if (ok) {
                cr_expect_eq(rc, WECOM_OK, "%s: rc %d (%s)", id, rc, wecom_code_name(rc));
                /* exact plaintext, through the decryptor alone */
                char *msg = NULL;
                size_t len = 0;
                cr_expect_eq(wecom_decrypt(&wc, enc, strlen(enc), &msg, &len), WECOM_OK, "%s", id);
                const char *want = str(exp, "plaintext");
                cr_expect_eq(len, strlen(want), "%s: plaintext length", id);
                cr_expect(msg && memcmp(msg, want, len) == 0, "%s: plaintext", id);
                free(msg);
                /* every field */
                const char *k;
                json_t *fv;
                json_object_foreach(json_object_get(exp, "fields"), k, fv) {
                    if (strcmp(k, "SelectedItems") == 0) {
                        cr_expect_eq(x.n_sel, json_array_size(fv), "%s: SelectedItems", id);
                        for (size_t a = 0; a < x.n_sel && a < json_array_size(fv); a++) {
                            json_t *it = json_array_get(fv, a);
                            cr_expect_str_eq(x.sel[a].question_key, str(it, "question_key"));
                            json_t *ids = json_object_get(it, "option_ids");
                            cr_expect_eq(x.sel[a].n_option_ids, json_array_size(ids));
                            for (size_t b = 0; b < x.sel[a].n_option_ids; b++)
                                cr_expect_str_eq(x.sel[a].option_ids[b],
                                                 json_string_value(json_array_get(ids, b)));
                        }
                        continue;
                    }
                    const char *got = wecom_xml_get(&x, k);
                    cr_expect_not_null(got, "%s: field %s missing", id, k);
                    if (got)
                        cr_expect_str_eq(got, json_string_value(fv), "%s: field %s", id, k);
                }
                cr_expect_eq(x.n, json_object_size(json_object_get(exp, "fields")) -
                                      (x.n_sel ? 1 : 0), "%s: field count", id);
            } else {
                int want = (int)json_integer_value(json_object_get(exp, "official_code"));
                cr_expect_eq(rc, want, "%s: got %d (%s), want %d (%s)", id, rc,
                             wecom_code_name(rc), want, str(exp, "error"));
                json_t *classes = json_object_get(json_object_get(v, "conventions"),
                                                  "expected_error_classes");
                cr_expect_eq(json_integer_value(json_object_get(classes, str(exp, "error"))),
                             rc, "%s: class %s", id, str(exp, "error"));
                bool acceptable = false;
                size_t a;
                json_t *ac;
                json_array_foreach(json_object_get(exp, "acceptable_codes"), a, ac)
                    acceptable |= json_integer_value(ac) == rc;
                cr_expect(acceptable, "%s: %d not acceptable", id, rc);
                cr_expect_eq(x.n, 0, "%s: nothing parsed on failure", id);
            }
            wecom_xml_cleanup(&x);
            free(s), free(ts), free(n);
            checked++;
        } else if (strcmp(kind, "reply") == 0) {
            unsigned char r16[16];
            unhex(str(c, "random16_hex"), r16, sizeof r16);
            const char *pt = str(c, "plaintext");
            char *xml = NULL;
            cr_expect_eq(wecom_reply_envelope(&wc, pt, strlen(pt), str(c, "timestamp"),
                                              str(c, "nonce"), r16, &xml),
                         WECOM_OK, "%s", id);
            cr_expect_str_eq(xml, str(exp, "envelope_xml"), "%s: envelope", id);
            free(xml);
            checked++;
        } else {
            cr_expect_fail("%s: unknown kind %s", id, kind);
        }

        /* every positive case re-encrypts to its exact Encrypt with its random16 */
        if (ok && str(c, "random16_hex") && str(c, "plaintext")) {
            unsigned char r16[16];
            unhex(str(c, "random16_hex"), r16, sizeof r16);
            char *b64 = NULL;
            const char *pt = str(c, "plaintext");
            cr_expect_eq(wecom_encrypt(&wc, pt, strlen(pt), r16, &b64), WECOM_OK);
            cr_expect_str_eq(b64, enc, "%s: re-encryption", id);
            free(b64);
        }
        wecom_crypt_cleanup(&wc);
    }
    cr_expect_eq(checked, json_array_size(cases), "every case checked");
    cr_expect_geq(checked, 21);
    json_decref(v);
}

/* ---- signature -------------------------------------------------------------------------------- */
static void sha1_hex_of(const char *s, char out[41])
{
    unsigned char md[20];
    crypto_sha1(s, strlen(s), md);
    crypto_hex(md, 20, out);
}

Test(wecom_signature, byte_order_edge_cases)
{
    char got[41], want[41];
    /* a token that is a prefix of the timestamp sorts first */
    wecom_signature("1717", "17174000", "5", "abc", 3, got);
    sha1_hex_of("1717" "17174000" "5" "abc", want);
    cr_expect_str_eq(got, want);
    /* "+" and "/" sort before digits and letters */
    wecom_signature("tok", "100", "100", "+/x", 3, got);
    sha1_hex_of("+/x" "100" "100" "tok", want);
    cr_expect_str_eq(got, want);
    /* upper case before lower case (byte order, not locale) */
    wecom_signature("b", "a", "B", "A", 1, got);
    sha1_hex_of("ABab", want);
    cr_expect_str_eq(got, want);
    /* a known value: sha1("abc") */
    sha1_hex_of("abc", got);
    cr_expect_str_eq(got, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

Test(wecom_signature, compare_is_exact)
{
    struct wecom_crypt wc;
    cr_assert_eq(wecom_crypt_init(&wc, "RiverGardenToken2024",
                                  "2Izx9cYixQPxSRBglphuvnTZ2GAfGtd04wVkpobjhYH",
                                  "ww3d74880842b35f8f"), WECOM_OK);
    char sig[41], upper[41];
    wecom_signature(wc.token, "1", "2", "abcd", 4, sig);
    cr_expect(wecom_signature_ok(&wc, sig, "1", "2", "abcd", 4));
    for (int i = 0; i < 41; i++)
        upper[i] = (char)((sig[i] >= 'a' && sig[i] <= 'f') ? sig[i] - 32 : sig[i]);
    cr_expect_not(wecom_signature_ok(&wc, upper, "1", "2", "abcd", 4), "upper case refused");
    cr_expect_not(wecom_signature_ok(&wc, "", "1", "2", "abcd", 4));
    sig[39] = sig[39] == '0' ? '1' : '0';
    cr_expect_not(wecom_signature_ok(&wc, sig, "1", "2", "abcd", 4));
    char longer[43];
    wecom_signature(wc.token, "1", "2", "abcd", 4, sig);
    snprintf(longer, sizeof longer, "%s0", sig);
    cr_expect_not(wecom_signature_ok(&wc, longer, "1", "2", "abcd", 4));
    wecom_crypt_cleanup(&wc);
}

/* ---- base64, key, query ----------------------------------------------------------------------- */
Test(wecom_crypto, strict_base64)
{
    unsigned char *out;
    size_t n;
    cr_expect(crypto_b64_decode_strict("YWJj", 4, &out, &n, NULL));
    cr_expect_eq(n, 3);
    cr_expect(memcmp(out, "abc", 3) == 0);
    free(out);
    cr_expect(crypto_b64_decode_strict("YQ==", 4, &out, &n, NULL) && n == 1 && out[0] == 'a');
    free(out);
    const char *bad[] = {"", "YQ", "YQ=", "YR==", "Y===", "=YQ=", "YW Jj", "YW\nj", "YWJ-",
                         "YWJ_", "Y=Q=", "YWJjYQ==YWJj"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_not(crypto_b64_decode_strict(bad[i], strlen(bad[i]), &out, &n, NULL),
                      "accepted \"%s\"", bad[i]);
        cr_expect_null(out);
    }
    char *e = crypto_b64_encode((const unsigned char *)"ab", 2);
    cr_expect_str_eq(e, "YWI=");
    free(e);
}

Test(wecom_crypto, aes_key_rules)
{
    unsigned char k[32];
    cr_expect_not(crypto_wecom_key("2Izx9cYixQPxSRBglphuvnTZ2GAfGtd04wVkpobjhY", k), "42 chars");
    cr_expect_not(crypto_wecom_key("2Izx9cYixQPxSRBglphuvnTZ2GAfGtd04wVkpobjhYHH", k), "44");
    cr_expect_not(crypto_wecom_key("2Izx9cYixQPxSRBglphuvnTZ2GAfGtd04wVkpobjhY=", k), "pad");
    cr_expect_not(crypto_wecom_key(NULL, k));
    struct wecom_crypt wc;
    cr_expect_eq(wecom_crypt_init(&wc, "t", "short", "ww"), WECOM_E_AESKEY);
    /* the spare bits of the 43rd character are ignored: "t" and "s" give the same key */
    unsigned char k2[32];
    cr_expect(crypto_wecom_key("6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", k));
    cr_expect(crypto_wecom_key("6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUs", k2));
    cr_expect(memcmp(k, k2, 32) == 0);
}

Test(wecom_crypto, query_percent_decoding_only)
{
    const char *qs = "a=x%2By+z&b=%2F%3D&c=&d=%zz&e=1&e=2&f=%00&g=%4";
    char *v = wecom_query_param(qs, strlen(qs), "a");
    cr_expect_str_eq(v, "x+y+z", "a literal + stays +");
    free(v);
    v = wecom_query_param(qs, strlen(qs), "b");
    cr_expect_str_eq(v, "/=");
    free(v);
    v = wecom_query_param(qs, strlen(qs), "c");
    cr_expect_str_eq(v, "");
    free(v);
    cr_expect_null(wecom_query_param(qs, strlen(qs), "d"), "malformed escape");
    cr_expect_null(wecom_query_param(qs, strlen(qs), "e"), "repeated");
    cr_expect_null(wecom_query_param(qs, strlen(qs), "f"), "NUL");
    cr_expect_null(wecom_query_param(qs, strlen(qs), "g"), "truncated escape");
    cr_expect_null(wecom_query_param(qs, strlen(qs), "zz"), "absent");
}

/* ---- decryption failure modes built here ------------------------------------------------------- */
static struct wecom_crypt pa(void)
{
    struct wecom_crypt wc;
    cr_assert_eq(wecom_crypt_init(&wc, "RiverGardenToken2024",
                                  "2Izx9cYixQPxSRBglphuvnTZ2GAfGtd04wVkpobjhYH",
                                  "ww3d74880842b35f8f"), WECOM_OK);
    return wc;
}

/* Encrypts a raw plaintext buffer (already padded) to base64. */
static char *raw_encrypt(const struct wecom_crypt *wc, const unsigned char *pt, size_t n)
{
    unsigned char *ct = malloc(n);
    cr_assert(crypto_aes256cbc_encrypt(wc->key, wc->key, pt, n, ct));
    char *b = crypto_b64_encode(ct, n);
    free(ct);
    return b;
}

Test(wecom_crypto, buffer_bounds)
{
    struct wecom_crypt wc = pa();
    unsigned char pt[64];
    memset(pt, 'r', sizeof pt);
    char *msg;
    size_t len;
    /* msg_len = 0xFFFFFFFF: must not wrap around */
    pt[16] = pt[17] = pt[18] = pt[19] = 0xFF;
    memset(pt + 32, 32, 32);
    char *b = raw_encrypt(&wc, pt, 64);
    cr_expect_eq(wecom_decrypt(&wc, b, strlen(b), &msg, &len), WECOM_E_BUFFER);
    free(b);
    /* plaintext shorter than 20 after the padding */
    memset(pt, 'r', sizeof pt);
    memset(pt + 13, 19, 19);
    b = raw_encrypt(&wc, pt, 32);
    cr_expect_eq(wecom_decrypt(&wc, b, strlen(b), &msg, &len), WECOM_E_BUFFER);
    free(b);
    /* padding bytes not all equal */
    memset(pt, 0, sizeof pt);
    pt[19] = 1;
    memcpy(pt + 21, "ww3d74880842b35f8f", 18);
    memset(pt + 39, 25, 25);
    pt[50] = 24;
    b = raw_encrypt(&wc, pt, 64);
    cr_expect_eq(wecom_decrypt(&wc, b, strlen(b), &msg, &len), WECOM_E_DECRYPT);
    free(b);
    /* pad 33 */
    pt[50] = 25;
    pt[63] = 33;
    b = raw_encrypt(&wc, pt, 64);
    cr_expect_eq(wecom_decrypt(&wc, b, strlen(b), &msg, &len), WECOM_E_DECRYPT);
    free(b);
    /* the good one of the same shape, with NUL bytes in random16 and the message */
    pt[63] = 25;
    pt[20] = 0;
    b = raw_encrypt(&wc, pt, 64);
    cr_expect_eq(wecom_decrypt(&wc, b, strlen(b), &msg, &len), WECOM_OK);
    cr_expect_eq(len, 1);
    cr_expect_eq(msg[0], 0);
    free(msg);
    free(b);
    /* a receiveid that only starts like ours, and an empty one */
    struct wecom_crypt other;
    cr_assert_eq(wecom_crypt_init(&other, "t", "2Izx9cYixQPxSRBglphuvnTZ2GAfGtd04wVkpobjhYH",
                                  "ww3d74880842b35f8"), WECOM_OK);
    char *enc = NULL;
    cr_assert_eq(wecom_encrypt(&wc, "<xml/>", 6, NULL, &enc), WECOM_OK);
    cr_expect_eq(wecom_decrypt(&other, enc, strlen(enc), &msg, &len), WECOM_E_RECEIVEID);
    cr_expect_eq(wecom_decrypt(&wc, enc, strlen(enc), &msg, &len), WECOM_OK);
    free(msg);
    free(enc);
    wecom_crypt_cleanup(&other);
    cr_assert_eq(wecom_crypt_init(&other, "t", "2Izx9cYixQPxSRBglphuvnTZ2GAfGtd04wVkpobjhYH", ""),
                 WECOM_OK);
    cr_assert_eq(wecom_encrypt(&other, "<xml/>", 6, NULL, &enc), WECOM_OK);
    cr_expect_eq(wecom_decrypt(&other, enc, strlen(enc), &msg, &len), WECOM_E_RECEIVEID,
                 "an empty receiveid is a mismatch");
    free(enc);
    wecom_crypt_cleanup(&other);
    /* ciphertext of 16 bytes: too short */
    cr_expect_eq(wecom_decrypt(&wc, "AAAAAAAAAAAAAAAAAAAAAA==", 24, &msg, &len), WECOM_E_DECRYPT);
    wecom_crypt_cleanup(&wc);
}

Test(wecom_crypto, large_message_round_trip)
{
    struct wecom_crypt wc = pa();
    size_t n = 70000;                 /* > 65535: the third length byte is used */
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = 0;
    char *enc = NULL, *msg = NULL;
    size_t len = 0;
    cr_assert_eq(wecom_encrypt(&wc, big, n, NULL, &enc), WECOM_OK);
    cr_expect_eq(wecom_decrypt(&wc, enc, strlen(enc), &msg, &len), WECOM_OK);
    cr_expect_eq(len, n);
    cr_expect(memcmp(msg, big, n) == 0);
    free(msg);
    free(enc);
    free(big);
    wecom_crypt_cleanup(&wc);
}

/* ---- HMAC-SHA256 with a key made ready once (the chat webhook's signature) ------------------- */
/* RFC 4231 test case 2 ("Jefe"), then keys around the 64-byte block (a longer key is hashed
 * first) and messages cut into parts anywhere: always the one-shot result. */
Test(hmac, prepared_key_matches_one_shot)
{
    unsigned char mac[32], want[32];
    char hex[65];
    struct crypto_hmac *h = crypto_hmac_new("Jefe", 4);
    cr_assert_not_null(h);
    const char *msg = "what do ya want for nothing?";
    const void *p1[] = {msg};
    const size_t l1[] = {strlen(msg)};
    cr_assert(crypto_hmac_parts(h, p1, l1, 1, mac));
    crypto_hex(mac, 32, hex);
    cr_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    crypto_hmac_free(h);

    unsigned char key[200], text[300];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (unsigned char)(i * 7 + 3);
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (unsigned char)(i * 13 + 1);
    const size_t key_lens[] = {0, 1, 32, 63, 64, 65, 128, 200};
    for (size_t k = 0; k < sizeof key_lens / sizeof *key_lens; k++) {
        h = crypto_hmac_new(key, key_lens[k]);
        cr_assert_not_null(h);
        for (size_t cut = 0; cut <= sizeof text; cut += 37) {
            crypto_hmac_sha256(key, key_lens[k], text, sizeof text, want);
            const void *parts[] = {text, text + cut / 2, text + cut};
            const size_t lens[] = {cut / 2, cut - cut / 2, sizeof text - cut};
            cr_assert(crypto_hmac_parts(h, parts, lens, 3, mac));
            cr_assert_arr_eq(mac, want, 32, "key length %zu, cut at %zu", key_lens[k], cut);
        }
        crypto_hmac_free(h);
    }
    crypto_hmac_free(NULL);
}
