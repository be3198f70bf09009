/* web_cases.c: the board (/app/), a case (/app/cases/<CASE_NO>) and their JSON
 * (/app/api/cases, /app/api/cases/<CASE_NO>); a command pressed on a case page.
 *
 * The board reads the indexed case list of store/case_table.c newest first, in keyset pages of
 * SCAN_BATCH, and keeps the cases in the user's scope (属地) that match the filters, until a
 * page is full or SCAN_MAX cases were read (then a "more" link goes on from there), so a board
 * costs at most SCAN_MAX rows however large the store. A user whose node has no node below it
 * reads through the org index alone (store_case_list's org filter), as does an org filter on
 * such a node. A case outside the user's scope is answered 404, as if it did not exist. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bot/admin/admin.h"
#include "bot/chan/web/web_chan.h"
#include "bot/core/core.h"
#include "bot/render/payload.h"
#include "bot/web/auth.h"
#include "bot/web/web_internal.h"
#include "common/localtime.h"
#include "common/roster_model.h"
#include "common/status.h"
#include "handlers/actions.h"
#include "handlers/i18n.h"
#include "handlers/lifecycle.h"
#include "store/case_table.h"
#include "store/store.h"
#include "store/surveys.h"

#define PAGE_SIZE 50
#define SCAN_BATCH 500
#define SCAN_MAX 20000
#define AT_RISK_SECONDS (24 * 3600)
#define SEARCH_MAX 64

static bool is_open(enum fq_case_status s)
{
    return s != FQ_CASE_RESOLVED && s != FQ_CASE_CLOSED && s != FQ_CASE_CANCELLED &&
           s != FQ_CASE__COUNT;
}

static bool visible(const struct web_call *c, const struct fq_case *k)
{
    return web_in_scope(c->roster, c->u, k->org_id) || web_in_scope(c->roster, c->u, k->place_org);
}

/* The deadline in force: accepting while assigned, else resolving while open; 0 when none. */
static int64_t due_of(const struct fq_case *k)
{
    if (!is_open(k->status))
        return 0;
    if (k->status == FQ_CASE_ASSIGNED || k->status == FQ_CASE_UNASSIGNED)
        return k->due_accept ? k->due_accept : k->due_resolve;
    return k->due_resolve;
}

/* "overdue", "risk" or "" for a case at now. */
static const char *due_state(const struct fq_case *k, int64_t now)
{
    int64_t d = due_of(k);
    if (!d)
        return "";
    if (d <= now)
        return "overdue";
    return d - now <= AT_RISK_SECONDS ? "risk" : "";
}

static const char *text_of(const struct web_call *c, const char *key)
{
    return i18n_get(c->lex, c->loc, key);
}

/* The catalog's text for key, or NULL when the catalogs have none (i18n_get gives the key). */
static const char *text_opt(const struct web_call *c, const char *key)
{
    const char *t = i18n_get(c->lex, c->loc, key);
    return t && strcmp(t, key) != 0 ? t : NULL;
}

static void html_time(struct fq_buf *b, int64_t t)
{
    if (t <= 0) {
        buf_puts(b, "—");
        return;
    }
    char when[32];
    fq_local_format(t, FQ_LOCAL_MINUTE, when, sizeof when);
    web_html(b, when);
}

static const char *org_name(const struct web_call *c, const char *id)
{
    int i = roster_org_index(c->roster, id);
    return i >= 0 ? c->roster->org[i].name : id;
}

static const char *med_name(const struct web_call *c, const char *id)
{
    int i = roster_mediator_index(c->roster, id);
    return i >= 0 ? c->roster->med[i].name : id;
}

/* ---- the board's filters --------------------------------------------------------------------- */
struct filters {
    const char *status, *severity, *category, *org, *due, *channel, *from, *to, *q, *after;
    int sev;
    int64_t since, until;
    int64_t after_created_at, after_id;
    char digits[SEARCH_MAX + 1];     /* the search's digits, for a phone */
};

static const char *param(const struct web_call *c, const char *name)
{
    const char *v = c->q->query ? c->q->query(c->q, name) : NULL;
    return v && *v ? v : NULL;
}

/* Reads and checks the filters; false with a 400 reason key when one is malformed. */
static bool read_filters(const struct web_call *c, struct filters *f, const char **bad)
{
    memset(f, 0, sizeof *f);
    f->sev = -1;
    f->status = param(c, "status");
    f->severity = param(c, "severity");
    f->category = param(c, "category");
    f->org = param(c, "org");
    f->due = param(c, "due");
    f->channel = param(c, "channel");
    f->from = param(c, "from");
    f->to = param(c, "to");
    f->q = param(c, "q");
    f->after = param(c, "after");
    if (f->status && strcmp(f->status, "open") != 0 && fq_case_status_parse(f->status) < 0)
        return *bad = "status", false;
    if (f->severity && (f->sev = fq_severity_parse(f->severity)) < 0)
        return *bad = "severity", false;
    if (f->category) {
        bool known = false;
        for (size_t i = 0; i < FQ_N_CATEGORIES; i++)
            known |= strcmp(fq_categories[i], f->category) == 0;
        if (!known)
            return *bad = "category", false;
    }
    if (f->due && strcmp(f->due, "overdue") != 0 && strcmp(f->due, "risk") != 0)
        return *bad = "due", false;
    if (f->channel && strlen(f->channel) > 32)
        return *bad = "channel", false;
    if (f->org && !web_in_scope(c->roster, c->u, f->org))
        return *bad = "org", false;
    if (f->from && (f->since = admin_parse_time(f->from)) < 0)
        return *bad = "from", false;
    if (f->to) {
        if ((f->until = admin_parse_time(f->to)) < 0)
            return *bad = "to", false;
        if (strlen(f->to) == 10)
            f->until += 24 * 3600;   /* the whole last day */
    }
    if (f->q && strlen(f->q) > SEARCH_MAX)
        return *bad = "q", false;
    if (f->q) {
        size_t n = 0;
        for (const char *p = f->q; *p && n < SEARCH_MAX; p++)
            if (*p >= '0' && *p <= '9')
                f->digits[n++] = *p;
        f->digits[n] = '\0';
        if (n < 4 || n * 2 < strlen(f->q))
            f->digits[0] = '\0';     /* not a phone number */
    }
    if (f->after) {
        long long t, id;
        char tail;
        if (sscanf(f->after, "%lld.%lld%c", &t, &id, &tail) != 2 || t < 0 || id < 1)
            return *bad = "after", false;
        f->after_created_at = t;
        f->after_id = id;
    }
    return true;
}

