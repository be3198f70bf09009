/* store.h: everything fengqiao keeps, behind typed functions. Only store/ includes sqlite3.h;
 * struct store is opaque. One connection per thread: the core thread writes, other threads
 * (CLI, readers) open their own.
 *
 * Durability: WAL, synchronous=FULL; the database file is created 0600. Migrations in
 * store/migrations/NNNN_name.sql (one file each) are compiled in and applied in order, tracked by
 * PRAGMA user_version. Every statement is prepared once per connection and cached.
 *
 * Strings returned inside structs are owned by the struct (free with the matching _cleanup);
 * strings passed in are borrowed for the duration of the call. */
#ifndef FQ_STORE_H
#define FQ_STORE_H

#include "../common/fq.h"
#include "../common/status.h"

struct store;
struct fq_roster;

/* Opens (creating if needed, mode 0600, parent directory created 0700) and migrates. On error
 * *cause (caller frees) says what failed. */
enum fq_err store_open(const char *path, struct store **out, char **cause);
/* Opens an existing database read-only without migrating (cases list, reports). */
enum fq_err store_open_readonly(const char *path, struct store **out, char **cause);
void store_close(struct store *s);                      /* NULL-safe */
int store_schema_version(struct store *s);              /* PRAGMA user_version */
int store_schema_latest(void);                          /* newest compiled-in migration */

/* Transactions. begin is BEGIN IMMEDIATE. Savepoints let the core undo one message's work
 * without losing the batch: store_savepoint / store_release / store_rollback_to. */
enum fq_err store_begin(struct store *s);
enum fq_err store_commit(struct store *s);
void store_rollback(struct store *s);
enum fq_err store_savepoint(struct store *s);
enum fq_err store_release(struct store *s);
void store_rollback_to(struct store *s);
/* Number of fsync-bearing commits so far on this connection (for metrics and benchmarks). */
uint64_t store_commits(struct store *s);
/* The last SQLite error text of this connection (borrowed), for logs. */
const char *store_errmsg(struct store *s);
/* WAL checkpoints: pages = 0 turns off the automatic checkpoint that would otherwise run inside
 * a commit of this connection (SQLite's default: every 1000 pages). */
enum fq_err store_set_autocheckpoint(struct store *s, int pages);
/* A PASSIVE checkpoint: copies what it can from the WAL into the database without waiting for
 * readers or the writer. *frames (may be NULL) is the WAL's size in frames afterwards. */
enum fq_err store_checkpoint(struct store *s, int *frames);

/* ---- inbound dedupe (chat message_id, WeCom MsgId, MQTT request_id) ------------------------ */
/* The answer stored for (scope, key): scope is e.g. "chat:web:u-1", key the message id.
 * FQ_ENOTFOUND when new. *answer: caller frees. */
enum fq_err store_inbox_get(struct store *s, const char *scope, const char *key, int *status,
                            char **answer);
enum fq_err store_inbox_put(struct store *s, const char *scope, const char *key, int status,
                            const char *answer, int64_t at);

/* ---- residents ----------------------------------------------------------------------------- */
struct fq_resident {
    char *channel, *user;
    char *name, *contact;            /* NULL when unknown */
    int locale;                      /* enum fq_locale, -1 when never chosen */
    int64_t first_seen, last_seen;
};
void resident_cleanup(struct fq_resident *r);
enum fq_err store_resident_get(struct store *s, const char *channel, const char *user,
                               struct fq_resident *out);
/* Insert or update; NULL fields leave the stored value as it is. */
enum fq_err store_resident_put(struct store *s, const struct fq_resident *r);

/* ---- conversations (docs/contract.md 6) ---------------------------------------------------- */
struct fq_convo {
    char *channel, *user;
    char state[24];                  /* idle ask_category ask_location ask_description ask_contact confirm submitted survey */
    int locale;                      /* enum fq_locale */
    char *category;                  /* category id or NULL */
    char *org_id;                    /* place: an org node id, or NULL */
    char *place_text;                /* the place as the resident wrote it, or NULL */
    char *description, *contact, *name;
    int people;                      /* people involved, 0 when unknown */
    bool danger;                     /* danger words seen */
    double latitude, longitude;
    bool has_location;
    char *last_case_no;              /* the case this conversation last created, or NULL */
    int64_t started_at, updated_at;
};
void convo_cleanup(struct fq_convo *c);
/* FQ_ENOTFOUND when the resident has no conversation row. */
enum fq_err store_convo_get(struct store *s, const char *channel, const char *user,
                            struct fq_convo *out);
