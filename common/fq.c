/* fq.c: the small shared helpers of common/fq.h: error names, enums, time, a string buffer,
 * UTF-8 checks and masking of personal data. */
#include "common/fq.h"
#include "common/roster_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const err_names[FQ__ERR_COUNT] = {
    [FQ_OK] = "ok",
    [FQ_ENOMEM] = "out of memory",
    [FQ_EINVAL] = "invalid input",
    [FQ_ENOTFOUND] = "not found",
    [FQ_ESTORE] = "database error",
    [FQ_EBUSY] = "database busy",
    [FQ_EIO] = "i/o error",
    [FQ_EEXIST] = "already exists",
    [FQ_ESTATE] = "not allowed in this state",
    [FQ_EPERM] = "not permitted",
    [FQ_ECONFIG] = "invalid configuration",
    [FQ_ELIMIT] = "limit exceeded",
    [FQ_ESHUTDOWN] = "shutting down",
    [FQ_EPROTO] = "protocol error",
};

const char *fq_strerror(enum fq_err e)
{
    if ((int)e < 0 || e >= FQ__ERR_COUNT || !err_names[e])
        return "unknown error";
    return err_names[e];
}

static const char *const sev_names[] = {"blue", "yellow", "red"};
static const char *const level_names[] = {"county", "town", "village", "grid"};
const char *const fq_categories[FQ_N_CATEGORIES] = {
    "neighbour", "family", "support", "injury", "land", "demolition", "wage",
    "property", "debt", "medical", "traffic", "environment", "village_affairs", "other",
};

const char *fq_severity_name(enum fq_severity s)
{
    return (s >= FQ_SEV_BLUE && s <= FQ_SEV_RED) ? sev_names[s] : "blue";
}