/* The digits of s (a phone number as stored) contain digits. */
static bool digits_in(const char *s, const char *digits)
{
    if (!s || !*digits)
        return false;
    char d[64];
    size_t n = 0;
    for (; *s && n < sizeof d - 1; s++)
        if (*s >= '0' && *s <= '9')
            d[n++] = *s;
    d[n] = '\0';
    return strstr(d, digits) != NULL;
}

static bool matches(const struct web_call *c, const struct filters *f, const struct fq_case *k)
{
    if (!visible(c, k))
        return false;
    if (f->status) {
        if (strcmp(f->status, "open") == 0 ? !is_open(k->status)
                                           : strcmp(fq_case_status_name(k->status), f->status))
            return false;
    }
    if (f->sev >= 0 && k->severity != f->sev)
        return false;
    if (f->category && strcmp(k->category, f->category) != 0)
        return false;
    if (f->channel && !fq_streq(k->channel, f->channel))
        return false;
    if (f->org) {
        int top = roster_org_index(c->roster, f->org);
        int a = roster_org_index(c->roster, k->org_id), b = roster_org_index(c->roster, k->place_org);
        if (!((a >= 0 && roster_org_is_ancestor(c->roster, top, a)) ||
              (b >= 0 && roster_org_is_ancestor(c->roster, top, b))))
            return false;
    }
    if (f->due && strcmp(due_state(k, c->q->now), f->due) != 0 &&
        !(strcmp(f->due, "risk") == 0 && strcmp(due_state(k, c->q->now), "overdue") == 0))
        return false;
    if (f->q) {
        bool hit = strcasestr(k->case_no, f->q) || digits_in(k->contact, f->digits) ||
                   (k->description && strstr(k->description, f->q)) ||
                   (k->place_text && strstr(k->place_text, f->q)) ||
                   (k->name && strstr(k->name, f->q));
        if (!hit)
            return false;
    }
    return true;
}

/* Whether org i has a node below it. */
static bool has_children(const struct fq_roster *r, int i)
{
    for (size_t j = 0; j < r->n_org; j++)
        if (r->org[j].parent == i)
            return true;
    return false;
}

/* ---- collecting a page ----------------------------------------------------------------------- */
struct page {
    struct fq_case *k;               /* PAGE_SIZE cases, deep copies */
    size_t n;
    bool more;                       /* there may be more after the last one read */
    int64_t last_created_at, last_id;/* the last case read (cursor of "more") */
    size_t scanned;
    bool oom;
};

struct scan {
    const struct web_call *c;
    const struct filters *f;
    struct page *p;
    bool full;
    size_t seen;
};

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static void copy_case(struct fq_case *d, const struct fq_case *k, bool *oom)
{
    *d = *k;
    d->channel = dup_or_null(k->channel, oom);
    d->user = dup_or_null(k->user, oom);
    d->name = dup_or_null(k->name, oom);
    d->contact = dup_or_null(k->contact, oom);
    d->place_org = dup_or_null(k->place_org, oom);
    d->place_text = dup_or_null(k->place_text, oom);
    d->description = dup_or_null(k->description, oom);
    d->org_id = dup_or_null(k->org_id, oom);
    d->mediator_id = dup_or_null(k->mediator_id, oom);
    d->close_reason = dup_or_null(k->close_reason, oom);
    d->locale = dup_or_null(k->locale, oom);
}

static void scan_case(const struct fq_case *k, void *arg)
{
    struct scan *s = arg;
    s->seen++;
    if (s->full)
        return;
    struct page *p = s->p;
    p->scanned++;
    p->last_created_at = k->created_at;
    p->last_id = k->id;
    if (!matches(s->c, s->f, k))
        return;
    if (p->n == PAGE_SIZE) {          /* one beyond the page: there are more */
        s->full = true;
        p->more = true;
        return;
    }
    copy_case(&p->k[p->n], k, &p->oom);
    p->n++;
    if (p->n == PAGE_SIZE) {          /* the cursor is the page's last case */
        p->last_created_at = k->created_at;
        p->last_id = k->id;
    }
}

static void page_free(struct page *p)
{
    for (size_t i = 0; i < p->n; i++)
        case_cleanup(&p->k[i]);
    free(p->k);
    p->k = NULL;
    p->n = 0;
}

/* The board's page for the filters; mine: only the user's own open cases. */
static enum fq_err collect(const struct web_call *c, struct store *s, const struct filters *f,
                           bool mine, struct page *p)
{
    memset(p, 0, sizeof *p);
    p->k = calloc(PAGE_SIZE, sizeof *p->k);
    if (!p->k)
        return FQ_ENOMEM;
    struct fq_case_filter cf = {.since = f->since, .until = f->until, .limit = SCAN_BATCH,
                                .after_created_at = f->after_created_at, .after_id = f->after_id};
    if (f->status)
        cf.status = f->status;      /* "open" too: the store's list knows it */
    if (mine) {
        cf.mediator_id = c->u->mediator_id;
        cf.status = "open";
    }
    /* a node with nothing below it: the org index finds its cases */
    const char *leaf = f->org ? f->org : c->u->org_id;
    int li = roster_org_index(c->roster, leaf);
    if (!mine && li >= 0 && !has_children(c->roster, li))
        cf.org_id = leaf;
    /* a case number: that case alone */
    if (f->q && strncasecmp(f->q, "FQ", 2) == 0 && strlen(f->q) >= 13 && !strchr(f->q, ' ')) {
        struct fq_case k;
        enum fq_err err = store_case_get(s, f->q, &k);
        if (err == FQ_OK) {
            struct scan sc = {.c = c, .f = f, .p = p};
            scan_case(&k, &sc);
            p->more = false;
            case_cleanup(&k);
            return p->oom ? FQ_ENOMEM : FQ_OK;
        }
        if (err != FQ_ENOTFOUND)
            return err;
    }
    struct scan sc = {.c = c, .f = f, .p = p};
    for (;;) {
        sc.seen = 0;
        enum fq_err err = store_case_list(s, &cf, scan_case, &sc);
        if (err)
            return err;
        if (sc.full || sc.seen < SCAN_BATCH)
            break;                            /* page full, or the list is at its end */
        if (p->scanned >= SCAN_MAX) {
            p->more = true;                   /* read enough: "more" goes on from here */
            break;
        }
        cf.after_created_at = p->last_created_at;
        cf.after_id = p->last_id;
    }
    return p->oom ? FQ_ENOMEM : FQ_OK;
}

/* ---- HTML pieces ------------------------------------------------------------------------------ */
static void badge_status(const struct web_call *c, struct fq_buf *b, const struct fq_case *k)
{
    const char *st = fq_case_status_name(k->status);
    buf_printf(b, "<span class=\"badge st-%s\">", *st ? st : "unknown");
    web_html(b, i18n_status(c->lex, c->loc, st));
    buf_puts(b, "</span>");
}

