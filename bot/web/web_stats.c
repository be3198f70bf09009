/* web_stats.c: the workbench's statistics, 督办 and roster pages and the report downloads
 * (bot/web/pages.h). The pages are HTML made here with every value escaped (web_html); the charts
 * are drawn by web/static/stats.js with Chart.js from the tables each chart's figure carries, so
 * the numbers on the page and in the charts are the same ones, from stats_month (the monthly
 * report's figures, handlers/stats.c). Writes (a 督办 note, a roster) go through the core as
 * messages, like every other change. */
#include "bot/web/pages.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bot/admin/roster_file.h"
#include "bot/render/report_forms.h"
#include "bot/web/stats_api.h"
#include "common/localtime.h"
#include "common/roster_model.h"
#include "handlers/i18n.h"
#include "handlers/report.h"
#include "handlers/stats.h"
#include "store/store.h"

#define ROSTER_TEXT_MAX (8u << 20)

static const char *T(const struct web_call *c, const char *key)
{
    return i18n_get(c->lex, c->loc, key);
}

static const char *param(const struct web_call *c, const char *name)
{
    const char *v = c->q->query ? c->q->query(c->q, name) : NULL;
    return v && *v ? v : NULL;
}

/* office and supervisor accounts; a mediator's workbench is their cases */
static bool staff(const struct web_call *c)
{
    return strcmp(c->u->role, "office") == 0 || strcmp(c->u->role, "supervisor") == 0;
}

static bool gate(struct web_call *c, struct web_res *res)
{
    if (staff(c))
        return true;
    web_error_page(res, c->lex, c->loc, 403, c->u);
    return false;
}

/* The org asked for (?org=, else the user's node), NULL (after a 404 page or JSON) when it is
 * not the user's node or below. */
static const char *scope_of(struct web_call *c, struct web_res *res, bool api)
{
    const char *org = param(c, "org");
    if (!org)
        org = c->u->org_id;
    if (strlen(org) > 64 || !web_in_scope(c->roster, c->u, org)) {
        if (api)
            web_json_error(res, 404, "not_found");
        else
            web_error_page(res, c->lex, c->loc, 404, c->u);
        return NULL;
    }
    return org;
}

