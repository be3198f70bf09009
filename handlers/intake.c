/* intake.c: the resident's side of the conversation (docs/contract.md 6). One message in, the
 * stored conversation (struct fq_convo) moves from one state to the next and the answer says what
 * to ask or confirm; a confirmed report becomes a case through case_open (handlers/cases.c).
 *
 * Design choices:
 * - The draft, not the state, decides the next question: after every message the first missing
 *   field of category, place, description, contact is asked, then the summary. So a first
 *   message that says everything goes straight to confirm, and an answer that also names a
 *   place or a phone fills those in on the way ("fill in what you can").
 * - A contact the resident declined ("skip") is stored as the empty string, so that the draft
 *   can tell "not asked yet" (NULL) from "declined" (""); case_open gets NULL for it.
 * - Commands valid in every state (status, cancel, help, language) must be the whole message
 *   (after normalisation), so a description that mentions "progress" is not a command.
 * - Idle timeout is checked lazily, when the resident writes again: a draft older than
 *   conversation.idle_timeout is dropped with a notice and the message is handled from idle.
 * - All text comes from the lexicon in the conversation's locale; everything stored goes through
 *   store/ functions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config_model.h"
#include "common/fq.h"
#include "common/localtime.h"
#include "common/roster_model.h"
#include "common/status.h"
#include "handlers/actions.h"
#include "handlers/cases.h"
#include "handlers/classify.h"
#include "handlers/danger.h"
#include "handlers/i18n.h"
#include "handlers/intake.h"
#include "handlers/intent.h"
#include "handlers/lang.h"
#include "handlers/supplement.h"
#include "handlers/survey.h"
#include "handlers/timers.h"
#include "store/case_table.h"
#include "store/convo.h"

#define MAX_PLACE_OPTIONS 20
#define STATUS_LIMIT 10

/* One message's work: the context, the message, the answer and the conversation being edited. */
struct turn {
    struct fq_ctx *c;
    const struct fq_msg *m;
    struct fq_actions *out;
    struct fq_convo cv;
    struct fq_resident res;
    bool have_res;
    int loc;
    char *norm;                      /* normalised text, "" when the message has none */
    char *raw;                       /* the text with surrounding whitespace removed */
    struct fq_classified cls;
    bool safety;                     /* this message calls for the safety question */
    bool wordless;                   /* text of emoji, symbols or punctuation only */
    enum fq_err err;                 /* a store error met where no error can be returned */
};

static void set_str(struct turn *t, char **dst, const char *v)
{
    char *s = fq_strdup(v);
    if (v && !s)
        t->out->oom = true;
    free(*dst);
    *dst = s;
}

static void reply(struct turn *t, const char *key)
{
    answer_reply(t->out, i18n_get(t->c->lex, t->loc, key));
}

static void draft_reset(struct fq_convo *cv)
{
    free(cv->category);
    free(cv->org_id);
    free(cv->place_text);
    free(cv->description);
    free(cv->contact);
    free(cv->category_offer);
    cv->category = cv->org_id = cv->place_text = cv->description = cv->contact = NULL;
    cv->category_offer = NULL;
    cv->people = 0;
    cv->place_menu = false;
    cv->danger = false;
    cv->has_location = false;
    cv->latitude = cv->longitude = 0;
}

/* ---- places -------------------------------------------------------------------------------- */
/* Villages and grids of the roster in roster order, when there are at most MAX_PLACE_OPTIONS. */
static size_t place_options(const struct fq_roster *r, int idx[MAX_PLACE_OPTIONS])
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_org; i++) {
        if (r->org[i].level != FQ_LEVEL_VILLAGE && r->org[i].level != FQ_LEVEL_GRID)
            continue;
        if (n == MAX_PLACE_OPTIONS)
            return 0;
        idx[n++] = (int)i;
    }
    return n;
}

static const char *place_example(struct turn *t)
{
    const struct fq_roster *r = t->c->roster;
    for (int level = FQ_LEVEL_GRID; level >= FQ_LEVEL_VILLAGE; level--)
        for (size_t i = 0; i < r->n_org; i++)
            if ((int)r->org[i].level == level && r->org[i].name)
                return r->org[i].name;
    return i18n_get(t->c->lex, t->loc, "place_example_default");
}

/* The nearest org node with coordinates, grids first; -1 when none has coordinates. */
static int nearest_org(const struct fq_roster *r, double lat, double lon)
{
    for (int pass = 0; pass < 2; pass++) {
        int best = -1;
        double best_d = 0;
        for (size_t i = 0; i < r->n_org; i++) {
            const struct fq_org *o = &r->org[i];
            if (!o->has_coord || (pass == 0 && o->level != FQ_LEVEL_GRID))
                continue;
            double dy = o->latitude - lat;
            double dx = (o->longitude - lon) * cos(lat * M_PI / 180.0);
            double d = dx * dx + dy * dy;
            if (best < 0 || d < best_d) {
                best = (int)i;
                best_d = d;
            }
        }
        if (best >= 0)
            return best;
    }
    return -1;
}

static void take_location(struct turn *t)
{
    const struct fq_msg *m = t->m;
    t->cv.has_location = true;
    t->cv.latitude = m->latitude;
    t->cv.longitude = m->longitude;
    int o = nearest_org(t->c->roster, m->latitude, m->longitude);
    if (o >= 0)
        set_str(t, &t->cv.org_id, t->c->roster->org[o].id);
    if (m->label && *m->label) {
        set_str(t, &t->cv.place_text, m->label);
    } else {
        char la[32], lo[32];
        snprintf(la, sizeof la, "%.5f", m->latitude);
        snprintf(lo, sizeof lo, "%.5f", m->longitude);
        char *s = i18n_format(t->c->lex, t->loc, "location_coords", "latitude", la, "longitude",
                              lo, (char *)NULL);
        if (!s)
            t->out->oom = true;
        free(t->cv.place_text);
        t->cv.place_text = s;
    }
}

static bool has_place(const struct fq_convo *cv)
{
    return cv->org_id || cv->place_text || cv->has_location;
}

/* ---- questions ----------------------------------------------------------------------------- */
static char *menu_line(struct turn *t, int n, const char *label)
{
    char num[12];
    snprintf(num, sizeof num, "%d", n);
    return i18n_format(t->c->lex, t->loc, "menu_item", "n", num, "label", label, (char *)NULL);
}

/* ---- choosing from a menu ----------------------------------------------------------------- */
#define CHOICE_MAX 16

/* The options of the question that is open: their keys as shown and their labels in every
 * language (by position), so an option can be named in any of them. */
