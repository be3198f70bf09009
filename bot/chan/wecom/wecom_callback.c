/* wecom_callback.c: the WeCom callback endpoint's logic (docs/wecom.md 2-4, the checklist of
 * docs/wecom.md 9).
 *
 * Design choices:
 * - Order of checks is fixed and cheap-first for an attacker: the envelope is parsed (expat,
 *   no DTD), then the signature is verified in constant time over the raw Encrypt text, and only
 *   then is anything decoded or decrypted. A request that fails any step has had no effect.
 * - The plaintext is a byte buffer with explicit lengths (random16 may hold NUL bytes); every
 *   length is size_t or uint32_t and msg_len is compared as msg_len <= len - 20, never as
 *   20 + msg_len (which overflows for 0xFFFFFFFF).
 * - Strict where the official samples are lenient (the policies of docs/wecom.md 3.3):
 *   canonical padded base64, ciphertext >= 32 and % 32 == 0, PKCS#7 with block 32 and every
 *   pad byte checked, receiveid compared byte for byte. The EncodingAESKey decoder is the one
 *   lenient spot: it ignores the spare low bits of the 43rd character, as real console keys
 *   require.
 * - XML: expat with a DOCTYPE refused outright (so no entity can ever be declared, internal or
 *   external), parameter entities off, bounded depth and field count. Values are collected as
 *   strings (MsgId is opaque: "CAIQg/..." in newer WeCom); CDATA split over sections is joined.
 * - Nothing here talks to the network or the store: bot/net/http.c calls these functions on the
 *   HTTP thread and hands the resulting struct fq_msg to the core. */
#include "bot/chan/wecom/wecom_callback.h"

#include <expat.h>
#include <stdlib.h>
#include <string.h>

#include "bot/sys/crypto.h"
#include "common/fq.h"
#include "handlers/lifecycle.h"

const char *wecom_code_name(int code)
{
    switch (code) {
    case WECOM_OK: return "ok";
    case WECOM_E_SIGNATURE: return "bad_signature";
    case WECOM_E_XML: return "bad_xml";
    case WECOM_E_AESKEY: return "bad_aes_key";
    case WECOM_E_RECEIVEID: return "bad_receiveid";
    case WECOM_E_DECRYPT: return "bad_ciphertext";
    case WECOM_E_BUFFER: return "illegal_buffer";
    case WECOM_E_BASE64: return "bad_base64";
    case WECOM_E_STALE: return "stale_timestamp";
    case WECOM_E_QUERY: return "bad_query";
    case WECOM_E_NOMEM: return "no_memory";
    default: return "error";
    }
}

/* ---- keys ------------------------------------------------------------------------------------ */
int wecom_crypt_init(struct wecom_crypt *c, const char *token, const char *encoding_aes_key,
                     const char *receiveid)
{
    memset(c, 0, sizeof *c);
    if (!crypto_wecom_key(encoding_aes_key, c->key))
        return WECOM_E_AESKEY;
    c->token = fq_strdup(token ? token : "");
    c->receiveid = fq_strdup(receiveid ? receiveid : "");
    if (!c->token || !c->receiveid) {
        wecom_crypt_cleanup(c);
        return WECOM_E_NOMEM;
    }
    return WECOM_OK;
}

void wecom_crypt_cleanup(struct wecom_crypt *c)
{
    if (!c)
        return;
    free(c->token);
    free(c->receiveid);
    memset(c, 0, sizeof *c);
}

/* ---- signature ------------------------------------------------------------------------------- */
struct part {
    const char *s;
    size_t n;
};

static int part_cmp(const struct part *a, const struct part *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    int r = memcmp(a->s, b->s, n);
    if (r)
        return r;
    return a->n < b->n ? -1 : a->n > b->n;
}

void wecom_signature(const char *token, const char *timestamp, const char *nonce,
                     const char *encrypt, size_t encrypt_len, char out[41])
{
    struct part p[4] = {{token, strlen(token)}, {timestamp, strlen(timestamp)},
                        {nonce, strlen(nonce)}, {encrypt, encrypt_len}};
    /* insertion sort of four: byte order, a prefix first (strcmp order) */
    for (int i = 1; i < 4; i++)
        for (int j = i; j > 0 && part_cmp(&p[j - 1], &p[j]) > 0; j--) {
            struct part t = p[j];
            p[j] = p[j - 1];
            p[j - 1] = t;
        }
    const void *parts[4] = {p[0].s, p[1].s, p[2].s, p[3].s};
    size_t lens[4] = {p[0].n, p[1].n, p[2].n, p[3].n};
    unsigned char md[20];
    crypto_sha1_parts(parts, lens, 4, md);
    crypto_hex(md, 20, out);
}

