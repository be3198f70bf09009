/* report_forms.c: the monthly report and the ledger in the forms offices use: a table for the
 * terminal, JSON (admin API, MQTT, scripts), CSV and an XLSX workbook (libxlsxwriter), the file
 * that is actually handed upward.
 *
 * Design: the content of every form comes from one list of (label key, value) lines and one
 * list of ledger columns, so the forms cannot drift apart; only the cell types differ (XLSX
 * writes numbers, percentages and real dates, CSV and text write formatted strings). Labels
 * are zh-CN lexicon texts (rp_ keys): the offices' forms are in Chinese. */
#include "bot/render/report_forms.h"
#include "common/localtime.h"
#include "handlers/report.h"
#include "common/fq.h"
#include "handlers/i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xlsxwriter.h>

#define L FQ_LOC_ZH_CN

/* ---- the lines of the statistics ----------------------------------------------------------- */
enum vt { V_INT, V_RATE, V_HOURS };

struct line {
    const char *key;                 /* rp_ label key */
    enum vt type;
    double v;                        /* rates: -1 = undefined; hours: -1 = undefined */
};

static size_t stat_lines(const struct rp_monthly *r, struct line *out)
{
    size_t n = 0;
#define ADD(k, t, val) out[n++] = (struct line){(k), (t), (double)(val)}
    ADD("rp_received", V_INT, r->total.received);
    ADD("rp_resolved", V_INT, r->total.resolved);
    ADD("rp_unresolved", V_INT, r->total.unresolved);
    ADD("rp_withdrawn", V_INT, r->total.withdrawn);
    ADD("rp_open", V_INT, r->total.open);
    ADD("rp_overdue", V_INT, r->total.overdue);
    ADD("rp_success_rate", V_RATE, r->success_rate);
    ADD("rp_surveys_answered", V_INT, r->surveys_answered);
    ADD("rp_surveys_satisfied", V_INT, r->surveys_satisfied);
    ADD("rp_surveys_no_response", V_INT, r->surveys_no_response);
    ADD("rp_satisfaction_rate", V_RATE, r->satisfaction_rate);
    ADD("rp_response_rate", V_RATE, r->response_rate);
    ADD("rp_accept_mean", V_HOURS, r->to_accept.count ? r->to_accept.mean_s / 3600.0 : -1);
    ADD("rp_accept_p90", V_HOURS, r->to_accept.count ? (double)r->to_accept.p90_s / 3600.0 : -1);
    ADD("rp_resolve_mean", V_HOURS, r->to_resolve.count ? r->to_resolve.mean_s / 3600.0 : -1);
    ADD("rp_resolve_p90", V_HOURS,
        r->to_resolve.count ? (double)r->to_resolve.p90_s / 3600.0 : -1);
    ADD("rp_escalations", V_INT, r->escalations);
    ADD("rp_reopened", V_INT, r->reopened);
    ADD("rp_relapses", V_INT, r->relapses);
#undef ADD
    return n;
}
#define MAX_LINES 24

static void fmt_value(const struct line *ln, const struct fq_lexicon *lx, char *buf, size_t size)
{
    if (ln->type == V_INT)
        snprintf(buf, size, "%lld", (long long)ln->v);
    else if (ln->v < 0)
        snprintf(buf, size, "%s", i18n_get(lx, L, "rp_na"));
    else if (ln->type == V_RATE)
        snprintf(buf, size, "%.1f%%", ln->v * 100.0);
    else
        snprintf(buf, size, "%.1f", ln->v);
}

/* The breakdown tables: title key, first-column header key, rows. */
struct table {
    const char *title, *col;
    const struct rp_rows *rows;
    bool indent;
};

static size_t tables(const struct rp_monthly *r, struct table out[4])
{
    out[0] = (struct table){"rp_by_category", "rp_col_category", &r->by_category, false};
    out[1] = (struct table){"rp_by_severity", "rp_col_severity", &r->by_severity, false};
    out[2] = (struct table){"rp_by_org", "rp_col_org", &r->by_org, true};
    out[3] = (struct table){"rp_by_channel", "rp_col_channel", &r->by_channel, false};
    return 4;
}

static const char *const count_keys[6] = {"rp_received", "rp_resolved", "rp_unresolved",
                                          "rp_withdrawn", "rp_open", "rp_overdue"};

static void counts_of(const struct rp_counts *c, int64_t v[6])
{
    v[0] = c->received;
    v[1] = c->resolved;
    v[2] = c->unresolved;
    v[3] = c->withdrawn;
    v[4] = c->open;
    v[5] = c->overdue;
}