static void badge_severity(const struct web_call *c, struct fq_buf *b, const struct fq_case *k)
{
    const char *sv = fq_severity_name(k->severity);
    buf_printf(b, "<span class=\"sev sev-%s\">", sv ? sv : "blue");
    web_html(b, i18n_severity(c->lex, c->loc, k->severity));
    buf_puts(b, "</span>");
}

static void masked_contact(struct fq_buf *b, const char *contact)
{
    char *m = contact ? fq_mask_phone(contact) : NULL;
    web_html(b, m ? m : "—");
    free(m);
}

static void row_html(const struct web_call *c, struct fq_buf *b, const struct fq_case *k)
{
    const char *ds = due_state(k, c->q->now);
    buf_puts(b, "<tr data-case=\"");
    web_html(b, k->case_no);
    buf_printf(b, "\"%s><td class=\"no\"><a href=\"/app/cases/", *ds ? (strcmp(ds, "overdue") == 0 ? " class=\"late\"" : " class=\"risk\"") : "");
    web_html(b, k->case_no);
    buf_puts(b, "\">");
    web_html(b, k->case_no);
    buf_puts(b, "</a></td><td>");
    badge_status(c, b, k);
    buf_puts(b, "</td><td>");
    badge_severity(c, b, k);
    buf_puts(b, "</td><td>");
    web_html(b, i18n_category(c->lex, c->loc, k->category));
    buf_puts(b, "</td><td class=\"desc\">");
    char cut[121];
    snprintf(cut, sizeof cut, "%s", k->description ? k->description : "");
    if (k->description && strlen(k->description) >= sizeof cut) {
        size_t n = strlen(cut);   /* cut at a character's start, not inside one */
        while (n && ((unsigned char)cut[n] & 0xC0) == 0x80)
            n--;
        snprintf(cut + n, sizeof cut - n, "%s", n + 3 < sizeof cut ? "…" : "");
    }
    web_html(b, cut);
    buf_puts(b, "</td><td>");
    web_html(b, k->place_org ? org_name(c, k->place_org) : k->place_text);
    buf_puts(b, "</td><td>");
    web_html(b, k->mediator_id ? med_name(c, k->mediator_id) : "—");
    buf_puts(b, "</td><td class=\"phone\">");
    masked_contact(b, k->contact);
    buf_puts(b, "</td><td class=\"when\">");
    html_time(b, k->created_at);
    buf_puts(b, "</td><td class=\"when\">");
    int64_t d = due_of(k);
    if (d) {
        html_time(b, d);
        if (*ds) {
            char key[32];
            snprintf(key, sizeof key, "web_due_%s", ds);
            buf_printf(b, " <span class=\"flag %s\">", ds);
            web_html(b, text_of(c, key));
            buf_puts(b, "</span>");
        }
    } else {
        buf_puts(b, "—");
    }
    buf_puts(b, "</td></tr>");
}

static void table_html(const struct web_call *c, struct fq_buf *b, const struct page *p,
                       const char *id)
{
    static const char *const cols[] = {"no", "status", "severity", "category", "description",
                                       "place", "mediator", "contact", "created", "due"};
    (void)id;
    buf_puts(b, "<div class=\"scroll\"><table class=\"cases\"><thead><tr>");
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) {
        char key[32];
        snprintf(key, sizeof key, "web_col_%s", cols[i]);
        buf_puts(b, "<th>");
        web_html(b, text_of(c, key));
        buf_puts(b, "</th>");
    }
    buf_puts(b, "</tr></thead><tbody>");
    for (size_t i = 0; i < p->n; i++)
        row_html(c, b, &p->k[i]);
    buf_puts(b, "</tbody></table>");
    if (!p->n) {
        buf_puts(b, "<p class=\"empty\">");
        web_html(b, text_of(c, "web_board_empty"));
        buf_puts(b, "</p>");
    }
    buf_puts(b, "</div>");
}

static void option(struct fq_buf *b, const char *value, const char *label, const char *cur)
{
    buf_puts(b, "<option value=\"");
    web_html(b, value);
    buf_puts(b, "\"");
    if (cur && strcmp(cur, value) == 0)
        buf_puts(b, " selected");
    buf_puts(b, ">");
    web_html(b, label);
    buf_puts(b, "</option>");
}

static void select_begin(const struct web_call *c, struct fq_buf *b, const char *name)
{
    char key[40];
    snprintf(key, sizeof key, "web_f_%s", name);
    buf_printf(b, "<label><span>");
    web_html(b, text_of(c, key));
    buf_printf(b, "</span><select name=\"%s\"><option value=\"\">", name);
    web_html(b, text_of(c, "web_f_any"));
    buf_puts(b, "</option>");
}

/* The org nodes of the user's scope for the org filter, at most 300 (the user's node first). */
static void org_options(const struct web_call *c, struct fq_buf *b, const char *cur)
{
    int top = roster_org_index(c->roster, c->u->org_id);
    if (top < 0)
        return;
    size_t shown = 0;
    for (size_t i = 0; i < c->roster->n_org && shown < 300; i++)
        if (roster_org_is_ancestor(c->roster, top, (int)i)) {
            option(b, c->roster->org[i].id, c->roster->org[i].name, cur);
            shown++;
        }
}

