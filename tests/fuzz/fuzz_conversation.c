/* fuzz_conversation.c: libFuzzer target for the resident's conversation (docs/contract.md 6) and
 * the mediator's chat commands (docs/contract.md 7.2): any text, at any state, through handle_chat
 * on a real SQLite store in /tmp, exactly as the core runs a message (a savepoint per message
 * inside one transaction, payload_emit turning the actions into outbox rows, the answer's JSON, the
 * inbox row), and then the transaction is ROLLED BACK, so every input starts from the same
 * database: runs reproduce and the file does not grow.
 *
 * Input layout: byte 0 picks the start and the sender:
 *   bits 0-2  a fixed prefix that walks resident r-1 to a state first: 0 none (idle),
 *             1 ask_category, 2 ask_location, 3 ask_description, 4 ask_contact, 5 confirm,
 *             6 submitted (a case exists, assigned to m-wang), 7 submitted then a new report
 *   bit  3    the fuzzed messages come from mediator m-wang (chat_user) instead of r-1
 *   bits 4-5  locale field of the fuzzed messages: none, zh-CN, zh-TW, en
 *   bit  6    the messages come from MQTT (gateway channel: the answer becomes an outbox row)
 * then up to 16 messages separated by '\n'. A message starting with 0x01 is a location message
 * (the rest is its label), 0x02 an image message; anything else is a text. Messages that
 * chat_parse would refuse (empty, not UTF-8, too long) are skipped: they never reach the core.
 *
 * Checks: the handlers never fail on input (only a store error may fail a message, and the store
 * is healthy here), a 200 answer names a known state, and the answer serialises. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/chan/chat/chat_msg.h"
#include "bot/sys/locale.h"
#include "bot/render/payload.h"
#include "bot/admin/roster_file.h"
#include "bot/sys/config.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/dispatch.h"
#include "handlers/i18n.h"
#include "handlers/roster.h"
#include "store/store.h"

#define MAX_MSGS 16
#define NOW 1764000000   /* fixed, so case numbers and timers reproduce */

static const char ROSTER[] =
    "{\"org\":["
    "{\"id\":\"county-zj\",\"name\":\"诸暨市\",\"level\":\"county\",\"parent\":null},"
    "{\"id\":\"town-fq\",\"name\":\"枫桥镇\",\"level\":\"town\",\"parent\":\"county-zj\"},"
    "{\"id\":\"vil-fy\",\"name\":\"枫源村\",\"level\":\"village\",\"parent\":\"town-fq\","
    "\"aliases\":[\"枫源\"]},"
    "{\"id\":\"grid-fy-01\",\"name\":\"枫源村第一网格\",\"level\":\"grid\",\"parent\":\"vil-fy\","
    "\"aliases\":[\"一网格\"],\"latitude\":29.73,\"longitude\":120.45}],"
    "\"mediators\":["
    "{\"id\":\"m-wang\",\"name\":\"王建国\",\"role\":\"grid_worker\",\"org\":\"grid-fy-01\","
    "\"chat_user\":\"m-wang\",\"categories\":[\"*\"],\"max_open\":20},"
    "{\"id\":\"m-chen\",\"name\":\"陈秀英\",\"role\":\"village_mediator\",\"org\":\"vil-fy\","
    "\"chat_user\":\"m-chen\",\"categories\":[\"*\"]},"
    "{\"id\":\"m-li\",\"name\":\"李司法\",\"role\":\"town_mediator\",\"org\":\"town-fq\","
    "\"chat_user\":\"m-li\",\"categories\":[\"*\"],\"supervisor\":true},"
    "{\"id\":\"m-labour\",\"name\":\"周劳动\",\"role\":\"town_mediator\",\"org\":\"town-fq\","
    "\"categories\":[\"wage\"]}],"
    "\"routes\":[{\"category\":\"wage\",\"org\":\"town-fq\",\"mediators\":[\"m-labour\"]}]}";

/* The prefixes of byte 0: resident texts that walk r-1 to a state. */
static const char *const PREFIX[8][8] = {
    {NULL},
    {"你好", NULL},
    {"你好", "1", NULL},
    {"你好", "1", "枫源村第一网格", NULL},
    {"你好", "1", "枫源村第一网格", "邻居在楼道堆放杂物，多次沟通无果", NULL},
    {"你好", "1", "枫源村第一网格", "邻居在楼道堆放杂物，多次沟通无果", "跳过", NULL},
    {"枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话13800000001", "1", NULL},
    {"枫源村一网格的邻居在楼道堆放杂物，多次沟通无果", "1", "村里欠薪三个月", NULL},
};

static const char *const STATES[] = {"idle", "ask_category", "ask_location", "ask_description",
                                     "ask_contact", "confirm", "submitted", "survey"};