bool wecom_signature_ok(const struct wecom_crypt *c, const char *sig, const char *timestamp,
                        const char *nonce, const char *encrypt, size_t encrypt_len)
{
    if (!sig || !timestamp || !nonce || !encrypt)
        return false;
    char want[41];
    wecom_signature(c->token, timestamp, nonce, encrypt, encrypt_len, want);
    return crypto_equal(want, 40, sig, strlen(sig));
}

/* ---- AES ------------------------------------------------------------------------------------- */
int wecom_decrypt(const struct wecom_crypt *c, const char *b64, size_t b64_len, char **msg,
                  size_t *msg_len)
{
    *msg = NULL;
    *msg_len = 0;
    unsigned char *ct = NULL, *pt = NULL;
    size_t n = 0;
    bool oom = false;
    int rc = WECOM_OK;
    if (!crypto_b64_decode_strict(b64, b64_len, &ct, &n, &oom))       /* step 2 */
        return oom ? WECOM_E_NOMEM : WECOM_E_BASE64;
    if (n < 32 || n % 32 != 0) {                                       /* step 3 */
        rc = WECOM_E_DECRYPT;
        goto out;
    }
    if (!(pt = malloc(n + 1))) {
        rc = WECOM_E_NOMEM;
        goto out;
    }
    if (!crypto_aes256cbc_decrypt(c->key, c->key, ct, n, pt)) {       /* step 4, IV = key[0:16] */
        rc = WECOM_E_DECRYPT;
        goto out;
    }
    size_t pad = pt[n - 1];                                            /* step 5 */
    if (pad < 1 || pad > 32) {
        rc = WECOM_E_DECRYPT;
        goto out;
    }
    unsigned char bad = 0;
    for (size_t i = 0; i < pad; i++)
        bad |= (unsigned char)(pt[n - 1 - i] ^ (unsigned char)pad);
    if (bad) {
        rc = WECOM_E_DECRYPT;
        goto out;
    }
    size_t len = n - pad;                                              /* step 6 */
    if (len < 20) {
        rc = WECOM_E_BUFFER;
        goto out;
    }
    uint32_t ml = (uint32_t)pt[16] << 24 | (uint32_t)pt[17] << 16 | (uint32_t)pt[18] << 8 |
                  (uint32_t)pt[19];                                    /* step 7 */
    if ((size_t)ml > len - 20) {
        rc = WECOM_E_BUFFER;
        goto out;
    }
    const unsigned char *rid = pt + 20 + ml;                           /* step 8 */
    size_t rid_len = len - 20 - ml, want_len = strlen(c->receiveid);
    if (rid_len == 0 || rid_len != want_len || memcmp(rid, c->receiveid, rid_len) != 0) {
        rc = WECOM_E_RECEIVEID;
        goto out;
    }
    char *m = malloc((size_t)ml + 1);
    if (!m) {
        rc = WECOM_E_NOMEM;
        goto out;
    }
    memcpy(m, pt + 20, ml);
    m[ml] = '\0';
    *msg = m;
    *msg_len = ml;
out:
    if (pt) {
        memset(pt, 0, n);
        free(pt);
    }
    free(ct);
    return rc;
}

