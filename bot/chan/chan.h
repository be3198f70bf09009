/* chan.h: a channel, as the rest of the daemon sees it (docs/ARCHITECTURE.md 6.2).
 *
 * A channel is a struct of functions and flags, the way curl's vtls backends or h2o's handlers
 * are: the transports (bot/net/http.c, bot/net/mqtt.c) hand it a request and ask it to verify
 * and parse it into a struct fq_msg; the core (bot/core/core.c) and the payload builder
 * (bot/render/payload.c) ask it for what differs per channel on the core thread (the dedupe
 * scope, a step before the handlers, how an answer or a push is rendered). Nothing outside
 * bot/chan/ names a channel: adding one is a folder under bot/chan/ and one entry in the table of
 * bot/chan/chan.c. Every hook may be NULL, meaning "nothing of that kind" (or the default named
 * at the hook). */
#ifndef FQ_CHAN_H
#define FQ_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config_model.h"
#include "common/fq.h"
#include "handlers/actions.h"
#include "store/case_table.h"

/* One inbound request as the transport received it. Everything is borrowed for the duration of
 * the verify and parse calls; nothing is copied. */
struct chan_req {
    const struct fq_config *cfg;    /* the configuration in force (NULL on MQTT) */
    int64_t now;                    /* received, unix seconds */
    const char *method;             /* HTTP: "GET", "HEAD", "POST"; NULL on MQTT */
    const char *topic;              /* MQTT: the topic after "{prefix}/"; NULL on HTTP */
    const char *body;               /* len bytes, not NUL-terminated on MQTT */
    size_t len;
    bool too_big;                   /* the body went over the transport's bound (and was cut) */
    /* HTTP: a request header, or a query parameter as decoded by the server, by name; NULL when
     * absent (both NULL off HTTP) */
    const char *(*header)(const struct chan_req *q, const char *name);
    const char *(*query)(const struct chan_req *q, const char *name);
    void *conn;                     /* the transport's handle for header and query */
    void *state;                    /* the channel's own per-transport state (open), or NULL */
    void *scratch;                  /* left by verify for parse (see parse); NULL before verify */
};

/* How the transport answers a request the channel refused or answered itself. */
struct chan_res {
    int status;                     /* HTTP status */
    const char *error, *why;        /* a JSON error {"error":error,"message":why} (static), or */
    char *text;                     /* a text/plain body (owned: the transport frees it), or
                                     * neither: an empty text/plain body */
};

enum chan_parsed {
    CHAN_ANSWERED = 0,              /* nothing for the core: answer with res */
    CHAN_CORE,                      /* *out goes to the core */
};

struct fq_chan {
    const char *name;               /* "chat", ...: logs and fq_messages_in_total{channel} */
    /* Values of fq_msg.channel this channel alone serves (an answer addressed to one is rendered
     * by it), NULL-terminated; NULL: none (the front end or gateway names its channels). */
    const char *const *owns;

    /* ---- inbound, on the transport's thread ---- */
    const char *http_path;          /* the route it serves (a ROUTE line of bot/net/http.c) */
    const char *const *mqtt_topics; /* MQTT topic filters below "{prefix}/" it takes */
    size_t max_body;                /* a body up to this is taken even above server.max_body */
    /* HTTP: the answer is the core's, sent after the commit (else the transport answers res as
     * soon as the core has taken the message, 503 if it cannot) */
    bool wait_commit;
    bool rate_limited;              /* at most 30 messages a minute per (channel, user) */
    /* per-transport state for chan_req.state (keys made ready once), made at start and freed at
     * stop by the transport */
    void *(*open)(void);
    void (*close)(void *state);
    /* Checks a request before anything of it is parsed (size, signature, freshness). true: it
     * may be parsed; false: refused, *res says how to answer (the channel logs what it wants). */
    bool (*verify)(struct chan_req *q, struct chan_res *res);
    /* Turns a verified request into a message (called exactly once after a verify that said
     * true, and frees what verify left in q->scratch). CHAN_CORE: *out is new (the caller owns
     * it), with chan, ident and reach set (chan_stamp), and res holds the answer the transport
     * gives when it does not wait for the commit; CHAN_ANSWERED: answer res. */
    enum chan_parsed (*parse)(struct chan_req *q, struct fq_msg **out, struct chan_res *res);

    /* ---- on the core thread, inside the batch's transaction ---- */
    /* The dedupe scope of a message of this channel (NULL: "chat:<channel>:<user>" for chats,
     * "cmd:<mediator>" for commands) */
    void (*scope)(const struct fq_msg *m, struct fq_buf *b);
    /* Before the handlers run on m, after the dedupe check; store errors are returned */
    enum fq_err (*prepare)(struct fq_ctx *c, struct fq_msg *m);
    bool answer_pushed;             /* a chat's answer is also pushed (an FQ_ACT_OUTBOUND) */
    /* An answer for user on channel (a value this channel owns, or the channel of a message it
     * made). NULL: published on {p}/outbound/{channel}/{user} (docs/contract.md 4.1) */
    enum fq_err (*answer)(struct fq_ctx *c, const char *channel, const char *user,
                          const struct fq_answer *an);
    /* The outcome of a mediator's message m of this channel (FQ_ACT_MED_REPLY). NULL: published
     * on {p}/mediators/{id}/replies */
    enum fq_err (*reply)(struct fq_ctx *c, const struct fq_msg *m, const struct fq_action *x);
    /* A push for a mediator, whatever channel caused it (FQ_ACT_ASSIGN, FQ_ACT_NOTIFY), besides
     * what the bus publishes; k: the action's case or NULL */
    enum fq_err (*push)(struct fq_ctx *c, const struct fq_action *x, const struct fq_case *k);
};

/* The table (bot/chan/chan.c), in a fixed order; chan_count() entries. */
size_t chan_count(void);
const struct fq_chan *chan_at(size_t i);
/* The index of ch in the table, or -1. */
int chan_index(const struct fq_chan *ch);
/* The channel serving an HTTP path, or NULL. */
const struct fq_chan *chan_by_path(const char *path);
/* The channel that owns a value of fq_msg.channel, or NULL. */
const struct fq_chan *chan_by_name(const char *channel);

/* Marks m as made by ch, with what ch says the path proves. */
void chan_stamp(struct fq_msg *m, const struct fq_chan *ch, enum fq_ident ident,
                enum fq_reach reach);

/* The dedupe scope of m (see fq_chan.scope) into b. */
void chan_scope(const struct fq_msg *m, struct fq_buf *b);
/* Every channel's push for x, in table order; the first error is returned. */
enum fq_err chan_push(struct fq_ctx *c, const struct fq_action *x, const struct fq_case *k);

#endif