enum fq_err store_convo_put(struct store *s, const struct fq_convo *c);   /* insert or replace */
/* Conversations not in idle/submitted and not updated since `before` (idle timeout sweep). */
enum fq_err store_convo_idle(struct store *s, int64_t before, size_t limit,
                             void (*cb)(const struct fq_convo *c, void *arg), void *arg);
/* Number of conversations not idle (metrics, benchmarks). */
int64_t store_convo_open_count(struct store *s);

/* ---- cases --------------------------------------------------------------------------------- */
struct fq_case {
    int64_t id;
    char case_no[24];                /* FQ<YYYYMMDD>-<NNNN> */
    char *channel, *user;            /* the resident */
    char *name, *contact;            /* the resident's, may be NULL */
    char category[24];
    int severity;                    /* enum fq_severity */
    char *place_org;                 /* the org node where it happened (may be NULL) */
    char *place_text;
    char *description;
    int people;
    char *org_id;                    /* the handling node */
    char *mediator_id;               /* NULL when unassigned */
    char status[24];                 /* assigned accepted in_progress resolved closed reopened cancelled */
    int tier;                        /* enum fq_level of the handling node */
    int attempts;                    /* failed attempts at the current tier */
    int escalations;
    char *close_reason;              /* litigation petition withdrawn other */
    char *locale;
    int64_t parent_case;             /* id of the case this one relapsed from, 0 if none */
    int64_t created_at, assigned_at, accepted_at, resolved_at, closed_at;
    int64_t due_accept, due_resolve;
    int64_t updated_at;
};
void case_cleanup(struct fq_case *c);

/* Inserts a new case: allocates c->id and c->case_no (FQ + local date of c->created_at + a
 * 4-digit sequence per day, starting at 0001). */
enum fq_err store_case_insert(struct store *s, struct fq_case *c);
/* Writes every mutable field of c (by c->id). */
enum fq_err store_case_update(struct store *s, const struct fq_case *c);
enum fq_err store_case_get(struct store *s, const char *case_no, struct fq_case *out);
enum fq_err store_case_get_id(struct store *s, int64_t id, struct fq_case *out);

struct fq_case_filter {
    const char *status;              /* NULL: any; "open" means not resolved/closed/cancelled */
    const char *org_id;              /* NULL: any; matches the handling node or place */
    const char *channel, *user;      /* NULL: any; both set: one resident's cases */
    const char *mediator_id;         /* NULL: any */
    int64_t since, until;            /* created_at bounds, 0 = unbounded */
    size_t limit;                    /* 0 = no limit */
    size_t offset;                   /* cases skipped before the first one given */
    /* keyset paging: only cases after this one in the order (older, or as old with a smaller
     * id); after_id 0 = from the newest */
    int64_t after_created_at, after_id;
};
/* Calls cb for each case, newest first (created_at, then id). cb's case is borrowed. */
enum fq_err store_case_list(struct store *s, const struct fq_case_filter *f,
                            void (*cb)(const struct fq_case *c, void *arg), void *arg);
/* Cases of one resident created at or after `since` (the repeat-report rule of
 * docs/contract.md 6.7). */
enum fq_err store_case_count_by_resident(struct store *s, const char *channel, const char *user,
                                         int64_t since, int64_t *count);
/* Open (not resolved/closed/cancelled) cases per mediator and when each was last assigned one
 * (0 if never), for load balancing. */
enum fq_err store_mediator_load(struct store *s, const char *mediator_id, int64_t *open_cases,
                                int64_t *last_assigned);

struct fq_case_event {
    int64_t id, case_id;
    char *type;                      /* created assigned ... (docs/contract.md 4.3) */
    char *actor;                     /* "resident", a mediator id, "system" */
    char *note;                      /* may be NULL */
    char *data;                      /* optional JSON text with details, may be NULL */
    int64_t at;
};
void case_event_cleanup(struct fq_case_event *e);
/* Append-only history. */
enum fq_err store_case_event_add(struct store *s, int64_t case_id, const char *type,
                                 const char *actor, const char *note, const char *data,
                                 int64_t at);