int wecom_encrypt(const struct wecom_crypt *c, const char *msg, size_t msg_len,
                  const unsigned char *random16, char **b64)
{
    *b64 = NULL;
    size_t rid = strlen(c->receiveid);
    if (msg_len > UINT32_MAX || msg_len > SIZE_MAX / 2 - rid - 64)
        return WECOM_E_ENCRYPT;
    size_t len = 20 + msg_len + rid, pad = 32 - len % 32, n = len + pad;
    unsigned char *pt = malloc(n), *ct = malloc(n);
    int rc = WECOM_OK;
    if (!pt || !ct) {
        rc = WECOM_E_NOMEM;
        goto out;
    }
    if (random16)
        memcpy(pt, random16, 16);
    else if (!crypto_random(pt, 16)) {
        rc = WECOM_E_ENCRYPT;
        goto out;
    }
    pt[16] = (unsigned char)(msg_len >> 24);
    pt[17] = (unsigned char)(msg_len >> 16);
    pt[18] = (unsigned char)(msg_len >> 8);
    pt[19] = (unsigned char)msg_len;
    memcpy(pt + 20, msg, msg_len);
    memcpy(pt + 20 + msg_len, c->receiveid, rid);
    memset(pt + len, (int)pad, pad);
    if (!crypto_aes256cbc_encrypt(c->key, c->key, pt, n, ct)) {
        rc = WECOM_E_ENCRYPT;
        goto out;
    }
    if (!(*b64 = crypto_b64_encode(ct, n)))
        rc = WECOM_E_NOMEM;
out:
    free(pt);
    free(ct);
    return rc;
}

int wecom_reply_envelope(const struct wecom_crypt *c, const char *msg, size_t msg_len,
                         const char *timestamp, const char *nonce,
                         const unsigned char *random16, char **xml)
{
    *xml = NULL;
    char *enc = NULL;
    int rc = wecom_encrypt(c, msg, msg_len, random16, &enc);
    if (rc)
        return rc;
    char sig[41];
    wecom_signature(c->token, timestamp, nonce, enc, strlen(enc), sig);
    struct fq_buf b;
    buf_init(&b);
    buf_printf(&b,
               "<xml>\n<Encrypt><![CDATA[%s]]></Encrypt>\n<MsgSignature><![CDATA[%s]]>"
               "</MsgSignature>\n<TimeStamp>%s</TimeStamp>\n<Nonce><![CDATA[%s]]></Nonce>\n"
               "</xml>",
               enc, sig, timestamp, nonce);
    free(enc);
    *xml = buf_take(&b);
    return *xml ? WECOM_OK : WECOM_E_NOMEM;
}

/* ---- query ----------------------------------------------------------------------------------- */
static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decodes n bytes (%XX only). NULL when malformed or a NUL would result. */
static char *pct_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int hi, lo;
        if (i + 2 >= n) {
            free(out);
            return NULL;
        }
        if ((hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0 || (hi | lo) == 0) {
            free(out);
            return NULL;
        }
        out[o++] = (char)(hi << 4 | lo);
        i += 2;
    }
    out[o] = '\0';
    return out;
}

char *wecom_query_param(const char *query, size_t query_len, const char *name)
{
    if (!query || !name)
        return NULL;
    size_t nl = strlen(name);
    const char *p = query, *end = query + query_len, *found = NULL;
    size_t found_len = 0;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if ((size_t)(e - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
            if (found)
                return NULL;                 /* repeated: ambiguous */
            found = p + nl + 1;
            found_len = (size_t)(e - found);
        }
        p = amp ? amp + 1 : end;
    }
    return found ? pct_decode(found, found_len) : NULL;
}

/* ---- XML ------------------------------------------------------------------------------------- */
#define XML_MAX_DEPTH 6
#define XML_MAX_SEL 20
#define XML_MAX_OPTIONS 64

struct xp {
    XML_Parser p;
    struct wecom_xml *x;
    int depth;
    bool failed, oom;
    int field;                       /* index of the open top-level field, -1 none */
    bool in_sel;                     /* inside SelectedItems */
    enum { CAP_NONE, CAP_FIELD, CAP_QKEY, CAP_OPTION } cap;
    struct fq_buf text;
};

static void xp_fail(struct xp *s, bool oom)
{
    if (oom)
        s->oom = true;
    s->failed = true;
    XML_StopParser(s->p, XML_FALSE);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sys,
                               const XML_Char *pub, int has_internal)
{
    (void)name;
    (void)sys;
    (void)pub;
    (void)has_internal;
    xp_fail(ud, false);
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sys, const XML_Char *pub,
                                   const XML_Char *notation)
{
    (void)name; (void)is_param; (void)value; (void)value_len; (void)base; (void)sys; (void)pub;
    (void)notation;
    xp_fail(ud, false);
}

