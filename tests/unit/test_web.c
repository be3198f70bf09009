/* test_web.c: the workbench's pieces that decide who may do what (bot/web/): password hashes,
 * tokens, forms, HTML escaping, the scope (属地), the origin and CSRF checks, sessions read from
 * a real store. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bot/web/auth.h"
#include "bot/web/web.h"
#include "tests/unit/helpers/world.h"
#include "store/web_table.h"

/* ---- passwords and tokens ---- */
Test(web, argon2id_hash_checks_the_password_and_nothing_else)
{
    char *h = auth_password_hash("correct horse", 13);
    cr_assert_not_null(h);
    cr_assert_eq(strncmp(h, "$argon2id$v=19$m=65536,t=3,p=1$", 31), 0, "%s", h);
    cr_assert(auth_password_check(h, "correct horse", 13));
    cr_assert_not(auth_password_check(h, "correct hors", 12));
    cr_assert_not(auth_password_check(h, "correct horsE", 13));
    char *h2 = auth_password_hash("correct horse", 13);
    cr_assert_str_neq(h, h2, "a fresh salt each time");
    cr_assert_not(auth_password_check(NULL, "correct horse", 13), "no hash never matches");
    cr_assert_not(auth_password_check("plain", "plain", 5), "only Argon2id hashes are taken");
    cr_assert_null(auth_password_hash("short", 5), "under 8 bytes");
    free(h);
    free(h2);
}

Test(web, tokens_are_random_hex_and_hashed_stably)
{
    char a[AUTH_TOKEN_HEX + 1], b[AUTH_TOKEN_HEX + 1], ha[AUTH_TOKEN_HEX + 1],
        ha2[AUTH_TOKEN_HEX + 1];
    cr_assert(auth_token_new(a));
    cr_assert(auth_token_new(b));
    cr_assert_str_neq(a, b);
    cr_assert(auth_token_ok(a));
    auth_token_hash(a, ha);
    auth_token_hash(a, ha2);
    cr_assert_str_eq(ha, ha2);
    cr_assert_str_neq(ha, a, "the store keeps the hash, not the token");
    cr_assert_not(auth_token_ok("abc"));
    cr_assert_not(auth_token_ok(NULL));
    char upper[AUTH_TOKEN_HEX + 1];
    memset(upper, 'A', AUTH_TOKEN_HEX);
    upper[AUTH_TOKEN_HEX] = '\0';
    cr_assert_not(auth_token_ok(upper));
    cr_assert(auth_token_equal(a, a));
    cr_assert_not(auth_token_equal(a, b));
    cr_assert_not(auth_token_equal(a, NULL));
}

