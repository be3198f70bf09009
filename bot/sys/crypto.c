/* crypto.c: the one file that includes OpenSSL (docs/ARCHITECTURE.md 3.1), so the rest of the
 * daemon never handles a library context or a key schedule directly.
 *
 * The WeCom part (SHA-1 signatures, AES-256-CBC, base64) is deliberately small and strict: the
 * base64 decoder is our own (OpenSSL's EVP_DecodeBlock accepts whitespace and non-canonical
 * input, which docs/wecom.md 3.3 step 2 refuses), AES runs with padding disabled so that
 * bot/chan/wecom/wecom_callback.c can check the PKCS#7 block-32 padding itself, byte by byte. */
#include "bot/sys/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

void crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                        unsigned char out[32])
{
    unsigned int n = 32;
    if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &n))
        memset(out, 0, 32);
}

struct crypto_hmac {
    EVP_MD *md;
    EVP_MD_CTX *inner, *outer;   /* after the key's ipad and opad blocks (RFC 2104) */
};

void crypto_hmac_free(struct crypto_hmac *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->inner);
    EVP_MD_CTX_free(h->outer);
    EVP_MD_free(h->md);
    free(h);
}

struct crypto_hmac *crypto_hmac_new(const void *key, size_t key_len)
{
    enum { BLOCK = 64 };
    struct crypto_hmac *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    unsigned char k[BLOCK] = {0}, pad[BLOCK];
    unsigned int klen = 0;
    bool ok = (h->md = EVP_MD_fetch(NULL, "SHA256", NULL)) && (h->inner = EVP_MD_CTX_new()) &&
              (h->outer = EVP_MD_CTX_new());
    if (ok && key_len > BLOCK)   /* a long key is hashed first */
        ok = EVP_Digest(key, key_len, k, &klen, h->md, NULL) == 1;
    else if (ok && key_len)
        memcpy(k, key, key_len);
    for (int i = 0; ok && i < BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    ok = ok && EVP_DigestInit_ex(h->inner, h->md, NULL) == 1 &&
         EVP_DigestUpdate(h->inner, pad, BLOCK) == 1;
    for (int i = 0; ok && i < BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(h->outer, h->md, NULL) == 1 &&
         EVP_DigestUpdate(h->outer, pad, BLOCK) == 1;
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
    if (!ok) {
        crypto_hmac_free(h);
        return NULL;
    }
    return h;
}

bool crypto_hmac_parts(const struct crypto_hmac *h, const void *const *parts, const size_t *lens,
                       size_t n, unsigned char out[32])
{
    unsigned char inner[32];
    unsigned int len = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_MD_CTX_copy_ex(c, h->inner) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(c, parts[i], lens[i]) == 1;
    ok = ok && EVP_DigestFinal_ex(c, inner, &len) == 1 && EVP_MD_CTX_copy_ex(c, h->outer) == 1 &&
         EVP_DigestUpdate(c, inner, sizeof inner) == 1 && EVP_DigestFinal_ex(c, out, &len) == 1;
    EVP_MD_CTX_free(c);
    if (!ok)
        memset(out, 0, 32);
    return ok;
}

void crypto_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

bool crypto_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (a_len != b_len)
        return false;
    return CRYPTO_memcmp(a, b, a_len) == 0;
}

/* ---- WeCom ------------------------------------------------------------------------------------ */
void crypto_sha256(const void *in, size_t n, unsigned char out[32])
{
    SHA256(in, n, out);
}

void crypto_sha1(const void *in, size_t n, unsigned char out[20])
{
    const void *parts[1] = {in};
    size_t lens[1] = {n};
    crypto_sha1_parts(parts, lens, 1, out);
}

void crypto_sha1_parts(const void *const *parts, const size_t *lens, size_t n_parts,
                       unsigned char out[20])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 20;
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1;
    for (size_t i = 0; ok && i < n_parts; i++)
        ok = EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
    if (!ok || EVP_DigestFinal_ex(ctx, out, &n) != 1)
        memset(out, 0, 20);
    EVP_MD_CTX_free(ctx);
}