static bool is_opt_ids(const char *n) { return !strcmp(n, "OptionIds") || !strcmp(n, "OpitonIds"); }
static bool is_opt_id(const char *n) { return !strcmp(n, "OptionId") || !strcmp(n, "OpitonId"); }

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    struct xp *s = ud;
    if (s->failed)
        return;
    s->depth++;
    if (s->depth > XML_MAX_DEPTH) {
        xp_fail(s, false);
        return;
    }
    struct wecom_xml *x = s->x;
    if (s->depth == 1) {
        if (strcmp(name, "xml") != 0)
            xp_fail(s, false);
        return;
    }
    if (s->depth == 2) {
        if (strcmp(name, "SelectedItems") == 0) {
            s->in_sel = true;
            return;
        }
        for (size_t i = 0; i < x->n; i++)
            if (strcmp(x->names[i], name) == 0) {   /* a repeated field is ambiguous */
                xp_fail(s, false);
                return;
            }
        if (x->n == WECOM_XML_MAX_FIELDS) {
            xp_fail(s, false);
            return;
        }
        if (!(x->names[x->n] = fq_strdup(name))) {
            xp_fail(s, true);
            return;
        }
        s->field = (int)x->n++;
        s->cap = CAP_FIELD;
        buf_cleanup(&s->text);
        buf_init(&s->text);
        buf_add(&s->text, "", 0);
        return;
    }
    if (!s->in_sel) {                         /* nested inside an ordinary field: not text */
        s->cap = CAP_NONE;
        return;
    }
    if (s->depth == 3 && strcmp(name, "SelectedItem") == 0) {
        if (x->n_sel == XML_MAX_SEL) {
            xp_fail(s, false);
            return;
        }
        struct wecom_selected *v = realloc(x->sel, (x->n_sel + 1) * sizeof *v);
        if (!v) {
            xp_fail(s, true);
            return;
        }
        x->sel = v;
        memset(&v[x->n_sel++], 0, sizeof *v);
    } else if (s->depth == 4 && x->n_sel && strcmp(name, "QuestionKey") == 0) {
        s->cap = CAP_QKEY;
        buf_cleanup(&s->text);
        buf_init(&s->text);
        buf_add(&s->text, "", 0);
    } else if (s->depth == 5 && x->n_sel && is_opt_id(name)) {
        s->cap = CAP_OPTION;
        buf_cleanup(&s->text);
        buf_init(&s->text);
        buf_add(&s->text, "", 0);
    } else if (!(s->depth == 4 && is_opt_ids(name))) {
        s->cap = CAP_NONE;
    }
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct xp *s = ud;
    if (s->failed)
        return;
    struct wecom_xml *x = s->x;
    if (s->text.oom) {
        xp_fail(s, true);
        return;
    }
    if (s->depth == 2 && s->in_sel) {
        s->in_sel = false;
    } else if (s->depth == 2 && s->field >= 0) {
        x->values[s->field] = buf_take(&s->text);
        if (!x->values[s->field]) {
            xp_fail(s, true);
            return;
        }
        s->field = -1;
        s->cap = CAP_NONE;
    } else if (s->cap == CAP_QKEY && s->depth == 4) {
        struct wecom_selected *v = &x->sel[x->n_sel - 1];
        free(v->question_key);
        if (!(v->question_key = buf_take(&s->text))) {
            xp_fail(s, true);
            return;
        }
        s->cap = CAP_NONE;
    } else if (s->cap == CAP_OPTION && s->depth == 5 && is_opt_id(name)) {
        struct wecom_selected *v = &x->sel[x->n_sel - 1];
        if (v->n_option_ids == XML_MAX_OPTIONS) {
            xp_fail(s, false);
            return;
        }
        char **o = realloc(v->option_ids, (v->n_option_ids + 1) * sizeof *o);
        if (!o) {
            xp_fail(s, true);
            return;
        }
        v->option_ids = o;
        if (!(o[v->n_option_ids] = buf_take(&s->text))) {
            xp_fail(s, true);
            return;
        }
        v->n_option_ids++;
        s->cap = CAP_NONE;
    } else if (s->depth >= 3 && !s->in_sel && s->field >= 0) {
        s->cap = CAP_FIELD;   /* back from a nested element: keep the field's own text */
    }
    s->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *t, int len)
{
    struct xp *s = ud;
    if (s->failed || s->cap == CAP_NONE || len <= 0)
        return;
    if ((s->cap == CAP_FIELD && s->depth != 2) || (s->cap == CAP_QKEY && s->depth != 4) ||
        (s->cap == CAP_OPTION && s->depth != 5))
        return;
    buf_add(&s->text, t, (size_t)len);
}