static bool month_of(const struct web_call *c, int *year, int *month)
{
    const char *m = param(c, "month");
    if (m)
        return report_parse_month(m, year, month) == 0;
    struct fq_civil d;
    fq_local_civil(c->q->now, &d);
    *year = d.year;
    *month = d.month;
    return true;
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

static const char *org_name(const struct web_call *c, const char *id)
{
    int i = roster_org_index(c->roster, id);
    return i >= 0 ? c->roster->org[i].name : id;
}

static void local_time(struct fq_buf *b, int64_t t)
{
    if (t <= 0) {
        buf_puts(b, "—");
        return;
    }
    struct fq_civil d;
    fq_local_civil(t, &d);
    buf_printf(b, "%04d-%02d-%02d %02d:%02d", d.year, d.month, d.day, d.hour, d.min);
}

/* The options of the user's node and its subtree, indented by depth. */
static void org_options(const struct web_call *c, struct fq_buf *b, int i, int depth,
                        const char *cur)
{
    const struct fq_roster *r = c->roster;
    buf_puts(b, "<option value=\"");
    web_html(b, r->org[i].id);
    buf_puts(b, "\"");
    if (cur && strcmp(cur, r->org[i].id) == 0)
        buf_puts(b, " selected");
    buf_puts(b, ">");
    for (int k = 0; k < depth && k < 8; k++)
        buf_puts(b, "\xe3\x80\x80");   /* U+3000 IDEOGRAPHIC SPACE */
    web_html(b, r->org[i].name);
    buf_puts(b, "</option>");
    for (size_t j = 0; j < r->n_org; j++)
        if (r->org[j].parent == i)
            org_options(c, b, (int)j, depth + 1, cur);
}

static void org_select(const struct web_call *c, struct fq_buf *b, const char *label,
                       const char *cur)
{
    int top = roster_org_index(c->roster, c->u->org_id);
    if (top < 0)
        return;
    buf_puts(b, "<label>");
    web_html(b, label);
    buf_puts(b, "<select name=\"org\">");
    org_options(c, b, top, 0, cur);
    buf_puts(b, "</select></label>");
}

/* the pages' own style sheet, after the layout's */
static void style(struct fq_buf *b)
{
    buf_puts(b, "<link rel=\"stylesheet\" href=\"");
    web_asset_link(b, "stats.css");
    buf_puts(b, "\">");
}

static void script(struct fq_buf *b, const char *name)
{
    buf_puts(b, "<script defer src=\"");
    web_asset_link(b, name);
    buf_puts(b, "\"></script>");
}

/* ---- statistics ------------------------------------------------------------------------------ */
static void rate_text(const struct web_call *c, struct fq_buf *b, double v)
{
    if (v < 0) {
        buf_puts(b, "—");
        return;
    }
    char n[32];
    snprintf(n, sizeof n, "%.1f", v * 100.0);
    char *t = i18n_format(c->lex, c->loc, "web_stats_percent", "n", n, (char *)NULL);
    web_html(b, t ? t : n);
    free(t);
}

/* a duration as people say it: minutes under an hour, hours under two days, then days */
static void hours_text(const struct web_call *c, struct fq_buf *b, double seconds)
{
    if (seconds < 0) {
        buf_puts(b, "—");
        return;
    }
    char n[32];
    const char *key;
    if (seconds < 3600) {
        snprintf(n, sizeof n, "%.0f", seconds / 60.0);
        key = "web_stats_minutes";
    } else if (seconds < 48 * 3600) {
        snprintf(n, sizeof n, "%.1f", seconds / 3600.0);
        key = "web_stats_hours";
    } else {
        snprintf(n, sizeof n, "%.1f", seconds / 86400.0);
        key = "web_stats_days";
    }
    char *t = i18n_format(c->lex, c->loc, key, "n", n, (char *)NULL);
    web_html(b, t ? t : n);
    free(t);
}

static void kpi(const struct web_call *c, struct fq_buf *b, const char *key, long long v)
{
    char label[48];
    snprintf(label, sizeof label, "web_stats_%s", key);
    buf_printf(b, "<div class=\"kpi\" data-k=\"%s\" data-v=\"%lld\"><span>", key, v);
    web_html(b, T(c, label));
    buf_printf(b, "</span><b>%lld</b></div>", v);
}

static const char *const SERIES[] = {"received", "resolved", "unresolved", "withdrawn", "open",
                                     "overdue"};

static long long count_of(const struct rp_counts *n, const char *s)
{
    return !strcmp(s, "received")     ? n->received
           : !strcmp(s, "resolved")   ? n->resolved
           : !strcmp(s, "unresolved") ? n->unresolved
           : !strcmp(s, "withdrawn")  ? n->withdrawn
           : !strcmp(s, "open")       ? n->open
                                      : n->overdue;
}

static void figure_begin(const struct web_call *c, struct fq_buf *b, const char *id,
                         const char *kind, const char *title_key, const char *const *series,
                         size_t n_series)
{
    buf_printf(b, "<figure class=\"card chart chart-%s\"><figcaption>", id);
    web_html(b, T(c, title_key));
    buf_printf(b, "</figcaption><div class=\"canvas-box\"><canvas id=\"chart-%s\" "
                  "data-kind=\"%s\" data-skip-zero=\"%d\" role=\"img\" aria-label=\"",
               id, kind, strcmp(id, "trend") && strcmp(id, "org"));
    web_html(b, T(c, title_key));
    buf_printf(b, "\"></canvas></div><table class=\"chart-data\" data-chart=\"chart-%s\">"
                  "<thead><tr><th></th>",
               id);
    for (size_t i = 0; i < n_series; i++) {
        char key[48];
        snprintf(key, sizeof key, "web_stats_%s", series[i]);
        buf_printf(b, "<th data-series=\"%s\">", series[i]);
        web_html(b, T(c, key));
        buf_puts(b, "</th>");
    }
    buf_puts(b, "</tr></thead><tbody>");
}

static void figure_row(struct fq_buf *b, const char *key, const char *label,
                       const struct rp_counts *n, const char *const *series, size_t n_series)
{
    buf_puts(b, "<tr data-key=\"");
    web_html(b, key);
    buf_puts(b, "\"><th>");
    web_html(b, label);
    buf_puts(b, "</th>");
    for (size_t i = 0; i < n_series; i++) {
        long long v = count_of(n, series[i]);
        buf_printf(b, "<td data-v=\"%lld\">%lld</td>", v, v);
    }
    buf_puts(b, "</tr>");
}

static void figure_end(struct fq_buf *b) { buf_puts(b, "</tbody></table></figure>"); }

static void download(const struct web_call *c, struct fq_buf *b, const char *file,
                     const char *label_key, const char *month, const char *org)
{
    buf_printf(b, "<a class=\"button\" download href=\"/app/reports/%s?month=%s&amp;org=", file,
               month);
    web_html(b, org);
    buf_puts(b, "\">");
    web_html(b, T(c, label_key));
    buf_puts(b, "</a>");
}

static void stats_html(const struct web_call *c, struct fq_buf *b, const struct st_stats *s,
                       const char *org)
{
    const struct rp_monthly *m = s->m;
    char month[16];
    snprintf(month, sizeof month, "%04d-%02d", m->year, m->month);
    buf_puts(b, "<div class=\"page-head\"><h1>");
    web_html(b, T(c, "web_stats_title"));
    buf_puts(b, "</h1><span class=\"count\" id=\"stats-scope\" data-org=\"");
    web_html(b, org);
    buf_printf(b, "\" data-month=\"%s\">", month);
    web_html(b, org_name(c, org));
    buf_printf(b, " · %s</span></div>", month);

    buf_puts(b, "<form class=\"card filters stats-filters\" method=\"get\" action=\"/app/stats\">"
                "<label>");
    web_html(b, T(c, "web_stats_month"));
    buf_printf(b, "<input type=\"month\" name=\"month\" value=\"%s\" required></label>", month);
    org_select(c, b, T(c, "web_stats_scope"), org);
    buf_puts(b, "<button class=\"primary\" type=\"submit\">");
    web_html(b, T(c, "web_stats_show"));
    buf_puts(b, "</button></form>");

    buf_puts(b, "<section class=\"kpis\" id=\"kpis\">");
    for (size_t i = 0; i < sizeof SERIES / sizeof *SERIES; i++)
        kpi(c, b, SERIES[i], count_of(&m->total, SERIES[i]));
    buf_puts(b, "</section><section class=\"card rates\"><dl>");
    struct {
        const char *key;
        double v;
        bool rate;
    } facts[] = {
        {"success_rate", m->success_rate, true},
        {"satisfaction_rate", m->satisfaction_rate, true},
        {"response_rate", m->response_rate, true},
        {"accept_median", s->accept_median_s, false},
        {"accept_mean", m->to_accept.count ? m->to_accept.mean_s : -1, false},
        {"resolve_median", s->resolve_median_s, false},
        {"resolve_mean", m->to_resolve.count ? m->to_resolve.mean_s : -1, false},
    };
    for (size_t i = 0; i < sizeof facts / sizeof *facts; i++) {
        char key[48];
        snprintf(key, sizeof key, "web_stats_%s", facts[i].key);
        buf_printf(b, "<div data-k=\"%s\"><dt>", facts[i].key);
        web_html(b, T(c, key));
        buf_puts(b, "</dt><dd>");
        if (facts[i].rate)
            rate_text(c, b, facts[i].v);
        else
            hours_text(c, b, facts[i].v);
        buf_puts(b, "</dd></div>");
    }
    buf_puts(b, "</dl></section><section class=\"charts\">");

    static const char *const four[] = {"received", "resolved", "open", "overdue"};
    static const char *const one[] = {"received"};
    static const char *const two[] = {"received", "resolved"};
    figure_begin(c, b, "trend", "line", "web_stats_trend", two, 2);
    for (int i = 0; i < STATS_TREND_MONTHS; i++) {
        const struct st_trend *t = &s->trend[i];
        char mo[16];
        snprintf(mo, sizeof mo, "%04d-%02d", t->year, t->month);
        struct rp_counts n = {.received = t->received, .resolved = t->resolved};
        figure_row(b, mo, mo, &n, two, 2);
    }
    figure_end(b);

    figure_begin(c, b, "category", "bar", "web_stats_by_category", four, 4);
    for (size_t i = 0; i < m->by_category.n; i++) {
        const struct rp_row *r = &m->by_category.v[i];
        figure_row(b, r->key, i18n_category(c->lex, c->loc, r->key), &r->n, four, 4);
    }
    figure_end(b);

    /* the children of the node shown (the node itself when it has none) */
    figure_begin(c, b, "org", "bar", "web_stats_by_org", four, 4);
    bool children = false;
    for (size_t i = 0; i < m->by_org.n; i++)
        children |= m->by_org.v[i].depth == 1;
    for (size_t i = 0; i < m->by_org.n; i++) {
        const struct rp_row *r = &m->by_org.v[i];
        if (r->depth == (children ? 1 : 0) && *r->key)
            figure_row(b, r->key, r->label, &r->n, four, 4);
    }
    figure_end(b);

    figure_begin(c, b, "severity", "doughnut", "web_stats_by_severity", one, 1);
    for (int i = FQ_SEV_BLUE; i <= FQ_SEV_RED && (size_t)i < m->by_severity.n; i++) {
        const struct rp_row *r = &m->by_severity.v[i];
        figure_row(b, r->key, i18n_severity(c->lex, c->loc, i), &r->n, one, 1);
    }
    figure_end(b);

    figure_begin(c, b, "channel", "doughnut", "web_stats_by_channel", one, 1);
    for (size_t i = 0; i < m->by_channel.n; i++) {
        const struct rp_row *r = &m->by_channel.v[i];
        char key[48];
        snprintf(key, sizeof key, "web_ch_%s", r->key);
        const char *label = i18n_get(c->lex, c->loc, key);
        figure_row(b, r->key, label && strcmp(label, key) ? label : r->key, &r->n, one, 1);
    }
    figure_end(b);
    buf_puts(b, "</section><section class=\"card downloads\"><h2>");
    web_html(b, T(c, "web_stats_downloads"));
    buf_puts(b, "</h2><p>");
    download(c, b, "monthly.xlsx", "web_stats_report_xlsx", month, org);
    download(c, b, "monthly.csv", "web_stats_report_csv", month, org);
    download(c, b, "ledger.xlsx", "web_stats_ledger_xlsx", month, org);
    download(c, b, "ledger.csv", "web_stats_ledger_csv", month, org);
    buf_puts(b, "</p></section>");
    script(b, "chart.min.js");
    script(b, "stats.js");
}

/* The statistics of the asked month and org; NULL after an error answer. */
static struct st_stats *compute(struct web_call *c, struct web_res *res, bool api,
                                const char **org_out)
{
    const char *org = scope_of(c, res, api);
    if (!org)
        return NULL;
    int year, month;
    if (!month_of(c, &year, &month)) {
        if (api)
            web_json_error(res, 400, "bad_request");
        else
            web_error_page(res, c->lex, c->loc, 400, c->u);
        return NULL;
    }
    struct store *s;
    if (!open_store(c, &s)) {
        api ? web_json_error(res, 503, "unavailable")
            : web_error_page(res, c->lex, c->loc, 503, c->u);
        return NULL;
    }
    struct fq_ctx ctx = {.store = s, .cfg = c->q->cfg, .lex = c->lex, .roster = c->roster,
                         .now = c->q->now};
    struct st_stats *st = NULL;
    enum fq_err err = stats_month(&ctx, year, month, org, &st);
    store_close(s);
    if (err) {
        api ? web_json_error(res, 503, "unavailable")
            : web_error_page(res, c->lex, c->loc, 503, c->u);
        return NULL;
    }
    *org_out = org;
    return st;
}

enum web_step web_stats_page(struct web_call *c, struct web_res *res)
{
    if (!gate(c, res))
        return WEB_ANSWER;
    const char *org = NULL;
    struct st_stats *st = compute(c, res, false, &org);
    if (!st)
        return WEB_ANSWER;
    web_buf_reset(&res->body);
    web_page_begin(&res->body, c->lex, c->loc, T(c, "web_stats_title"), c->u, "stats");
    style(&res->body);
    stats_html(c, &res->body, st, org);
    web_page_end(&res->body, c->lex, c->loc);
    res->status = 200;
    res->type = "text/html; charset=utf-8";
    stats_free(st);
    return WEB_ANSWER;
}

enum web_step web_stats_api(struct web_call *c, struct web_res *res)
{
    if (!staff(c)) {
        web_json_error(res, 403, "forbidden");
        return WEB_ANSWER;
    }
    const char *org = NULL;
    struct st_stats *st = compute(c, res, true, &org);
    if (!st)
        return WEB_ANSWER;
    char *json = web_stats_json(st);
    stats_free(st);
    if (!json) {
        web_json_error(res, 503, "unavailable");
        return WEB_ANSWER;
    }
    web_buf_reset(&res->body);
    buf_puts(&res->body, json);
    free(json);
    res->status = 200;
    res->type = "application/json; charset=utf-8";
    return WEB_ANSWER;
}

/* ---- report downloads ------------------------------------------------------------------------ */
static bool slurp(const char *path, struct fq_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(b, chunk, n);
    bool ok = !ferror(f) && !b->oom;
    fclose(f);
    return ok;
}

enum web_step web_report_file(struct web_call *c, struct web_res *res)
{
    if (!gate(c, res))
        return WEB_ANSWER;
    const char *what = c->rest;
    bool ledger = !strncmp(what, "ledger.", 7), monthly = !strncmp(what, "monthly.", 8);
    const char *ext = strchr(what, '.');
    bool xlsx = ext && !strcmp(ext, ".xlsx"), csv = ext && !strcmp(ext, ".csv");
    if (!(ledger || monthly) || !(xlsx || csv) || strchr(ext + 1, '.')) {
        web_error_page(res, c->lex, c->loc, 404, c->u);
        return WEB_ANSWER;
    }
    const char *org = scope_of(c, res, false);
    if (!org)
        return WEB_ANSWER;
    int year, month;
    if (!month_of(c, &year, &month)) {
        web_error_page(res, c->lex, c->loc, 400, c->u);
        return WEB_ANSWER;
    }
    struct store *s;
    if (!open_store(c, &s)) {
        web_error_page(res, c->lex, c->loc, 503, c->u);
        return WEB_ANSWER;
    }
    struct fq_ctx ctx = {.store = s, .cfg = c->q->cfg, .lex = c->lex, .roster = c->roster,
                         .now = c->q->now};
    struct rp_monthly *r = NULL;
    struct rp_ledger *l = NULL;
    int64_t from, to;
    report_month_bounds(year, month, &from, &to);
    enum fq_err err = monthly ? report_monthly(&ctx, year, month, org, &r)
                              : report_ledger_in(&ctx, from, to, org, &l);
    store_close(s);
    bool ok = !err;
    web_buf_reset(&res->body);
    if (ok && csv) {
        /* the catalogs' zh-CN headers, as `fengqiao report` writes them */
        char *text = monthly ? report_csv(r, c->lex) : ledger_csv(l, c->lex);
        ok = text != NULL;
        if (ok)
            buf_puts(&res->body, text);
        free(text);
    } else if (ok) {
        char dir[] = "/tmp/fq-web-report-XXXXXX", path[64], *cause = NULL;
        ok = mkdtemp(dir) != NULL;
        if (ok) {
            snprintf(path, sizeof path, "%s/r.xlsx", dir);
            ok = report_xlsx(r, l, c->lex, path, &cause) == FQ_OK && slurp(path, &res->body);
            free(cause);
            unlink(path);
            rmdir(dir);
        }
    }
    report_monthly_free(r);
    report_ledger_free(l);
    if (!ok || res->body.oom) {
        web_error_page(res, c->lex, c->loc, 503, c->u);
        return WEB_ANSWER;
    }
    char disp[160];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s-%s-%04d-%02d.%s\"",
             monthly ? "report" : "ledger", org, year, month, xlsx ? "xlsx" : "csv");
    for (char *p = disp + 22; *p; p++)   /* an org id is [A-Za-z0-9_-]; anything else out */
        if (*p == '"' && p[1])
            *p = '_';
    web_res_header(res, "Content-Disposition", disp);
    res->status = 200;
    res->type = xlsx ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                     : "text/csv; charset=utf-8";
    return WEB_ANSWER;
}