static struct store *st;
static struct fq_config *cfg;
static struct fq_lexicon *lex;
static struct fq_roster *roster;
static unsigned long seq;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[] = "/tmp/fq-fuzz-convo-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    char path[128];
    snprintf(path, sizeof path, "%s/fq.db", dir);
    char *cause = NULL, *dirl = locale_dir_default();
    if (locale_load(dirl, &lex, &cause) != FQ_OK) {
        fprintf(stderr, "fuzz_conversation: locales: %s (run from the source tree)\n", cause);
        abort();
    }
    free(dirl);
    if (store_open(path, &st, &cause) != FQ_OK) {
        fprintf(stderr, "fuzz_conversation: store: %s\n", cause);
        abort();
    }
    cfg = config_new_defaults();
    char *problem = NULL;
    if (!cfg || roster_json_parse(ROSTER, strlen(ROSTER), &roster, &problem) != FQ_OK) {
        fprintf(stderr, "fuzz_conversation: roster: %s\n", problem ? problem : "oom");
        abort();
    }
    struct fq_ctx ctx = {.store = st, .cfg = cfg, .lex = lex, .roster = roster, .now = NOW};
    struct fq_actions a;
    actions_init(&a);
    if (store_begin(st) || roster_import(&ctx, roster, &a) || a.answer.status >= 300 ||
        store_commit(st))
        abort();
    actions_cleanup(&a);
    return 0;
}

/* One message through the core's steps; returns false when the handlers failed. */
static bool run(const char *user, const char *text, size_t len, int kind, const char *locale,
                bool mqtt)
{
    struct fq_msg *m = fq_msg_new(FQ_MSG_CHAT);
    m->ident = mqtt ? FQ_IDENT_GATEWAY : FQ_IDENT_CHAT_USER;
    m->reach = mqtt ? FQ_REACH_PUSH : FQ_REACH_REPLY;
    if (!m)
        return true;
    char mid[32];
    snprintf(mid, sizeof mid, "fz-%lu", ++seq);
    m->at = NOW;
    m->channel = strdup(mqtt ? "gw" : "web");
    m->user = strdup(user);
    m->message_id = strdup(mid);
    m->locale = locale ? strdup(locale) : NULL;
    if (kind == 1) {
        m->type = strdup("location");
        m->latitude = 29.73;
        m->longitude = 120.45;
        m->has_location = true;
        m->label = len ? strndup(text, len) : NULL;
    } else if (kind == 2) {
        m->type = strdup("image");
        m->media_url = strdup("https://example.invalid/a.jpg");
        m->text = len ? strndup(text, len) : NULL;
    } else {
        m->type = strdup("text");
        m->text = strndup(text, len);
    }
    struct fq_ctx ctx = {.store = st, .cfg = cfg, .lex = lex, .roster = roster, .now = NOW};
    struct fq_actions a;
    actions_init(&a);
    struct payload_stats ps;
    memset(&ps, 0, sizeof ps);
    bool ok = true;
    if (store_savepoint(st))
        abort();
    enum fq_err err = handle_chat(&ctx, m, &a);
    if (!err && a.oom)
        err = FQ_ENOMEM;
    if (!err && mqtt && a.answer.status == 200)
        actions_outbound(&a);
    if (!err)
        err = payload_emit(&ctx, cfg->mqtt_prefix, m, &a, &ps);
    if (!err) {
        if (a.answer.status == 200 && a.answer.state) {
            bool known = false;
            for (size_t i = 0; i < sizeof STATES / sizeof *STATES; i++)
                known |= strcmp(a.answer.state, STATES[i]) == 0;
            if (!known) {
                fprintf(stderr, "unknown state %s\n", a.answer.state);
                abort();
            }
        }
        if (a.answer.status < 200 || a.answer.status > 599)
            abort();
        char *json = a.answer.status == 200
                         ? chat_answer_json(&a)
                         : chat_error_json(a.answer.error ? a.answer.error : "bad_request",
                                           a.answer.n_replies ? a.answer.replies[0] : NULL);
        if (!json)
            abort();
        char scope[160];
        snprintf(scope, sizeof scope, "chat:%s:%s", m->channel, m->user);
        err = store_inbox_put(st, scope, mid, a.answer.status, json, NOW);
        free(json);
    }
    if (err) {
        fprintf(stderr, "message failed: %s db=%s\n", fq_strerror(err), store_errmsg(st));
        store_rollback_to(st);
        ok = false;
    }
    store_release(st);
    actions_cleanup(&a);
    fq_msg_free(m);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned ctl = data[0];
    static const char *const locales[] = {NULL, "zh-CN", "zh-TW", "en"};
    const char *locale = locales[(ctl >> 4) & 3];
    bool mqtt = ctl & 0x40;
    const char *user = (ctl & 8) ? "m-wang" : "r-1";
    if (store_begin(st))
        abort();
    for (const char *const *p = PREFIX[ctl & 7]; *p; p++)
        if (!run("r-1", *p, strlen(*p), 0, NULL, mqtt))
            abort();
    const char *s = (const char *)data + 1, *end = (const char *)data + size;
    for (int i = 0; i < MAX_MSGS && s < end; i++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end;
        int kind = 0;
        const char *t = s;
        if (t < e && (*t == 1 || *t == 2))
            kind = *t++;
        size_t len = (size_t)(e - t);
        /* what chat_parse lets through: valid UTF-8 without NUL, text non-empty, bounded */
        if (len <= 8192 && fq_utf8_valid(t, len) && (kind || len > 0))
            if (!run(user, t, len, kind, locale, mqtt))
                abort();
        s = e + 1;
    }
    store_rollback(st);
    return 0;
}