static void filters_html(const struct web_call *c, struct fq_buf *b, const struct filters *f)
{
    buf_puts(b, "<form class=\"filters card\" method=\"get\" action=\"/app/\">"
                "<label class=\"grow\"><span>");
    web_html(b, text_of(c, "web_f_q"));
    buf_puts(b, "</span><input type=\"search\" name=\"q\" maxlength=\"64\" placeholder=\"");
    web_html(b, text_of(c, "web_f_q_hint"));
    buf_puts(b, "\" value=\"");
    web_html(b, f->q ? f->q : "");
    buf_puts(b, "\"></label><details class=\"more\"");
    if (f->status || f->severity || f->category || f->due || f->org || f->channel || f->from || f->to)
        buf_puts(b, " open");
    buf_puts(b, "><summary>");
    web_html(b, text_of(c, "web_f_more"));
    buf_puts(b, "</summary><div class=\"more-grid\">");
    select_begin(c, b, "status");
    option(b, "open", text_of(c, "web_f_open"), f->status);
    for (int i = 0; i < FQ_CASE__COUNT; i++)
        option(b, fq_case_status_name(i), i18n_status(c->lex, c->loc, fq_case_status_name(i)),
               f->status);
    buf_puts(b, "</select></label>");
    select_begin(c, b, "severity");
    for (int i = FQ_SEV_BLUE; i <= FQ_SEV_RED; i++)
        option(b, fq_severity_name(i), i18n_severity(c->lex, c->loc, i), f->severity);
    buf_puts(b, "</select></label>");
    select_begin(c, b, "category");
    for (size_t i = 0; i < FQ_N_CATEGORIES; i++)
        option(b, fq_categories[i], i18n_category(c->lex, c->loc, fq_categories[i]), f->category);
    buf_puts(b, "</select></label>");
    select_begin(c, b, "due");
    option(b, "overdue", text_of(c, "web_due_overdue"), f->due);
    option(b, "risk", text_of(c, "web_due_risk"), f->due);
    buf_puts(b, "</select></label>");
    select_begin(c, b, "org");
    org_options(c, b, f->org);
    buf_puts(b, "</select></label>");
    select_begin(c, b, "channel");
    static const char *const chans[] = {"web", "wecom", "wecom_kf", "wechat", "sms", "hotline"};
    for (size_t i = 0; i < sizeof chans / sizeof *chans; i++) {
        char key[40];
        snprintf(key, sizeof key, "web_ch_%s", chans[i]);
        option(b, chans[i], text_of(c, key), f->channel);
    }
    buf_puts(b, "</select></label><label><span>");
    web_html(b, text_of(c, "web_f_from"));
    buf_puts(b, "</span><input type=\"date\" name=\"from\" value=\"");
    web_html(b, f->from ? f->from : "");
    buf_puts(b, "\"></label><label><span>");
    web_html(b, text_of(c, "web_f_to"));
    buf_puts(b, "</span><input type=\"date\" name=\"to\" value=\"");
    web_html(b, f->to ? f->to : "");
    buf_puts(b, "\"></label></div></details><div class=\"actions\"><button type=\"submit\" class=\"primary\">");
    web_html(b, text_of(c, "web_f_apply"));
    buf_puts(b, "</button><a class=\"button\" href=\"/app/\">");
    web_html(b, text_of(c, "web_f_reset"));
    buf_puts(b, "</a></div></form>");
}

/* The query string of the filters with after= replaced by the cursor (HTML-escaped into b). */
static void more_link(const struct web_call *c, struct fq_buf *b, const struct filters *f,
                      const struct page *p)
{
    (void)c;
    const char *names[] = {"q", "status", "severity", "category", "due", "org", "channel",
                           "from", "to"};
    const char *vals[] = {f->q, f->status, f->severity, f->category, f->due, f->org,
                          f->channel, f->from, f->to};
    struct fq_buf u;
    buf_init(&u);
    buf_puts(&u, "/app/?");
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (!vals[i])
            continue;
        buf_printf(&u, "%s=", names[i]);
        for (const unsigned char *s = (const unsigned char *)vals[i]; *s; s++) {
            if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                *s == '-' || *s == '_' || *s == '.')
                buf_add(&u, (const char *)s, 1);
            else
                buf_printf(&u, "%%%02X", *s);
        }
        buf_puts(&u, "&");
    }
    buf_printf(&u, "after=%lld.%lld", (long long)p->last_created_at, (long long)p->last_id);
    web_html(b, u.s);
    buf_cleanup(&u);
}

static bool open_store(const struct web_call *c, struct store **s)
{
    char *cause = NULL;
    if (store_open_readonly(c->q->cfg->store_path, s, &cause)) {
        free(cause);
        return false;
    }
    return true;
}

/* ---- the board -------------------------------------------------------------------------------- */
enum web_step web_board(struct web_call *c, struct web_res *res)
{
    struct filters f;
    const char *bad = NULL;
    if (!read_filters(c, &f, &bad)) {
        web_error_page(res, c->lex, c->loc, 400, c->u);
        return WEB_ANSWER;
    }
    struct store *s;
    if (!open_store(c, &s)) {
        web_error_page(res, c->lex, c->loc, 503, c->u);
        return WEB_ANSWER;
    }
    struct page mine = {0}, all = {0};
    bool with_mine = *c->u->mediator_id && !f.after;
    enum fq_err err = with_mine ? collect(c, s, &(struct filters){.sev = -1}, true, &mine) : FQ_OK;
    if (!err)
        err = collect(c, s, &f, false, &all);
    store_close(s);
    if (err) {
        page_free(&mine);
        page_free(&all);
        web_error_page(res, c->lex, c->loc, 503, c->u);
        return WEB_ANSWER;
    }
    struct fq_buf *b = &res->body;
    web_page_begin(b, c->lex, c->loc, text_of(c, "web_board_title"), c->u, "board");
    buf_puts(b, "<div class=\"page-head\"><h1>");
    web_html(b, text_of(c, "web_board_title"));
    buf_puts(b, "</h1><p class=\"muted\">");
    web_html(b, org_name(c, c->u->org_id));
    buf_puts(b, "</p></div><div id=\"fresh\" class=\"fresh\" hidden><a href=\"\">");
    web_html(b, text_of(c, "web_board_fresh"));
    buf_puts(b, "</a></div>");
    filters_html(c, b, &f);
    if (with_mine) {
        buf_puts(b, "<section class=\"card\" id=\"mine\"><h2>");
        web_html(b, text_of(c, "web_board_mine"));
        buf_printf(b, " <span class=\"count\">%zu%s</span></h2>", mine.n, mine.more ? "+" : "");
        table_html(c, b, &mine, "mine");
        buf_puts(b, "</section>");
    }
    buf_puts(b, "<section class=\"card\" id=\"board\"><h2>");
    web_html(b, text_of(c, f.after ? "web_board_more_title" : "web_board_all"));
    buf_puts(b, "</h2>");
    table_html(c, b, &all, "board");
    if (all.more) {
        buf_puts(b, "<p class=\"pager\"><a class=\"button\" href=\"");
        more_link(c, b, &f, &all);
        buf_puts(b, "\">");
        web_html(b, text_of(c, "web_board_next"));
        buf_puts(b, "</a></p>");
    }
    buf_puts(b, "</section>");
    web_page_end(b, c->lex, c->loc);
    page_free(&mine);
    page_free(&all);
    return WEB_ANSWER;
}