/* ---- 督办 ------------------------------------------------------------------------------------ */
static long long within_hours(const struct web_call *c)
{
    const char *w = param(c, "within");
    if (!w)
        return 24;
    char *end;
    long long h = strtoll(w, &end, 10);
    return *end || h < 0 || h > WITHIN_MAX_H || strlen(w) > 4 ? -1 : h;
}

static void sent_html(const struct web_call *c, struct fq_buf *b, const struct st_sent *x)
{
    char key[64];
    snprintf(key, sizeof key, "web_sup_sent_%s%s%s", x->type, x->kind ? "_" : "",
             x->kind ? x->kind : "");
    buf_printf(b, "<li data-type=\"%s\">", x->type);
    web_html(b, T(c, key));
    buf_puts(b, " <span class=\"muted small\">");
    local_time(b, x->at);
    buf_puts(b, " · ");
    int mi = roster_mediator_index(c->roster, x->actor);
    web_html(b, !strcmp(x->actor, "system") ? T(c, "web_actor_system")
                : mi >= 0                    ? c->roster->med[mi].name
                                             : x->actor);
    buf_puts(b, "</span>");
    if (x->note) {
        buf_puts(b, "<br>");
        web_html(b, x->note);
    }
    buf_puts(b, "</li>");
}

static void tally_table(const struct web_call *c, struct fq_buf *b, const char *id,
                        const char *title_key, const char *const *keys, const char *const *names,
                        const long long *late, const long long *near, size_t n)
{
    buf_printf(b, "<div class=\"card\"><h2>");
    web_html(b, T(c, title_key));
    buf_printf(b, "</h2><table class=\"tally\" id=\"%s\"><thead><tr><th></th><th>", id);
    web_html(b, T(c, "web_sup_late"));
    buf_puts(b, "</th><th>");
    web_html(b, T(c, "web_sup_near"));
    buf_puts(b, "</th></tr></thead><tbody>");
    for (size_t i = 0; i < n; i++) {
        buf_puts(b, "<tr data-key=\"");
        web_html(b, keys[i]);
        buf_puts(b, "\"><th>");
        web_html(b, names[i] ? names[i] : *keys[i] ? keys[i] : T(c, "web_sup_unassigned"));
        buf_printf(b, "</th><td>%lld</td><td>%lld</td></tr>", late[i], near[i]);
    }
    buf_puts(b, "</tbody></table></div>");
}