struct choice_menu {
    size_t n;
    char keys[CHOICE_MAX][12];
    const char *labels[FQ_N_LOCALES][CHOICE_MAX];
    char *owned[FQ_N_LOCALES][CHOICE_MAX];          /* labels made for this menu, freed */
};

static void menu_add(struct choice_menu *cm, const char *key)
{
    if (cm->n < CHOICE_MAX)
        snprintf(cm->keys[cm->n++], sizeof cm->keys[0], "%s", key);
}

static void menu_cleanup(struct choice_menu *cm)
{
    for (int l = 0; l < FQ_N_LOCALES; l++)
        for (size_t i = 0; i < cm->n; i++)
            free(cm->owned[l][i]);
}

/* The menu of n options whose labels are the messages keys[i]. */
static void menu_of_keys(struct turn *t, struct choice_menu *cm, const char *const *opt_keys,
                         const char *const *msg_keys, size_t n)
{
    memset(cm, 0, sizeof *cm);
    for (size_t i = 0; i < n; i++) {
        menu_add(cm, opt_keys[i]);
        for (int l = 0; l < FQ_N_LOCALES; l++)
            cm->labels[l][i] = i18n_get(t->c->lex, l, msg_keys[i]);
    }
}

/* The ambiguous part named several options: those options again, with their numbers. */
static void ask_among(struct turn *t, const struct choice_menu *cm, const int *amb, size_t na)
{
    struct fq_buf menu;
    buf_init(&menu);
    buf_add(&menu, "", 0);
    for (size_t i = 0; i < na; i++) {
        const char *label = cm->labels[t->loc][amb[i]] ? cm->labels[t->loc][amb[i]] : "";
        answer_option(t->out, cm->keys[amb[i]], label);
        char *line = i18n_format(t->c->lex, t->loc, "menu_item", "n", cm->keys[amb[i]], "label",
                                 label, (char *)NULL);
        if (!line)
            t->out->oom = true;
        if (i)
            buf_puts(&menu, "\n");
        buf_puts(&menu, line ? line : "");
        free(line);
    }
    answer_reply_take(t->out, i18n_format(t->c->lex, t->loc, "choice_ambiguous", "text", t->raw,
                                          "menu", menu.s, (char *)NULL));
    if (menu.oom)
        t->out->oom = true;
    buf_cleanup(&menu);
}

/* The position of the option the text names otherwise than by its number (which the caller
 * reads, as keys need not be positions): an ordinal, the whole label or a part of exactly one
 * label, in the conversation's language first, then the others (docs/contract.md 6.2.1). -1
 * when none; INTENT_AMBIGUOUS when a part is in several labels: their positions in amb[0..*na)
 * (choose_quiet), or those options offered again (choose). */
static int choose_quiet(struct turn *t, const struct choice_menu *cm, int *amb, size_t *na)
{
    const struct fq_lexicon *lx = t->c->lex;
    *na = 0;
    if (t->wordless || !*t->norm || cm->n == 0)
        return -1;
    int k = intent_ordinal(lx, t->norm, cm->n);
    if (k >= 0)
        return k;
    for (int i = 0; i < FQ_N_LOCALES; i++) {
        int l = (t->loc + i) % FQ_N_LOCALES;
        k = intent_choose(lx, t->norm, cm->labels[l], cm->n, amb, na);
        if (k != -1)
            return k;
    }
    return -1;
}

static int choose(struct turn *t, const struct choice_menu *cm)
{
    int amb[CHOICE_MAX];
    size_t na = 0;
    int k = choose_quiet(t, cm, amb, &na);
    if (k == INTENT_AMBIGUOUS)
        ask_among(t, cm, amb, na);
    return k;
}

/* The categories of the open short category question (docs/contract.md 6.1), as stored in
 * cv.category_offer: their fq_categories indices in out, their number returned (0: none). */
static int offered(const struct fq_convo *cv, int out[CLASSIFY_GUESSES])
{
    int n = 0;
    for (const char *p = cv->category_offer; p && *p && n < CLASSIFY_GUESSES;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char id[32];
        if (len < sizeof id) {
            memcpy(id, p, len);
            id[len] = '\0';
            int k = fq_category_index(id);
            if (k >= 0)
                out[n++] = k;
        }
        p = e ? e + 1 : p + len;
    }
    return n;
}

/* The short category question: the likeliest categories numbered 1..n, then n+1 for the full
 * menu. */
static void ask_likely(struct turn *t, struct fq_buf *menu)
{
    const struct fq_lexicon *lx = t->c->lex;
    int k[CLASSIFY_GUESSES], n = offered(&t->cv, k);
    char key[12];
    for (int i = 0; i <= n; i++) {
        const char *label = i < n ? i18n_category(lx, t->loc, fq_categories[k[i]])
                                  : i18n_get(lx, t->loc, "category_opt_all");
        snprintf(key, sizeof key, "%d", i + 1);
        answer_option(t->out, key, label);
        char *line = menu_line(t, i + 1, label);
        if (i)
            buf_puts(menu, "\n");
        buf_puts(menu, line);
        free(line);
    }
    answer_reply_take(t->out, i18n_format(lx, t->loc, "ask_category_likely", "menu", menu->s,
                                          (char *)NULL));
}

static void supplement_question(struct turn *t, bool retry);