enum web_step web_board_api(struct web_call *c, struct web_res *res)
{
    struct filters f;
    const char *bad = NULL;
    if (!read_filters(c, &f, &bad)) {
        web_json_error(res, 400, "bad_request");
        return WEB_ANSWER;
    }
    struct store *s;
    if (!open_store(c, &s)) {
        web_json_error(res, 503, "unavailable");
        return WEB_ANSWER;
    }
    struct page all;
    enum fq_err err = collect(c, s, &f, false, &all);
    if (err) {
        store_close(s);
        page_free(&all);
        web_json_error(res, 503, "unavailable");
        return WEB_ANSWER;
    }
    struct fq_ctx ctx = {.store = s, .cfg = c->q->cfg, .roster = c->roster, .lex = c->lex,
                         .now = c->q->now};
    res->type = "application/json; charset=utf-8";
    struct fq_buf *b = &res->body;
    struct fq_jobj o = jobj_begin(b);
    jobj_key(&o, "cases");
    struct fq_jarr arr = jarr_begin(b);
    for (size_t i = 0; i < all.n; i++) {
        jarr_item(&arr);
        struct fq_jobj co = jobj_begin(b);
        payload_case_fields(&co, &ctx, &all.k[i], false);
        jobj_str(&co, "due_state", due_state(&all.k[i], c->q->now));
        jobj_end(&co);
    }
    jarr_end(&arr);
    if (all.more) {
        char cur[48];
        snprintf(cur, sizeof cur, "%lld.%lld", (long long)all.last_created_at,
                 (long long)all.last_id);
        jobj_str(&o, "next", cur);
    } else {
        jobj_null(&o, "next");
    }
    jobj_end(&o);
    store_close(s);
    page_free(&all);
    return WEB_ANSWER;
}

/* ---- a case ----------------------------------------------------------------------------------- */
struct history {
    struct fq_buf *b;
    const struct web_call *c;
    size_t n;
};

static void history_event(const struct fq_case_event *e, void *arg)
{
    struct history *h = arg;
    struct fq_buf *b = h->b;
    const struct web_call *c = h->c;
    h->n++;
    char key[48];
    snprintf(key, sizeof key, "web_ev_%s", e->type);
    const char *label = text_opt(c, key);
    buf_printf(b, "<li class=\"ev ev-%s\" data-event=\"%lld\"><time>", "x", (long long)e->id);
    html_time(b, e->at);
    buf_puts(b, "</time><div><strong>");
    web_html(b, label ? label : e->type);
    buf_puts(b, "</strong> <span class=\"muted\">");
    const char *actor = e->actor ? e->actor : "";
    if (strcmp(actor, "system") == 0)
        web_html(b, text_of(c, "web_actor_system"));
    else if (strcmp(actor, "resident") == 0)
        web_html(b, text_of(c, "web_actor_resident"));
    else
        web_html(b, med_name(c, actor));
    buf_puts(b, "</span>");
    if (strcmp(e->type, "paused") == 0 && e->data) {   /* the reason, as the form offered it */
        json_t *d = json_loads(e->data, 0, NULL);
        const char *why = json_string_value(json_object_get(d, "reason"));
        char rkey[48];
        snprintf(rkey, sizeof rkey, "web_pause_%s", why ? why : "");
        const char *rl = why ? text_opt(c, rkey) : NULL;
        if (rl) {
            buf_puts(b, " <span class=\"muted\">");
            web_html(b, rl);
            buf_puts(b, "</span>");
        }
        json_decref(d);
    }
    if (e->note && *e->note) {
        /* an assignment's note is the mediator's id: their name reads better */
        int mi = roster_mediator_index(c->roster, e->note);
        buf_puts(b, "<p class=\"note\">");
        web_html(b, mi >= 0 ? c->roster->med[mi].name : e->note);
        buf_puts(b, "</p>");
    }
    buf_puts(b, "</div></li>");
}

static void survey_item(const struct fq_survey *v, void *arg)
{
    struct history *h = arg;
    struct fq_buf *b = h->b;
    const struct web_call *c = h->c;
    h->n++;
    char key[48];
    snprintf(key, sizeof key, "web_survey_%s", v->kind);
    buf_puts(b, "<li><strong>");
    web_html(b, text_of(c, key));
    buf_puts(b, "</strong> ");
    const char *st = fq_survey_status_name(v->status);
    snprintf(key, sizeof key, "web_survey_st_%s", st ? st : "");
    const char *sl = text_opt(c, key);
    web_html(b, sl ? sl : (st ? st : ""));
    if (v->answer) {
        snprintf(key, sizeof key, "web_survey_ans_%s_%d", v->kind, v->answer);
        const char *al = text_opt(c, key);
        buf_puts(b, " · ");
        if (al)
            web_html(b, al);
        else
            buf_printf(b, "%d", v->answer);
    }
    if (v->comment && *v->comment) {
        buf_puts(b, "<p class=\"note\">");
        web_html(b, v->comment);
        buf_puts(b, "</p>");
    }
    buf_puts(b, " <span class=\"muted\">");
    html_time(b, v->answered_at ? v->answered_at : v->sent_at ? v->sent_at : v->created_at);
    buf_puts(b, "</span></li>");
}

static void fact(const struct web_call *c, struct fq_buf *b, const char *key, const char *value)
{
    buf_puts(b, "<dt>");
    web_html(b, text_of(c, key));
    buf_puts(b, "</dt><dd>");
    web_html(b, value && *value ? value : "—");
    buf_puts(b, "</dd>");
}

static void fact_time(const struct web_call *c, struct fq_buf *b, const char *key, int64_t t)
{
    buf_puts(b, "<dt>");
    web_html(b, text_of(c, key));
    buf_puts(b, "</dt><dd>");
    html_time(b, t);
    buf_puts(b, "</dd>");
}

/* Whether the user may send cmd on k: the command is a mediator's, the table allows it in
 * k's status, and the user acts as the case's mediator (or, for 回访, as a mediator of the
 * grid the case happened in: the lifecycle's own rule). */
static bool may_press(const struct web_call *c, const struct fq_case *k, int cmd)
{
    if (!lifecycle_commands[cmd].mediator || !lifecycle_find(k->status, cmd) || !*c->u->mediator_id)
        return false;
    int me = roster_mediator_index(c->roster, c->u->mediator_id);
    if (me < 0)
        return false;
    if (fq_streq(k->mediator_id, c->u->mediator_id))
        return true;
    if (cmd != LC_SURVEY)
        return false;
    int place = roster_org_index(c->roster, k->place_org);
    int grid = place >= 0 ? roster_org_at_level(c->roster, place, FQ_LEVEL_GRID) : -1;
    return grid >= 0 && c->roster->med[me].org == grid;
}

/* The button's text: the command word of the page's language (messages web_cmd_<name>). */
static const char *cmd_word(const struct web_call *c, int cmd)
{
    char key[48];
    snprintf(key, sizeof key, "web_cmd_%s", lifecycle_commands[cmd].name);
    const char *w = text_opt(c, key);
    return w ? w : lifecycle_commands[cmd].name;
}