int wecom_xml_parse(const char *xml, size_t len, struct wecom_xml *out)
{
    memset(out, 0, sizeof *out);
    if (!xml || len == 0 || len > (size_t)WECOM_MAX_BODY * 4)
        return WECOM_E_XML;
    struct xp s = {.x = out, .field = -1};
    buf_init(&s.text);
    s.p = XML_ParserCreate("UTF-8");
    if (!s.p)
        return WECOM_E_NOMEM;
    XML_SetUserData(s.p, &s);
    XML_SetParamEntityParsing(s.p, XML_PARAM_ENTITY_PARSING_NEVER);
    XML_SetStartDoctypeDeclHandler(s.p, on_doctype);
    XML_SetEntityDeclHandler(s.p, on_entity_decl);
    XML_SetElementHandler(s.p, on_start, on_end);
    XML_SetCharacterDataHandler(s.p, on_text);
    int rc = WECOM_OK;
    if (len > INT32_MAX || XML_Parse(s.p, xml, (int)len, XML_TRUE) != XML_STATUS_OK || s.failed)
        rc = s.oom ? WECOM_E_NOMEM : WECOM_E_XML;
    /* a field left without a value (parse stopped inside it) */
    for (size_t i = 0; rc == WECOM_OK && i < out->n; i++)
        if (!out->values[i])
            rc = WECOM_E_XML;
    XML_ParserFree(s.p);
    buf_cleanup(&s.text);
    if (rc)
        wecom_xml_cleanup(out);
    return rc;
}

void wecom_xml_cleanup(struct wecom_xml *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++) {
        free(x->names[i]);
        free(x->values[i]);
    }
    for (size_t i = 0; i < x->n_sel; i++) {
        free(x->sel[i].question_key);
        for (size_t k = 0; k < x->sel[i].n_option_ids; k++)
            free(x->sel[i].option_ids[k]);
        free(x->sel[i].option_ids);
    }
    free(x->sel);
    memset(x, 0, sizeof *x);
}

const char *wecom_xml_get(const struct wecom_xml *x, const char *name)
{
    for (size_t i = 0; x && i < x->n; i++)
        if (strcmp(x->names[i], name) == 0)
            return x->values[i];
    return NULL;
}

/* ---- the two requests ------------------------------------------------------------------------ */
int wecom_callback_verify(const struct wecom_crypt *c, const char *sig, const char *timestamp,
                          const char *nonce, const char *body, size_t body_len, int64_t max_age,
                          int64_t now, struct wecom_xml *env)
{
    memset(env, 0, sizeof *env);
    if (!sig || !timestamp || !nonce)
        return WECOM_E_QUERY;
    if (body_len > WECOM_MAX_BODY)
        return WECOM_E_XML;
    int rc = wecom_xml_parse(body, body_len, env);                      /* step 0 */
    if (rc)
        return rc;
    const char *enc = wecom_xml_get(env, "Encrypt");
    if (!enc) {
        rc = WECOM_E_XML;
        goto out;
    }
    if (!wecom_signature_ok(c, sig, timestamp, nonce, enc, strlen(enc))) {   /* step 1 */
        rc = WECOM_E_SIGNATURE;
        goto out;
    }
    if (max_age > 0) {
        char *end = NULL;
        long long t = strtoll(timestamp, &end, 10);
        if (!end || *end || end == timestamp || t < now - max_age) {
            rc = WECOM_E_STALE;
            goto out;
        }
    }
out:
    if (rc)
        wecom_xml_cleanup(env);
    return rc;
}

int wecom_callback_decrypt(const struct wecom_crypt *c, const struct wecom_xml *env,
                           struct wecom_xml *out)
{
    memset(out, 0, sizeof *out);
    const char *enc = wecom_xml_get(env, "Encrypt");
    char *msg = NULL;
    size_t msg_len = 0;
    if (!enc)
        return WECOM_E_XML;
    int rc = wecom_decrypt(c, enc, strlen(enc), &msg, &msg_len);       /* steps 2-8 */
    if (rc)
        goto out;
    if (strlen(msg) != msg_len) {              /* a NUL inside the XML text */
        rc = WECOM_E_XML;
        goto out;
    }
    rc = wecom_xml_parse(msg, msg_len, out);                            /* step 9 */
out:
    free(msg);
    return rc;
}