static void month_name(const struct rp_monthly *r, char *buf, size_t size)
{
    snprintf(buf, size, "%04d-%02d", r->year % 10000, r->month % 100);
}

/* ---- JSON ---------------------------------------------------------------------------------- */
static void rate(struct fq_jobj *o, const char *key, double v)
{
    if (v < 0)
        jobj_null(o, key);
    else
        jobj_real(o, key, v);
}

static void counts_fields(struct fq_jobj *o, const struct rp_counts *c)
{
    jobj_int(o, "received", c->received);
    jobj_int(o, "resolved", c->resolved);
    jobj_int(o, "unresolved", c->unresolved);
    jobj_int(o, "withdrawn", c->withdrawn);
    jobj_int(o, "open", c->open);
    jobj_int(o, "overdue", c->overdue);
}

static void rows_arr(struct fq_jobj *o, const char *key, const struct rp_rows *rs, bool depth)
{
    jobj_key(o, key);
    struct fq_jarr a = jarr_begin(o->b);
    for (size_t i = 0; i < rs->n; i++) {
        jarr_item(&a);
        struct fq_jobj row = jobj_begin(o->b);
        counts_fields(&row, &rs->v[i].n);
        jobj_str(&row, "key", rs->v[i].key);
        jobj_str(&row, "label", rs->v[i].label);
        if (depth)
            jobj_int(&row, "depth", rs->v[i].depth);
        jobj_end(&row);
    }
    jarr_end(&a);
}

static void duration_obj(struct fq_jobj *o, const char *key, const struct rp_duration *d)
{
    jobj_key(o, key);
    struct fq_jobj in = jobj_begin(o->b);
    jobj_int(&in, "count", d->count);
    if (d->count) {
        jobj_real(&in, "mean_s", d->mean_s);
        jobj_int(&in, "p90_s", d->p90_s);
    } else {
        jobj_null(&in, "mean_s");
        jobj_null(&in, "p90_s");
    }
    jobj_end(&in);
}

void report_fields(struct fq_jobj *o, const struct rp_monthly *r)
{
    char month[16];
    month_name(r, month, sizeof month);
    counts_fields(o, &r->total);
    jobj_str(o, "month", month);
    jobj_time(o, "from", r->start);
    jobj_time(o, "to", r->end);
    jobj_str(o, "org", r->org);
    jobj_str(o, "org_name", r->org_name);
    rate(o, "success_rate", r->success_rate);
    rate(o, "satisfaction_rate", r->satisfaction_rate);
    rate(o, "survey_response_rate", r->response_rate);
    jobj_key(o, "surveys");
    struct fq_jobj sv = jobj_begin(o->b);
    jobj_int(&sv, "answered", r->surveys_answered);
    jobj_int(&sv, "satisfied", r->surveys_satisfied);
    jobj_int(&sv, "no_response", r->surveys_no_response);
    jobj_key(&sv, "answers");
    struct fq_jobj an = jobj_begin(o->b);
    static const char *const grade[] = {"1", "2", "3", "4"};
    for (int i = 1; i <= 4; i++)
        jobj_int(&an, grade[i - 1], r->answers[i]);
    jobj_end(&an);
    jobj_end(&sv);
    duration_obj(o, "time_to_accept", &r->to_accept);
    duration_obj(o, "time_to_resolve", &r->to_resolve);
    jobj_int(o, "escalations", r->escalations);
    jobj_int(o, "reopened", r->reopened);
    jobj_int(o, "relapses", r->relapses);
    rows_arr(o, "by_category", &r->by_category, false);
    rows_arr(o, "by_severity", &r->by_severity, false);
    rows_arr(o, "by_org", &r->by_org, true);
    rows_arr(o, "by_channel", &r->by_channel, false);
}

char *report_json(const struct rp_monthly *r, bool pretty)
{
    struct fq_buf b;
    buf_init(&b);
    struct fq_jobj o = jobj_begin(&b);
    report_fields(&o, r);
    jobj_end(&o);
    if (!pretty || b.oom)
        return buf_take(&b);
    struct fq_buf p;
    buf_init(&p);
    buf_json_indent(&p, b.s);
    buf_cleanup(&b);
    return buf_take(&p);
}