static void late_html(const struct web_call *c, struct fq_buf *b, const struct st_late *v,
                      size_t n, const char *org, long long hours)
{
    const struct fq_roster *ro = c->roster;
    buf_puts(b, "<div class=\"page-head\"><h1>");
    web_html(b, T(c, "web_sup_title"));
    buf_printf(b, "</h1><span class=\"count\">%zu</span></div>", n);
    const char *sent = param(c, "sent"), *err = param(c, "error");
    if (sent) {
        buf_puts(b, "<p class=\"card notice ok\" id=\"sup-sent\">");
        char *t = i18n_format(c->lex, c->loc, "web_sup_sent_ok", "case", sent, (char *)NULL);
        web_html(b, t ? t : sent);
        free(t);
        buf_puts(b, "</p>");
    } else if (err) {
        buf_puts(b, "<p class=\"card notice bad\" id=\"sup-error\">");
        web_html(b, T(c, !strcmp(err, "not_found") ? "web_sup_error_not_found"
                          : !strcmp(err, "conflict") ? "web_sup_error_conflict"
                                                     : "web_sup_error"));
        buf_puts(b, "</p>");
    }
    buf_puts(b, "<form class=\"card filters\" method=\"get\" action=\"/app/supervision\">");
    org_select(c, b, T(c, "web_stats_scope"), org);
    buf_puts(b, "<label>");
    web_html(b, T(c, "web_sup_within"));
    buf_puts(b, "<select name=\"within\">");
    static const int hs[] = {0, 24, 48, 72, 168};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++) {
        char nstr[8], *t;
        snprintf(nstr, sizeof nstr, "%d", hs[i]);
        t = i18n_format(c->lex, c->loc, hs[i] ? "web_sup_within_h" : "web_sup_within_0", "n", nstr,
                        (char *)NULL);
        buf_printf(b, "<option value=\"%d\"%s>", hs[i], hs[i] == hours ? " selected" : "");
        web_html(b, t ? t : nstr);
        free(t);
        buf_puts(b, "</option>");
    }
    buf_puts(b, "</select></label><button class=\"primary\" type=\"submit\">");
    web_html(b, T(c, "web_stats_show"));
    buf_puts(b, "</button></form>");

    /* by mediator and by node */
    const char **mk = calloc(n + 1, sizeof *mk), **mn = calloc(n + 1, sizeof *mn);
    const char **nk = calloc(n + 1, sizeof *nk), **nn = calloc(n + 1, sizeof *nn);
    long long *ml = calloc(n + 1, sizeof *ml), *mr = calloc(n + 1, sizeof *mr);
    long long *nl = calloc(n + 1, sizeof *nl), *nr = calloc(n + 1, sizeof *nr);
    size_t n_m = 0, n_n = 0;
    if (mk && mn && nk && nn && ml && mr && nl && nr) {
        for (size_t i = 0; i < n; i++) {
            const char *med = v[i].k.mediator_id ? v[i].k.mediator_id : "";
            const char *node = v[i].node >= 0 ? ro->org[v[i].node].id : "";
            size_t a = 0, d = 0;
            while (a < n_m && strcmp(mk[a], med))
                a++;
            if (a == n_m) {
                int mi = roster_mediator_index(ro, med);
                mk[n_m] = med;
                mn[n_m++] = mi >= 0 ? ro->med[mi].name : NULL;
            }
            while (d < n_n && strcmp(nk[d], node))
                d++;
            if (d == n_n) {
                nk[n_n] = node;
                nn[n_n++] = v[i].node >= 0 ? ro->org[v[i].node].name : NULL;
            }
            (v[i].past ? ml : mr)[a]++;
            (v[i].past ? nl : nr)[d]++;
        }
        buf_puts(b, "<section class=\"sup-tallies\">");
        tally_table(c, b, "by-mediator", "web_sup_by_mediator", mk, mn, ml, mr, n_m);
        tally_table(c, b, "by-node", "web_sup_by_node", nk, nn, nl, nr, n_n);
        buf_puts(b, "</section>");
    } else {
        b->oom = true;
    }
    free(mk), free(mn), free(nk), free(nn), free(ml), free(mr), free(nl), free(nr);

    if (!n) {
        buf_puts(b, "<p class=\"card muted\" id=\"sup-empty\">");
        web_html(b, T(c, "web_sup_empty"));
        buf_puts(b, "</p>");
    }
    buf_puts(b, "<section id=\"supervision\">");
    for (size_t i = 0; i < n; i++) {
        const struct st_late *l = &v[i];
        int mi = roster_mediator_index(ro, l->k.mediator_id);
        buf_puts(b, "<article class=\"card late\" data-case=\"");
        web_html(b, l->k.case_no);
        buf_printf(b, "\" data-past=\"%d\"><div class=\"late-head\"><a class=\"no mono\" "
                      "href=\"/app/cases/",
                   l->past ? 1 : 0);
        web_html(b, l->k.case_no);
        buf_puts(b, "\">");
        web_html(b, l->k.case_no);
        buf_printf(b, "</a><span class=\"badge %s\">", l->past ? "bad" : "warn");
        web_html(b, T(c, l->past ? "web_sup_late" : "web_sup_near"));
        buf_puts(b, "</span><span>");
        web_html(b, i18n_category(c->lex, c->loc, l->k.category));
        buf_puts(b, "</span><span class=\"muted\">");
        web_html(b, l->node >= 0 ? ro->org[l->node].name : "");
        buf_puts(b, " · ");
        web_html(b, mi >= 0 ? ro->med[mi].name
                            : l->k.mediator_id ? l->k.mediator_id : T(c, "web_sup_unassigned"));
        buf_puts(b, "</span></div><p class=\"small\">");
        web_html(b, T(c, l->accept ? "web_sup_deadline_accept" : "web_sup_deadline_resolve"));
        buf_puts(b, " ");
        local_time(b, l->due);
        buf_puts(b, "</p>");
        if (l->n_sent) {
            buf_puts(b, "<ul class=\"sent small\">");
            for (size_t j = 0; j < l->n_sent; j++)
                sent_html(c, b, &l->sent[j]);
            buf_puts(b, "</ul>");
        }
        if (l->k.mediator_id) {
            buf_puts(b, "<form class=\"sup-note\" method=\"post\" action=\"/app/supervision\">"
                        "<input type=\"hidden\" name=\"csrf\" value=\"");
            web_html(b, c->u->csrf);
            buf_puts(b, "\"><input type=\"hidden\" name=\"case_no\" value=\"");
            web_html(b, l->k.case_no);
            buf_printf(b, "\"><textarea name=\"note\" rows=\"2\" maxlength=\"%d\" required "
                          "placeholder=\"",
                       STATS_NOTE_MAX);
            web_html(b, T(c, "web_sup_note"));
            buf_puts(b, "\"></textarea><button type=\"submit\">");
            web_html(b, T(c, "web_sup_send"));
            buf_puts(b, "</button></form>");
        }
        buf_puts(b, "</article>");
    }
    buf_puts(b, "</section>");
}

