/* fuzz_wecom_callback.c: libFuzzer target for the WeCom callback (docs/contract.md 3.2,
 * bot/chan/wecom/wecom_callback.c): query parameters -> envelope XML -> signature -> AES -> message XML -> routing to
 * fq_msg.
 *
 * A fuzzer cannot forge SHA-1 signatures, so the first input byte picks how far the input gets:
 *   mode 0: input = "query\n" + body, checked as sent (signature, stale checks, query parsing);
 *   mode 1: body as given, the correct signature computed here over its Encrypt: so strict
 *           base64, length rules, AES, PKCS#7, the msg_len bounds and the receiveid are fuzzed;
 *   mode 2: input = the decrypted message: encrypted and signed here with the test key, then the
 *           whole pipeline runs, so the message XML parser (DTD/entity refusal, CDATA, depth,
 *           SelectedItems) and wecom_route_message see arbitrary XML;
 *   mode 3: the GET verification with the input as echostr (signed here).
 *
 * Build (one line, from the project root; `make fuzz` wiring is another engineer's):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE tests/fuzz/fuzz_wecom_callback.c bot/chan/wecom/wecom_callback.c bot/sys/crypto.c common/fq.c -o build-fuzz/fuzz/fuzz_wecom_callback -lexpat -lcrypto
 * (linked with the whole daemon instead, the real roster_free replaces the weak one below.)
 * Run: build-fuzz/fuzz/fuzz_wecom_callback -max_total_time=60 tests/fuzz/corpus/fuzz_wecom_callback */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bot/chan/wecom/wecom_callback.h"
#include "common/fq.h"
#include "common/roster_model.h"

static const char TOKEN[] = "FuzzToken";
static const char KEY[] = "2Izx9cYixQPxSRBglphuvnTZ2GAfGtd04wVkpobjhYH";
static const char CORP[] = "ww3d74880842b35f8f";

/* fq_msg_free calls roster_free (handlers/roster.c, which pulls in the store); the messages here
 * never carry a roster, so a weak no-op keeps this target to four source files. */
struct fq_roster;
void roster_free(struct fq_roster *r);
__attribute__((weak)) void roster_free(struct fq_roster *r) { (void)r; }

static void route(const struct wecom_xml *x)
{
    struct fq_msg *m = NULL;
    struct wecom_kf_bell b;
    bool oom;
    wecom_route_message(x, 1, &m, &b, &oom);
    fq_msg_free(m);
    wecom_kf_bell_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 256 * 1024)
        return 0;
    struct wecom_crypt wc;
    if (wecom_crypt_init(&wc, TOKEN, KEY, CORP))
        return 0;
    int mode = data[0] % 4;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    char *buf = malloc(n + 1);
    memcpy(buf, in, n);
    buf[n] = '\0';
    struct wecom_xml x;
    if (mode == 0) {
        char *nl = memchr(buf, '\n', n);
        size_t ql = nl ? (size_t)(nl - buf) : 0;
        const char *body = nl ? nl + 1 : buf;
        char *sig = wecom_query_param(buf, ql, "msg_signature");
        char *ts = wecom_query_param(buf, ql, "timestamp");
        char *nonce = wecom_query_param(buf, ql, "nonce");
        if (wecom_callback_open(&wc, sig, ts, nonce, body, n - (size_t)(body - buf), 60, 1000,
                                &x) == WECOM_OK) {
            route(&x);
            wecom_xml_cleanup(&x);
        }
        free(sig), free(ts), free(nonce);
    } else if (mode == 1) {
        struct wecom_xml env;
        if (wecom_xml_parse(buf, n, &env) == WECOM_OK) {
            const char *enc = wecom_xml_get(&env, "Encrypt");
            if (enc) {
                char sig[41];
                wecom_signature(TOKEN, "1", "2", enc, strlen(enc), sig);
                if (wecom_callback_open(&wc, sig, "1", "2", buf, n, 0, 0, &x) == WECOM_OK) {
                    route(&x);
                    wecom_xml_cleanup(&x);
                }
            }
            wecom_xml_cleanup(&env);
        }
    } else if (mode == 2) {
        static const unsigned char r16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        char *enc = NULL;
        if (wecom_encrypt(&wc, buf, n, r16, &enc) == WECOM_OK) {
            char sig[41];
            wecom_signature(TOKEN, "1", "2", enc, strlen(enc), sig);
            struct fq_buf env;
            buf_init(&env);
            buf_printf(&env, "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]>"
                             "</Encrypt></xml>", CORP, enc);
            if (env.s && wecom_callback_open(&wc, sig, "1", "2", env.s, env.len, 0, 0, &x) ==
                             WECOM_OK) {
                route(&x);
                wecom_xml_cleanup(&x);
            }
            buf_cleanup(&env);
        }
        free(enc);
    } else {
        char sig[41], *plain = NULL;
        size_t len;
        wecom_signature(TOKEN, "1", "2", buf, strlen(buf), sig);
        wecom_url_verify(&wc, sig, "1", "2", buf, &plain, &len);
        free(plain);
    }
    free(buf);
    wecom_crypt_cleanup(&wc);
    return 0;
}
