/* auth.h: the workbench's secrets (bot/web/auth.c): password hashes (Argon2id, libargon2),
 * session tokens and CSRF tokens. No password or token is ever logged; a token is stored only as
 * its SHA-256. */
#ifndef FQ_WEB_AUTH_H
#define FQ_WEB_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_PASSWORD_MIN 8      /* bytes */
#define AUTH_PASSWORD_MAX 256
#define AUTH_TOKEN_HEX 64        /* a token: 32 random bytes in hex */

/* The Argon2id encoded hash ($argon2id$v=19$m=...) of a password, or NULL (too short, too long,
 * out of memory). Caller frees. */
char *auth_password_hash(const char *password, size_t len);
/* Whether password matches an encoded hash (constant time inside libargon2). A NULL hash never
 * matches, but costs the same as one that does not (no timing hint that the login exists). */
bool auth_password_check(const char *encoded, const char *password, size_t len);
/* 32 random bytes as 64 hex characters and a NUL into out (65 bytes); false when the system's
 * random source fails. */
bool auth_token_new(char out[AUTH_TOKEN_HEX + 1]);
/* The SHA-256 of a token in hex (what the sessions table keys on) into out (65 bytes). */
void auth_token_hash(const char *token, char out[AUTH_TOKEN_HEX + 1]);
/* A token well formed: exactly 64 lowercase hex characters. */
bool auth_token_ok(const char *token);
/* Constant-time comparison of two NUL-terminated tokens; false when either is NULL. */
bool auth_token_equal(const char *a, const char *b);

#endif