enum fq_err store_case_events(struct store *s, int64_t case_id,
                              void (*cb)(const struct fq_case_event *e, void *arg), void *arg);

/* ---- roster -------------------------------------------------------------------------------- */
/* Replaces org nodes, mediators and routes with r (already validated) in the open transaction. */
enum fq_err store_roster_replace(struct store *s, const struct fq_roster *r);
/* Loads the stored roster (empty when none was imported). Caller frees with roster_free. The
 * index fields are resolved (roster_validate is run on it). */
enum fq_err store_roster_load(struct store *s, struct fq_roster **out);

/* ---- outbox (transactional: rows are written in the same transaction as the change) -------- */
struct fq_outbox_row {
    int64_t id;                      /* delivery order */
    char *event_id;                  /* unique, stable across redelivery */
    char *channel;                   /* "mqtt" (later "wecom", ...) */
    char *topic;                     /* MQTT topic, or the API target */
    char *payload;                   /* JSON text */
    bool retain;
    char *case_no;                   /* may be NULL */
    int attempts;
    int64_t created_at, next_at;
};
void outbox_row_cleanup(struct fq_outbox_row *r);
enum fq_err store_outbox_add(struct store *s, const char *channel, const char *topic,
                             const char *payload, bool retain, const char *event_id,
                             const char *case_no, int64_t at, int64_t *id);
/* Undelivered rows of a channel with id > after_id, in id order, at most limit. */
enum fq_err store_outbox_pending(struct store *s, const char *channel, int64_t after_id,
                                 size_t limit,
                                 void (*cb)(const struct fq_outbox_row *r, void *arg), void *arg);
/* Marks rows delivered (they are deleted or kept as delivered; either way never returned by
 * store_outbox_pending again). */
enum fq_err store_outbox_done(struct store *s, const int64_t *ids, size_t n, int64_t at);
/* Records a failed attempt: attempts+1 and the next time to try. */
enum fq_err store_outbox_retry(struct store *s, int64_t id, int64_t next_at);
/* Undelivered rows and the created_at of the oldest (0 when none). */
enum fq_err store_outbox_stats(struct store *s, int64_t *depth, int64_t *oldest_at);

/* ---- timers (rows: due_at, kind, case, fired_at) ------------------------------------------- */
struct fq_timer {
    int64_t id;
    int64_t due_at;
    char kind[32];                   /* accept_remind accept_escalate resolve_overdue survey ... */
    int64_t case_id;                 /* 0 when not about a case */
    char *arg;                       /* optional text, may be NULL */
};
void timer_cleanup(struct fq_timer *t);
enum fq_err store_timer_add(struct store *s, int64_t due_at, const char *kind, int64_t case_id,
                            const char *arg, int64_t *id);
/* Unfired timers with due_at <= now, oldest first, at most limit. */
enum fq_err store_timer_due(struct store *s, int64_t now, size_t limit,
                            void (*cb)(const struct fq_timer *t, void *arg), void *arg);
/* Marks a timer fired (once: FQ_ENOTFOUND if it was fired or cancelled already). */
enum fq_err store_timer_fire(struct store *s, int64_t id, int64_t now);
/* Cancels unfired timers of a case; kind NULL = every kind. */
enum fq_err store_timer_cancel(struct store *s, int64_t case_id, const char *kind);
/* Earliest unfired due_at, FQ_ENOTFOUND when none. */
enum fq_err store_timer_next(struct store *s, int64_t *due_at);
int64_t store_timer_pending_count(struct store *s);

/* ---- key/value state (cursors, instance id) ------------------------------------------------ */
enum fq_err store_kv_get(struct store *s, const char *key, char **value);   /* caller frees */
enum fq_err store_kv_put(struct store *s, const char *key, const char *value);

/* ---- WeCom customer-service window (store/wecom.c, migration 0002) ------------------------- */
/* WeCom lets a customer-service (微信客服) account send at most 5 messages within 48 h of the
 * customer's last message (docs/wecom.md 7.6). The core records each customer message and each
 * message it queues, in the same transaction as the rest of the message's effects. */
#define WECOM_KF_WINDOW_S (48 * 3600)
#define WECOM_KF_MAX_SENT 5
/* True when a message to external_userid sent at `now` would be inside the window: the customer
 * wrote within 48 h and fewer than 5 messages were queued since. False for an unknown user or on
 * a store error. For handlers (survey fallback to the grid worker, docs/contract.md 8.1). */