/* The question of state s with its options; returns s. */
static enum fq_convo_state ask(struct turn *t, enum fq_convo_state s, bool retry)
{
    const struct fq_lexicon *lx = t->c->lex;
    struct fq_actions *out = t->out;
    struct fq_buf menu;
    buf_init(&menu);
    buf_add(&menu, "", 0);
    char key[8];
    switch (s) {
    case FQ_CONVO_ASK_CATEGORY:
        if (retry)
            reply(t, "invalid_choice");
        if (t->cv.category_offer) {
            ask_likely(t, &menu);
            break;
        }
        for (int i = 0; i < FQ_N_CATEGORIES; i++) {
            const char *label = i18n_category(lx, t->loc, fq_categories[i]);
            snprintf(key, sizeof key, "%d", i + 1);
            answer_option(out, key, label);
            char *line = menu_line(t, i + 1, label);
            if (i)
                buf_puts(&menu, "\n");
            buf_puts(&menu, line);
            free(line);
        }
        answer_reply_take(out, i18n_format(lx, t->loc, "ask_category", "menu", menu.s,
                                           (char *)NULL));
        break;
    case FQ_CONVO_ASK_LOCATION: {
        answer_reply_take(out, i18n_format(lx, t->loc, retry ? "ask_location_retry" : "ask_location",
                                           "example", place_example(t), (char *)NULL));
        int idx[MAX_PLACE_OPTIONS];
        size_t n = retry ? place_options(t->c->roster, idx) : 0;
        t->cv.place_menu = n > 0;
        for (size_t i = 0; i < n; i++) {
            const char *name = t->c->roster->org[idx[i]].name;
            snprintf(key, sizeof key, "%d", (int)(i + 1) % 1000);
            answer_option(out, key, name);
            char *line = menu_line(t, (int)i + 1, name);
            if (i)
                buf_puts(&menu, "\n");
            buf_puts(&menu, line);
            free(line);
        }
        if (n)
            answer_reply_take(out, i18n_format(lx, t->loc, "ask_location_options", "menu",
                                               menu.s, (char *)NULL));
        break;
    }
    case FQ_CONVO_ASK_DESCRIPTION:
        reply(t, "ask_description");
        break;
    case FQ_CONVO_ASK_CONTACT:
        reply(t, retry ? "invalid_phone" : "ask_contact");
        break;
    case FQ_CONVO_ASK_SAFETY:
        if (retry)
            reply(t, "invalid_choice");
        reply(t, "ask_safety");
        answer_option(out, "1", i18n_get(lx, t->loc, "safety_opt_yes"));
        answer_option(out, "2", i18n_get(lx, t->loc, "safety_opt_no"));
        break;
    case FQ_CONVO_CONFIRM: {
        struct fq_convo *cv = &t->cv;
        int o = roster_org_index(t->c->roster, cv->org_id);
        const char *place = o >= 0 ? t->c->roster->org[o].name : cv->place_text;
        const char *contact = cv->contact && *cv->contact ? cv->contact
                                                          : i18n_get(lx, t->loc, "contact_none");
        if (retry)
            reply(t, "invalid_choice");
        answer_reply_take(out, i18n_format(lx, t->loc, "confirm", "category",
                                           i18n_category(lx, t->loc, cv->category), "place",
                                           place ? place : "", "description",
                                           cv->description ? cv->description : "", "contact",
                                           contact, (char *)NULL));
        answer_option(out, "1", i18n_get(lx, t->loc, "confirm_opt_submit"));
        answer_option(out, "2", i18n_get(lx, t->loc, "confirm_opt_restart"));
        answer_option(out, "0", i18n_get(lx, t->loc, "confirm_opt_cancel"));
        break;
    }
    case FQ_CONVO_ASK_SUPPLEMENT:
        supplement_question(t, retry);
        break;
    default:
        break;
    }
    if (menu.oom)
        out->oom = true;
    buf_cleanup(&menu);
    return s;
}

/* The first missing field's question (or the summary); the safety question first when this
 * message gave a moderate danger signal. */
static enum fq_convo_state ask_next(struct turn *t)
{
    const struct fq_convo *cv = &t->cv;
    if (t->safety && !cv->danger)
        return ask(t, FQ_CONVO_ASK_SAFETY, false);
    if (!cv->category)
        return ask(t, FQ_CONVO_ASK_CATEGORY, false);
    if (!has_place(cv))
        return ask(t, FQ_CONVO_ASK_LOCATION, false);
    if (!cv->description)
        return ask(t, FQ_CONVO_ASK_DESCRIPTION, false);
    if (!cv->contact)
        return ask(t, FQ_CONVO_ASK_CONTACT, false);
    return ask(t, FQ_CONVO_CONFIRM, false);
}

/* ---- filling the draft --------------------------------------------------------------------- */
static void media_description(struct turn *t)
{
    const char *key = fq_streq(t->m->type, "voice") ? "media_voice" : "media_image";
    char *s = i18n_format(t->c->lex, t->loc, key, "url", t->m->media_url, (char *)NULL);
    if (!s)
        t->out->oom = true;
    free(t->cv.description);
    t->cv.description = s;
}

/* Takes from the classified text what the draft still lacks. */
static void absorb(struct turn *t, bool description)
{
    struct fq_convo *cv = &t->cv;
    const struct fq_classified *k = &t->cls;
    if (!cv->category && k->category >= 0)
        set_str(t, &cv->category, fq_categories[k->category]);
    if (cv->category) {
        set_str(t, &cv->category_offer, NULL);
    } else if (k->n_guess > 0) {
        /* the model is not sure: the category question lists its likeliest
         * (docs/contract.md 6.1) */
        char ids[CLASSIFY_GUESSES * 24] = "";
        for (int i = 0; i < k->n_guess; i++) {
            if (i)
                strcat(ids, ",");
            strcat(ids, fq_categories[k->guess[i]]);
        }
        set_str(t, &cv->category_offer, ids);
    }
    if (!cv->org_id && k->org >= 0) {
        set_str(t, &cv->org_id, t->c->roster->org[k->org].id);
        if (!cv->place_text)
            set_str(t, &cv->place_text, t->c->roster->org[k->org].name);
    }
    if (k->phone && !(cv->contact && *cv->contact))
        set_str(t, &cv->contact, k->phone);
    if (k->people > cv->people)
        cv->people = k->people;
    if (k->danger && !cv->danger) {
        cv->danger = true;
        reply(t, "emergency_110");      /* at once, before any further question */
    }
    /* a moderate danger signal: one safety question before anything else (handlers/danger.h) */
    if (k->danger_level == DANGER_MODERATE && !cv->danger && k->substantive)
        t->safety = true;
    if (description && !cv->description && k->substantive)
        set_str(t, &cv->description, t->raw);
    if (t->m->has_location)
        take_location(t);
}

/* A category named by number (any accepted form; the number of the question that was shown),
 * by an ordinal or by (a part of) its label in any locale, among the options shown; or by its
 * whole label in any locale. -1 if none, CATEGORY_ALL for the short question's "show all",
 * CATEGORY_AMBIGUOUS when a part named several (they were listed again), or
 * CATEGORY_AMBIGUOUS_ASK when it named two or three (they are now the short question's). */