static void note_done(struct fq_msg *m, struct web_res *res)
{
    char to[96];
    if (m->status == 200)
        snprintf(to, sizeof to, "/app/supervision?sent=%s", m->case_no ? m->case_no : "");
    else
        snprintf(to, sizeof to, "/app/supervision?error=%s",
                 m->status == 404 ? "not_found" : m->status == 409 ? "conflict" : "failed");
    web_redirect(res, to);
}

/* a case number as the store gives them out: letters, digits and '-' */
static bool case_no_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 32)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || *s == '-'))
            return false;
    return true;
}

enum web_step web_supervision_page(struct web_call *c, struct web_res *res)
{
    if (!gate(c, res))
        return WEB_ANSWER;
    if (c->form) {   /* POST: a 督办 note (signed in and CSRF checked by web_handle) */
        const char *no = web_form_get(c->form, "case_no"), *note = web_form_get(c->form, "note");
        if (!case_no_ok(no) || !note || !*note || strlen(note) > STATS_NOTE_MAX) {
            web_redirect(res, "/app/supervision?error=bad_request");
            return WEB_ANSWER;
        }
        struct fq_msg *m = web_supervise_note_msg(no, note, c->u->login, c->u->org_id);
        if (!m) {
            web_error_page(res, c->lex, c->loc, 503, c->u);
            return WEB_ANSWER;
        }
        res->msg = m;
        res->then = note_done;
        return WEB_CORE;
    }
    const char *org = scope_of(c, res, false);
    if (!org)
        return WEB_ANSWER;
    long long hours = within_hours(c);
    if (hours < 0) {
        web_error_page(res, c->lex, c->loc, 400, c->u);
        return WEB_ANSWER;
    }
    struct store *s;
    if (!open_store(c, &s)) {
        web_error_page(res, c->lex, c->loc, 503, c->u);
        return WEB_ANSWER;
    }
    struct fq_ctx ctx = {.store = s, .cfg = c->q->cfg, .lex = c->lex, .roster = c->roster,
                         .now = c->q->now};
    struct st_late *v = NULL;
    size_t n = 0;
    enum fq_err err = stats_late(&ctx, org, hours * 3600, LATE_MAX, &v, &n);
    store_close(s);
    if (err) {
        web_error_page(res, c->lex, c->loc, 503, c->u);
        return WEB_ANSWER;
    }
    web_buf_reset(&res->body);
    web_page_begin(&res->body, c->lex, c->loc, T(c, "web_sup_title"), c->u, "supervision");
    style(&res->body);
    late_html(c, &res->body, v, n, org, hours);
    web_page_end(&res->body, c->lex, c->loc);
    stats_late_free(v, n);
    res->status = 200;
    res->type = "text/html; charset=utf-8";
    return WEB_ANSWER;
}

