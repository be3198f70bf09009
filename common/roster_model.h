/* roster_model.h: the territory tree, the mediators and the category routes (docs/contract.md 5),
 * in memory. Built by bot/ (from JSON) or store/ (from the database), read by handlers/; validated
 * here, without I/O. Part of the domain model at the bottom: it uses nothing above common/. */
#ifndef FQ_ROSTER_MODEL_H
#define FQ_ROSTER_MODEL_H

#include "common/fq.h"

struct fq_org {
    char *id, *name, *parent_id;     /* parent_id NULL for a root */
    enum fq_level level;
    char **aliases;
    size_t n_aliases;
    double latitude, longitude;
    bool has_coord;
    int parent;                      /* index in roster->org, -1 for a root; set by roster_validate */
    uint16_t *probes;                /* i18n_probe of name ([0]) and aliases ([1..]), set by
                                      * classify_roster_probes; NULL: made when needed */
    char **keys;                     /* place keys of name ([0]) and aliases ([1..]), entries may
                                      * be NULL; set by classify_roster_prepare, NULL: none */
    uint16_t *key_probes;            /* i18n_probe of each key */
};

/* A gateway user who is this mediator: messages from {p}/inbound/{channel} with this user are the
 * mediator's commands. Without such a binding every gateway user is a resident. */
#define ROSTER_GATEWAY_CHANNEL_MAX 32   /* the chat body's bounds (bot/chan/chat/chat_msg.c) */
#define ROSTER_GATEWAY_USER_MAX 128
#define ROSTER_ID_MAX 256            /* org and mediator ids: one MQTT topic level each */
struct fq_gateway {
    char *channel, *user;
};

struct fq_mediator {
    char *id, *name, *role;          /* role: grid_worker village_mediator town_mediator county_mediator */
    char *org_id;
    char *wecom_userid, *chat_user;  /* NULL when absent */
    struct fq_gateway *gateways;     /* explicit MQTT gateway bindings, may be none */
    size_t n_gateways;
    char **categories;               /* "*" = all */
    size_t n_categories;
    int max_open;                    /* 0 = no limit */
    bool supervisor, active;
    int org;                         /* index in roster->org; set by roster_validate */
};

struct fq_route {
    char *category, *org_id;
    char **mediators;
    size_t n_mediators;
    int org;                         /* set by roster_validate */
};

/* One entry of a lookup index: a key (and a second key for gateway bindings, else NULL) and the
 * array index it names. An index is sorted by (a, b, idx). */
struct fq_roster_key {
    const char *a, *b;               /* borrowed from the roster's own strings */
    int idx;                         /* index in org[] or med[]; for gateways, med index */
    int sub;                         /* for gateways, the binding's index in med[idx]; else 0 */
};
struct fq_roster_index {
    struct fq_roster_key *k;
    size_t n;
};

/* Owned by whoever holds the pointer; freed with roster_free. */
struct fq_roster {
    struct fq_org *org;
    size_t n_org;
    struct fq_mediator *med;
    size_t n_med;
    struct fq_route *routes;
    size_t n_routes;
    /* Built by roster_validate (the lookups below scan linearly until then): org and mediator
     * ids, chat users, WeCom userids, gateway bindings. Freed by roster_free; a roster whose
     * arrays change after validation must be validated again. */
    struct fq_roster_index by_org_id, by_med_id, by_chat_user, by_wecom, by_gateway;
};

struct fq_roster *roster_new(void);
void roster_free(struct fq_roster *r);            /* NULL-safe */

/* Checks the whole roster and resolves the index fields. On the first problem returns
 * FQ_EINVAL and sets *problem (caller frees) to a sentence naming the field and the id, e.g.
 * "org[3] (grid-x): unknown parent \"vil-zz\"". Checks: required fields, levels, roles,
 * duplicate ids (org, mediators), unknown parent, a parent not one level above, cycles, unknown
 * org of a mediator, unknown category (categories and routes), unknown mediator in a route,
 * a gateway binding whose channel or user is empty or not a valid MQTT topic level, an org or
 * mediator id that is not a valid MQTT topic level (it becomes one: docs/contract.md 5.1), and a
 * (channel, user) bound twice. Builds the lookup indexes, so it costs O(n log n) in the roster's
 * size: a province's roster (100 000 nodes) validates in well under a second. */
enum fq_err roster_validate(struct fq_roster *r, char **problem);

int roster_org_index(const struct fq_roster *r, const char *id);            /* -1 if none */
int roster_mediator_index(const struct fq_roster *r, const char *id);       /* -1 if none */
int roster_mediator_by_chat_user(const struct fq_roster *r, const char *u); /* -1 if none */
int roster_mediator_by_wecom(const struct fq_roster *r, const char *u);     /* -1 if none */
/* The mediator a gateway binding names for (channel, user), or -1. */
int roster_mediator_by_gateway(const struct fq_roster *r, const char *channel, const char *user);
/* True when org index a is b or an ancestor of b. */
bool roster_org_is_ancestor(const struct fq_roster *r, int a, int b);
/* The ancestor (or self) of org i at the given level, or -1. */
int roster_org_at_level(const struct fq_roster *r, int i, enum fq_level level);
bool roster_mediator_handles(const struct fq_mediator *m, const char *category);

#endif