#define CATEGORY_ALL (-2)
#define CATEGORY_AMBIGUOUS (-3)
#define CATEGORY_AMBIGUOUS_ASK (-4)
static int category_answer(struct turn *t)
{
    int n = classify_choice(t->norm), k[CLASSIFY_GUESSES], nk = offered(&t->cv, k);
    if (nk > 0) {
        if (n >= 1 && n <= nk)
            return k[n - 1];
        if (n == nk + 1)
            return CATEGORY_ALL;
    } else if (n >= 1 && n <= FQ_N_CATEGORIES) {
        return n - 1;
    }
    struct choice_menu cm;
    memset(&cm, 0, sizeof cm);
    int total = nk > 0 ? nk + 1 : FQ_N_CATEGORIES;
    for (int i = 0; i < total; i++) {
        char key[12];
        snprintf(key, sizeof key, "%d", i + 1);
        menu_add(&cm, key);
        for (int l = 0; l < FQ_N_LOCALES; l++)
            cm.labels[l][i] = nk > 0 && i == nk ? i18n_get(t->c->lex, l, "category_opt_all")
                                                : i18n_category(t->c->lex, l,
                                                                fq_categories[nk > 0 ? k[i] : i]);
    }
    int amb[CHOICE_MAX];
    size_t na = 0;
    int pos = choose_quiet(t, &cm, amb, &na);
    if (pos == INTENT_AMBIGUOUS) {
        /* a few categories: asked as the short question of those; more: listed as numbered */
        char ids[CLASSIFY_GUESSES * 24] = "";
        bool few = na <= CLASSIFY_GUESSES;
        for (size_t i = 0; few && i < na; i++) {
            if (nk > 0 && amb[i] == nk) {
                few = false;                    /* the "show all" entry is no category */
                break;
            }
            if (i)
                strcat(ids, ",");
            strcat(ids, fq_categories[nk > 0 ? k[amb[i]] : amb[i]]);
        }
        if (few)
            set_str(t, &t->cv.category_offer, ids);
        else
            ask_among(t, &cm, amb, na);
        return few ? CATEGORY_AMBIGUOUS_ASK : CATEGORY_AMBIGUOUS;
    }
    if (pos >= 0)
        return nk > 0 ? (pos == nk ? CATEGORY_ALL : k[pos]) : pos;
    for (int l = 0; l < FQ_N_LOCALES; l++)
        for (int i = 0; i < FQ_N_CATEGORIES; i++)
            if (*t->norm && strcasecmp(t->norm, i18n_category(t->c->lex, l, fq_categories[i])) == 0)
                return i;
    return -1;
}

/* ---- commands valid in every state --------------------------------------------------------- */
static bool is_kw(struct turn *t, enum fq_kw kw)
{
    const struct fq_wordlist *wl = &t->c->lex->kw[kw];
    return (*t->norm && wordlist_has(wl, t->norm)) || (*t->raw && wordlist_has(wl, t->raw));
}

struct status_ctx {
    struct turn *t;
    struct fq_buf b;
    size_t n;
};

static void status_line(const struct fq_case *k, void *arg)
{
    struct status_ctx *s = arg;
    const struct fq_lexicon *lx = s->t->c->lex;
    int loc = s->t->loc;
    char date[16];
    fq_local_format(k->created_at, FQ_LOCAL_DATE, date, sizeof date);
    char *line = i18n_format(lx, loc, "status_line", "case", k->case_no, "category",
                             i18n_category(lx, loc, k->category), "status",
                             i18n_status(lx, loc, fq_case_status_name(k->status)), "date", date,
                             (char *)NULL);
    if (!line) {
        s->b.oom = true;
        return;
    }
    buf_puts(&s->b, "\n");
    buf_puts(&s->b, line);
    free(line);
    s->n++;
}

static enum fq_err do_status(struct turn *t)
{
    struct status_ctx s = {.t = t};
    buf_init(&s.b);
    buf_puts(&s.b, i18n_get(t->c->lex, t->loc, "status_header"));
    struct fq_case_filter f = {.channel = t->cv.channel, .user = t->cv.user, .limit = STATUS_LIMIT};
    enum fq_err err = store_case_list(t->c->store, &f, status_line, &s);
    if (!err) {
        if (s.n == 0)
            reply(t, "status_none");
        else
            answer_reply_take(t->out, buf_take(&s.b));
    }
    buf_cleanup(&s.b);
    return err;
}

/* A status question in natural words (handlers/intent.h); at the start of a report only when
 * the text names no category or place, so "a leak, is anyone on it?" still opens a report. */
static bool status_question(struct turn *t, enum fq_convo_state s)
{
    if (!intent_status(t->c->lex, t->norm))
        return false;
    bool cat = classify_category_specific(t->cls.category);
    if (s == FQ_CONVO_ASK_DESCRIPTION)
        return !t->cls.substantive || !cat;
    return !cat && t->cls.org < 0 && !t->cls.danger;
}

/* The answer to a yes/no question: 1 yes, 2 no, -1 neither, INTENT_AMBIGUOUS (asked again);
 * by the option's label (yes_label, no_label, whole or in part), an ordinal, or in natural
 * words (handlers/intent.h). */
static int yes_no(struct turn *t, const char *yes_label, const char *no_label)
{
    /* a natural yes or no first: 不是 is a part of neither label, 是 of the yes label */
    switch (intent_yes_no(t->c->lex, t->norm)) {
    case INTENT_YES:
        return 1;
    case INTENT_NO:
        return 2;
    default:
        break;
    }
    struct choice_menu cm;
    const char *const keys[2] = {"1", "2"}, *const msgs[2] = {yes_label, no_label};
    menu_of_keys(t, &cm, keys, msgs, 2);
    int k = choose(t, &cm);
    menu_cleanup(&cm);
    if (k >= 0)
        return k + 1;
    return k == INTENT_AMBIGUOUS ? k : -1;
}

/* Handles status, cancel, help and language words; *handled false when the text is none. */
static enum fq_err commands(struct turn *t, enum fq_convo_state *s, bool *handled)
{
    *handled = true;
    if (is_kw(t, FQ_KW_STATUS) || status_question(t, *s)) {
        enum fq_err err = do_status(t);
        if (err)
            return err;
    } else if (is_kw(t, FQ_KW_CANCEL)) {
        if (fq_convo_state_drafting(*s)) {
            draft_reset(&t->cv);
            reply(t, "cancelled");
            *s = FQ_CONVO_IDLE;
        } else {
            reply(t, "nothing_to_cancel");
        }
        return FQ_OK;
    } else if (is_kw(t, FQ_KW_HELP)) {
        reply(t, "help");
    } else {
        int to = is_kw(t, FQ_KW_LANG_EN) ? FQ_LOC_EN
                 : is_kw(t, FQ_KW_LANG_ZH_TW) ? FQ_LOC_ZH_TW
                 : is_kw(t, FQ_KW_LANG_ZH_CN) ? FQ_LOC_ZH_CN : -1;
        if (to < 0) {
            *handled = false;
            return FQ_OK;
        }
        t->loc = t->cv.locale = to;
        t->cv.locale_source = FQ_LOCSRC_CHOSEN;
        reply(t, "lang_switched");
    }
    if (fq_convo_state_drafting(*s))
        ask(t, *s, false);              /* back to the question that was open */
    return FQ_OK;
}