enum web_step web_supervision_api(struct web_call *c, struct web_res *res)
{
    if (!staff(c)) {
        web_json_error(res, 403, "forbidden");
        return WEB_ANSWER;
    }
    const char *org = scope_of(c, res, true);
    if (!org)
        return WEB_ANSWER;
    long long hours = within_hours(c);
    struct store *s = NULL;
    if (hours < 0 || !open_store(c, &s)) {
        web_json_error(res, hours < 0 ? 400 : 503, hours < 0 ? "bad_request" : "unavailable");
        return WEB_ANSWER;
    }
    struct fq_ctx ctx = {.store = s, .cfg = c->q->cfg, .lex = c->lex, .roster = c->roster,
                         .now = c->q->now};
    struct st_late *v = NULL;
    size_t n = 0;
    enum fq_err err = stats_late(&ctx, org, hours * 3600, LATE_MAX, &v, &n);
    char *json = err ? NULL : web_late_json(&ctx, v, n, hours * 3600);
    stats_late_free(v, n);
    store_close(s);
    if (!json) {
        web_json_error(res, 503, "unavailable");
        return WEB_ANSWER;
    }
    web_buf_reset(&res->body);
    buf_puts(&res->body, json);
    free(json);
    res->status = 200;
    res->type = "application/json; charset=utf-8";
    return WEB_ANSWER;
}

