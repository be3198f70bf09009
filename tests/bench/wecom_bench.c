/* wecom_bench.c: throughput of the WeCom callback's CPU work on one core: signature check
 * (SHA-1, constant-time compare), strict base64, AES-256-CBC, PKCS#7 and bounds, two expat
 * parses (envelope and message) and the mapping to struct fq_msg: exactly what bot/net/http.c does
 * per POST before handing the message to the core.
 *
 * Build and run (from the project root):
 *   cc -O2 -std=c11 -D_GNU_SOURCE tests/bench/wecom_bench.c bot/chan/wecom/wecom_callback.c bot/sys/crypto.c common/fq.c -lexpat -lcrypto -o build/bench/wecom_bench && build/bench/wecom_bench [seconds]
 * Prints callbacks/s for a short Chinese text message, a 4 KB one and a card click. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot/chan/wecom/wecom_callback.h"
#include "common/fq.h"
#include "common/roster_model.h"

struct fq_roster;
void roster_free(struct fq_roster *r);
__attribute__((weak)) void roster_free(struct fq_roster *r) { (void)r; }

static double run(struct wecom_crypt *wc, const char *plain, double secs)
{
    char *enc = NULL, sig[41];
    if (wecom_encrypt(wc, plain, strlen(plain), NULL, &enc) != WECOM_OK)
        return 0;
    wecom_signature(wc->token, "1717400101", "902837465", enc, strlen(enc), sig);
    struct fq_buf env;
    buf_init(&env);
    buf_printf(&env, "<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[1000002]]>"
                     "</AgentID><Encrypt><![CDATA[%s]]></Encrypt></xml>", wc->receiveid, enc);
    free(enc);
    long n = 0;
    int64_t t0 = fq_mono_ms(), end = t0 + (int64_t)(secs * 1000);
    while (fq_mono_ms() < end) {
        for (int i = 0; i < 256; i++, n++) {
            struct wecom_xml x;
            if (wecom_callback_open(wc, sig, "1717400101", "902837465", env.s, env.len, 0, 0, &x)) {
                fprintf(stderr, "callback refused\n");
                exit(1);
            }
            struct fq_msg *m = NULL;
            struct wecom_kf_bell b;
            bool oom;
            wecom_route_message(&x, 1, &m, &b, &oom);
            fq_msg_free(m);
            wecom_kf_bell_cleanup(&b);
            wecom_xml_cleanup(&x);
        }
    }
    double el = (double)(fq_mono_ms() - t0) / 1000.0;
    buf_cleanup(&env);
    return (double)n / el;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    struct wecom_crypt wc;
    if (wecom_crypt_init(&wc, "RiverGardenToken2024", "2Izx9cYixQPxSRBglphuvnTZ2GAfGtd04wVkpobjhYH",
                         "ww3d74880842b35f8f"))
        return 1;
    const char *text = "<xml><ToUserName><![CDATA[ww3d74880842b35f8f]]></ToUserName><FromUserName>"
                       "<![CDATA[LiSi]]></FromUserName><CreateTime>1717400100</CreateTime><MsgType>"
                       "<![CDATA[text]]></MsgType><Content><![CDATA[邻居在楼道堆放杂物，多次沟通无果]]>"
                       "</Content><MsgId>7385201938472019457</MsgId><AgentID>1000002</AgentID></xml>";
    const char *card = "<xml><ToUserName><![CDATA[ww3d74880842b35f8f]]></ToUserName><FromUserName>"
                       "<![CDATA[WangJianGuo]]></FromUserName><CreateTime>1717401000</CreateTime>"
                       "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]>"
                       "</Event><EventKey><![CDATA[accept:FQ20261122-0001]]></EventKey><TaskId>"
                       "<![CDATA[fq_FQ20261122-0001_0a1b2c3d]]></TaskId><CardType><![CDATA["
                       "button_interaction]]></CardType><ResponseCode><![CDATA[RC_0x7f3a9c2e1b4d]]>"
                       "</ResponseCode><AgentID>1000002</AgentID></xml>";
    struct fq_buf big;
    buf_init(&big);
    buf_puts(&big, "<xml><FromUserName><![CDATA[LiSi]]></FromUserName><MsgType>text</MsgType>"
                   "<MsgId>1</MsgId><Content><![CDATA[");
    while (big.len < 4096)
        buf_puts(&big, "邻居在楼道堆放杂物，");
    buf_puts(&big, "]]></Content></xml>");
    printf("wecom callback verify+decrypt+parse, one core:\n");
    printf("  text message (%zu B):  %.0f callbacks/s\n", strlen(text), run(&wc, text, secs));
    printf("  card click   (%zu B):  %.0f callbacks/s\n", strlen(card), run(&wc, card, secs));
    printf("  text message (%zu B): %.0f callbacks/s\n", big.len, run(&wc, big.s, secs));
    buf_cleanup(&big);
    wecom_crypt_cleanup(&wc);
    return 0;
}
