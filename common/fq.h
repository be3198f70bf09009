/* fq.h: what every layer of fengqiao shares: the error codes, the inbound message that crosses
 * from the I/O threads to the core, a growable string buffer and small helpers.
 *
 * Nothing here includes a library header (no jansson, sqlite, curl, mosquitto, OpenSSL), so
 * handlers/ can include it without breaking the layering (see `make layering`). */
#ifndef FQ_FQ_H
#define FQ_FQ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Errors: append only, never renumber (they appear in logs and metrics). */
enum fq_err {
    FQ_OK = 0,
    FQ_ENOMEM,     /* allocation failed */
    FQ_EINVAL,     /* bad input from outside */
    FQ_ENOTFOUND,  /* no such row / key */
    FQ_ESTORE,     /* the database failed (I/O, corrupt, full, read-only) */
    FQ_EBUSY,      /* the database is locked by someone else */
    FQ_EIO,        /* a file or socket failed */
    FQ_EEXIST,     /* already there (duplicate id, repeated message) */
    FQ_ESTATE,     /* not allowed in the current state */
    FQ_EPERM,      /* not allowed for this actor */
    FQ_ECONFIG,    /* the configuration is invalid */
    FQ_ELIMIT,     /* a size or rate limit was hit */
    FQ_ESHUTDOWN,  /* the daemon is stopping */
    FQ_EPROTO,     /* the peer broke the protocol */
    FQ__ERR_COUNT
};
const char *fq_strerror(enum fq_err e);

/* Severity grades (红黄蓝); the order is the escalation order. */
enum fq_severity { FQ_SEV_BLUE = 0, FQ_SEV_YELLOW = 1, FQ_SEV_RED = 2 };
const char *fq_severity_name(enum fq_severity s);         /* "blue" ... */
int fq_severity_parse(const char *s);                     /* -1 when unknown */

/* Org levels, top down. */
enum fq_level { FQ_LEVEL_COUNTY = 0, FQ_LEVEL_TOWN = 1, FQ_LEVEL_VILLAGE = 2, FQ_LEVEL_GRID = 3 };
const char *fq_level_name(enum fq_level l);
int fq_level_parse(const char *s);                        /* -1 when unknown */

/* The fourteen categories of docs/contract.md 6.6, in menu order. */
#define FQ_N_CATEGORIES 14
extern const char *const fq_categories[FQ_N_CATEGORIES];
int fq_category_index(const char *id);                    /* -1 when unknown */

/* ---- time ---------------------------------------------------------------------------------- */
int64_t fq_now(void);          /* wall clock, unix seconds */
int64_t fq_now_ms(void);       /* wall clock, unix milliseconds */
int64_t fq_mono_ms(void);      /* monotonic milliseconds, for timeouts and latency */
/* RFC 3339 in UTC ("2026-11-22T08:01:02Z") into buf (at least 32 bytes). */
void fq_rfc3339(int64_t unix_s, char *buf, size_t size);
/* The instant ms milliseconds from now on clock (CLOCK_MONOTONIC for a condition variable set to
 * it, CLOCK_REALTIME for a default one), as pthread_cond_timedwait takes it. */
void fq_deadline(struct timespec *ts, clockid_t clock, int64_t ms);

/* ---- strings ------------------------------------------------------------------------------- */
/* A growable NUL-terminated buffer. Embedded: buf_init/buf_cleanup. On allocation failure the
 * buffer sets .oom and ignores further appends; check it once at the end. */
