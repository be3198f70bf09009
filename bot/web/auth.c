/* auth.c: Argon2id password hashes through libargon2 and random tokens (bot/web/auth.h).
 *
 * Parameters: Argon2id, t=3 passes over m=64 MiB with 1 lane (RFC 9106 4, the second recommended
 * option for memory-constrained settings is t=3, m=64 MiB), 16-byte salt, 32-byte tag. A sign-in
 * costs some tens of milliseconds on an HTTP thread; the sign-in rate limit bounds how many. */
#include "bot/web/auth.h"

#include <argon2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bot/sys/crypto.h"

#define T_COST 3
#define M_COST_KIB (64 * 1024)
#define LANES 1
#define SALT_LEN 16
#define HASH_LEN 32

char *auth_password_hash(const char *password, size_t len)
{
    if (!password || len < AUTH_PASSWORD_MIN || len > AUTH_PASSWORD_MAX)
        return NULL;
    unsigned char salt[SALT_LEN];
    if (!crypto_random(salt, sizeof salt))
        return NULL;
    size_t n = argon2_encodedlen(T_COST, M_COST_KIB, LANES, SALT_LEN, HASH_LEN, Argon2_id);
    char *out = malloc(n);
    if (!out)
        return NULL;
    if (argon2id_hash_encoded(T_COST, M_COST_KIB, LANES, password, len, salt, SALT_LEN, HASH_LEN,
                              out, n) != ARGON2_OK) {
        free(out);
        return NULL;
    }
    return out;
}

/* A hash of the right shape that no password is known for: checked when the login does not
 * exist, so a sign-in costs the same either way. Made once per process. */
static char *decoy_hash;   /* lives as long as the process */
static pthread_once_t decoy_once = PTHREAD_ONCE_INIT;

static void decoy_make(void)
{
    char pw[AUTH_TOKEN_HEX + 1];
    if (auth_token_new(pw))
        decoy_hash = auth_password_hash(pw, strlen(pw));
}

static const char *decoy(void)
{
    pthread_once(&decoy_once, decoy_make);
    return decoy_hash;
}

bool auth_password_check(const char *encoded, const char *password, size_t len)
{
    if (!password || len > AUTH_PASSWORD_MAX)
        return false;
    if (!encoded || strncmp(encoded, "$argon2id$", 10) != 0) {
        const char *d = decoy();
        if (d)
            argon2id_verify(d, password, len);
        return false;
    }
    return argon2id_verify(encoded, password, len) == ARGON2_OK;
}

bool auth_token_new(char out[AUTH_TOKEN_HEX + 1])
{
    unsigned char raw[AUTH_TOKEN_HEX / 2];
    if (!crypto_random(raw, sizeof raw))
        return false;
    crypto_hex(raw, sizeof raw, out);
    out[AUTH_TOKEN_HEX] = '\0';
    return true;
}

void auth_token_hash(const char *token, char out[AUTH_TOKEN_HEX + 1])
{
    unsigned char d[32];
    crypto_sha256(token, strlen(token), d);
    crypto_hex(d, sizeof d, out);
    out[AUTH_TOKEN_HEX] = '\0';
}

bool auth_token_ok(const char *token)
{
    if (!token || strlen(token) != AUTH_TOKEN_HEX)
        return false;
    for (const char *p = token; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

bool auth_token_equal(const char *a, const char *b)
{
    return a && b && crypto_equal(a, strlen(a), b, strlen(b));
}
