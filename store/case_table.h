/* case_table.h: the case ledger, its history and the per-mediator load (store/case_table.c). */
#ifndef FQ_CASE_TABLE_H
#define FQ_CASE_TABLE_H

#include "common/fq.h"
#include "common/status.h"
#include "store/stmt.h"

struct store;

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
    bool has_location;               /* the resident shared a location (docs/contract.md 4.2, 6.1) */
    double latitude, longitude;      /* its coordinates when has_location */
    char *org_id;                    /* the handling node */
    char *mediator_id;               /* NULL when unassigned */
    enum fq_case_status status;      /* stored as its name; FQ_CASE__COUNT: a name this version
                                      * does not know (never written back) */
    int tier;                        /* enum fq_level of the handling node */
    int attempts;                    /* failed attempts at the current tier */
    int escalations;
    char *close_reason;              /* litigation petition withdrawn other */
    char *locale;
    int64_t parent_case;             /* id of the case this one relapsed from, 0 if none */
    char parent_case_no[24];         /* and its case number, "" if none (read with the case) */
    int64_t created_at, assigned_at, accepted_at, resolved_at, closed_at;
    int64_t due_accept, due_resolve;
    int64_t updated_at;
    int64_t paused_at;               /* while paused: since when; 0 otherwise */
    char *pause_reason;              /* party cooling_off appraisal: the last pause's */
    int64_t paused_total;            /* seconds paused in all, the current pause excluded */
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
/* The statement store_case_list runs for f's combination of filters, copied into buf (NULL when
 * it does not fit), for tests that check its query plan. */
const char *store_case_list_sql(const struct fq_case_filter *f, char *buf, size_t size);
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

#endif