/* ---- text ---------------------------------------------------------------------------------- */
static bool wide(int32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
           (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
           (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
           (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
           (cp >= 0x20000 && cp <= 0x3FFFD);
}

size_t report_display_width(const char *s)
{
    if (!s)
        return 0;
    const char *p = s, *end = s + strlen(s);
    size_t w = 0;
    while (p < end) {
        int32_t cp = fq_utf8_next(&p, end);
        if (cp < 0) {
            p++;
            w++;
            continue;
        }
        w += wide(cp) ? 2 : 1;
    }
    return w;
}

/* A grid of cells for the text form; cells owned by the grid. */
struct grid {
    char **cell;
    size_t rows, cols;
};

static bool grid_init(struct grid *g, size_t rows, size_t cols)
{
    g->rows = rows;
    g->cols = cols;
    g->cell = calloc(rows * cols + 1, sizeof *g->cell);
    return g->cell != NULL;
}

static void grid_set(struct grid *g, size_t r, size_t c, const char *s)
{
    free(g->cell[r * g->cols + c]);
    g->cell[r * g->cols + c] = fq_strdup(s ? s : "");
}

static void grid_cleanup(struct grid *g)
{
    for (size_t i = 0; g->cell && i < g->rows * g->cols; i++)
        free(g->cell[i]);
    free(g->cell);
    memset(g, 0, sizeof *g);
}

static void pad(struct fq_buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_add(b, " ", 1);
}

/* Column 0 left-aligned, the others right-aligned, two spaces between columns. */
static void grid_print(const struct grid *g, struct fq_buf *b)
{
    size_t *w = calloc(g->cols ? g->cols : 1, sizeof *w);
    if (!w) {
        b->oom = true;
        return;
    }
    for (size_t r = 0; r < g->rows; r++)
        for (size_t c = 0; c < g->cols; c++) {
            size_t x = report_display_width(g->cell[r * g->cols + c]);
            if (x > w[c])
                w[c] = x;
        }
    for (size_t r = 0; r < g->rows; r++) {
        for (size_t c = 0; c < g->cols; c++) {
            const char *s = g->cell[r * g->cols + c] ? g->cell[r * g->cols + c] : "";
            size_t x = report_display_width(s);
            if (c)
                buf_puts(b, "  ");
            if (c == 0) {
                buf_puts(b, s);
                if (g->cols > 1)
                    pad(b, w[c] - x);
            } else {
                pad(b, w[c] - x);
                buf_puts(b, s);
            }
        }
        buf_puts(b, "\n");
    }
    free(w);
}

static char *title_of(const struct rp_monthly *r, const struct fq_lexicon *lx)
{
    char month[16];
    month_name(r, month, sizeof month);
    return i18n_format(lx, L, "rp_title", "month", month, "unit",
                       r->org_name ? r->org_name : i18n_get(lx, L, "rp_all"), (char *)NULL);
}

char *report_text(const struct rp_monthly *r, const struct fq_lexicon *lx)
{
    struct fq_buf b;
    buf_init(&b);
    char *title = title_of(r, lx);
    buf_puts(&b, title ? title : "");
    buf_puts(&b, "\n\n");
    free(title);

    struct line lines[MAX_LINES];
    size_t nl = stat_lines(r, lines);
    struct grid g;
    if (!grid_init(&g, nl + 1, 2)) {
        buf_cleanup(&b);
        return NULL;
    }
    grid_set(&g, 0, 0, i18n_get(lx, L, "rp_col_item"));
    grid_set(&g, 0, 1, i18n_get(lx, L, "rp_col_value"));
    for (size_t i = 0; i < nl; i++) {
        char v[64];
        fmt_value(&lines[i], lx, v, sizeof v);
        grid_set(&g, i + 1, 0, i18n_get(lx, L, lines[i].key));
        grid_set(&g, i + 1, 1, v);
    }
    grid_print(&g, &b);
    grid_cleanup(&g);

    struct table t[4];
    size_t nt = tables(r, t);
    for (size_t k = 0; k < nt; k++) {
        buf_puts(&b, "\n");
        buf_puts(&b, i18n_get(lx, L, t[k].title));
        buf_puts(&b, "\n");
        if (!grid_init(&g, t[k].rows->n + 1, 7))
            break;
        grid_set(&g, 0, 0, i18n_get(lx, L, t[k].col));
        for (int c = 0; c < 6; c++)
            grid_set(&g, 0, (size_t)c + 1, i18n_get(lx, L, count_keys[c]));
        for (size_t i = 0; i < t[k].rows->n; i++) {
            const struct rp_row *row = &t[k].rows->v[i];
            struct fq_buf lab;
            buf_init(&lab);
            for (int d = 0; t[k].indent && d < row->depth; d++)
                buf_puts(&lab, "  ");
            buf_puts(&lab, row->label);
            grid_set(&g, i + 1, 0, lab.s ? lab.s : "");
            buf_cleanup(&lab);
            int64_t v[6];
            counts_of(&row->n, v);
            for (int c = 0; c < 6; c++) {
                char num[24];
                snprintf(num, sizeof num, "%lld", (long long)v[c]);
                grid_set(&g, i + 1, (size_t)c + 1, num);
            }
        }
        grid_print(&g, &b);
        grid_cleanup(&g);
    }
    return buf_take(&b);
}

/* ---- CSV ----------------------------------------------------------------------------------- */
/* One text cell. A cell a spreadsheet would take for a formula (it begins with = + - @, a tab or
 * a carriage return) is neutralised as OWASP recommends: a single quote in front, and quoted.
 * Every text cell goes through here, labels and residents' text alike; the counts written with
 * buf_printf are numbers this file produced and are never negative. */
static void csv_cell(struct fq_buf *b, const char *s, bool first)
{
    if (!first)
        buf_puts(b, ",");
    s = s ? s : "";
    bool formula = s[0] && strchr("=+-@\t\r", s[0]);
    if (!formula && !strpbrk(s, ",\"\r\n")) {
        buf_puts(b, s);
        return;
    }
    buf_puts(b, formula ? "\"'" : "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            buf_puts(b, "\"");
        buf_add(b, p, 1);
    }
    buf_puts(b, "\"");
}

static const char bom[] = "\xEF\xBB\xBF";

char *report_csv(const struct rp_monthly *r, const struct fq_lexicon *lx)
{
    struct fq_buf b;
    buf_init(&b);
    buf_puts(&b, bom);
    char *title = title_of(r, lx);
    csv_cell(&b, title, true);
    free(title);
    buf_puts(&b, "\r\n");
    csv_cell(&b, i18n_get(lx, L, "rp_col_item"), true);
    csv_cell(&b, i18n_get(lx, L, "rp_col_value"), false);
    buf_puts(&b, "\r\n");
    struct line lines[MAX_LINES];
    size_t nl = stat_lines(r, lines);
    for (size_t i = 0; i < nl; i++) {
        char v[64];
        fmt_value(&lines[i], lx, v, sizeof v);
        csv_cell(&b, i18n_get(lx, L, lines[i].key), true);
        csv_cell(&b, v, false);
        buf_puts(&b, "\r\n");
    }
    struct table t[4];
    size_t nt = tables(r, t);
    for (size_t k = 0; k < nt; k++) {
        buf_puts(&b, "\r\n");
        csv_cell(&b, i18n_get(lx, L, t[k].title), true);
        buf_puts(&b, "\r\n");
        csv_cell(&b, i18n_get(lx, L, t[k].col), true);
        for (int c = 0; c < 6; c++)
            csv_cell(&b, i18n_get(lx, L, count_keys[c]), false);
        buf_puts(&b, "\r\n");
        for (size_t i = 0; i < t[k].rows->n; i++) {
            const struct rp_row *row = &t[k].rows->v[i];
            csv_cell(&b, row->label, true);
            int64_t v[6];
            counts_of(&row->n, v);
            for (int c = 0; c < 6; c++)
                buf_printf(&b, ",%lld", (long long)v[c]);
            buf_puts(&b, "\r\n");
        }
    }
    return buf_take(&b);
}

/* ---- the ledger's columns ------------------------------------------------------------------ */
enum lt { LT_TEXT, LT_DATE, LT_INT };
enum lf { F_CASE_NO, F_RECEIVED, F_ACCEPTED, F_CLOSED, F_PARTIES, F_CATEGORY, F_PLACE,
          F_DESCRIPTION, F_SEVERITY, F_MEDIATOR, F_ATTEMPTS, F_OUTCOME, F_AGREEMENT, F_SURVEY };

struct lcol {
    const char *key;
    enum lf field;
    enum lt type;
    double width;                    /* XLSX column width, in characters */
};

/* The columns of the filed ledger, in the order of the printed form. The widths add up to a
 * landscape A4 page at a readable scale; the long texts wrap. The XLSX shows the dates as days
 * (the cells keep the time), the CSV with the time. */
static const struct lcol ledger_cols[] = {
    {"rp_l_case_no", F_CASE_NO, LT_TEXT, 16},
    {"rp_l_received", F_RECEIVED, LT_DATE, 11},
    {"rp_l_accepted", F_ACCEPTED, LT_DATE, 11},
    {"rp_l_closed", F_CLOSED, LT_DATE, 11},
    {"rp_l_parties", F_PARTIES, LT_TEXT, 12},
    {"rp_l_category", F_CATEGORY, LT_TEXT, 10},
    {"rp_l_place", F_PLACE, LT_TEXT, 12},
    {"rp_l_description", F_DESCRIPTION, LT_TEXT, 32},
    {"rp_l_severity", F_SEVERITY, LT_TEXT, 6},
    {"rp_l_mediator", F_MEDIATOR, LT_TEXT, 8},
    {"rp_l_attempts", F_ATTEMPTS, LT_INT, 6},
    {"rp_l_outcome", F_OUTCOME, LT_TEXT, 12},
    {"rp_l_agreement", F_AGREEMENT, LT_TEXT, 26},
    {"rp_l_survey", F_SURVEY, LT_TEXT, 8},
};
#define N_LCOLS (sizeof ledger_cols / sizeof ledger_cols[0])

/* The text of a text column of row x. */
static const char *lcell_text(const struct rp_ledger_row *x, enum lf f)
{
    switch (f) {
    case F_CASE_NO: return x->case_no;
    case F_PARTIES: return x->parties;
    case F_CATEGORY: return x->category;
    case F_PLACE: return x->place;
    case F_DESCRIPTION: return x->description;
    case F_SEVERITY: return x->severity;
    case F_MEDIATOR: return x->mediator;
    case F_OUTCOME: return x->outcome;
    case F_AGREEMENT: return x->agreement;
    case F_SURVEY: return x->survey;
    default: return "";
    }
}

static int64_t lcell_time(const struct rp_ledger_row *x, enum lf f)
{
    return f == F_RECEIVED ? x->received : f == F_ACCEPTED ? x->accepted
                                           : f == F_CLOSED ? x->closed : 0;
}

char *ledger_csv(const struct rp_ledger *l, const struct fq_lexicon *lx)
{
    struct fq_buf b;
    buf_init(&b);
    buf_puts(&b, bom);
    for (size_t c = 0; c < N_LCOLS; c++)
        csv_cell(&b, i18n_get(lx, L, ledger_cols[c].key), c == 0);
    buf_puts(&b, "\r\n");
    for (size_t i = 0; i < l->n; i++) {
        const struct rp_ledger_row *x = &l->v[i];
        for (size_t c = 0; c < N_LCOLS; c++) {
            char v[32] = "";
            if (ledger_cols[c].type == LT_DATE) {
                int64_t t = lcell_time(x, ledger_cols[c].field);
                if (t > 0)
                    fq_local_format(t, FQ_LOCAL_MINUTE, v, sizeof v);
                csv_cell(&b, v, c == 0);
            } else if (ledger_cols[c].type == LT_INT) {
                if (c)
                    buf_puts(&b, ",");
                buf_printf(&b, "%d", x->attempts);
            } else {
                csv_cell(&b, lcell_text(x, ledger_cols[c].field), c == 0);
            }
        }
        buf_puts(&b, "\r\n");
    }
    return buf_take(&b);
}

/* ---- the files' mode ----------------------------------------------------------------------- */
int report_open_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    /* an existing file keeps its mode through O_CREAT: narrow it before anything is written.
     * Only a regular file: -o /dev/stdout or a pipe is left as it is. */
    struct stat st;
    if (fstat(fd, &st) != 0 || (S_ISREG(st.st_mode) && (st.st_mode & 0077) &&
                                fchmod(fd, 0600) != 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* ---- XLSX ---------------------------------------------------------------------------------- */
struct xfmt {
    lxw_format *head, *date, *pct, *num1, *title, *period, *label, *text, *num, *center;
};

static lxw_datetime to_dt(int64_t t)
{
    struct fq_civil d;
    fq_local_civil(t, &d);
    return (lxw_datetime){.year = d.year, .month = d.month, .day = d.day, .hour = d.hour,
                          .min = d.min, .sec = d.sec};
}

/* The period line (locale key rp_period, "from 2026-03-01 to 2026-03-31") of [from, to): the
 * last day shown is the one before to. */
static char *period_of(int64_t from, int64_t to, const struct fq_lexicon *lx)
{
    lxw_datetime a = to_dt(from), b = to_dt(to > from ? to - 1 : from);
    char f[16], t[16];
    snprintf(f, sizeof f, "%04d-%02d-%02d", a.year % 10000, a.month % 100, a.day % 100);
    snprintf(t, sizeof t, "%04d-%02d-%02d", b.year % 10000, b.month % 100, b.day % 100);
    return i18n_format(lx, L, "rp_period", "from", f, "to", t, (char *)NULL);
}

/* A4 landscape, centred, page numbers in the footer: ready to print and file as it is. */
static lxw_error page_setup(lxw_worksheet *ws, const struct fq_lexicon *lx)
{
    worksheet_set_landscape(ws);
    worksheet_set_paper(ws, 9);   /* A4 */
    worksheet_set_margins(ws, 0.4, 0.4, 0.6, 0.6);
    worksheet_center_horizontally(ws);
    char footer[128];
    snprintf(footer, sizeof footer, "&C%s", i18n_get(lx, L, "rp_footer"));
    return worksheet_set_footer(ws, footer);
}

#define W(call)                                                                                \
    do {                                                                                       \
        lxw_error e_ = (call);                                                                 \
        if (e_ && !e)                                                                          \
            e = e_;                                                                            \
    } while (0)

/* The title and period rows on top of a sheet, merged over its ncols columns. */
static lxw_error title_rows(lxw_worksheet *ws, const struct xfmt *f, lxw_col_t ncols,
                            const char *title, const char *period)
{
    lxw_error e = LXW_NO_ERROR;
    worksheet_set_row(ws, 0, 30, NULL);
    W(worksheet_merge_range(ws, 0, 0, 0, ncols - 1, title ? title : "", f->title));
    W(worksheet_merge_range(ws, 1, 0, 1, ncols - 1, period ? period : "", f->period));
    return e;
}

/* A column chart of the received, resolved and unresolved counts of one breakdown table whose
 * header is at row head and rows at head+1..last, put at row at under the table, as wide as the
 * table (landscape: the table and its chart share one page). */
static lxw_error breakdown_chart(lxw_workbook *wb, lxw_worksheet *ws, const char *sheet,
                                 const char *title, lxw_row_t at, lxw_row_t head, lxw_row_t last)
{
    lxw_chart *ch = workbook_add_chart(wb, LXW_CHART_COLUMN);
    if (!ch)
        return LXW_ERROR_MEMORY_MALLOC_FAILED;
    for (lxw_col_t c = 1; c <= 3; c++) {
        lxw_chart_series *se = chart_add_series(ch, NULL, NULL);
        if (!se)
            return LXW_ERROR_MEMORY_MALLOC_FAILED;
        chart_series_set_categories(se, sheet, head + 1, 0, last, 0);
        chart_series_set_values(se, sheet, head + 1, c, last, c);
        chart_series_set_name_range(se, sheet, head, c);
    }
    chart_title_set_name(ch, title);
    chart_legend_set_position(ch, LXW_CHART_LEGEND_BOTTOM);
    lxw_chart_options o = {.x_scale = 1.45, .y_scale = 1.0};
    return worksheet_insert_chart_opt(ws, at, 0, ch, &o);
}
/* Rows of 20 px the chart above covers (288 px high), and one to spare. */
#define CHART_ROWS 16

static lxw_error stats_sheet(lxw_workbook *wb, const struct xfmt *f, const struct rp_monthly *r,
                             const struct fq_lexicon *lx)
{
    const char *sheet = i18n_get(lx, L, "rp_sheet_stats");
    lxw_worksheet *ws = workbook_add_worksheet(wb, sheet);
    if (!ws)
        return LXW_ERROR_MEMORY_MALLOC_FAILED;
    lxw_error e = page_setup(ws, lx);
    /* a fixed scale, not fit-to-width: Excel drops the manual page breaks that keep each table
     * with its label and chart when a sheet is fitted to pages. At 90 % the seven columns fit
     * the width, and a table of 15 rows with its chart the height, of a landscape A4 page. */
    worksheet_set_print_scale(ws, 90);
    worksheet_set_column(ws, 0, 0, 26, NULL);
    worksheet_set_column(ws, 1, 6, 11, NULL);
    char *title = title_of(r, lx), *period = period_of(r->start, r->end, lx);
    W(title_rows(ws, f, 7, title, period));
    free(title);
    free(period);
    lxw_row_t row = 3;
    W(worksheet_write_string(ws, row, 0, i18n_get(lx, L, "rp_col_item"), f->head));
    W(worksheet_write_string(ws, row, 1, i18n_get(lx, L, "rp_col_value"), f->head));
    row++;
    struct line lines[MAX_LINES];
    size_t nl = stat_lines(r, lines);
    for (size_t i = 0; i < nl; i++, row++) {
        W(worksheet_write_string(ws, row, 0, i18n_get(lx, L, lines[i].key), f->text));
        if (lines[i].type == V_INT)
            W(worksheet_write_number(ws, row, 1, lines[i].v, f->num));
        else if (lines[i].v < 0)
            W(worksheet_write_string(ws, row, 1, i18n_get(lx, L, "rp_na"), f->center));
        else
            W(worksheet_write_number(ws, row, 1, lines[i].v,
                                     lines[i].type == V_RATE ? f->pct : f->num1));
    }
    struct table t[4];
    size_t nt = tables(r, t);
    lxw_row_t breaks[5] = {0};
    for (size_t k = 0; k < nt; k++) {
        row++;
        breaks[k] = row;   /* each table starts a page, its label on top */
        W(worksheet_write_string(ws, row++, 0, i18n_get(lx, L, t[k].title), f->label));
        lxw_row_t head = row;
        W(worksheet_write_string(ws, row, 0, i18n_get(lx, L, t[k].col), f->head));
        for (int c = 0; c < 6; c++)
            W(worksheet_write_string(ws, row, (lxw_col_t)(c + 1), i18n_get(lx, L, count_keys[c]),
                                     f->head));
        row++;
        for (size_t i = 0; i < t[k].rows->n; i++, row++) {
            const struct rp_row *rw = &t[k].rows->v[i];
            struct fq_buf lab;
            buf_init(&lab);
            for (int d = 0; t[k].indent && d < rw->depth; d++)
                buf_puts(&lab, "  ");
            buf_puts(&lab, rw->label);
            W(worksheet_write_string(ws, row, 0, lab.s ? lab.s : "", f->text));
            buf_cleanup(&lab);
            int64_t v[6];
            counts_of(&rw->n, v);
            for (int c = 0; c < 6; c++)
                W(worksheet_write_number(ws, row, (lxw_col_t)(c + 1), (double)v[c], f->num));
        }
        if (t[k].rows->n) {
            row++;
            W(breakdown_chart(wb, ws, sheet, i18n_get(lx, L, t[k].title), row, head, row - 2));
            row += CHART_ROWS;   /* the next page break comes after the chart */
        }
    }
    W(worksheet_set_h_pagebreaks(ws, breaks));
    return e;
}

/* The lines text takes when wrapped in a column width characters wide (a wide character takes
 * about two), so the row can be made tall enough: not every spreadsheet fits the height of a
 * row to its wrapped text when it opens a file. */
static unsigned wrapped_lines(const char *s, double width)
{
    const int cap = width > 2 ? (int)((width - 1) * 10) : 10;
    unsigned lines = 1;
    int used = 0;
    const char *p = s ? s : "", *end = p + strlen(p);
    while (p < end) {
        int32_t cp = fq_utf8_next(&p, end);
        if (cp == '\n') {
            lines++;
            used = 0;
            continue;
        }
        int w = cp >= 0 && wide(cp) ? 19 : 10;
        if (used + w > cap) {
            lines++;
            used = 0;
        }
        used += w;
    }
    return lines;
}

static lxw_error ledger_sheet(lxw_workbook *wb, const struct xfmt *f, const struct rp_ledger *l,
                              const struct fq_lexicon *lx)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, i18n_get(lx, L, "rp_sheet_ledger"));
    if (!ws)
        return LXW_ERROR_MEMORY_MALLOC_FAILED;
    lxw_error e = page_setup(ws, lx);
    worksheet_fit_to_pages(ws, 1, 0);   /* one page wide, as many tall as it takes */
    char *period = period_of(l->from, l->to, lx);
    W(title_rows(ws, f, N_LCOLS, i18n_get(lx, L, "rp_l_title"), period));
    free(period);
    const lxw_row_t head = 2;
    worksheet_set_row(ws, head, 30, NULL);
    for (size_t c = 0; c < N_LCOLS; c++) {
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, ledger_cols[c].width, NULL);
        W(worksheet_write_string(ws, head, (lxw_col_t)c, i18n_get(lx, L, ledger_cols[c].key),
                                 f->head));
    }
    worksheet_freeze_panes(ws, head + 1, 0);
    W(worksheet_repeat_rows(ws, head, head));   /* the header on every printed page */
    W(worksheet_autofilter(ws, head, 0, head + (lxw_row_t)l->n, N_LCOLS - 1));
    for (size_t i = 0; i < l->n; i++) {
        const struct rp_ledger_row *x = &l->v[i];
        lxw_row_t row = head + 1 + (lxw_row_t)i;
        unsigned lines = 1;
        for (size_t c = 0; c < N_LCOLS; c++) {
            unsigned n = ledger_cols[c].type == LT_TEXT
                             ? wrapped_lines(lcell_text(x, ledger_cols[c].field),
                                             ledger_cols[c].width)
                             : 1;
            if (n > lines)
                lines = n;
        }
        if (lines > 1)
            worksheet_set_row(ws, row, lines > 27 ? 409 : 15.0 * lines, NULL);
        for (size_t c = 0; c < N_LCOLS; c++) {
            lxw_col_t col = (lxw_col_t)c;
            if (ledger_cols[c].type == LT_DATE) {
                int64_t t = lcell_time(x, ledger_cols[c].field);
                if (t > 0) {
                    lxw_datetime dt = to_dt(t);
                    W(worksheet_write_datetime(ws, row, col, &dt, f->date));
                } else {
                    W(worksheet_write_blank(ws, row, col, f->date));
                }
            } else if (ledger_cols[c].type == LT_INT) {
                W(worksheet_write_number(ws, row, col, x->attempts, f->center));
            } else {
                /* residents' text as a string cell: never a formula, whatever it begins with */
                W(worksheet_write_string(ws, row, col, lcell_text(x, ledger_cols[c].field),
                                         f->text));
            }
        }
    }
    return e;
}
#undef W

static void cell_format(lxw_format *fm)
{
    format_set_border(fm, LXW_BORDER_THIN);
    format_set_align(fm, LXW_ALIGN_VERTICAL_TOP);
}

enum fq_err report_xlsx(const struct rp_monthly *r, const struct rp_ledger *l,
                        const struct fq_lexicon *lx, const char *path, char **cause)
{
    /* the workbook is written by libxlsxwriter's own fopen(path, "wb"), which keeps the mode of
     * an existing file: create it 0600 first, so the file is never readable by others */
    int fd = report_open_private(path);
    if (fd < 0 || close(fd) != 0) {
        if (cause)
            *cause = fq_strdup(strerror(errno));
        return FQ_EIO;
    }
    lxw_workbook *wb = workbook_new(path);
    if (!wb) {
        if (cause)
            *cause = fq_strdup("cannot create the workbook");
        return FQ_EIO;
    }
    struct xfmt f;
    lxw_format **all[] = {&f.head, &f.date, &f.pct, &f.num1, &f.title, &f.period,
                          &f.label, &f.text, &f.num, &f.center};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        *all[i] = workbook_add_format(wb);
    format_set_bold(f.head);
    format_set_bg_color(f.head, 0xDDEBF7);
    format_set_border(f.head, LXW_BORDER_THIN);
    format_set_text_wrap(f.head);
    format_set_align(f.head, LXW_ALIGN_CENTER);
    format_set_align(f.head, LXW_ALIGN_VERTICAL_CENTER);
    format_set_bold(f.title);
    format_set_font_size(f.title, 16);
    format_set_align(f.title, LXW_ALIGN_CENTER);
    format_set_align(f.title, LXW_ALIGN_VERTICAL_CENTER);
    format_set_align(f.period, LXW_ALIGN_CENTER);
    format_set_bold(f.label);
    format_set_font_size(f.label, 12);
    cell_format(f.text);
    format_set_text_wrap(f.text);
    cell_format(f.date);
    format_set_num_format(f.date, "yyyy-mm-dd");
    cell_format(f.pct);
    format_set_num_format(f.pct, "0.0%");
    cell_format(f.num1);
    format_set_num_format(f.num1, "0.0");
    cell_format(f.num);
    cell_format(f.center);
    format_set_align(f.center, LXW_ALIGN_CENTER);
    lxw_error e = LXW_NO_ERROR;
    if (r)
        e = stats_sheet(wb, &f, r, lx);
    if (!e && l)
        e = ledger_sheet(wb, &f, l, lx);
    lxw_error ce = workbook_close(wb);   /* writes the file; frees the workbook either way */
    if (e || ce) {
        if (cause)
            *cause = fq_strdup(lxw_strerror(e ? e : ce));
        return FQ_EIO;
    }
    return FQ_OK;
}