int wecom_callback_open(const struct wecom_crypt *c, const char *sig, const char *timestamp,
                        const char *nonce, const char *body, size_t body_len, int64_t max_age,
                        int64_t now, struct wecom_xml *out)
{
    memset(out, 0, sizeof *out);
    struct wecom_xml env;
    int rc = wecom_callback_verify(c, sig, timestamp, nonce, body, body_len, max_age, now, &env);
    if (rc)
        return rc;
    rc = wecom_callback_decrypt(c, &env, out);
    wecom_xml_cleanup(&env);
    return rc;
}

int wecom_url_check(const struct wecom_crypt *c, const char *sig, const char *timestamp,
                    const char *nonce, const char *echostr)
{
    if (!sig || !timestamp || !nonce || !echostr)
        return WECOM_E_QUERY;
    if (!wecom_signature_ok(c, sig, timestamp, nonce, echostr, strlen(echostr)))
        return WECOM_E_SIGNATURE;
    return WECOM_OK;
}

int wecom_url_verify(const struct wecom_crypt *c, const char *sig, const char *timestamp,
                     const char *nonce, const char *echostr, char **plain, size_t *plain_len)
{
    *plain = NULL;
    *plain_len = 0;
    int rc = wecom_url_check(c, sig, timestamp, nonce, echostr);
    if (rc)
        return rc;
    return wecom_decrypt(c, echostr, strlen(echostr), plain, plain_len);
}

/* ---- routing --------------------------------------------------------------------------------- */
void wecom_kf_bell_cleanup(struct wecom_kf_bell *b)
{
    if (!b)
        return;
    free(b->token);
    free(b->open_kfid);
    memset(b, 0, sizeof *b);
}

/* A text is bounded only by the envelope that carried it (WECOM_MAX_BODY). */
#define MAX_TEXT WECOM_MAX_BODY

static bool set(char **dst, const char *v, bool *oom)
{
    if (!v)
        return true;
    if (!(*dst = fq_strdup(v)))
        *oom = true;
    return !*oom;
}

/* The event dedupe key (docs/wecom.md 5.3): FromUserName|CreateTime|Event|EventKey|TaskId. */
static char *event_key(const struct wecom_xml *x)
{
    const char *f[] = {"FromUserName", "CreateTime", "Event", "EventKey", "TaskId"};
    struct fq_buf b;
    buf_init(&b);
    for (size_t i = 0; i < 5; i++) {
        const char *v = wecom_xml_get(x, f[i]);
        buf_printf(&b, "%s%s", i ? "|" : "", v ? v : "");
    }
    return buf_take(&b);
}

static enum wecom_route card_click(const struct wecom_xml *x, const char *from, int64_t now,
                                   struct fq_msg **msg, bool *oom)
{
    const char *key = wecom_xml_get(x, "EventKey");
    const char *cmd = NULL, *case_no = NULL;
    const char *sep = key ? strchr(key, WECOM_KEY_SEP) : NULL;
    for (int i = 0; sep && !cmd && i < LC__CMD_COUNT; i++) {
        const char *name = lifecycle_commands[i].name;
        if (lifecycle_commands[i].card && strlen(name) == (size_t)(sep - key) &&
            strncmp(key, name, (size_t)(sep - key)) == 0) {
            cmd = name;
            case_no = sep + 1;
        }
    }
    if (!cmd || !*case_no || strlen(case_no) > 64)
        return WECOM_ROUTE_IGNORE;
    struct fq_msg *m = fq_msg_new(FQ_MSG_COMMAND);
    if (!m) {
        *oom = true;
        return WECOM_ROUTE_IGNORE;
    }
    m->at = now;
    m->ident = FQ_IDENT_MEMBER;   /* chan: set by the channel, bot/chan/wecom/wecom_chan.c */
    m->reach = FQ_REACH_WINDOW;
    (void)(set(&m->channel, "wecom", oom) && set(&m->user, from, oom) &&
           set(&m->mediator, from, oom) && set(&m->command, cmd, oom) &&
           set(&m->case_no, case_no, oom) && set(&m->response_code, wecom_xml_get(x, "ResponseCode"), oom));
    if (!*oom && !(m->request_id = event_key(x)))
        *oom = true;
    if (*oom) {
        fq_msg_free(m);
        return WECOM_ROUTE_IGNORE;
    }
    *msg = m;
    return WECOM_ROUTE_CORE;
}

