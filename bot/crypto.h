/* crypto.h: the daemon's only door to OpenSSL: digests, HMAC, AES, constant-time comparison. */
#ifndef FQ_CRYPTO_H
#define FQ_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

/* HMAC-SHA256 of msg under key into out (32 bytes). */
void crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                        unsigned char out[32]);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void crypto_hex(const unsigned char *in, size_t n, char *out);
/* Compares two buffers in time that depends only on the lengths. */
bool crypto_equal(const void *a, size_t a_len, const void *b, size_t b_len);

#endif
