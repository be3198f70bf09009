/* test_wecom_xml.c: the XML side of bot/chan/wecom/wecom_callback.c: expat with DTDs and entities refused, bounds,
 * CDATA handling, the tolerated spellings, and how a decrypted message becomes core input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot/chan/wecom/wecom_callback.h"
#include "common/fq.h"

static int parse(const char *xml, struct wecom_xml *x)
{
    return wecom_xml_parse(xml, strlen(xml), x);
}

Test(wecom_xml, fields_and_cdata)
{
    struct wecom_xml x;
    const char *xml = "<xml><ToUserName><![CDATA[ww1]]></ToUserName>\n"
                      "<Content><![CDATA[a ]]]]><![CDATA[> b & <c>]]></Content>"
                      "<CreateTime>1717400011</CreateTime><Esc>x&amp;y&lt;&#x4E2D;</Esc>"
                      "<MsgId>CAIQg/PKxgYY2sC9tpuAgAMg9/zKaw==</MsgId></xml>";
    cr_assert_eq(parse(xml, &x), WECOM_OK);
    cr_expect_str_eq(wecom_xml_get(&x, "ToUserName"), "ww1");
    cr_expect_str_eq(wecom_xml_get(&x, "Content"), "a ]]> b & <c>", "split CDATA joined");
    cr_expect_str_eq(wecom_xml_get(&x, "CreateTime"), "1717400011");
    cr_expect_str_eq(wecom_xml_get(&x, "Esc"), "x&y<\xE4\xB8\xAD");
    cr_expect_str_eq(wecom_xml_get(&x, "MsgId"), "CAIQg/PKxgYY2sC9tpuAgAMg9/zKaw==");
    cr_expect_null(wecom_xml_get(&x, "AgentID"), "a missing field is tolerated");
    wecom_xml_cleanup(&x);
}

Test(wecom_xml, dtd_and_entities_refused)
{
    const char *bad[] = {
        /* billion laughs */
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
        "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]><xml><A>&lol2;</A></xml>",
        /* external entity */
        "<!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><A>&xxe;</A></xml>",
        /* an external DTD */
        "<!DOCTYPE xml SYSTEM \"http://example.org/x.dtd\"><xml><A>1</A></xml>",
        /* a DOCTYPE with no entity at all is refused too */
        "<!DOCTYPE xml><xml><A>1</A></xml>",
        /* parameter entity */
        "<!DOCTYPE xml [<!ENTITY % p SYSTEM \"http://example.org/p\"> %p;]><xml/>",
        /* undefined entity */
        "<xml><A>&nope;</A></xml>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct wecom_xml x;
        cr_expect_eq(parse(bad[i], &x), WECOM_E_XML, "case %zu accepted", i);
        cr_expect_eq(x.n, 0);
        wecom_xml_cleanup(&x);
    }
}

Test(wecom_xml, shape_and_size_bounds)
{
    struct wecom_xml x;
    cr_expect_eq(parse("<root><A>1</A></root>", &x), WECOM_E_XML, "root must be <xml>");
    cr_expect_eq(parse("<xml><A>1</A><A>2</A></xml>", &x), WECOM_E_XML, "repeated field");
    cr_expect_eq(parse("<xml><A>1</A>", &x), WECOM_E_XML, "unterminated");
    cr_expect_eq(parse("", &x), WECOM_E_XML, "empty");
    cr_expect_eq(parse("<xml><A>1</A></xml><xml/>", &x), WECOM_E_XML, "two roots");
    cr_expect_eq(parse("<xml><a><b><c><d><e><f>deep</f></e></d></c></b></a></xml>", &x),
                 WECOM_E_XML, "too deep");
    cr_expect_eq(wecom_xml_parse("<xml><A>1\0</A></xml>", 20, &x), WECOM_E_XML, "NUL byte");
    /* 64 fields pass, 65 do not */
    char buf[4096];
    size_t o = (size_t)snprintf(buf, sizeof buf, "<xml>");
    for (int i = 0; i < WECOM_XML_MAX_FIELDS; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "<F%d>v</F%d>", i, i);
    snprintf(buf + o, sizeof buf - o, "</xml>");
    cr_expect_eq(parse(buf, &x), WECOM_OK);
    cr_expect_eq(x.n, WECOM_XML_MAX_FIELDS);
    wecom_xml_cleanup(&x);
    snprintf(buf + o, sizeof buf - o, "<Extra>v</Extra></xml>");
    cr_expect_eq(parse(buf, &x), WECOM_E_XML, "65 fields");

    /* an envelope larger than WECOM_MAX_BODY is refused before parsing */
    size_t big = (size_t)WECOM_MAX_BODY + 1;
    char *body = malloc(big + 1);
    memset(body, ' ', big);
    memcpy(body, "<xml><Encrypt>", 14);
    body[big] = 0;
    cr_expect_eq(wecom_callback_open(&(struct wecom_crypt){.token = "t", .receiveid = "w"}, "s",
                                     "1", "2", body, big, 0, 0, &x),
                 WECOM_E_XML);
    free(body);
}