enum wecom_route wecom_route_message(const struct wecom_xml *x, int64_t now, struct fq_msg **msg,
                                     struct wecom_kf_bell *bell, bool *oom)
{
    *msg = NULL;
    *oom = false;
    memset(bell, 0, sizeof *bell);
    const char *type = wecom_xml_get(x, "MsgType"), *from = wecom_xml_get(x, "FromUserName");
    if (!type)
        return WECOM_ROUTE_IGNORE;
    if (strcmp(type, "event") == 0) {
        const char *ev = wecom_xml_get(x, "Event");
        if (fq_streq(ev, "kf_msg_or_event")) {
            const char *tok = wecom_xml_get(x, "Token");
            if (!tok || !*tok || strlen(tok) > 256)
                return WECOM_ROUTE_IGNORE;
            const char *kfid = wecom_xml_get(x, "OpenKfId");
            if (!set(&bell->token, tok, oom) ||
                !set(&bell->open_kfid, kfid && *kfid ? kfid : NULL, oom)) {
                wecom_kf_bell_cleanup(bell);
                return WECOM_ROUTE_IGNORE;
            }
            return WECOM_ROUTE_KF;
        }
        if (fq_streq(ev, "template_card_event") && from && *from && strlen(from) <= 128)
            return card_click(x, from, now, msg, oom);
        return WECOM_ROUTE_IGNORE;
    }
    const char *msgid = wecom_xml_get(x, "MsgId");
    if (!from || !*from || strlen(from) > 128 || !msgid || !*msgid || strlen(msgid) > 128)
        return WECOM_ROUTE_IGNORE;
    struct fq_msg *m = fq_msg_new(FQ_MSG_CHAT);
    if (!m) {
        *oom = true;
        return WECOM_ROUTE_IGNORE;
    }
    m->at = now;
    m->ident = FQ_IDENT_MEMBER;   /* chan: set by the channel, bot/chan/wecom/wecom_chan.c */
    m->reach = FQ_REACH_WINDOW;
    bool ok = set(&m->channel, "wecom", oom) && set(&m->user, from, oom) &&
              set(&m->message_id, msgid, oom);
    if (ok && strcmp(type, "text") == 0) {
        const char *t = wecom_xml_get(x, "Content");
        ok = t && *t && strlen(t) <= MAX_TEXT && set(&m->type, "text", oom) &&
             set(&m->text, t, oom);
    } else if (ok && strcmp(type, "link") == 0) {
        const char *t = wecom_xml_get(x, "Url");
        ok = t && *t && strlen(t) <= MAX_TEXT && set(&m->type, "text", oom) &&
             set(&m->text, t, oom);
    } else if (ok && (strcmp(type, "image") == 0 || strcmp(type, "voice") == 0)) {
        const char *url = wecom_xml_get(x, "PicUrl"), *media = wecom_xml_get(x, "MediaId");
        struct fq_buf b;
        buf_init(&b);
        if (url && *url)
            buf_puts(&b, url);
        else if (media && *media)
            buf_printf(&b, "wecom-media:%s", media);
        ok = b.len > 0 && b.len <= 2048 && set(&m->type, type, oom);
        if (ok && !(m->media_url = buf_take(&b)))
            *oom = true;
        buf_cleanup(&b);
    } else if (ok && strcmp(type, "location") == 0) {
        const char *la = wecom_xml_get(x, "Location_X"), *lo = wecom_xml_get(x, "Location_Y");
        char *e1 = NULL, *e2 = NULL;
        ok = la && lo && set(&m->type, "location", oom) &&
             set(&m->label, wecom_xml_get(x, "Label"), oom);
        if (ok) {
            m->latitude = strtod(la, &e1);
            m->longitude = strtod(lo, &e2);
            ok = e1 != la && !*e1 && e2 != lo && !*e2 && m->latitude >= -90 &&
                 m->latitude <= 90 && m->longitude >= -180 && m->longitude <= 180;
            m->has_location = ok;
        }
    } else {
        ok = false;
    }
    if (!ok || *oom) {
        fq_msg_free(m);
        return WECOM_ROUTE_IGNORE;
    }
    *msg = m;
    return WECOM_ROUTE_CORE;
}