bool wecom_kf_can_reach(struct store *s, const char *external_userid, int64_t now);
/* A customer message at `at`: opens a fresh window (sent count 0, block reason cleared). */
enum fq_err store_wecom_kf_inbound(struct store *s, const char *external_userid, int64_t at);
/* One message queued for the user: sent count + 1. */
enum fq_err store_wecom_kf_sent(struct store *s, const char *external_userid);
/* Records why a message was not sent (reason: "window_48h", "count_5", "unknown_user", or the
 * WeCom errcode as text). */
enum fq_err store_wecom_kf_blocked(struct store *s, const char *external_userid,
                                   const char *reason, int64_t at);
struct wecom_kf_state {
    int64_t last_in, blocked_at;
    int sent_since;
    char blocked_reason[32];         /* "" when none */
};
/* FQ_ENOTFOUND when the user never wrote. */
enum fq_err store_wecom_kf_get(struct store *s, const char *external_userid,
                               struct wecom_kf_state *out);

/* ---- surveys and reports (store/surveys.c, store/report.c; migration 0004) ------------------ */
/* One follow-up question after a resolution (docs/contract.md 8.1). Strings owned by the struct. */
struct fq_survey {
    int64_t id, case_id;
    char kind[16];                   /* satisfaction relapse */
    int64_t resolved_at;             /* the resolution it follows (one survey per resolution) */
    char via[16];                    /* chat mqtt wecom_kf task */
    char status[16];                 /* scheduled sent asked comment answered no_response cancelled */
    int answer;                      /* satisfaction 1..4, relapse 1 yes 2 no, 0 none */
    char *comment, *answered_by, *task_mediator;   /* may be NULL */
    int64_t new_case;                /* relapse: the case opened, 0 none */
    int reminded;
    int64_t created_at, sent_at, answered_at, closed_at;
};
void survey_row_cleanup(struct fq_survey *v);       /* NULL-safe */
/* Inserts v (sets v->id). FQ_EEXIST when (case, kind, resolved_at) already has a survey. */
enum fq_err store_survey_insert(struct store *s, struct fq_survey *v);
/* Writes every mutable field of v (by v->id). */
enum fq_err store_survey_update(struct store *s, const struct fq_survey *v);
enum fq_err store_survey_get(struct store *s, int64_t id, struct fq_survey *out);
/* The survey of one resolution; FQ_ENOTFOUND when none. */
enum fq_err store_survey_find(struct store *s, int64_t case_id, const char *kind,
                              int64_t resolved_at, struct fq_survey *out);
/* The oldest survey of the resident's cases waiting for the resident's answer (status sent,
 * asked or comment; not a task); FQ_ENOTFOUND when none. */
enum fq_err store_survey_open_for(struct store *s, const char *channel, const char *user,
                                  struct fq_survey *out);
/* Every survey of a case, oldest first; cb's row borrowed for the call. */
enum fq_err store_survey_list(struct store *s, int64_t case_id,
                              void (*cb)(const struct fq_survey *v, void *arg), void *arg);
/* Surveys closed (answered or no_response) in [start, end), for the reports. */
enum fq_err store_survey_closed_in(struct store *s, int64_t start, int64_t end,
                                   void (*cb)(const struct fq_survey *v, void *arg), void *arg);
/* How a resident is reached: via is "chat", "mqtt" or "wecom_kf" (at most 15 bytes). */
enum fq_err store_reach_put(struct store *s, const char *channel, const char *user,
                            const char *via, int64_t at);
/* FQ_ENOTFOUND when never recorded; via receives the kind. */
enum fq_err store_reach_get(struct store *s, const char *channel, const char *user,
                            char via[16]);

/* Report queries (store/report.c). Ids of every case that can count in [start, end): created
 * before end, and created in the period, or finished (resolved/closed) or updated at or after
 * start, or still not finished. *ids: caller frees. */
enum fq_err store_report_case_ids(struct store *s, int64_t start, int64_t end, int64_t **ids,
                                  size_t *n);
/* Ids of cases created in [start, end), oldest first (the ledger). *ids: caller frees. */
enum fq_err store_report_created_ids(struct store *s, int64_t start, int64_t end, int64_t **ids,
                                     size_t *n);