static void actions_html(const struct web_call *c, struct fq_buf *b, const struct fq_case *k)
{
    bool any = false;
    for (int i = 0; i < LC__CMD_COUNT; i++)
        any |= may_press(c, k, i);
    buf_puts(b, "<section class=\"card\" id=\"actions\"><h2>");
    web_html(b, text_of(c, "web_case_actions"));
    buf_puts(b, "</h2>");
    if (!any) {
        buf_puts(b, "<p class=\"muted\">");
        web_html(b, text_of(c, *c->u->mediator_id ? "web_case_no_actions" : "web_case_not_mediator"));
        buf_puts(b, "</p></section>");
        return;
    }
    char rid[AUTH_TOKEN_HEX + 1];
    if (!auth_token_new(rid))
        rid[0] = '\0';
    buf_puts(b, "<form method=\"post\" class=\"stack\" action=\"/app/cases/");
    web_html(b, k->case_no);
    buf_puts(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
    web_html(b, c->u->csrf);
    buf_puts(b, "\"><input type=\"hidden\" name=\"request_id\" value=\"");
    web_html(b, rid);
    buf_puts(b, "\"><label><span>");
    web_html(b, text_of(c, "web_case_note"));
    buf_puts(b, "</span><textarea name=\"note\" rows=\"3\" maxlength=\"2000\" placeholder=\"");
    web_html(b, text_of(c, "web_case_note_hint"));
    buf_puts(b, "\"></textarea></label><div class=\"row\">");
    if (may_press(c, k, LC_CLOSE)) {
        static const char *const reasons[] = {"litigation", "petition", "withdrawn", "other"};
        buf_puts(b, "<label><span>");
        web_html(b, text_of(c, "web_case_reason"));
        buf_puts(b, "</span><select name=\"reason\">");
        for (size_t i = 0; i < 4; i++) {
            char key[40];
            snprintf(key, sizeof key, "web_reason_%s", reasons[i]);
            option(b, reasons[i], text_of(c, key), NULL);
        }
        buf_puts(b, "</select></label>");
    }
    if (may_press(c, k, LC_PAUSE)) {   /* the reasons of handlers/lifecycle.c's pause */
        static const char *const pauses[] = {"party", "cooling_off", "appraisal"};
        buf_puts(b, "<label><span>");
        web_html(b, text_of(c, "web_case_pause_reason"));
        buf_puts(b, "</span><select name=\"pause_reason\">");
        for (size_t i = 0; i < 3; i++) {
            char key[40];
            snprintf(key, sizeof key, "web_pause_%s", pauses[i]);
            option(b, pauses[i], text_of(c, key), NULL);
        }
        buf_puts(b, "</select></label>");
    }
    if (may_press(c, k, LC_SURVEY)) {
        buf_puts(b, "<label><span>");
        web_html(b, text_of(c, "web_case_answer"));
        buf_puts(b, "</span><select name=\"answer\">");
        for (int i = 1; i <= 4; i++) {
            char key[48], v[12];
            snprintf(key, sizeof key, "web_survey_ans_satisfaction_%d", i);
            snprintf(v, sizeof v, "%d", i);
            option(b, v, text_of(c, key), NULL);
        }
        buf_puts(b, "</select></label>");
    }
    if (may_press(c, k, LC_TRANSFER)) {
        buf_puts(b, "<label><span>");
        web_html(b, text_of(c, "web_case_to"));
        buf_puts(b, "</span><select name=\"to\"><option value=\"\">—</option>");
        int node = roster_org_index(c->roster, k->org_id);
        for (size_t i = 0; i < c->roster->n_med; i++) {
            const struct fq_mediator *m = &c->roster->med[i];
            if (!m->active || fq_streq(m->id, k->mediator_id) || (node >= 0 && m->org != node))
                continue;
            option(b, m->id, m->name, NULL);
        }
        buf_puts(b, "</select></label>");
    }
    buf_puts(b, "</div><div class=\"buttons\">");
    for (int i = 0; i < LC__CMD_COUNT; i++) {
        if (!may_press(c, k, i))
            continue;
        buf_printf(b, "<button type=\"submit\" name=\"command\" value=\"%s\"%s>",
                   lifecycle_commands[i].name,
                   i == LC_ACCEPT || i == LC_RESOLVE ? " class=\"primary\"" : "");
        web_html(b, cmd_word(c, i));
        buf_puts(b, "</button>");
    }
    buf_puts(b, "</div></form></section>");
}

/* Renders the case page of case_no into res (404 when absent or outside the scope). */
static void case_render(const struct web_call *c, const char *case_no, bool reveal,
                        const char *flash, bool flash_ok, struct web_res *res)
{
    struct store *s;
    if (!open_store(c, &s)) {
        web_error_page(res, c->lex, c->loc, 503, c->u);
        return;
    }
    struct fq_case k;
    enum fq_err err = strlen(case_no) <= 32 ? store_case_get(s, case_no, &k) : FQ_ENOTFOUND;
    if (err || !visible(c, &k)) {
        if (!err)
            case_cleanup(&k);
        store_close(s);
        web_error_page(res, c->lex, c->loc, err && err != FQ_ENOTFOUND ? 503 : 404, c->u);
        return;
    }
    struct fq_buf *b = &res->body;
    web_page_begin(b, c->lex, c->loc, k.case_no, c->u, "board");
    buf_puts(b, "<p class=\"crumbs\"><a href=\"/app/\">← ");
    web_html(b, text_of(c, "web_back_board"));
    buf_puts(b, "</a></p><div class=\"page-head case-head\" data-case=\"");
    web_html(b, k.case_no);
    buf_puts(b, "\"><h1 class=\"mono\">");
    web_html(b, k.case_no);
    buf_puts(b, "</h1><div class=\"badges\">");
    badge_status(c, b, &k);
    badge_severity(c, b, &k);
    const char *ds = due_state(&k, c->q->now);
    if (*ds) {
        char key[32];
        snprintf(key, sizeof key, "web_due_%s", ds);
        buf_printf(b, "<span class=\"flag %s\">", ds);
        web_html(b, text_of(c, key));
        buf_puts(b, "</span>");
    }
    buf_puts(b, "</div></div>");
    if (flash) {
        buf_printf(b, "<p class=\"%s\" role=\"status\" id=\"flash\">", flash_ok ? "ok" : "alert");
        web_html(b, flash);
        buf_puts(b, "</p>");
    }
    buf_puts(b, "<div class=\"grid\"><div class=\"col\">");
    /* facts */
    buf_puts(b, "<section class=\"card\"><h2>");
    web_html(b, text_of(c, "web_case_facts"));
    buf_puts(b, "</h2><dl class=\"facts\">");
    fact(c, b, "web_col_category", i18n_category(c->lex, c->loc, k.category));
    fact(c, b, "web_col_description", k.description);
    fact(c, b, "web_col_place", k.place_org ? org_name(c, k.place_org) : NULL);
    fact(c, b, "web_case_place_text", k.place_text);
    char people[16];
    snprintf(people, sizeof people, "%d", k.people);
    fact(c, b, "web_case_people", k.people ? people : NULL);
    char key[40];
    snprintf(key, sizeof key, "web_ch_%s", k.channel ? k.channel : "");
    const char *chl = text_opt(c, key);
    fact(c, b, "web_f_channel", chl ? chl : k.channel);
    fact(c, b, "web_case_org", k.org_id ? org_name(c, k.org_id) : NULL);
    fact(c, b, "web_col_mediator", k.mediator_id ? med_name(c, k.mediator_id) : NULL);
    char counts[64];
    snprintf(counts, sizeof counts, "%d / %d", k.attempts, k.escalations);
    fact(c, b, "web_case_attempts", counts);
    if (k.parent_case_no[0])
        fact(c, b, "web_case_parent", k.parent_case_no);
    if (k.close_reason) {
        snprintf(key, sizeof key, "web_reason_%s", k.close_reason);
        const char *rl = text_opt(c, key);
        fact(c, b, "web_case_reason", rl ? rl : k.close_reason);
    }
    buf_puts(b, "</dl></section>");
    /* parties */
    buf_puts(b, "<section class=\"card\"><h2>");
    web_html(b, text_of(c, "web_case_parties"));
    buf_puts(b, "</h2><dl class=\"facts\">");
    char *mn = k.name ? fq_mask_name(k.name) : NULL;
    fact(c, b, "web_case_name", reveal ? k.name : mn);
    free(mn);
    buf_puts(b, "<dt>");
    web_html(b, text_of(c, "web_col_contact"));
    buf_puts(b, "</dt><dd>");
    if (reveal) {
        buf_puts(b, "<span class=\"mono\" id=\"phone\">");
        web_html(b, k.contact ? k.contact : "—");
        buf_puts(b, "</span> <span class=\"muted small\">");
        web_html(b, text_of(c, "web_case_revealed"));
        buf_puts(b, "</span>");
    } else {
        buf_puts(b, "<span class=\"mono\" id=\"phone\">");
        masked_contact(b, k.contact);
        buf_puts(b, "</span>");
        if (k.contact) {
            buf_puts(b, "<form method=\"post\" class=\"inline\" action=\"/app/cases/");
            web_html(b, k.case_no);
            buf_puts(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
            web_html(b, c->u->csrf);
            buf_puts(b, "\"><input type=\"hidden\" name=\"do\" value=\"reveal\">"
                        "<button type=\"submit\" class=\"link\">");
            web_html(b, text_of(c, "web_case_reveal"));
            buf_puts(b, "</button></form>");
        }
    }
    buf_puts(b, "</dd></dl></section>");
    /* deadlines */
    buf_puts(b, "<section class=\"card\"><h2>");
    web_html(b, text_of(c, "web_case_deadlines"));
    buf_puts(b, "</h2><dl class=\"facts\">");
    fact_time(c, b, "web_case_created", k.created_at);
    fact_time(c, b, "web_case_due_accept", k.due_accept);
    fact_time(c, b, "web_case_accepted", k.accepted_at);
    fact_time(c, b, "web_case_due_resolve", k.due_resolve);
    fact_time(c, b, "web_case_resolved", k.resolved_at);
    fact_time(c, b, "web_case_closed", k.closed_at);
    buf_puts(b, "</dl></section></div><div class=\"col\">");
    actions_html(c, b, &k);
    /* history */
    buf_puts(b, "<section class=\"card\"><h2>");
    web_html(b, text_of(c, "web_case_history"));
    buf_puts(b, "</h2><ol class=\"timeline\" id=\"history\">");
    struct history h = {.b = b, .c = c};
    err = store_case_events(s, k.id, history_event, &h);
    buf_puts(b, "</ol></section>");
    struct history sv = {.b = b, .c = c};
    struct fq_buf sb;
    buf_init(&sb);
    sv.b = &sb;
    if (!err && store_survey_list(s, k.id, survey_item, &sv) == FQ_OK && sv.n) {
        buf_puts(b, "<section class=\"card\"><h2>");
        web_html(b, text_of(c, "web_case_surveys"));
        buf_puts(b, "</h2><ul class=\"plain\">");
        buf_puts(b, sb.s ? sb.s : "");
        buf_puts(b, "</ul></section>");
    }
    buf_cleanup(&sb);
    buf_puts(b, "</div></div>");
    web_page_end(b, c->lex, c->loc);
    case_cleanup(&k);
    store_close(s);
    if (err) {
        web_buf_reset(b);
        web_error_page(res, c->lex, c->loc, 503, c->u);
    }
}

enum web_step web_case_page(struct web_call *c, struct web_res *res)
{
    if (strcmp(c->q->method, "POST") == 0)
        return web_case_post(c, res);
    case_render(c, c->rest, false, NULL, false, res);
    return WEB_ANSWER;
}

enum web_step web_case_api(struct web_call *c, struct web_res *res)
{
    struct store *s;
    if (!open_store(c, &s)) {
        web_json_error(res, 503, "unavailable");
        return WEB_ANSWER;
    }
    struct fq_case k;
    enum fq_err err = strlen(c->rest) <= 32 ? store_case_get(s, c->rest, &k) : FQ_ENOTFOUND;
    if (err || !visible(c, &k)) {
        if (!err)
            case_cleanup(&k);
        store_close(s);
        web_json_error(res, err && err != FQ_ENOTFOUND ? 503 : 404,
                       err && err != FQ_ENOTFOUND ? "unavailable" : "not_found");
        return WEB_ANSWER;
    }
    struct fq_ctx ctx = {.store = s, .cfg = c->q->cfg, .roster = c->roster, .lex = c->lex,
                         .now = c->q->now};
    res->type = "application/json; charset=utf-8";
    struct fq_buf *b = &res->body;
    struct fq_jobj o = jobj_begin(b);
    payload_case_fields(&o, &ctx, &k, false);
    jobj_str(&o, "due_state", due_state(&k, c->q->now));
    jobj_key(&o, "commands");
    struct fq_jarr cmds = jarr_begin(b);
    for (int i = 0; i < LC__CMD_COUNT; i++)
        if (may_press(c, &k, i)) {
            jarr_item(&cmds);
            struct fq_jobj co = jobj_begin(b);
            jobj_str(&co, "command", lifecycle_commands[i].name);
            jobj_str(&co, "label", cmd_word(c, i));
            jobj_end(&co);
        }
    jarr_end(&cmds);
    jobj_end(&o);
    case_cleanup(&k);
    store_close(s);
    return WEB_ANSWER;
}

/* ---- a command or a reveal, through the core -------------------------------------------------- */
/* What the answer after the commit needs: the request is gone by then. */
struct case_job {
    struct web *w;
    const struct fq_config *cfg;
    struct web_user u;
    int loc;
    char case_no[40];
    bool reveal;
};

static void case_job_render(struct case_job *j, const char *flash, bool ok, struct web_res *res)
{
    struct core_view v;
    core_view_take(web_core(j->w), &v);
    struct web_req q = {.cfg = j->cfg, .now = fq_now(), .method = "GET"};
    struct web_call c = {.w = j->w, .q = &q, .u = &j->u, .roster = v.roster, .lex = v.lex,
                         .loc = j->loc};
    web_buf_reset(&res->body);
    res->status = 200;
    res->type = "text/html; charset=utf-8";
    case_render(&c, j->case_no, j->reveal, flash, ok, res);
    core_view_release(&v);
}

static void reveal_done(struct fq_msg *m, struct web_res *res)
{
    struct case_job *j = res->ctx;
    if (m->status != 200) {
        web_json_error(res, 503, "unavailable");
        return;
    }
    case_job_render(j, NULL, true, res);
}

/* The first reply of a command's answer ({"replies": [...]} or an error's message). */
static char *reply_text(const char *json)
{
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    const char *t = NULL;
    json_t *r = json_object_get(o, "replies");
    if (json_is_array(r) && json_array_size(r))
        t = json_string_value(json_object_get(json_array_get(r, 0), "text"));
    if (!t)
        t = json_string_value(json_object_get(o, "message"));
    char *out = t ? strdup(t) : NULL;
    json_decref(o);
    return out;
}

static void command_done(struct fq_msg *m, struct web_res *res)
{
    struct case_job *j = res->ctx;
    if (m->status == 503 || m->status == 500) {
        web_json_error(res, 503, "unavailable");
        return;
    }
    char *text = reply_text(m->answer);
    case_job_render(j, text ? text : "", m->status == 200, res);
    free(text);
}

enum web_step web_case_post(struct web_call *c, struct web_res *res)
{
    struct store *s;
    if (!open_store(c, &s)) {
        web_error_page(res, c->lex, c->loc, 503, c->u);
        return WEB_ANSWER;
    }
    struct fq_case k;
    enum fq_err err = strlen(c->rest) <= 32 ? store_case_get(s, c->rest, &k) : FQ_ENOTFOUND;
    store_close(s);
    if (err || !visible(c, &k)) {
        if (!err)
            case_cleanup(&k);
        web_error_page(res, c->lex, c->loc, err && err != FQ_ENOTFOUND ? 503 : 404, c->u);
        return WEB_ANSWER;
    }
    struct case_job *j = calloc(1, sizeof *j);
    if (!j) {
        case_cleanup(&k);
        web_error_page(res, c->lex, c->loc, 503, c->u);
        return WEB_ANSWER;
    }
    j->w = c->w;
    j->cfg = c->q->cfg;
    j->u = *c->u;
    j->loc = c->loc;
    snprintf(j->case_no, sizeof j->case_no, "%s", k.case_no);
    res->ctx = j;
    res->ctx_free = free;
    const char *what = web_form_get(c->form, "do");
    if (what && strcmp(what, "reveal") == 0) {
        /* the full number is shown only once its viewing is logged (who, when, which case) */
        j->reveal = true;
        res->msg = web_audit_msg(c->u->login, "reveal_contact", k.case_no, NULL);
        res->then = reveal_done;
        case_cleanup(&k);
        if (!res->msg) {
            web_error_page(res, c->lex, c->loc, 503, c->u);
            return WEB_ANSWER;
        }
        return WEB_CORE;
    }
    const char *command = web_form_get(c->form, "command");
    int cmd = command ? lifecycle_cmd_parse(command) : -1;
    if (cmd < 0 || !may_press(c, &k, cmd)) {
        char *flash = i18n_format(c->lex, c->loc, "web_case_refused", (char *)NULL);
        case_cleanup(&k);
        case_job_render(j, flash ? flash : "", false, res);
        free(flash);
        res->status = 409;
        return WEB_ANSWER;
    }
    case_cleanup(&k);
    const char *note = web_form_get(c->form, "note"), *rid = web_form_get(c->form, "request_id");
    const char *reason = web_form_get(c->form, "reason"), *answer = web_form_get(c->form, "answer");
    if ((note && (int64_t)strlen(note) > c->q->cfg->server_max_body) || !rid || !auth_token_ok(rid)) {
        web_error_page(res, c->lex, c->loc, 400, c->u);
        return WEB_ANSWER;
    }
    /* what a mediator writes after the case number: the reason or answer, then the note */
    struct fq_buf nb;
    buf_init(&nb);
    if (cmd == LC_CLOSE && reason && *reason) {
        buf_puts(&nb, reason);
        buf_puts(&nb, " ");
    }
    const char *pause = web_form_get(c->form, "pause_reason");
    if (cmd == LC_PAUSE && pause && *pause) {
        buf_puts(&nb, pause);
        buf_puts(&nb, " ");
    }
    if (cmd == LC_SURVEY && answer && *answer) {
        buf_puts(&nb, answer);
        buf_puts(&nb, " ");
    }
    buf_puts(&nb, note ? note : "");
    struct fq_msg *m = fq_msg_new(FQ_MSG_COMMAND);
    if (!m || nb.oom) {
        fq_msg_free(m);
        buf_cleanup(&nb);
        web_error_page(res, c->lex, c->loc, 503, c->u);
        return WEB_ANSWER;
    }
    const char *to = web_form_get(c->form, "to");
    m->command = fq_strdup(lifecycle_commands[cmd].name);
    m->case_no = fq_strdup(j->case_no);
    m->note = nb.len ? buf_take(&nb) : NULL;
    m->to = to && *to ? fq_strdup(to) : NULL;
    m->request_id = fq_strdup(rid);
    m->mediator = fq_strdup(c->u->mediator_id);
    m->locale = fq_strdup(fq_locale_name(c->loc));
    buf_cleanup(&nb);
    chan_stamp(m, &chan_web, FQ_IDENT_MEDIATOR, FQ_REACH_PUSH);
    if (!m->command || !m->case_no || !m->request_id || !m->mediator || !m->locale) {
        fq_msg_free(m);
        web_error_page(res, c->lex, c->loc, 503, c->u);
        return WEB_ANSWER;
    }
    res->msg = m;
    res->then = command_done;
    return WEB_CORE;
}