/* ---- states -------------------------------------------------------------------------------- */
/* A message that starts a report (idle, submitted, or after a timeout or restart). */
static enum fq_convo_state start_report(struct turn *t)
{
    draft_reset(&t->cv);
    t->cv.started_at = t->c->now;
    absorb(t, true);
    if (!t->cv.description && t->m->media_url)
        media_description(t);
    bool understood = t->cv.category || has_place(&t->cv) || t->cv.description;
    if (!t->cv.contact && t->have_res && t->res.contact && *t->res.contact)
        set_str(t, &t->cv.contact, t->res.contact);
    if (!understood)
        reply(t, "greeting");
    return ask_next(t);
}

/* ---- after the receipt: a message about an open case (docs/contract.md 6.8) ---------------- */
/* "Is this about your case ... or a new matter?": the resident's open cases by number, then a
 * new report; the message in question is kept in the draft's description meanwhile. */
static void supplement_question(struct turn *t, bool retry)
{
    const struct fq_lexicon *lx = t->c->lex;
    struct sp_open open[SUPPLEMENT_MAX_OPEN];
    size_t n = 0;
    enum fq_err err = supplement_open_cases(t->c, t->cv.channel, t->cv.user, open, &n);
    if (err) {
        t->err = err;
        return;
    }
    if (retry)
        reply(t, "invalid_choice");
    char key[8];
    struct fq_buf menu;
    buf_init(&menu);
    buf_add(&menu, "", 0);
    /* the options, then the same labels as the question's menu; one case is "that case" */
    for (size_t i = 0; i <= n; i++) {
        const char *cat = i < n && open[i].category >= 0
                              ? i18n_category(lx, t->loc, fq_categories[open[i].category])
                              : "";
        char *label = i == n   ? fq_strdup(i18n_get(lx, t->loc, "supplement_opt_new"))
                      : n == 1 ? fq_strdup(i18n_get(lx, t->loc, "supplement_opt_this"))
                               : i18n_format(lx, t->loc, "supplement_opt_case", "case",
                                             open[i].case_no, "category", cat, (char *)NULL);
        char *line = label ? menu_line(t, (int)i + 1, label) : NULL;
        if (!line)
            t->out->oom = true;
        snprintf(key, sizeof key, "%d", (int)i + 1);
        answer_option(t->out, key, label ? label : "");
        if (i)
            buf_puts(&menu, "\n");
        buf_puts(&menu, line ? line : "");
        free(label);
        free(line);
    }
    const char *cat0 = n == 1 && open[0].category >= 0
                           ? i18n_category(lx, t->loc, fq_categories[open[0].category])
                           : "";
    if (n == 1)
        answer_reply_take(t->out, i18n_format(lx, t->loc, "ask_supplement", "case",
                                              open[0].case_no, "category", cat0, "menu", menu.s,
                                              (char *)NULL));
    else
        answer_reply_take(t->out, i18n_format(lx, t->loc, "ask_supplement_many", "menu", menu.s,
                                              (char *)NULL));
    if (menu.oom)
        t->out->oom = true;
    buf_cleanup(&menu);
}

/* The message read again as if it were text: the pending message of the question. Takes text. */
static void reread(struct turn *t, char *text)
{
    classify_cleanup(&t->cls);
    free(t->norm);
    free(t->raw);
    t->raw = text ? text : strdup("");
    t->norm = classify_normalize(text ? text : "");
    if (!t->raw || !t->norm) {
        t->out->oom = true;
        memset(&t->cls, 0, sizeof t->cls);
        t->cls.category = t->cls.org = -1;
        return;
    }
    classify_text_screened(t->c->lex, t->c->roster, t->c->danger, t->norm, &t->cls);
}

/* The same, read by the category model as a first message is (a corrected category). */
static void reread_model(struct turn *t, char *text)
{
    classify_cleanup(&t->cls);
    free(t->norm);
    free(t->raw);
    t->raw = text;
    t->norm = classify_normalize(text);
    t->wordless = false;
    if (!t->norm) {
        t->out->oom = true;
        memset(&t->cls, 0, sizeof t->cls);
        t->cls.category = t->cls.org = -1;
        return;
    }
    classify_text_model(t->c->lex, t->c->roster, t->c->danger, t->c->catm, t->norm, &t->cls);
}

/* A message in idle or submitted: a supplement to an open case, the question, or a report. */
static enum fq_err after_receipt(struct turn *t, enum fq_convo_state *s)
{
    struct sp_open open[SUPPLEMENT_MAX_OPEN];
    size_t n = 0;
    enum fq_err err = supplement_open_cases(t->c, t->cv.channel, t->cv.user, open, &n);
    if (err)
        return err;
    int which = -1;
    enum sp_verdict v =
        supplement_decide(t->c->lex, t->c->roster, t->norm, &t->cls, open, n, t->c->now, &which);
    switch (v) {
    case SP_SUPPLEMENT:
        if ((err = supplement_record(t->c, open[which].case_no, t->raw, t->loc, t->out)))
            return err;
        *s = FQ_CONVO_SUBMITTED;
        return FQ_OK;
    case SP_ASK:
        draft_reset(&t->cv);
        t->cv.started_at = t->c->now;
        set_str(t, &t->cv.description, t->raw);
        *s = ask(t, FQ_CONVO_ASK_SUPPLEMENT, false);
        return t->err;
    default:
        *s = start_report(t);
        return FQ_OK;
    }
}

/* The options of the question in every language, as supplement_question labels them. */
static void supplement_menu(struct turn *t, const struct sp_open *open, size_t n,
                            struct choice_menu *cm)
{
    const struct fq_lexicon *lx = t->c->lex;
    memset(cm, 0, sizeof *cm);
    for (size_t i = 0; i <= n && i < CHOICE_MAX; i++) {
        char key[12];
        snprintf(key, sizeof key, "%d", (int)i + 1);
        menu_add(cm, key);
        for (int l = 0; l < FQ_N_LOCALES; l++) {
            if (i == n) {
                cm->labels[l][i] = i18n_get(lx, l, "supplement_opt_new");
            } else if (n == 1) {
                cm->labels[l][i] = i18n_get(lx, l, "supplement_opt_this");
            } else {
                const char *cat = open[i].category >= 0
                                      ? i18n_category(lx, l, fq_categories[open[i].category])
                                      : "";
                cm->owned[l][i] = i18n_format(lx, l, "supplement_opt_case", "case",
                                              open[i].case_no, "category", cat, (char *)NULL);
                if (!cm->owned[l][i])
                    t->out->oom = true;
                cm->labels[l][i] = cm->owned[l][i];
            }
        }
    }
}

/* The answer to the question: a case by number (a yes word: the only one), or a new report
 * (its number, or a no word with one case) from the kept message; else the question again. */