/* Value of a base64 character, -1 when outside the alphabet. */
static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

bool crypto_b64_decode_strict(const char *in, size_t in_len, unsigned char **out,
                              size_t *out_len, bool *oom)
{
    *out = NULL;
    *out_len = 0;
    if (oom)
        *oom = false;
    if (!in || in_len == 0 || in_len % 4 != 0)
        return false;
    size_t pad = 0;
    if (in[in_len - 1] == '=')
        pad = in[in_len - 2] == '=' ? 2 : 1;
    size_t n = in_len / 4 * 3 - pad;
    unsigned char *buf = malloc(n + 1);
    if (!buf) {
        if (oom)
            *oom = true;
        return false;
    }
    size_t o = 0;
    for (size_t i = 0; i < in_len; i += 4) {
        bool last = i + 4 == in_len;
        int v[4];
        for (size_t k = 0; k < 4; k++) {
            unsigned char ch = (unsigned char)in[i + k];
            if (ch == '=' && last && k >= 4 - pad) {
                v[k] = 0;
                continue;
            }
            if ((v[k] = b64_val(ch)) < 0)
                goto bad;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        if (last && pad == 2 && (w & 0xFFFF))
            goto bad;                 /* non-canonical: unused bits set */
        if (last && pad == 1 && (w & 0xFF))
            goto bad;
        buf[o++] = (unsigned char)(w >> 16);
        if (!(last && pad == 2))
            buf[o++] = (unsigned char)(w >> 8);
        if (!(last && pad >= 1))
            buf[o++] = (unsigned char)w;
    }
    buf[o] = 0;
    *out = buf;
    *out_len = o;
    return true;
bad:
    free(buf);
    return false;
}

bool crypto_wecom_key(const char *encoding_aes_key, unsigned char key[32])
{
    if (!encoding_aes_key || strlen(encoding_aes_key) != 43)
        return false;
    /* 43 characters = 258 bits: 32 bytes and 2 spare bits in the last character, ignored */
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < 43; i++) {
        int v = b64_val((unsigned char)encoding_aes_key[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < 32)
                key[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return o == 32;
}

char *crypto_b64_encode(const unsigned char *in, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
        return NULL;
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[w >> 18];
        out[o++] = tab[(w >> 12) & 63];
        out[o++] = tab[(w >> 6) & 63];
        out[o++] = tab[w & 63];
    }
    if (n - i == 1) {
        uint32_t w = (uint32_t)in[i] << 16;
        out[o++] = tab[w >> 18];
        out[o++] = tab[(w >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = tab[w >> 18];
        out[o++] = tab[(w >> 12) & 63];
        out[o++] = tab[(w >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

static bool aes_cbc(int enc, const unsigned char key[32], const unsigned char iv[16],
                    const unsigned char *in, size_t n, unsigned char *out)
{
    if (n % 16 != 0 || n > INT_MAX)
        return false;
    if (n == 0)
        return true;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len1 = 0, len2 = 0;
    bool ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, iv, enc) == 1 &&
              EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
              EVP_CipherUpdate(ctx, out, &len1, in, (int)n) == 1 &&
              EVP_CipherFinal_ex(ctx, out + len1, &len2) == 1 && (size_t)(len1 + len2) == n;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

bool crypto_aes256cbc_decrypt(const unsigned char key[32], const unsigned char iv[16],
                              const unsigned char *in, size_t n, unsigned char *out)
{
    return aes_cbc(0, key, iv, in, n, out);
}

bool crypto_aes256cbc_encrypt(const unsigned char key[32], const unsigned char iv[16],
                              const unsigned char *in, size_t n, unsigned char *out)
{
    return aes_cbc(1, key, iv, in, n, out);
}

bool crypto_random(void *out, size_t n)
{
    return n <= INT_MAX && RAND_bytes(out, (int)n) == 1;
}