/* ---- the roster ------------------------------------------------------------------------------ */
/* A roster replaces the whole territory's: only an account of a root node may send one. */
static bool may_upload(const struct web_call *c)
{
    int i = roster_org_index(c->roster, c->u->org_id);
    return i >= 0 && c->roster->org[i].parent < 0;
}

static void roster_tables(const struct web_call *c, struct fq_buf *b)
{
    const struct fq_roster *r = c->roster;
    int top = roster_org_index(r, c->u->org_id);
    buf_puts(b, "<div class=\"card\"><h2>");
    web_html(b, T(c, "web_roster_org"));
    buf_puts(b, "</h2><div class=\"scroll\"><table id=\"roster-org\"><thead><tr><th>");
    web_html(b, T(c, "web_roster_name"));
    buf_puts(b, "</th><th>");
    web_html(b, T(c, "web_roster_id"));
    buf_puts(b, "</th><th>");
    web_html(b, T(c, "web_roster_level"));
    buf_puts(b, "</th></tr></thead><tbody>");
    for (size_t i = 0; i < r->n_org && top >= 0; i++) {
        if (!roster_org_is_ancestor(r, top, (int)i))
            continue;
        int depth = 0;
        for (int a = (int)i; a >= 0 && a != top && depth < 8; a = r->org[a].parent)
            depth++;
        buf_printf(b, "<tr data-org=\"");
        web_html(b, r->org[i].id);
        buf_printf(b, "\"><td class=\"depth-%d\">", depth);
        web_html(b, r->org[i].name);
        buf_puts(b, "</td><td class=\"mono\">");
        web_html(b, r->org[i].id);
        buf_puts(b, "</td><td>");
        char key[48];
        snprintf(key, sizeof key, "web_level_%s", fq_level_name(r->org[i].level));
        web_html(b, T(c, key));
        buf_puts(b, "</td></tr>");
    }
    buf_puts(b, "</tbody></table></div></div><div class=\"card\"><h2>");
    web_html(b, T(c, "web_roster_mediators"));
    buf_puts(b, "</h2><div class=\"scroll\"><table id=\"roster-mediators\"><thead><tr>");
    static const char *const cols[] = {"web_roster_name", "web_roster_id", "web_roster_role",
                                       "web_roster_node", "web_roster_categories",
                                       "web_roster_state"};
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) {
        buf_puts(b, "<th>");
        web_html(b, T(c, cols[i]));
        buf_puts(b, "</th>");
    }
    buf_puts(b, "</tr></thead><tbody>");
    for (size_t i = 0; i < r->n_med && top >= 0; i++) {
        const struct fq_mediator *m = &r->med[i];
        if (m->org < 0 || !roster_org_is_ancestor(r, top, m->org))
            continue;
        buf_puts(b, "<tr data-mediator=\"");
        web_html(b, m->id);
        buf_puts(b, "\"><td>");
        web_html(b, m->name);
        buf_puts(b, "</td><td class=\"mono\">");
        web_html(b, m->id);
        buf_puts(b, "</td><td>");
        char key[64];
        snprintf(key, sizeof key, "web_mrole_%s", m->role);
        web_html(b, T(c, key));
        buf_puts(b, "</td><td>");
        web_html(b, r->org[m->org].name);
        buf_puts(b, "</td><td>");
        for (size_t k = 0; k < m->n_categories; k++) {
            if (k)
                web_html(b, T(c, "web_roster_sep"));
            web_html(b, strcmp(m->categories[k], "*") ? i18n_category(c->lex, c->loc,
                                                                      m->categories[k])
                                                      : T(c, "web_roster_all"));
        }
        buf_puts(b, "</td><td>");
        web_html(b, T(c, m->active ? "web_roster_active" : "web_roster_inactive"));
        if (m->supervisor) {
            buf_puts(b, " · ");
            web_html(b, T(c, "web_roster_supervisor"));
        }
        buf_puts(b, "</td></tr>");
    }
    buf_puts(b, "</tbody></table></div></div>");
}

