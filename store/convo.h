/* convo.h: residents and their conversations (store/convo.c). */
#ifndef FQ_CONVO_H
#define FQ_CONVO_H

#include "common/fq.h"
#include "common/status.h"
#include "store/stmt.h"

struct store;

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

/* Where a conversation's language came from (docs/contract.md 6.3). */
enum fq_locale_source {
    FQ_LOCSRC_HINT = 0,              /* the message's locale field, an earlier one, or zh-CN */
    FQ_LOCSRC_DETECTED = 1,          /* read from the text that started the conversation */
    FQ_LOCSRC_CHOSEN = 2,            /* a language word (English, 中文, 繁體) */
};

struct fq_convo {
    char *channel, *user;
    enum fq_convo_state state;       /* stored as its name; one this version does not know is
                                      * read as FQ_CONVO_IDLE (the conversation starts over) */
    int locale;                      /* enum fq_locale */
    int locale_source;               /* enum fq_locale_source: where locale came from */
    char *category;                  /* category id or NULL */
    char *org_id;                    /* place: an org node id, or NULL */
    char *place_text;                /* the place as the resident wrote it, or NULL */
    char *description, *contact, *name;
    int people;                      /* people involved, 0 when unknown */
    bool danger;                     /* danger words seen */
    double latitude, longitude;
    bool has_location;
    char *last_case_no;              /* the case this conversation last created, or NULL */
    char *category_offer;            /* the category ids the open category question lists,
                                      * comma-separated ("land,debt,other"); NULL: the full menu */
    bool place_menu;                 /* the place question showed its menu (ordinals refer to it) */
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

#endif