/* The note of the case's latest resolved or closed event: the agreement reached, or why the
 * mediation ended (the ledger's 调解结果/协议). *note: caller frees; NULL when there is none. */
enum fq_err store_report_outcome_note(struct store *s, int64_t case_id, char **note);

/* ---- timers, lifecycle side (store/timers_ext.c) -------------------------------------------- */
/* The timer row id, whatever its state; *state (may be NULL) is 0 pending, 1 fired, 2 cancelled.
 * FQ_ENOTFOUND when no such row. out: timer_cleanup. */
enum fq_err store_timer_get(struct store *s, int64_t id, struct fq_timer *out, int *state);
/* One case for a supervisor's digest (borrowed for the callback). */
struct fq_digest_row {
    int64_t id;
    char case_no[24];
    const char *org_id, *place_org;  /* may be NULL */
    bool is_new;                     /* created at or after since */
    bool overdue;                    /* not finished and due_resolve <= now */
    bool escalated;                  /* an "escalated" event, or a 督办 reminder, since `since` */
};
/* Cases that are new, overdue or escalated (see struct fq_digest_row), oldest first. */
enum fq_err store_digest_cases(struct store *s, int64_t since, int64_t now,
                               void (*cb)(const struct fq_digest_row *r, void *arg), void *arg);

/* ---- backup, restore and the database lock (store/backup.c) -------------------------------- */
/* A consistent online copy of s's database (one read snapshot; the daemon keeps writing) into
 * dest, a self-contained file created 0600 (written to a temporary file beside it, renamed when
 * complete, so dest is never a half copy). Refuses (FQ_EINVAL) a dest that is one of the
 * database's own files (store_backup_refuses); an existing dest is replaced only when replace
 * is true, else FQ_EEXIST. Errors: FQ_EIO/FQ_ESTORE with *cause (caller frees). */
enum fq_err store_backup_to(struct store *s, const char *dest, bool replace, char **cause);
/* FQ_EINVAL with *cause when dest is the database at db_path or its -wal, -shm, -journal or
 * .lock file: the same file (device and inode, through symbolic links) when it exists, the same
 * resolved name when it does not yet. FQ_OK otherwise. */
enum fq_err store_backup_refuses(const char *db_path, const char *dest, char **cause);
/* The copy store_open takes before migrating an existing database from from_version:
 * "<db>.bak-v<from_version>-<YYYYMMDDTHHMMSSZ>". *out_path (may be NULL): caller frees. */
enum fq_err store_backup_before_migrate(struct store *s, int from_version, char **out_path,
                                        char **cause);
/* Checks that file is a usable fengqiao backup, opened read-only with nothing of its schema
 * allowed to run: PRAGMA integrity_check is ok, user_version is between 1 and
 * store_schema_latest(), the tables of the first migration exist, and its whole schema (tables,
 * columns, indexes, triggers, views) is exactly the one this program's migrations produce for
 * that user_version. *version (may be NULL) gets its user_version. FQ_ENOTFOUND (no file),
 * FQ_EINVAL (not ours, too new, or a schema difference, named), FQ_ESTORE (corrupt); *cause
 * says which. */
enum fq_err store_backup_check(const char *file, int *version, char **cause);
/* Replaces the database at db_path with the checked backup. Refuses with FQ_EBUSY while anyone
 * holds the database lock (a running daemon, a roster import). The current database, if any,
 * is first copied to "<db>.pre-restore-<YYYYMMDDTHHMMSSZ>" (*kept_path, may be NULL: caller
 * frees; stays NULL when there was no database). */
enum fq_err store_restore(const char *backup, const char *db_path, char **kept_path,
                          char **cause);
/* The database lock: flock(2) on the database file itself (not on a file beside it, which could
 * be deleted or replaced), shared for every read-write store_open, exclusive for a restore;
 * never blocks. db_path must exist. Within a process the descriptor is shared and reference
 * counted. Returns the descriptor to pass to store_lock_release, or -1 with *cause (caller
 * frees) when someone holds it in the other mode. Release only after closing the SQLite
 * connection opened under it. */
int store_lock_take(const char *db_path, bool exclusive, char **cause);
void store_lock_release(const char *db_path, int fd);   /* fd -1: no-op */

#endif