static void roster_form(const struct web_call *c, struct fq_buf *b, const char *problem,
                        const char *done)
{
    buf_puts(b, "<div class=\"page-head\"><h1>");
    web_html(b, T(c, "web_roster_title"));
    buf_printf(b, "</h1><span class=\"count\">%zu · %zu</span></div>", c->roster->n_org,
               c->roster->n_med);
    if (problem) {
        buf_puts(b, "<p class=\"card notice bad\" id=\"roster-problem\"><b>");
        web_html(b, T(c, "web_roster_problem"));
        buf_puts(b, "</b> ");
        web_html(b, problem);
        buf_puts(b, "</p>");
    } else if (done) {
        buf_puts(b, "<p class=\"card notice ok\" id=\"roster-ok\">");
        web_html(b, done);
        buf_puts(b, "</p>");
    }
    if (may_upload(c)) {
        buf_puts(b, "<form class=\"card stack\" id=\"roster-form\" method=\"post\" "
                    "action=\"/app/roster\"><h2>");
        web_html(b, T(c, "web_roster_upload"));
        buf_puts(b, "</h2><input type=\"hidden\" name=\"csrf\" value=\"");
        web_html(b, c->u->csrf);
        buf_puts(b, "\"><label>");
        web_html(b, T(c, "web_roster_file"));
        buf_puts(b, "<input type=\"file\" id=\"roster-file\" accept=\".json,application/json\">"
                    "</label><label>");
        web_html(b, T(c, "web_roster_text"));
        buf_puts(b, "<textarea name=\"roster\" id=\"roster-text\" rows=\"6\" required "
                    "spellcheck=\"false\"></textarea></label><button class=\"primary\" "
                    "type=\"submit\">");
        web_html(b, T(c, "web_roster_submit"));
        buf_puts(b, "</button></form>");
    } else {
        buf_puts(b, "<p class=\"card muted\">");
        web_html(b, T(c, "web_roster_readonly"));
        buf_puts(b, "</p>");
    }
}

/* What the answer to an upload needs after the commit: the page around the message, made
 * before the push (the catalogs are lent for the request only). */
struct roster_then {
    char *head, *tail;
    char *ok_text;
};

static void roster_then_free(void *p)
{
    struct roster_then *t = p;
    if (!t)
        return;
    free(t->head);
    free(t->tail);
    free(t->ok_text);
    free(t);
}

static void roster_done(struct fq_msg *m, struct web_res *res)
{
    struct roster_then *t = res->ctx;
    web_buf_reset(&res->body);
    buf_puts(&res->body, t->head);
    if (m->status == 200) {
        buf_puts(&res->body, "<p class=\"card notice ok\" id=\"roster-ok\">");
        web_html(&res->body, t->ok_text);
    } else {
        /* the core's refusal names the problem ({"error","message"}) */
        json_t *j = m->answer ? json_loads(m->answer, 0, NULL) : NULL;
        const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
        buf_puts(&res->body, "<p class=\"card notice bad\" id=\"roster-problem\">");
        web_html(&res->body, msg ? msg : "");
        json_decref(j);
    }
    buf_puts(&res->body, "</p>");
    buf_puts(&res->body, t->tail);
    res->status = m->status == 200 ? 200 : m->status == 400 ? 400 : 503;
    res->type = "text/html; charset=utf-8";
}

enum web_step web_roster_page(struct web_call *c, struct web_res *res)
{
    if (!gate(c, res))
        return WEB_ANSWER;
    const char *problem = NULL;
    char *own_problem = NULL;
    if (c->form) {
        if (!may_upload(c)) {
            web_error_page(res, c->lex, c->loc, 403, c->u);
            return WEB_ANSWER;
        }
        const char *text = web_form_get(c->form, "roster");
        struct fq_roster *ro = NULL;
        enum fq_err err = text && strlen(text) <= ROSTER_TEXT_MAX
                              ? roster_json_parse(text, strlen(text), &ro, &own_problem)
                              : FQ_EINVAL;
        if (err == FQ_ENOMEM) {
            web_error_page(res, c->lex, c->loc, 503, c->u);
            free(own_problem);
            return WEB_ANSWER;
        }
        if (err) {
            problem = own_problem ? own_problem : T(c, "web_roster_empty");
        } else {
            struct roster_then *t = calloc(1, sizeof *t);
            struct fq_msg *m = t ? fq_msg_new(FQ_MSG_ROSTER) : NULL;
            char org[24], med[24];
            snprintf(org, sizeof org, "%zu", ro->n_org);
            snprintf(med, sizeof med, "%zu", ro->n_med);
            struct fq_buf h, tl;
            buf_init(&h);
            buf_init(&tl);
            if (t && m) {
                web_page_begin(&h, c->lex, c->loc, T(c, "web_roster_title"), c->u, "roster");
                style(&h);
                web_page_end(&tl, c->lex, c->loc);
                t->head = buf_take(&h);
                t->tail = buf_take(&tl);
                t->ok_text = i18n_format(c->lex, c->loc, "web_roster_ok", "org", org,
                                         "mediators", med, (char *)NULL);
            }
            if (!t || !m || !t->head || !t->tail || !t->ok_text) {
                roster_then_free(t);
                roster_free(ro);
                fq_msg_free(m);
                web_error_page(res, c->lex, c->loc, 503, c->u);
                return WEB_ANSWER;
            }
            m->roster = ro;
            res->msg = m;
            res->then = roster_done;
            res->ctx = t;
            res->ctx_free = roster_then_free;
            return WEB_CORE;
        }
    }
    web_buf_reset(&res->body);
    web_page_begin(&res->body, c->lex, c->loc, T(c, "web_roster_title"), c->u, "roster");
    style(&res->body);
    roster_form(c, &res->body, problem, NULL);
    roster_tables(c, &res->body);
    script(&res->body, "roster.js");
    web_page_end(&res->body, c->lex, c->loc);
    res->status = problem ? 400 : 200;
    res->type = "text/html; charset=utf-8";
    free(own_problem);
    return WEB_ANSWER;
}