static enum fq_err on_supplement(struct turn *t, enum fq_convo_state *s)
{
    struct sp_open open[SUPPLEMENT_MAX_OPEN];
    size_t n = 0;
    enum fq_err err = supplement_open_cases(t->c, t->cv.channel, t->cv.user, open, &n);
    if (err)
        return err;
    int k = classify_choice(t->norm);
    if (k < 0 && n == 1 && is_kw(t, FQ_KW_YES))
        k = 1;
    else if (k < 0 && n == 1 && is_kw(t, FQ_KW_NO))
        k = 2;
    if (k < 0) {   /* an ordinal, or (a part of) an option's label */
        struct choice_menu cm;
        supplement_menu(t, open, n, &cm);
        int pos = choose(t, &cm);
        menu_cleanup(&cm);
        if (pos == INTENT_AMBIGUOUS) {
            *s = FQ_CONVO_ASK_SUPPLEMENT;
            return FQ_OK;
        }
        k = pos >= 0 ? pos + 1 : -1;
    }
    if (k >= 1 && (size_t)k <= n) {
        err = supplement_record(t->c, open[k - 1].case_no, t->cv.description, t->loc, t->out);
        if (err == FQ_ENOTFOUND) {   /* finished meanwhile: ask again with what is open now */
            *s = ask(t, FQ_CONVO_ASK_SUPPLEMENT, true);
            return t->err;
        }
        if (err)
            return err;
        draft_reset(&t->cv);
        *s = FQ_CONVO_SUBMITTED;
        return FQ_OK;
    }
    if (n == 0 || (size_t)k == n + 1) {
        char *pending = t->cv.description;
        t->cv.description = NULL;
        reread(t, pending);
        *s = start_report(t);
        return FQ_OK;
    }
    *s = ask(t, FQ_CONVO_ASK_SUPPLEMENT, true);
    return t->err;
}

static enum fq_err submit(struct turn *t, enum fq_convo_state *s)
{
    struct fq_convo *cv = &t->cv;
    struct fq_report r = {
        .channel = cv->channel, .user = cv->user, .name = cv->name,
        .contact = cv->contact && *cv->contact ? cv->contact : NULL,
        .locale = fq_locale_name((enum fq_locale)t->loc), .category = cv->category,
        .org_id = cv->org_id, .place_text = cv->place_text, .description = cv->description,
        .people = cv->people, .danger = cv->danger, .has_location = cv->has_location,
        .latitude = cv->latitude, .longitude = cv->longitude,
    };
    struct fq_case k;
    memset(&k, 0, sizeof k);
    enum fq_err err = case_open(t->c, &r, t->out, &k);
    if (!err)
        err = survey_note_reach(t->c, t->m);   /* how to reach them for the 回访 */
    if (!err) {
        set_str(t, &cv->last_case_no, k.case_no);
        answer_set_case(t->out, k.case_no);
        draft_reset(cv);
        *s = FQ_CONVO_SUBMITTED;
    }
    case_cleanup(&k);
    return err;
}

/* The summary's answer: a number, an ordinal, an option's label (or a part of one), or
 * agreement (submit) / refusal (ask what is wrong, the summary stays open); 'a' when a part
 * named several options (offered again). */
static int confirm_choice(struct turn *t)
{
    int n = classify_choice(t->norm);
    if (n >= 0)
        return n;
    struct choice_menu cm;
    const char *const keys[3] = {"1", "2", "0"},
                      *const msgs[3] = {"confirm_opt_submit", "confirm_opt_restart",
                                        "confirm_opt_cancel"};
    menu_of_keys(t, &cm, keys, msgs, 3);
    int k = choose(t, &cm);
    menu_cleanup(&cm);
    if (k == INTENT_AMBIGUOUS)
        return 'a';
    if (k >= 0)
        return k == 2 ? 0 : k + 1;
    switch (intent_yes_no(t->c->lex, t->norm)) {
    case INTENT_YES:
        return 1;
    case INTENT_NO:
        return 'n';
    default:
        return -1;
    }
}

static enum fq_convo_state on_answer(struct turn *t, enum fq_convo_state s);
static void reread_model(struct turn *t, char *text);

/* A correction at the summary (docs/contract.md 6.2.3): the field it names is cleared and its
 * new value read as the answer to that field's question would be (so validated the same way:
 * a wrong phone number asks for the phone again), then the summary shown again; a field named
 * without a value asks its question. A message that names no field but is only a phone number
 * or only a place corrects that field too. False when the message is no correction. */
static bool correct(struct turn *t, enum fq_convo_state *s)
{
    struct fq_convo *cv = &t->cv;
    const char *value = "";
    enum fq_field f = t->wordless ? FQ_FIELD_NONE : intent_correction(t->c->lex, t->norm, &value);
    if (f == FQ_FIELD_NONE && !t->cls.substantive && t->cls.category < 0) {
        if (t->cls.phone)
            f = FQ_FIELD_CONTACT;
        else if (t->cls.org >= 0)
            f = FQ_FIELD_PLACE;
        value = t->norm;
    }
    enum fq_convo_state q;
    switch (f) {
    case FQ_FIELD_CATEGORY:
        set_str(t, &cv->category, NULL);
        set_str(t, &cv->category_offer, NULL);
        q = FQ_CONVO_ASK_CATEGORY;
        break;
    case FQ_FIELD_PLACE:
        set_str(t, &cv->org_id, NULL);
        set_str(t, &cv->place_text, NULL);
        cv->has_location = false;
        cv->latitude = cv->longitude = 0;
        q = FQ_CONVO_ASK_LOCATION;
        break;
    case FQ_FIELD_DESCRIPTION: {
        /* the account as written (the normalised text folds its full-width punctuation) */
        const char *rv = "";
        if (intent_correction(t->c->lex, t->raw, &rv) == FQ_FIELD_DESCRIPTION)
            value = rv;
        set_str(t, &cv->description, NULL);
        q = FQ_CONVO_ASK_DESCRIPTION;
        break;
    }
    case FQ_FIELD_CONTACT:
        set_str(t, &cv->contact, NULL);
        q = FQ_CONVO_ASK_CONTACT;
        break;
    default:
        return false;
    }
    char *v = fq_strdup(value);
    if (!v) {
        t->out->oom = true;
        *s = FQ_CONVO_CONFIRM;
        return true;
    }
    reread_model(t, v);
    *s = *t->norm ? on_answer(t, q) : ask(t, q, false);
    return true;
}

