/* crypto.h: the daemon's only door to OpenSSL: digests, HMAC, AES, constant-time comparison. */
#ifndef FQ_CRYPTO_H
#define FQ_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

/* HMAC-SHA256 of msg under key into out (32 bytes). */
void crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                        unsigned char out[32]);
/* A key made ready for HMAC-SHA256 once (its padded blocks already hashed), then used for many
 * messages from any number of threads: for a short message it is several times cheaper than
 * crypto_hmac_sha256, which sets the key up each time. */
struct crypto_hmac;
struct crypto_hmac *crypto_hmac_new(const void *key, size_t key_len);   /* NULL on failure */
void crypto_hmac_free(struct crypto_hmac *h);                           /* NULL-safe */
/* HMAC-SHA256 under h's key of the concatenation of n parts, into out. False on a library
 * failure (out is then zeroed). */
bool crypto_hmac_parts(const struct crypto_hmac *h, const void *const *parts, const size_t *lens,
                       size_t n, unsigned char out[32]);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void crypto_hex(const unsigned char *in, size_t n, char *out);
/* Compares two buffers in time that depends only on the lengths. */
bool crypto_equal(const void *a, size_t a_len, const void *b, size_t b_len);

/* SHA-256 of n bytes into out (32 bytes): the workbench's session token hashes. */
void crypto_sha256(const void *in, size_t n, unsigned char out[32]);

/* ---- WeCom (docs/wecom.md 3) --------------------------------------------------------------- */
/* SHA-1 of n bytes into out (20 bytes). */
void crypto_sha1(const void *in, size_t n, unsigned char out[20]);
/* SHA-1 of the concatenation of parts (n_parts buffers with their lengths), into out. */
void crypto_sha1_parts(const void *const *parts, const size_t *lens, size_t n_parts,
                       unsigned char out[20]);

/* Strict standard base64 (RFC 4648 alphabet "+/", "=" padding): in_len must be a non-zero
 * multiple of 4, padding only at the end (at most two), and the unused bits of the last
 * character must be zero (canonical form). On success returns true and *out (caller frees) holds
 * *out_len bytes (plus a NUL not counted). False on any violation or allocation failure
 * (*oom tells which when not NULL). */
bool crypto_b64_decode_strict(const char *in, size_t in_len, unsigned char **out,
                              size_t *out_len, bool *oom);
/* WeCom's EncodingAESKey: exactly 43 characters of the base64 alphabet, decoded as if "=" were
 * appended, ignoring the two unused low bits of the 43rd character (console keys usually have
 * them set). Writes 32 bytes to key; false when the text is not such a key. */
bool crypto_wecom_key(const char *encoding_aes_key, unsigned char key[32]);
/* Standard padded base64 of n bytes. Caller frees; NULL on oom. */
char *crypto_b64_encode(const unsigned char *in, size_t n);

/* AES-256-CBC without padding of n bytes (n a multiple of 16) under key and iv (16 bytes), into
 * out (n bytes, may not overlap in). False on a bad length or a library failure. */
bool crypto_aes256cbc_decrypt(const unsigned char key[32], const unsigned char iv[16],
                              const unsigned char *in, size_t n, unsigned char *out);
bool crypto_aes256cbc_encrypt(const unsigned char key[32], const unsigned char iv[16],
                              const unsigned char *in, size_t n, unsigned char *out);
/* n bytes from the CSPRNG into out. False when the generator failed. */
bool crypto_random(void *out, size_t n);

#endif