struct fq_buf {
    char *s;
    size_t len, cap;
    bool oom;
};
void buf_init(struct fq_buf *b);
void buf_cleanup(struct fq_buf *b);
void buf_add(struct fq_buf *b, const char *s, size_t n);
void buf_puts(struct fq_buf *b, const char *s);
void buf_printf(struct fq_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string, quotes included: '"', '\\' and control characters escaped, UTF-8
 * kept as it is, each byte that is not valid UTF-8 written as U+FFFD. NULL appends null. */
void buf_json_string(struct fq_buf *b, const char *s);
/* A JSON object written into a buffer, keys in the order written: jobj_begin, then jobj_str /
 * jobj_int / jobj_bool / jobj_time (or jobj_key and any value written into the buffer, such as
 * a nested jobj_begin), then jobj_end. Allocation failure shows in the buffer's .oom. */
struct fq_jobj {
    struct fq_buf *b;
    bool first;
};
struct fq_jobj jobj_begin(struct fq_buf *b);
void jobj_end(struct fq_jobj *o);
void jobj_key(struct fq_jobj *o, const char *key);
void jobj_str(struct fq_jobj *o, const char *key, const char *v);   /* NULL: null */
void jobj_int(struct fq_jobj *o, const char *key, long long v);
void jobj_bool(struct fq_jobj *o, const char *key, bool v);
void jobj_time(struct fq_jobj *o, const char *key, int64_t t);      /* RFC 3339; 0 or less: null */
void jobj_null(struct fq_jobj *o, const char *key);
/* A number with a fraction, as "%.17g" with ".0" added to a whole one (the form jansson reads
 * back as a real); not finite: null. */
void jobj_real(struct fq_jobj *o, const char *key, double v);
/* The members of json, the text of a JSON object written by this writer, added to o (a digest's
 * figures into its payload). Anything but "{...}": nothing added. */
void jobj_merge(struct fq_jobj *o, const char *json);
void buf_json_real(struct fq_buf *b, double v);
/* The compact JSON text json (as this writer writes it) laid out with two spaces a level, one
 * member or element a line, "key": value (for people reading a file). */
void buf_json_indent(struct fq_buf *b, const char *json);
/* A JSON array the same way: jarr_begin, jarr_item before each element written into the
 * buffer (a string with buf_json_string, an object with jobj_begin ...), then jarr_end. */
struct fq_jarr {
    struct fq_buf *b;
    bool first;
};
struct fq_jarr jarr_begin(struct fq_buf *b);
void jarr_item(struct fq_jarr *a);
void jarr_end(struct fq_jarr *a);
/* Hands the string to the caller (who frees it with free()) and resets the buffer. NULL on oom. */
char *buf_take(struct fq_buf *b);

char *fq_strdup(const char *s);                 /* NULL-safe strdup: NULL in, NULL out */
char *fq_strndup(const char *s, size_t n);
bool fq_streq(const char *a, const char *b);    /* NULL-safe */
/* True when s is valid UTF-8 of exactly n bytes with no NUL and no overlong/surrogate forms. */
bool fq_utf8_valid(const char *s, size_t n);
/* Decode one UTF-8 code point at *p (advancing it); returns -1 on invalid input. */
int32_t fq_utf8_next_mb(const char **p, const char *end);
static inline int32_t fq_utf8_next(const char **p, const char *end)
{
    if (*p < end && (unsigned char)**p < 0x80)   /* ASCII, inline: most calls */
        return (int32_t)(unsigned char)*(*p)++;
    /* three bytes (CJK and its punctuation, full-width forms) inline too: the rest of them */
    const unsigned char *s = (const unsigned char *)*p;
    if (end - *p >= 3 && (s[0] & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        int32_t c = (int32_t)((s[0] & 0x0Fu) << 12 | (s[1] & 0x3Fu) << 6 | (s[2] & 0x3Fu));
        if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {
            *p += 3;
            return c;
        }
    }
    return fq_utf8_next_mb(p, end);
}
/* Number of code points. */
size_t fq_utf8_len(const char *s);
/* Mask a phone number or name for logs and group pushes: "13812345678" -> "138****5678",
 * "王建国" -> "王**". Caller frees. */
char *fq_mask_phone(const char *phone);
char *fq_mask_name(const char *name);

/* ---- the inbound message --------------------------------------------------------------------- */
enum fq_msg_kind {
    FQ_MSG_CHAT = 0,     /* a resident's (or mediator's) chat message, from any channel */
    FQ_MSG_COMMAND,      /* a structured mediator command (a topic of their own, a card button) */
    FQ_MSG_ROSTER,       /* a roster to import (POST /api/v1/roster) */
    FQ_MSG_DELIVERED,    /* the outbox confirms delivery of some rows */
    FQ_MSG_TIMER,        /* the scheduler says timers are due */
    FQ_MSG_PRUNE,        /* the scheduler asks to remove operational rows past their keep time */
    FQ_MSG_APPLY,        /* a write of an I/O module's own rows (the workbench's sessions and
                          * audit): the core runs m->apply inside the batch's transaction */
    FQ_MSG_SUPERVISE,    /* a 督办 note for a case's mediator (bot/web/stats_api.c): case_no,
                          * note, user (who sends it), to (the sender's org node, NULL: any) */
};

/* Who vouches for the sender of a message: set by the channel adapter that made it (bot/chan/),
 * read by handlers/dispatch.c to decide whether a mediator is talking (README, "Who may speak as
 * whom"). Channel-neutral: it names what the path proves, not the path. */
enum fq_ident {
    FQ_IDENT_NONE = 0,    /* nobody: the sender is a resident (or no one: internal messages) */
    FQ_IDENT_CHAT_USER,   /* a signed front end that authenticates its users: user may be a
                           * roster chat_user */
    FQ_IDENT_MEMBER,      /* the organisation's directory signs the sender: user may be a
                           * roster wecom_userid */
    FQ_IDENT_GATEWAY,     /* a gateway vouches for its topic, not its users: a resident unless
                           * the roster's "gateways" bind (channel, user) to a mediator */
    FQ_IDENT_MEDIATOR,    /* the path belongs to one mediator: mediator is that roster id */
};

/* How the sender can be reached later without writing first (handlers/survey.c), as the adapter
 * that made the message says. */
enum fq_reach {
    FQ_REACH_REPLY = 0,   /* only in the answer to a message of theirs */
    FQ_REACH_PUSH,        /* a push at any time ({p}/outbound/{channel}/{user}) */
    FQ_REACH_WINDOW,      /* a push within a service window the channel keeps */
};

struct fq_roster;  /* common/roster_model.h */
struct fq_chan;    /* the channel adapter of a message (bot/chan/chan.h); opaque below bot/ */
struct fq_ctx;     /* the handlers' context (handlers/actions.h) */

/* One unit of work for the core thread. Every pointer is owned by the message and freed by
 * fq_msg_free(). Ownership of the whole message moves with core_push(). */
struct fq_msg {
    enum fq_msg_kind kind;
    /* The adapter that made the message (NULL: internal), and what it says about the path the
     * message came by; handlers read ident and reach, never chan. */
    const struct fq_chan *chan;
    enum fq_ident ident;
    enum fq_reach reach;
    int64_t at;                      /* received, unix seconds */

    /* FQ_MSG_CHAT (docs/contract.md 3.1 body) */
    char *channel, *user, *message_id, *type, *text, *name, *locale, *media_url, *label;
    double latitude, longitude;
    bool has_location;

    /* FQ_MSG_COMMAND (docs/contract.md 4.4): mediator, command, case_no, note, to, request_id;
     * chat-style commands arrive as FQ_MSG_CHAT and are parsed by handlers/mediator.c */
    char *mediator, *command, *case_no, *note, *to, *request_id;
    /* a WeCom card click: the single-use ResponseCode that update_template_card needs */
    char *response_code;

    /* FQ_MSG_ROSTER */
    struct fq_roster *roster;

    /* FQ_MSG_APPLY: run by the core inside its transaction, with the batch's context; an error
     * rolls the message back (503). apply_arg belongs to the message's maker, who frees it when
     * the message comes back in done(). */
    enum fq_err (*apply)(struct fq_ctx *c, struct fq_msg *m);
    void *apply_arg;

    /* FQ_MSG_DELIVERED: outbox row ids. FQ_MSG_TIMER: timer ids. FQ_MSG_PRUNE: one slot per
     * table of store/retention.h, where the core writes how many rows it removed. */
    int64_t *ids;
    size_t n_ids;
    /* FQ_MSG_TIMER with one id: the work a reader thread did for it (bot/core/reports.c: the
     * actions of a heavy timer), opaque here, freed by work_free. NULL: the core does the work. */
    void *work;
    void (*work_free)(void *work);

    /* The answer, filled by the core before done() is called: HTTP-like status and a JSON body
     * (owned by the message). */
    int status;
    char *answer;

    /* Called on the core thread after commit (or failure). The callee takes the message back
     * (and frees it or hands it on). NULL: the core frees the message itself. */
    void (*done)(struct fq_msg *m, void *arg);
    void *done_arg;

    struct fq_msg *next;             /* queue link, owned by whoever holds the message */
};

/* A message of nobody (chan NULL, FQ_IDENT_NONE, FQ_REACH_REPLY) received now. */
struct fq_msg *fq_msg_new(enum fq_msg_kind kind);
void fq_msg_free(struct fq_msg *m);  /* NULL-safe; frees the roster too */

#endif
