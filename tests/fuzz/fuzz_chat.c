/* fuzz_chat.c: libFuzzer target for the chat webhook's body (docs/contract.md 3.1): the signature
 * check as bot/net/http.c does it (HMAC-SHA256 over "timestamp.body", lower-case hex, constant-time
 * compare against the X-FQ-Signature value) and chat_parse, then the JSON answers built from what
 * was parsed.
 *
 * Input layout: the first line is the X-FQ-Signature header value as a client would send it
 * (often garbage, sometimes "sha256=<64 hex>"), the second line the X-FQ-Timestamp value, the
 * rest the raw body. A missing newline leaves the header empty: the whole input is the body. So
 * seeds are plain request bodies with two header lines in front, and the fuzzer can mutate the
 * headers and the body independently. The signature check cannot make chat_parse unreachable
 * (the parser runs whatever the check says), so the target explores the parser fully. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bot/chan/chat/chat_msg.h"
#include "bot/sys/crypto.h"
#include "common/fq.h"
#include "handlers/actions.h"

static const char SECRET[] = "fuzz-chat-secret";

/* Splits off one line (without its '\n'); returns its length, or -1 when there is none. */
static long take_line(const uint8_t **p, size_t *n)
{
    const uint8_t *nl = memchr(*p, '\n', *n);
    if (!nl)
        return -1;
    long len = nl - *p;
    *p = nl + 1;
    *n -= (size_t)len + 1;
    return len;
}

static void check_signature(const char *sig, size_t sig_len, const char *ts, size_t ts_len,
                            const char *body, size_t body_len)
{
    if (sig_len < 7 || memcmp(sig, "sha256=", 7) != 0 || ts_len > 20)
        return;
    char *signed_text = malloc(ts_len + 1 + body_len + 1);
    if (!signed_text)
        return;
    memcpy(signed_text, ts, ts_len);
    signed_text[ts_len] = '.';
    memcpy(signed_text + ts_len + 1, body, body_len);
    unsigned char mac[32];
    char hex[65];
    crypto_hmac_sha256(SECRET, strlen(SECRET), signed_text, ts_len + 1 + body_len, mac);
    free(signed_text);
    crypto_hex(mac, 32, hex);
    /* the compare must be total over any length, and agree with memcmp */
    bool eq = crypto_equal(hex, 64, sig + 7, sig_len - 7);
    bool want = sig_len - 7 == 64 && memcmp(hex, sig + 7, 64) == 0;
    if (eq != want)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t n = size;
    const uint8_t *sig = p;
    long sig_len = take_line(&p, &n);
    const uint8_t *ts = p;
    long ts_len = sig_len < 0 ? -1 : take_line(&p, &n);
    if (sig_len < 0 || ts_len < 0) {    /* no header lines: the whole input is the body */
        p = data;
        n = size;
        sig_len = ts_len = 0;
    }
    /* the body as http.c holds it: a NUL-terminated copy of exactly n bytes */
    char *body = malloc(n + 1);
    if (!body)
        return 0;
    memcpy(body, p, n);
    body[n] = '\0';
    check_signature((const char *)sig, (size_t)sig_len, (const char *)ts, (size_t)ts_len, body, n);

    struct fq_msg *m = NULL;
    const char *why = NULL;
    enum fq_err err = chat_parse(body, n, &m, &why);
    if (err == FQ_OK) {
        if (!m || !m->channel || !m->user || !m->message_id || !m->type)
            abort();   /* a parsed message always has its required fields */
        if (!fq_utf8_valid(m->user, strlen(m->user)))
            abort();
        /* the answer JSON a repeat would get: built from parsed (untrusted) text */
        struct fq_actions a;
        actions_init(&a);
        a.answer.status = 200;
        a.answer.state = "ask_category";
        if (m->text)
            answer_reply(&a, m->text);
        if (m->name)
            answer_option(&a, "1", m->name);
        answer_set_case(&a, m->message_id);
        char *j = chat_answer_json(&a);
        free(j);
        actions_cleanup(&a);
        fq_msg_free(m);
    } else {
        if (m || !why)
            abort();   /* a rejected body names its problem and hands nothing out */
        char *j = chat_error_json("bad_request", why);
        free(j);
    }
    free(body);
    return 0;
}