static int index_of(const char *const *names, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

int fq_severity_parse(const char *s) { return index_of(sev_names, 3, s); }
const char *fq_level_name(enum fq_level l)
{
    return (l >= FQ_LEVEL_COUNTY && l <= FQ_LEVEL_GRID) ? level_names[l] : "grid";
}
int fq_level_parse(const char *s) { return index_of(level_names, 4, s); }
int fq_category_index(const char *id) { return index_of(fq_categories, FQ_N_CATEGORIES, id); }

/* ---- time ---------------------------------------------------------------------------------- */
/* Not time(NULL): on Linux that reads the coarse clock, which can lag CLOCK_REALTIME by a
 * scheduler tick, so a second boundary seen by a client could be ahead of ours. */
int64_t fq_now(void) { return fq_now_ms() / 1000; }

int64_t fq_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fq_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fq_deadline(struct timespec *ts, clockid_t clock, int64_t ms)
{
    clock_gettime(clock, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

void fq_rfc3339(int64_t unix_s, char *buf, size_t size)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- buffer -------------------------------------------------------------------------------- */
void buf_init(struct fq_buf *b) { memset(b, 0, sizeof *b); }

void buf_cleanup(struct fq_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

static bool buf_reserve(struct fq_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

void buf_add(struct fq_buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void buf_puts(struct fq_buf *b, const char *s)
{
    if (s)
        buf_add(b, s, strlen(s));
}

void buf_json_string(struct fq_buf *b, const char *s)
{
    if (!s) {
        buf_add(b, "null", 4);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    const char *end = s + strlen(s), *run = s, *p = s;
    buf_add(b, "\"", 1);
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0x80) {
            const char *q = p;
            if (fq_utf8_next(&q, end) >= 0) {
                p = q;
                continue;
            }
        }
        buf_add(b, run, (size_t)(p - run));
        char esc[8] = {'\\', 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            if (c >= 0x80) {               /* not UTF-8 */
                memcpy(esc, "\\ufffd", 6);
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
            }
            n = 6;
        }
        buf_add(b, esc, n);
        run = ++p;
    }
    buf_add(b, run, (size_t)(p - run));
    buf_add(b, "\"", 1);
}

struct fq_jobj jobj_begin(struct fq_buf *b)
{
    buf_add(b, "{", 1);
    return (struct fq_jobj){.b = b, .first = true};
}

void jobj_end(struct fq_jobj *o) { buf_add(o->b, "}", 1); }

void jobj_key(struct fq_jobj *o, const char *key)
{
    if (!o->first)
        buf_add(o->b, ",", 1);
    o->first = false;
    buf_json_string(o->b, key);
    buf_add(o->b, ":", 1);
}

void jobj_str(struct fq_jobj *o, const char *key, const char *v)
{
    jobj_key(o, key);
    buf_json_string(o->b, v);
}

void jobj_int(struct fq_jobj *o, const char *key, long long v)
{
    jobj_key(o, key);
    buf_printf(o->b, "%lld", v);
}

void jobj_bool(struct fq_jobj *o, const char *key, bool v)
{
    jobj_key(o, key);
    buf_puts(o->b, v ? "true" : "false");
}

void jobj_time(struct fq_jobj *o, const char *key, int64_t t)
{
    char when[32];
    if (t > 0)
        fq_rfc3339(t, when, sizeof when);
    jobj_str(o, key, t > 0 ? when : NULL);
}

void jobj_null(struct fq_jobj *o, const char *key)
{
    jobj_key(o, key);
    buf_add(o->b, "null", 4);
}

void buf_json_real(struct fq_buf *b, double v)
{
    if (v != v || v - v != 0) {   /* NaN or infinite: JSON has no such number */
        buf_add(b, "null", 4);
        return;
    }
    char num[40];
    snprintf(num, sizeof num, "%.17g", v);
    for (char *p = num; *p; p++)
        if (*p == ',')              /* a locale's decimal comma */
            *p = '.';
    char *e = strchr(num, 'e');
    if (e) {                       /* "1e+05" -> "1e5", "1e-05" -> "1e-5" */
        char *from = e + 1, *to = e + 1;
        if (*from == '+')
            from++;
        else if (*from == '-')
            from = ++to;
        while (*from == '0' && from[1])
            from++;
        memmove(to, from, strlen(from) + 1);
    } else if (!strchr(num, '.')) {
        strcat(num, ".0");
    }
    buf_puts(b, num);
}

void jobj_real(struct fq_jobj *o, const char *key, double v)
{
    jobj_key(o, key);
    buf_json_real(o->b, v);
}

void jobj_merge(struct fq_jobj *o, const char *json)
{
    size_t n = json ? strlen(json) : 0;
    if (n < 2 || json[0] != '{' || json[n - 1] != '}')
        return;
    if (n == 2)
        return;
    if (!o->first)
        buf_add(o->b, ",", 1);
    o->first = false;
    buf_add(o->b, json + 1, n - 2);
}

static void indent(struct fq_buf *b, int depth)
{
    buf_add(b, "\n", 1);
    for (int i = 0; i < depth; i++)
        buf_add(b, "  ", 2);
}

void buf_json_indent(struct fq_buf *b, const char *json)
{
    int depth = 0;
    for (const char *p = json; p && *p; p++) {
        char c = *p;
        if (c == '"') {            /* a string as it is, escapes included */
            const char *q = p + 1;
            while (*q && *q != '"')
                q += q[0] == '\\' && q[1] ? 2 : 1;
            buf_add(b, p, (size_t)(q - p) + (*q ? 1 : 0));
            if (!*q)
                return;
            p = q;
        } else if (c == '{' || c == '[') {
            buf_add(b, p, 1);
            if (p[1] == (c == '{' ? '}' : ']')) {
                buf_add(b, p + 1, 1);
                p++;
            } else {
                indent(b, ++depth);
            }
        } else if (c == '}' || c == ']') {
            indent(b, depth > 0 ? --depth : 0);
            buf_add(b, p, 1);
        } else if (c == ',') {
            buf_add(b, ",", 1);
            indent(b, depth);
        } else if (c == ':') {
            buf_add(b, ": ", 2);
        } else {
            buf_add(b, p, 1);
        }
    }
}

struct fq_jarr jarr_begin(struct fq_buf *b)
{
    buf_add(b, "[", 1);
    return (struct fq_jarr){.b = b, .first = true};
}

void jarr_item(struct fq_jarr *a)
{
    if (!a->first)
        buf_add(a->b, ",", 1);
    a->first = false;
}

void jarr_end(struct fq_jarr *a) { buf_add(a->b, "]", 1); }

void buf_printf(struct fq_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *buf_take(struct fq_buf *b)
{
    if (b->oom) {
        buf_cleanup(b);
        return NULL;
    }
    if (!b->s) {   /* never written: an empty string, not NULL */
        if (!buf_reserve(b, 0))
            return NULL;
        b->s[0] = '\0';
    }
    char *s = b->s;
    memset(b, 0, sizeof *b);
    return s;
}

/* ---- strings ------------------------------------------------------------------------------- */
char *fq_strdup(const char *s) { return s ? strdup(s) : NULL; }

char *fq_strndup(const char *s, size_t n) { return s ? strndup(s, n) : NULL; }

bool fq_streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* The slow path of fq_utf8_next (fq.h): a multi-byte sequence. Three bytes (CJK, full-width
 * forms, CJK punctuation: most of what residents type) are decoded first and without a loop:
 * this runs for each such character of every pass over a text. */
int32_t fq_utf8_next_mb(const char **pp, const char *end)
{
    const unsigned char *p = (const unsigned char *)*pp, *e = (const unsigned char *)end;
    if (p >= e)
        return -1;
    uint32_t c = p[0];
    if ((c & 0xF0) == 0xE0) {
        if (e - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return -1;
        c = (c & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
        if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))
            return -1;
        *pp += 3;
        return (int32_t)c;
    }
    if (c < 0x80) {
        *pp += 1;
        return (int32_t)c;
    }
    if ((c & 0xE0) == 0xC0) {
        if (e - p < 2 || (p[1] & 0xC0) != 0x80)
            return -1;
        c = (c & 0x1F) << 6 | (p[1] & 0x3F);
        if (c < 0x80)
            return -1;
        *pp += 2;
        return (int32_t)c;
    }
    if ((c & 0xF8) != 0xF0 || e - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
        (p[3] & 0xC0) != 0x80)
        return -1;
    c = (c & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 | (uint32_t)(p[2] & 0x3F) << 6 |
        (p[3] & 0x3F);
    if (c < 0x10000 || c > 0x10FFFF)
        return -1;
    *pp += 4;
    return (int32_t)c;
}

bool fq_utf8_valid(const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    while (p < end) {
        int32_t c = fq_utf8_next(&p, end);
        if (c <= 0)        /* invalid, or NUL */
            return false;
    }
    return true;
}

size_t fq_utf8_len(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

char *fq_mask_phone(const char *phone)
{
    if (!phone)
        return NULL;
    size_t n = strlen(phone);
    char *out = strdup(phone);
    if (!out)
        return NULL;
    if (n <= 4) {
        memset(out, '*', n);
        return out;
    }
    /* keep the first 3 and the last 4 when long enough, else the last 2 */
    size_t keep_head = n >= 11 ? 3 : 0, keep_tail = n >= 8 ? 4 : 2;
    for (size_t i = keep_head; i + keep_tail < n; i++)
        out[i] = '*';
    return out;
}

char *fq_mask_name(const char *name)
{
    if (!name)
        return NULL;
    const char *p = name, *end = name + strlen(name);
    if (fq_utf8_next(&p, end) < 0)
        return strdup("*");
    size_t rest = fq_utf8_len(p);
    size_t head = (size_t)(p - name);
    char *out = malloc(head + rest + 1);
    if (!out)
        return NULL;
    memcpy(out, name, head);
    memset(out + head, '*', rest);
    out[head + rest] = '\0';
    if (rest == 0 && head < strlen(name))
        out[head] = '\0';
    return out;
}

/* ---- messages ------------------------------------------------------------------------------ */
struct fq_msg *fq_msg_new(enum fq_msg_kind kind)
{
    struct fq_msg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->kind = kind;
    m->at = fq_now();
    return m;
}

void fq_msg_free(struct fq_msg *m)
{
    if (!m)
        return;
    char **fields[] = {&m->channel, &m->user, &m->message_id, &m->type, &m->text, &m->name,
                       &m->locale, &m->media_url, &m->label, &m->mediator, &m->command,
                       &m->case_no, &m->note, &m->to, &m->request_id, &m->response_code,
                       &m->answer};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        free(*fields[i]);
    roster_free(m->roster);
    free(m->ids);
    if (m->work && m->work_free)
        m->work_free(m->work);
    free(m);
}