static enum fq_err on_confirm(struct turn *t, enum fq_convo_state *s)
{
    switch (confirm_choice(t)) {
    case 'a':
        *s = FQ_CONVO_CONFIRM;
        return FQ_OK;
    case 'n':
        reply(t, "confirm_refused");
        *s = FQ_CONVO_CONFIRM;
        return FQ_OK;
    case 1:
        return submit(t, s);
    case 2:
        draft_reset(&t->cv);
        reply(t, "restarted");
        if (t->have_res && t->res.contact && *t->res.contact)
            set_str(t, &t->cv.contact, t->res.contact);
        *s = ask_next(t);
        return FQ_OK;
    case 0:
        draft_reset(&t->cv);
        reply(t, "cancelled");
        *s = FQ_CONVO_IDLE;
        return FQ_OK;
    default:
        if (!correct(t, s))
            *s = ask(t, FQ_CONVO_CONFIRM, true);
        return FQ_OK;
    }
}

/* The answer to the safety question: yes (or 1) makes the report red with the 110 advice, no
 * (or 2) goes on with the report; a message that is neither is read as more of the report
 * (it may say the danger itself) and the question asked again. */
static enum fq_convo_state on_safety(struct turn *t)
{
    int n = classify_choice(t->norm);
    if (n < 0)
        n = yes_no(t, "safety_opt_yes", "safety_opt_no");
    if (n == INTENT_AMBIGUOUS && !t->cls.danger)
        return FQ_CONVO_ASK_SAFETY;             /* the options it may mean were offered */
    t->safety = false;
    if (n == 1 || is_kw(t, FQ_KW_YES) || t->cls.danger) {
        if (!t->cv.danger) {
            t->cv.danger = true;
            reply(t, "emergency_110");
        }
        absorb(t, false);
        return ask_next(t);
    }
    if (n == 2 || is_kw(t, FQ_KW_NO))
        return ask_next(t);
    absorb(t, false);
    t->safety = true;
    return ask(t, FQ_CONVO_ASK_SAFETY, true);
}

/* An answer to the open question s. */
static enum fq_convo_state on_answer(struct turn *t, enum fq_convo_state s)
{
    struct fq_convo *cv = &t->cv;
    const struct fq_roster *r = t->c->roster;
    bool answered = false;
    switch (s) {
    case FQ_CONVO_ASK_CATEGORY: {
        int k = category_answer(t);
        if (k == CATEGORY_AMBIGUOUS)
            return s;                           /* the categories it may mean were listed */
        if (k == CATEGORY_AMBIGUOUS_ASK) {
            answer_reply_take(t->out, i18n_format(t->c->lex, t->loc, "choice_ambiguous_short",
                                                  "text", t->raw, (char *)NULL));
            return ask(t, s, false);            /* the short question of those */
        }
        if (k == CATEGORY_ALL) {
            set_str(t, &cv->category_offer, NULL);
            return ask(t, s, false);            /* the full menu */
        }
        if (k >= 0 && !cv->category)
            set_str(t, &cv->category, fq_categories[k]);
        /* a choice (the third one, 劳动争议) is no description; other facts still count */
        absorb(t, k < 0);
        answered = cv->category != NULL;
        break;
    }
    case FQ_CONVO_ASK_LOCATION: {
        int idx[MAX_PLACE_OPTIONS];
        size_t n = place_options(r, idx);
        int k = classify_choice(t->norm);
        bool chosen = false;
        if (k < 0 && n > 0) {
            /* 第二个 of the menu shown; without the menu an ordinal chooses nothing, and is no
             * description either */
            int pos = intent_ordinal(t->c->lex, t->norm, n);
            k = pos >= 0 && cv->place_menu ? pos + 1 : -1;
            chosen = pos >= 0;
        }
        if (!t->m->has_location && k >= 1 && (size_t)k <= n) {
            set_str(t, &cv->org_id, r->org[idx[k - 1]].id);
            set_str(t, &cv->place_text, r->org[idx[k - 1]].name);
        } else if (!t->m->has_location && t->cls.org >= 0) {
            /* the words as written when they are only a place, else the node's name */
            set_str(t, &cv->org_id, r->org[t->cls.org].id);
            set_str(t, &cv->place_text, t->cls.substantive ? r->org[t->cls.org].name : t->raw);
        } else if (!t->m->has_location && r->n_org == 0 && *t->norm && k < 0) {
            set_str(t, &cv->place_text, t->raw);   /* no roster: take the words as written */
        }
        absorb(t, !chosen);
        answered = has_place(cv);
        break;
    }
    case FQ_CONVO_ASK_DESCRIPTION:
        absorb(t, false);
        if (!cv->description) {
            if (*t->norm)
                set_str(t, &cv->description, t->raw);
            else if (t->m->media_url)
                media_description(t);
        }
        answered = cv->description != NULL;
        break;
    case FQ_CONVO_ASK_CONTACT:
        absorb(t, false);
        if (!cv->contact && is_kw(t, FQ_KW_SKIP))
            set_str(t, &cv->contact, "");
        answered = cv->contact != NULL;
        break;
    default:
        break;
    }
    return answered ? ask_next(t) : ask(t, s, true);
}

/* ---- language ------------------------------------------------------------------------------ */
/* The message that starts a conversation sets its language when its text is plainly in one
 * (handlers/lang.h): Traditional characters, English, or Chinese of six or more characters
 * without a Traditional one; Chinese too short to tell the script by only replaces English
 * (as Simplified) and otherwise leaves the language as it was.
 * A language the resident chose wins; a language word is that choice, not text to read. A
 * switch says so in the new language and how to switch back in the old one. */
static void detect_language(struct turn *t)
{
    if (t->cv.locale_source == FQ_LOCSRC_CHOSEN || !*t->norm || t->wordless ||
        is_kw(t, FQ_KW_LANG_EN) || is_kw(t, FQ_KW_LANG_ZH_TW) || is_kw(t, FQ_KW_LANG_ZH_CN))
        return;
    int to;
    switch (lang_detect(classify_model_normaliser(t->c->catm), t->norm)) {
    case LANG_EN:
        to = FQ_LOC_EN;
        break;
    case LANG_ZH_TW:
        to = FQ_LOC_ZH_TW;
        break;
    case LANG_ZH_CN:
        to = FQ_LOC_ZH_CN;
        break;
    case LANG_ZH:   /* Chinese, either script: only not English */
        if (t->loc != FQ_LOC_EN)
            return;
        to = FQ_LOC_ZH_CN;
        break;
    default:
        return;
    }
    int from = t->loc;
    t->cv.locale_source = FQ_LOCSRC_DETECTED;
    if (to == from)
        return;
    t->loc = t->cv.locale = to;
    char *line = i18n_format(t->c->lex, to, "lang_detected", (char *)NULL);
    const char *back = i18n_get(t->c->lex, from, "lang_switch_back");
    struct fq_buf b;
    buf_init(&b);
    buf_puts(&b, line ? line : "");
    buf_puts(&b, "\n");
    buf_puts(&b, back);
    free(line);
    if (!line || b.oom)
        t->out->oom = true;
    answer_reply_take(t->out, buf_take(&b));
    buf_cleanup(&b);
}