Test(wecom_xml, selected_items_both_spellings)
{
    struct wecom_xml x;
    const char *xml = "<xml><Event>template_card_event</Event><SelectedItems>"
                      "<SelectedItem><QuestionKey>q1</QuestionKey><OptionIds><OptionId>a</OptionId>"
                      "<OptionId>b</OptionId></OptionIds></SelectedItem>"
                      "<SelectedItem><QuestionKey><![CDATA[q2]]></QuestionKey><OpitonIds>"
                      "<OpitonId><![CDATA[c]]></OpitonId></OpitonIds></SelectedItem>"
                      "</SelectedItems></xml>";
    cr_assert_eq(parse(xml, &x), WECOM_OK);
    cr_assert_eq(x.n_sel, 2);
    cr_expect_str_eq(x.sel[0].question_key, "q1");
    cr_assert_eq(x.sel[0].n_option_ids, 2);
    cr_expect_str_eq(x.sel[0].option_ids[1], "b");
    cr_expect_str_eq(x.sel[1].question_key, "q2");
    cr_assert_eq(x.sel[1].n_option_ids, 1);
    cr_expect_str_eq(x.sel[1].option_ids[0], "c");
    cr_expect_str_eq(wecom_xml_get(&x, "Event"), "template_card_event");
    wecom_xml_cleanup(&x);
}

/* ---- routing ---------------------------------------------------------------------------------- */
static enum wecom_route route(const char *xml, struct fq_msg **m, struct wecom_kf_bell *b)
{
    struct wecom_xml x;
    cr_assert_eq(parse(xml, &x), WECOM_OK, "%s", xml);
    bool oom;
    enum wecom_route r = wecom_route_message(&x, 1000, m, b, &oom);
    cr_expect_not(oom);
    wecom_xml_cleanup(&x);
    return r;
}

Test(wecom_route, text_becomes_chat)
{
    struct fq_msg *m;
    struct wecom_kf_bell b;
    cr_assert_eq(route("<xml><FromUserName>ZhangSan</FromUserName><CreateTime>1</CreateTime>"
                       "<MsgType>text</MsgType><Content>hello</Content><MsgId>77</MsgId></xml>",
                       &m, &b),
                 WECOM_ROUTE_CORE);
    cr_expect_eq(m->kind, FQ_MSG_CHAT);
    cr_expect_eq(m->ident, FQ_IDENT_MEMBER);
    cr_expect_str_eq(m->channel, "wecom");
    cr_expect_str_eq(m->user, "ZhangSan");
    cr_expect_str_eq(m->message_id, "77");
    cr_expect_str_eq(m->type, "text");
    cr_expect_str_eq(m->text, "hello");
    fq_msg_free(m);

    cr_assert_eq(route("<xml><FromUserName>W</FromUserName><MsgType>location</MsgType>"
                       "<Location_X>29.7</Location_X><Location_Y>120.4</Location_Y>"
                       "<Label>here</Label><MsgId>78</MsgId></xml>", &m, &b),
                 WECOM_ROUTE_CORE);
    cr_expect_str_eq(m->type, "location");
    cr_expect(m->has_location && m->latitude > 29.6 && m->longitude < 120.5);
    fq_msg_free(m);
    cr_expect_eq(route("<xml><FromUserName>W</FromUserName><MsgType>location</MsgType>"
                       "<Location_X>299</Location_X><Location_Y>1</Location_Y><MsgId>79</MsgId>"
                       "</xml>", &m, &b),
                 WECOM_ROUTE_IGNORE, "latitude out of range");
    cr_expect_eq(route("<xml><FromUserName>W</FromUserName><MsgType>text</MsgType>"
                       "<Content>x</Content></xml>", &m, &b),
                 WECOM_ROUTE_IGNORE, "no MsgId: no dedupe key, not taken");
}

Test(wecom_route, card_click_and_events)
{
    struct fq_msg *m;
    struct wecom_kf_bell b;
    cr_assert_eq(route("<xml><FromUserName>WangJianGuo</FromUserName><CreateTime>5</CreateTime>"
                       "<MsgType>event</MsgType><Event>template_card_event</Event>"
                       "<EventKey>accept:FQ20261122-0001</EventKey><TaskId>t1</TaskId>"
                       "<CardType>button_interaction</CardType><ResponseCode>RC1</ResponseCode>"
                       "</xml>", &m, &b),
                 WECOM_ROUTE_CORE);
    cr_expect_eq(m->kind, FQ_MSG_COMMAND);
    cr_expect_str_eq(m->command, "accept");
    cr_expect_str_eq(m->case_no, "FQ20261122-0001");
    cr_expect_str_eq(m->mediator, "WangJianGuo");
    cr_expect_str_eq(m->response_code, "RC1");
    cr_expect_str_eq(m->request_id, "WangJianGuo|5|template_card_event|accept:FQ20261122-0001|t1");
    fq_msg_free(m);

    cr_expect_eq(route("<xml><FromUserName>W</FromUserName><MsgType>event</MsgType>"
                       "<Event>template_card_event</Event><EventKey>btn_x</EventKey></xml>",
                       &m, &b),
                 WECOM_ROUTE_IGNORE, "a key that is not ours");
    cr_expect_eq(route("<xml><FromUserName>W</FromUserName><MsgType>event</MsgType>"
                       "<Event>enter_agent</Event><EventKey></EventKey></xml>", &m, &b),
                 WECOM_ROUTE_IGNORE);

    cr_assert_eq(route("<xml><CreateTime>1</CreateTime><MsgType>event</MsgType>"
                       "<Event>kf_msg_or_event</Event><Token>TOK</Token>"
                       "<OpenKfId>wk1</OpenKfId></xml>", &m, &b),
                 WECOM_ROUTE_KF);
    cr_expect_str_eq(b.token, "TOK");
    cr_expect_str_eq(b.open_kfid, "wk1");
    wecom_kf_bell_cleanup(&b);
    cr_assert_eq(route("<xml><MsgType>event</MsgType><Event>kf_msg_or_event</Event>"
                       "<Token>TOK</Token></xml>", &m, &b),
                 WECOM_ROUTE_KF, "OpenKfId may be missing");
    cr_expect_null(b.open_kfid);
    wecom_kf_bell_cleanup(&b);
}