/* ---- forms and HTML ---- */
Test(web, forms_decode_and_refuse_what_is_malformed)
{
    const char *body = "login=wang&password=p%40ss+word&note=%E6%8E%A5%E5%8D%95&empty=&flag";
    struct web_form *f = web_form_parse(body, strlen(body));
    cr_assert_not_null(f);
    cr_assert_str_eq(web_form_get(f, "login"), "wang");
    cr_assert_str_eq(web_form_get(f, "password"), "p@ss word");
    cr_assert_str_eq(web_form_get(f, "note"), "接单");
    cr_assert_str_eq(web_form_get(f, "empty"), "");
    cr_assert_str_eq(web_form_get(f, "flag"), "");
    cr_assert_null(web_form_get(f, "missing"));
    web_form_free(f);
    static const char *const bad[] = {"a=%zz", "a=%4", "a=%", "a=%00", "a=%ff%fe", "%C3=x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_null(web_form_parse(bad[i], strlen(bad[i])), "%s", bad[i]);
    struct fq_buf b;
    buf_init(&b);
    for (int i = 0; i < 65; i++)
        buf_printf(&b, "f%d=1&", i);
    cr_assert_null(web_form_parse(b.s, b.len), "more than 64 fields");
    buf_cleanup(&b);
    web_form_free(NULL);
}

Test(web, html_escapes_text_and_attributes)
{
    struct fq_buf b;
    buf_init(&b);
    web_html(&b, "<script>alert('x')</script>&\"");
    cr_assert_str_eq(b.s, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
    buf_cleanup(&b);
}

/* ---- a fake request ---- */
static const char *const *hdrs, *const *cookies;

static const char *pick(const char *const *kv, const char *name)
{
    for (const char *const *h = kv; h && *h; h += 2)
        if (strcasecmp(h[0], name) == 0)
            return h[1];
    return NULL;
}

static const char *header(const struct web_req *q, const char *name)
{
    (void)q;
    return pick(hdrs, name);
}

static const char *cookie(const struct web_req *q, const char *name)
{
    (void)q;
    return pick(cookies, name);
}

static const char *query(const struct web_req *q, const char *name)
{
    (void)q;
    (void)name;
    return NULL;
}

Test(web, origin_and_csrf_checks)
{
    struct web_req q = {.method = "POST", .header = header, .query = query, .cookie = cookie};
    struct web_user u = {0};
    snprintf(u.csrf, sizeof u.csrf, "%s", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    const char *same[] = {"Host", "127.0.0.1:8080", "Origin", "http://127.0.0.1:8080", NULL};
    const char *foreign[] = {"Host", "127.0.0.1:8080", "Origin", "http://evil.example", NULL};
    const char *prefix[] = {"Host", "127.0.0.1:8080", "Origin", "http://127.0.0.1:8080.evil", NULL};
    const char *ref_ok[] = {"Host", "127.0.0.1:8080", "Referer", "http://127.0.0.1:8080/app/", NULL};
    const char *ref_bad[] = {"Host", "127.0.0.1:8080", "Referer", "http://127.0.0.1:8080@evil/", NULL};
    const char *nul[] = {"Host", "127.0.0.1:8080", "Origin", "null", NULL};
    hdrs = same;
    cr_assert(web_same_origin(&q));
    hdrs = foreign;
    cr_assert_not(web_same_origin(&q));
    hdrs = prefix;
    cr_assert_not(web_same_origin(&q));
    hdrs = ref_ok;
    cr_assert(web_same_origin(&q));
    hdrs = ref_bad;
    cr_assert_not(web_same_origin(&q));
    hdrs = nul;
    cr_assert_not(web_same_origin(&q), "an opaque origin (sandboxed frame) is foreign");
    const char *good = "csrf=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const char *wrong = "csrf=1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    struct web_form *fg = web_form_parse(good, strlen(good)), *fw = web_form_parse(wrong, strlen(wrong));
    hdrs = same;
    cr_assert(web_csrf_ok(&q, &u, fg));
    cr_assert_not(web_csrf_ok(&q, &u, fw));
    cr_assert_not(web_csrf_ok(&q, &u, NULL), "no token");
    hdrs = foreign;
    cr_assert_not(web_csrf_ok(&q, &u, fg), "the right token from another site");
    struct web_user none = {0};
    hdrs = same;
    cr_assert_not(web_csrf_ok(&q, &none, fg), "a user without a session token");
    web_form_free(fg);
    web_form_free(fw);
}

/* ---- scope and sessions on a real store ---- */
Test(web, scope_is_the_node_and_below)
{
    struct world w;
    world_open(&w, "web-scope");
    world_add_org(&w, "vil-lq", "栎桥村", FQ_LEVEL_VILLAGE, "town-fq");
    world_ready(&w);
    struct web_user town = {0}, village = {0};
    snprintf(town.org_id, sizeof town.org_id, "town-fq");
    snprintf(village.org_id, sizeof village.org_id, "vil-fy");
    cr_assert(web_in_scope(w.ro, &town, "town-fq"));
    cr_assert(web_in_scope(w.ro, &town, "grid-fy-01"));
    cr_assert(web_in_scope(w.ro, &town, "vil-lq"));
    cr_assert_not(web_in_scope(w.ro, &town, "county-zj"), "a node above");
    cr_assert(web_in_scope(w.ro, &village, "grid-fy-01"));
    cr_assert_not(web_in_scope(w.ro, &village, "vil-lq"), "a sibling village");
    cr_assert_not(web_in_scope(w.ro, &village, "nowhere"));
    cr_assert_not(web_in_scope(w.ro, &village, NULL));
    struct web_user lost = {0};
    snprintf(lost.org_id, sizeof lost.org_id, "gone");
    cr_assert_not(web_in_scope(w.ro, &lost, "grid-fy-01"), "a node the roster lost sees nothing");
    world_close(&w);
}

Test(web, sessions_end_with_expiry_disable_and_new_password)
{
    struct world w;
    world_open(&w, "web-session");
    world_ready(&w);
    struct web_user_row u = {.created_at = 1, .updated_at = 1};
    snprintf(u.login, sizeof u.login, "wang");
    snprintf(u.role, sizeof u.role, "mediator");
    snprintf(u.org_id, sizeof u.org_id, "grid-fy-01");
    u.pw_hash = "x";
    cr_assert_eq(store_web_user_add(w.st, &u), FQ_OK);
    cr_assert_eq(store_web_user_add(w.st, &u), FQ_EEXIST);
    char tok[AUTH_TOKEN_HEX + 1], hash[AUTH_TOKEN_HEX + 1];
    cr_assert(auth_token_new(tok));
    auth_token_hash(tok, hash);
    int64_t now = fq_now();
    struct web_session v = {.created_at = now, .expires_at = now + 60};
    snprintf(v.login, sizeof v.login, "wang");
    snprintf(v.csrf, sizeof v.csrf, "%s", "c0ffee");
    cr_assert_eq(store_web_session_put(w.st, hash, &v), FQ_OK);

    /* the session is read through the configured path, as the daemon does */
    char path[512];
    snprintf(path, sizeof path, "%s/fq.db", w.dir);
    free(w.cfg->store_path);
    w.cfg->store_path = strdup(path);
    const char *jar[] = {WEB_COOKIE, tok, NULL};
    cookies = jar;
    hdrs = NULL;
    struct web_req q = {.cfg = w.cfg, .now = now, .method = "GET", .header = header,
                        .query = query, .cookie = cookie};
    struct web_user me;
    cr_assert(web_user_of(&q, &me));
    cr_assert_str_eq(me.login, "wang");
    cr_assert_str_eq(me.org_id, "grid-fy-01");
    cr_assert_str_eq(me.csrf, "c0ffee");
    q.now = now + 61;
    cr_assert_not(web_user_of(&q, &me), "expired");
    q.now = now;
    const char *badjar[] = {WEB_COOKIE, "../../etc/passwd", NULL};
    cookies = badjar;
    cr_assert_not(web_user_of(&q, &me), "a malformed cookie is nobody");
    char other[AUTH_TOKEN_HEX + 1];
    cr_assert(auth_token_new(other));
    const char *otherjar[] = {WEB_COOKIE, other, NULL};
    cookies = otherjar;
    cr_assert_not(web_user_of(&q, &me), "an unknown token is nobody");
    const char *hashjar[] = {WEB_COOKIE, hash, NULL};
    cookies = hashjar;
    cr_assert_not(web_user_of(&q, &me), "the stored hash is not a key to the session");
    cookies = jar;
    cr_assert_eq(store_web_user_passwd(w.st, "wang", "y", now), FQ_OK);
    cr_assert_not(web_user_of(&q, &me), "a new password ends the session");
    cr_assert_eq(store_web_session_put(w.st, hash, &v), FQ_OK);
    cr_assert(web_user_of(&q, &me));
    cr_assert_eq(store_web_user_disable(w.st, "wang", now), FQ_OK);
    cr_assert_not(web_user_of(&q, &me), "disabling ends the session");
    cr_assert_eq(store_web_user_disable(w.st, "nobody", now), FQ_ENOTFOUND);
    world_close(&w);
}