/* ---- the entry point ----------------------------------------------------------------------- */
static char *trim_space(const char *s)
{
    if (!s)
        return strdup("");
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return strndup(s, n);
}

enum fq_err intake_on_message(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out)
{
    struct turn t = {.c = c, .m = m, .out = out};
    enum fq_err err = store_convo_get(c->store, m->channel, m->user, &t.cv);
    bool fresh = err == FQ_ENOTFOUND;
    if (fresh) {
        memset(&t.cv, 0, sizeof t.cv);
        t.cv.channel = fq_strdup(m->channel);
        t.cv.user = fq_strdup(m->user);
        t.cv.state = FQ_CONVO_IDLE;
        t.cv.locale = -1;
        t.cv.started_at = c->now;
        if (!t.cv.channel || !t.cv.user) {
            err = FQ_ENOMEM;
            goto out;
        }
    } else if (err) {
        return err;
    }
    err = store_resident_get(c->store, m->channel, m->user, &t.res);
    if (err == FQ_ENOTFOUND) {
        memset(&t.res, 0, sizeof t.res);
        t.res.locale = -1;
    } else if (err) {
        goto out;
    } else {
        t.have_res = true;
    }

    /* the language (docs/contract.md 6.3): one the resident chose, or one read from the text
     * that started the conversation, is kept; else the message's, the conversation's, the
     * resident's, zh-CN */
    bool valid = t.cv.locale >= 0 && t.cv.locale < FQ_N_LOCALES;
    int loc = valid && t.cv.locale_source != FQ_LOCSRC_HINT ? t.cv.locale : -1;
    if (loc < 0) {
        t.cv.locale_source = FQ_LOCSRC_HINT;
        loc = fq_locale_parse(m->locale);
    }
    if (loc < 0)
        loc = valid ? t.cv.locale : -1;
    if (loc < 0 || loc >= FQ_N_LOCALES)
        loc = t.res.locale;
    if (loc < 0 || loc >= FQ_N_LOCALES)
        loc = FQ_LOC_ZH_CN;
    t.loc = t.cv.locale = loc;
    if (m->name && *m->name)
        set_str(&t, &t.cv.name, m->name);

    /* a stored state this version does not know is read as idle (store/convo.h) */
    enum fq_convo_state s = t.cv.state;
    int64_t idle = c->cfg ? c->cfg->conversation_idle_timeout : 0;
    if (fq_convo_state_drafting(s) && idle > 0 && c->now - t.cv.updated_at > idle) {
        draft_reset(&t.cv);
        reply(&t, "idle_dropped");
        s = FQ_CONVO_IDLE;
    }

    t.norm = classify_normalize(m->text ? m->text : "");
    t.raw = trim_space(m->text);
    if (!t.norm || !t.raw) {
        err = FQ_ENOMEM;
        goto out;
    }
    t.wordless = *t.raw && !lang_has_words(t.raw);
    if (s == FQ_CONVO_IDLE || s == FQ_CONVO_SUBMITTED)
        detect_language(&t);
    classify_text_model(c->lex, c->roster, c->danger, c->catm, t.norm, &t.cls);
    if (t.wordless) {   /* emoji, a sticker's symbols, punctuation: never a fact of the report */
        classify_cleanup(&t.cls);
        memset(&t.cls, 0, sizeof t.cls);
        t.cls.category = t.cls.org = -1;
    }
    /* danger words raise only the case the message is added to (supplement_record); a new
     * matter is graded as its own case */

    bool handled = false;
    if ((err = commands(&t, &s, &handled)) || (err = t.err))
        goto out;
    if (!handled && t.wordless && !m->media_url && !m->has_location && s != FQ_CONVO_SURVEY) {
        reply(&t, "wordless_reask");        /* gently: the open question again, or a start */
        if (fq_convo_state_drafting(s)) {
            ask(&t, s, false);
            handled = true;
        } else {
            s = start_report(&t);
            handled = true;
        }
        if ((err = t.err))
            goto out;
    }
    if (!handled) {
        switch (s) {
        case FQ_CONVO_SURVEY: {
            /* the follow-up of docs/contract.md 8.1 (handlers/survey.c) takes the message; a
             * message that is not for the survey comes back (state idle, no reply added) as a new
             * report */
            size_t before = out->answer.n_replies;
            if ((err = survey_on_message(c, m, &t.cv, out)))
                goto out;
            s = t.cv.state;
            if (s == FQ_CONVO_IDLE && out->answer.n_replies == before)
                s = start_report(&t);
            break;
        }
        case FQ_CONVO_IDLE:
        case FQ_CONVO_SUBMITTED:
            if ((err = after_receipt(&t, &s)))
                goto out;
            break;
        case FQ_CONVO_ASK_SUPPLEMENT:
            if ((err = on_supplement(&t, &s)))
                goto out;
            break;
        case FQ_CONVO_CONFIRM:
            if ((err = on_confirm(&t, &s)))
                goto out;
            break;
        case FQ_CONVO_ASK_SAFETY:
            s = on_safety(&t);
            break;
        default:
            s = on_answer(&t, s);
            break;
        }
    }

    t.cv.state = s;
    t.cv.updated_at = c->now;
    if ((err = store_convo_put(c->store, &t.cv)))
        goto out;
    struct fq_resident res = {
        .channel = t.cv.channel, .user = t.cv.user, .name = t.cv.name, .locale = t.loc,
        .first_seen = t.have_res && t.res.first_seen ? t.res.first_seen : c->now,
        .last_seen = c->now,
    };
    /* last_seen is kept to the minute: a message that changes nothing else writes no row */
    bool same = t.have_res && t.res.first_seen > 0 && c->now - t.res.last_seen < 60 &&
                c->now >= t.res.last_seen && (!res.name || fq_streq(res.name, t.res.name)) &&
                (res.locale < 0 || res.locale == t.res.locale);
    if (!same && (err = store_resident_put(c->store, &res)))
        goto out;
    out->answer.state = fq_convo_state_name(s);
    if (out->oom)
        err = FQ_ENOMEM;
out:
    classify_cleanup(&t.cls);
    free(t.norm);
    free(t.raw);
    convo_cleanup(&t.cv);
    if (t.have_res)
        resident_cleanup(&t.res);
    return err;
}
