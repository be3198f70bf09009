/* mediator.c: the mediator's side of docs/contract.md 7. Chat text (接单 <case>, 进展 <case> <note>,
 * ...) and MQTT commands ({"command": "accept", ...}) are both read into one struct parsed, run
 * through lifecycle_apply (handlers/lifecycle.c, the state machine), and the outcome is put
 * into words here, in the mediator's locale (zh-CN unless the message names one).
 *
 * Design choices:
 * - The commands are lifecycle_commands (handlers/lifecycle.h): its rows name each command (the
 *   MQTT "command" value and the locale keys), say what follows the case number and whether a
 *   mediator may send it. Besides them a mediator can ask for the list of their cases ("list")
 *   and for help. The command words (接单 接單 accept ...) are the keyword lists
 *   keywords.cmd_<name> of locales/, close reasons keywords.reason_*, and every text a mediator
 *   reads comes from locales/ too ("med_*" messages).
 * - Chat input is tolerant: classify_normalize maps full-width forms, then separators (spaces,
 *   commas, colons, 、) between the parts are skipped; the command word may touch the case
 *   number (接单FQ20261122-0001). Case numbers are accepted with or without "FQ", in any
 *   case, with or without the dash, with a short sequence ("20261122-1").
 * - A refusal is an answer, not an error: the handler returns FQ_OK with the reason, and
 *   lifecycle_apply guarantees nothing was written. Only store failures are errors. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers/lifecycle.h"
#include "common/config_model.h"
#include "common/localtime.h"
#include "handlers/actions.h"
#include "handlers/classify.h"
#include "handlers/dispatch.h"
#include "handlers/mediator.h"
#include "store/case_table.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/i18n.h"

/* Commands besides those of the state machine. */
enum { CMD_UNKNOWN = -1, CMD_LIST = LC__CMD_COUNT, CMD_HELP };

/* The wire name of CMD_LIST (MQTT "list", keywords.cmd_list). */
#define LIST_NAME "list"

/* Which keyword list of the lexicon (locales/) stands for which value. */
struct word {
    const struct fq_wordlist *wl;    /* NULL: no catalog has the list */
    int v;
};

static const char *const reason_ids[] = {"litigation", "petition", "withdrawn", "other"};
static const char *const pause_ids[] = {"party", "cooling_off", "appraisal"};

#define N_COMMAND_WORDS (LC__CMD_COUNT + 2)

/* The words of every mediator command of lifecycle_commands, of "list" and of help; returns
 * how many entries it filled. */
static size_t command_words(const struct fq_lexicon *lx, struct word tab[N_COMMAND_WORDS])
{
    size_t n = 0;
    for (int i = 0; i < LC__CMD_COUNT; i++)
        if (lifecycle_commands[i].mediator)
            tab[n++] = (struct word){i18n_command_words(lx, lifecycle_commands[i].name), i};
    tab[n++] = (struct word){i18n_command_words(lx, LIST_NAME), CMD_LIST};
    tab[n++] = (struct word){&lx->kw[FQ_KW_HELP], CMD_HELP};
    return n;
}

bool mediator_command_known(const char *name)
{
    int cmd = lifecycle_cmd_parse(name);
    return (cmd >= 0 && lifecycle_commands[cmd].mediator) || fq_streq(name, LIST_NAME);
}

static size_t reason_words(const struct fq_lexicon *lx, struct word tab[4])
{
    static const enum fq_kw lists[4] = {FQ_KW_REASON_LITIGATION, FQ_KW_REASON_PETITION,
                                        FQ_KW_REASON_WITHDRAWN, FQ_KW_REASON_OTHER};
    for (int i = 0; i < 4; i++)
        tab[i] = (struct word){&lx->kw[lists[i]], i};
    return 4;
}

static size_t pause_words(const struct fq_lexicon *lx, struct word tab[4])
{
    static const enum fq_kw lists[3] = {FQ_KW_PAUSE_PARTY, FQ_KW_PAUSE_COOLING_OFF,
                                        FQ_KW_PAUSE_APPRAISAL};
    for (int i = 0; i < 3; i++)
        tab[i] = (struct word){&lx->kw[lists[i]], i};
    return 3;
}

/* ---- reading the text ---------------------------------------------------------------------- */
static bool is_word_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

/* The longest keyword of the tables' lists that text starts with; an ASCII word must end at a
 * word boundary, a CJK one may touch what follows. Returns the entry's value, or -1; sets *len
 * to the keyword's length in bytes. */
static int match_word(const char *text, const struct word *tab, size_t n, size_t *len)
{
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < n; i++) {
        const struct fq_wordlist *wl = tab[i].wl;
        for (size_t k = 0; wl && k < wl->n; k++) {
            const char *w = wl->words[k];
            size_t l = strlen(w);
            if (l == 0 || l <= best_len || strncasecmp(text, w, l) != 0)
                continue;
            bool ascii = (unsigned char)w[l - 1] < 0x80;
            if (ascii && is_word_char(text[l]))
                continue;
            best = tab[i].v;
            best_len = l;
        }
    }
    *len = best_len;
    return best;
}

/* Separators between the parts of a command. The ideographic comma 、 is the only non-ASCII
 * one left after classify_normalize (full-width commas and colons become ASCII). */
static size_t sep_len(const char *p)
{
    if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',' || *p == ':' ||
        *p == ';')
        return 1;
    if (strncmp(p, "\xE3\x80\x81", 3) == 0)   /* U+3001 ideographic comma */
        return 3;
    return 0;
}

static const char *skip_sep(const char *p)
{
    size_t n;
    while ((n = sep_len(p)) > 0)
        p += n;
    return p;
}

static size_t token_len(const char *p)
{
    size_t n = 0;
    while (p[n] && sep_len(p + n) == 0)
        n++;
    return n;
}

/* A case number in any accepted form, written canonically into out ("FQ20261122-0001"). */
static bool parse_case_no(const char *tok, size_t n, char out[24])
{
    size_t i = 0;
    if (n >= 2 && tolower((unsigned char)tok[0]) == 'f' && tolower((unsigned char)tok[1]) == 'q')
        i = 2;
    if (i < n && tok[i] == '#')
        i++;
    size_t d0 = i;
    while (i < n && isdigit((unsigned char)tok[i]))
        i++;
    size_t digits = i - d0;
    char date[9];
    size_t seq_at, seq_n;
    if (digits == 12) {                         /* no dash: 8 + 4 */
        memcpy(date, tok + d0, 8);
        seq_at = d0 + 8;
        seq_n = 4;
    } else if (digits == 8 && i < n && (tok[i] == '-' || tok[i] == '_')) {
        memcpy(date, tok + d0, 8);
        seq_at = ++i;
        while (i < n && isdigit((unsigned char)tok[i]))
            i++;
        seq_n = i - seq_at;
        if (seq_n < 1 || seq_n > 6)
            return false;
    } else {
        return false;
    }
    if (i != n)
        return false;
    date[8] = '\0';
    int seq = 0;
    for (size_t k = 0; k < seq_n; k++)
        seq = seq * 10 + (tok[seq_at + k] - '0');
    if (seq <= 0)
        return false;
    snprintf(out, 24, "FQ%s-%04d", date, seq);
    return true;
}

/* A command, read from chat text or from an MQTT message. Owned strings are freed by
 * parsed_cleanup. */
struct parsed {
    int cmd;                   /* enum lc_cmd, CMD_LIST, CMD_HELP or CMD_UNKNOWN */
    char case_no[24];
    bool has_case;
    char *case_text;           /* the case token as written, when it is not a case number */
    char *first_word;          /* CMD_UNKNOWN: what the sender wrote first */
    const char *reason;        /* a reason id (static) or NULL */
    char *reason_text;         /* the reason as written when it is not one */
    char *to;                  /* transfer target token */
    int answer;                /* survey answer, -1 when not given or not 1..4 */
    const char *note;          /* NULL when empty; points into note_own once parsing is done */
    char *note_own;            /* the note as the mediator wrote it */
    /* chat only (docs/contract.md 7.2, case references): */
    bool chat;
    char *ref;                 /* a short reference (a sequence or a list index) to resolve */
    char *cmd_word;            /* the command word as written, to replay a pending command */
    char *args_text;           /* the arguments after the case, to replay a pending command */
};

static void parsed_cleanup(struct parsed *p)
{
    free(p->case_text);
    free(p->first_word);
    free(p->reason_text);
    free(p->to);
    free(p->note_own);
    free(p->ref);
    free(p->cmd_word);
    free(p->args_text);
    memset(p, 0, sizeof *p);
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

/* Reads "<reason> <note>" at p: a close reason, or a pause reason when pause. */
static enum fq_err read_reason(const struct fq_lexicon *lx, struct parsed *p, const char *s,
                               bool pause)
{
    size_t len;
    struct word tab[4];
    int w = match_word(s, tab, pause ? pause_words(lx, tab) : reason_words(lx, tab), &len);
    if (w >= 0) {
        p->reason = pause ? pause_ids[w] : reason_ids[w];
        p->note = nonempty(skip_sep(s + len));
        return FQ_OK;
    }
    size_t n = token_len(s);
    if (n && !(p->reason_text = fq_strndup(s, n)))
        return FQ_ENOMEM;
    p->note = nonempty(skip_sep(s + n));
    return FQ_OK;
}

/* Reads <1-4> [comment] at s: the token as a choice, else its first character (2满意). */
static void read_answer(struct parsed *p, const char *s)
{
    size_t n = token_len(s);
    char tok[64];
    p->answer = -1;
    if (n == 0 || n >= sizeof tok) {
        p->note = nonempty(s);
        return;
    }
    memcpy(tok, s, n);
    tok[n] = '\0';
    int v = classify_choice(tok);
    const char *rest = s + n;
    if (v < 0) {
        const char *q = tok;
        if (fq_utf8_next(&q, tok + n) >= 0) {
            size_t l = (size_t)(q - tok);
            char one[8];
            memcpy(one, tok, l);
            one[l] = '\0';
            v = classify_choice(one);
            if (v >= 0)
                rest = s + l;
        }
    }
    p->answer = v >= 1 && v <= 4 ? v : -1;
    if (v < 0)
        rest = s;   /* not an answer: everything stays for the error message */
    p->note = nonempty(skip_sep(rest));
}

/* Reads the arguments after the case number, as the command's row says. */
static enum fq_err read_args(const struct fq_lexicon *lx, struct parsed *p, const char *s)
{
    switch (lifecycle_commands[p->cmd].args) {
    case LC_ARGS_REASON:
        return read_reason(lx, p, s, false);
    case LC_ARGS_PAUSE:
        return read_reason(lx, p, s, true);
    case LC_ARGS_ANSWER:
        read_answer(p, s);
        return FQ_OK;
    case LC_ARGS_TARGET: {
        size_t n = token_len(s);
        if (n && !(p->to = fq_strndup(s, n)))
            return FQ_ENOMEM;
        p->note = nonempty(skip_sep(s + n));
        return FQ_OK;
    }
    case LC_ARGS_NOTE:
        break;
    }
    p->note = nonempty(s);
    return FQ_OK;
}

/* A token meant as a case reference: ASCII letters, digits, '#', '-' or '_' with at least
 * one digit (FQ2026 is a bad case number; a date written in Chinese starts a note). */
static bool case_like(const char *s, size_t n)
{
    bool digit = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!isalnum(ch) && ch != '#' && ch != '-' && ch != '_')
            return false;
        digit = digit || isdigit(ch);
    }
    return digit;
}

/* A short reference: 1 to 6 ASCII digits (a daily sequence or an index in the last list). */
static bool is_short_ref(const char *s, size_t n)
{
    if (n < 1 || n > 6)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* Parses normalized chat text into p. After the command word comes a case number, a short
 * reference (p->ref, resolved by run), or nothing that looks like one (case_like): then the
 * first token starts the arguments and the case is the mediator's only open one (docs/contract.md
 * 7.2). */
static enum fq_err parse_chat(const struct fq_ctx *c, const char *t, struct parsed *p)
{
    memset(p, 0, sizeof *p);
    p->answer = -1;
    p->chat = true;
    size_t len;
    struct word tab[N_COMMAND_WORDS];
    int w = match_word(t, tab, command_words(c->lex, tab), &len);
    if (w < 0) {
        p->cmd = CMD_UNKNOWN;
        size_t n = token_len(t);
        const char *q = t;
        for (size_t k = 0; k < 16 && q < t + n; k++)   /* at most 16 characters back */
            if (fq_utf8_next(&q, t + n) < 0)
                break;
        if (!(p->first_word = fq_strndup(t, (size_t)(q - t))))
            return FQ_ENOMEM;
        return FQ_OK;
    }
    p->cmd = w;
    if (p->cmd == CMD_LIST || p->cmd == CMD_HELP)
        return FQ_OK;
    if (!(p->cmd_word = fq_strndup(t, len)))
        return FQ_ENOMEM;
    const char *s = skip_sep(t + len);
    size_t n = token_len(s);
    const char *args = s;
    if (n > 0 && case_like(s, n)) {
        p->has_case = parse_case_no(s, n, p->case_no);
        if (!p->has_case && is_short_ref(s, n) && !(p->ref = fq_strndup(s, n)))
            return FQ_ENOMEM;
        if (!p->has_case && !p->ref) {
            if (!(p->case_text = fq_strndup(s, n)))
                return FQ_ENOMEM;
            return FQ_OK;
        }
        args = skip_sep(s + n);
    }
    if (!(p->args_text = fq_strdup(args)))
        return FQ_ENOMEM;
    return read_args(c->lex, p, args);
}

static int32_t fold(int32_t c)
{
    if (c >= 0xFF01 && c <= 0xFF5E)
        return c - 0xFEE0;
    return c == 0x3000 ? ' ' : c;
}

/* The note as the mediator wrote it (full-width punctuation kept), from the part `at` of norm =
 * classify_normalize(orig). That function maps code points one to one (fold above) and trims
 * spaces and punctuation at both ends, so the k-th code point of norm is the (L + k)-th of orig,
 * L being the number trimmed in front: orig's first code point that folds to norm's first one
 * (a trimmed one cannot, being punctuation). Trailing white space is dropped. Falls back to the
 * normalized text when orig is not valid UTF-8. Caller frees; NULL on oom. */
static char *original_part(const char *orig, const char *norm, const char *at)
{
    const char *oe = orig + strlen(orig), *ne = norm + strlen(norm), *q = norm;
    if (!fq_utf8_valid(orig, strlen(orig)) || at < norm || at > ne)
        return fq_strdup(at);
    size_t k = 0;
    while (q < at) {
        if (fq_utf8_next(&q, ne) < 0)
            return fq_strdup(at);
        k++;
    }
    q = norm;
    int32_t first = fq_utf8_next(&q, ne);
    const char *p = orig;
    bool found = false;
    while (first >= 0 && p < oe) {
        const char *here = p;
        if (fold(fq_utf8_next(&p, oe)) == first) {
            p = here;
            found = true;
            break;
        }
    }
    if (!found)
        return fq_strdup(at);
    for (size_t i = 0; i < k && p < oe; i++)
        fq_utf8_next(&p, oe);
    size_t n = (size_t)(oe - p);
    for (;;) {
        if (n > 0 && isspace((unsigned char)p[n - 1]))
            n--;
        else if (n >= 3 && memcmp(p + n - 3, "\xE3\x80\x80", 3) == 0)   /* ideographic space */
            n -= 3;
        else
            break;
    }
    return fq_strndup(p, n);
}

/* Replaces the parsed note (a part of norm) with the same part of orig. */
static enum fq_err keep_original_note(struct parsed *p, const char *orig, const char *norm)
{
    if (!p->note || !orig || !norm)
        return FQ_OK;
    if (!(p->note_own = original_part(orig, norm, p->note)))
        return FQ_ENOMEM;
    p->note = nonempty(p->note_own);
    return FQ_OK;
}

/* ---- answering ----------------------------------------------------------------------------- */
static const char *cmd_key(const char *prefix, int cmd, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s", prefix, lifecycle_cmd_name((enum lc_cmd)cmd));
    return buf;
}

static const char *org_name(const struct fq_ctx *c, int i)
{
    return i >= 0 && (size_t)i < c->roster->n_org ? c->roster->org[i].name : "";
}

static const char *med_name(const struct fq_ctx *c, int i)
{
    return i >= 0 && (size_t)i < c->roster->n_med ? c->roster->med[i].name : "";
}

static char *help_text(const struct fq_ctx *c, int loc)
{
    return fq_strdup(i18n_get(c->lex, loc, "med_help"));
}

/* ---- short case references (docs/contract.md 7.2) ------------------------------------------
 * The mediator's last list (列表, or the question "which case?") and a command waiting for its
 * case are kept in the store's kv under the mediator's id, written in the same transaction as
 * the answer that shows them. */
#define PENDING_TTL 600      /* seconds a "which case?" question waits for its answer */
#define MAX_CHOICES 20       /* cases a list or a question numbers */
#define MAX_SCAN 500         /* a mediator's cases looked at for a sequence */

struct choices {
    char no[MAX_CHOICES][24];
    size_t n;
};

static void kv_key(char *buf, size_t size, const char *what, const struct fq_ctx *c, int sender)
{
    snprintf(buf, size, "med_%s:%s", what, c->roster->med[sender].id);
}

/* The last list as newline-separated case numbers. */
static enum fq_err save_list(struct fq_ctx *c, int sender, const struct choices *ch)
{
    char key[160];
    struct fq_buf b;
    buf_init(&b);
    buf_add(&b, "", 0);
    for (size_t i = 0; i < ch->n; i++) {
        if (i)
            buf_puts(&b, "\n");
        buf_puts(&b, ch->no[i]);
    }
    char *v = buf_take(&b);
    if (!v)
        return FQ_ENOMEM;
    kv_key(key, sizeof key, "list", c, sender);
    enum fq_err err = store_kv_put(c->store, key, v);
    free(v);
    return err;
}

/* Entry `index` (1-based) of the last list into out; false when there is none. */
static enum fq_err list_entry(struct fq_ctx *c, int sender, long index, char out[24], bool *found)
{
    char key[160], *v = NULL;
    *found = false;
    kv_key(key, sizeof key, "list", c, sender);
    enum fq_err err = store_kv_get(c->store, key, &v);
    if (err == FQ_ENOTFOUND)
        return FQ_OK;
    if (err)
        return err;
    const char *q = v;
    for (long i = 1; *q; i++) {
        size_t n = strcspn(q, "\n");
        if (i == index && n > 0 && n < 24) {
            memcpy(out, q, n);
            out[n] = '\0';
            *found = true;
            break;
        }
        q += n;
        if (*q)
            q++;
    }
    free(v);
    return FQ_OK;
}

static void collect_open(const struct fq_case *k, void *arg)
{
    struct choices *ch = arg;
    if (ch->n < MAX_CHOICES)
        snprintf(ch->no[ch->n++], 24, "%s", k->case_no);
}

struct seq_scan {
    int seq;
    char today[9];
    char today_no[24], newest[24];
    struct choices open;      /* open cases with the sequence */
};

static int case_seq(const char *case_no)
{
    const char *d = strrchr(case_no, '-');
    return d ? atoi(d + 1) : -1;
}

static bool case_open_status(enum fq_case_status st)
{
    return st != FQ_CASE_RESOLVED && st != FQ_CASE_CLOSED && st != FQ_CASE_CANCELLED;
}

static void scan_seq(const struct fq_case *k, void *arg)
{
    struct seq_scan *sc = arg;
    if (case_seq(k->case_no) != sc->seq)
        return;
    if (!sc->newest[0])
        snprintf(sc->newest, 24, "%s", k->case_no);
    if (strncmp(k->case_no + 2, sc->today, 8) == 0 && !sc->today_no[0])
        snprintf(sc->today_no, 24, "%s", k->case_no);
    if (case_open_status(k->status) && sc->open.n < MAX_CHOICES)
        snprintf(sc->open.no[sc->open.n++], 24, "%s", k->case_no);
}

/* Forgets the pending command, if any. */
static enum fq_err pending_clear(struct fq_ctx *c, int sender)
{
    char key[160], *v = NULL;
    kv_key(key, sizeof key, "pending", c, sender);
    enum fq_err err = store_kv_get(c->store, key, &v);
    if (err == FQ_ENOTFOUND)
        return FQ_OK;
    bool set = !err && *v;
    free(v);
    if (err || !set)
        return err;
    return store_kv_put(c->store, key, "");
}

/* Keeps p's command to be completed by the next answer that names a case: "expiry\nword\nargs". */
static enum fq_err pending_save(struct fq_ctx *c, int sender, const struct parsed *p)
{
    char key[160];
    kv_key(key, sizeof key, "pending", c, sender);
    const char *w = p->cmd_word ? p->cmd_word : "", *a = p->args_text ? p->args_text : "";
    size_t n = strlen(w) + strlen(a) + 32;
    char *v = malloc(n);
    if (!v)
        return FQ_ENOMEM;
    snprintf(v, n, "%lld\n%s\n%s", (long long)(c->now + PENDING_TTL), w, a);
    enum fq_err err = store_kv_put(c->store, key, v);
    free(v);
    return err;
}

/* The pending command completed with reference tok, as chat text (caller frees), or NULL in
 * *text when none is waiting or it expired. */
static enum fq_err pending_take(struct fq_ctx *c, int sender, const char *tok, size_t tn,
                                char **text)
{
    char key[160], *v = NULL;
    *text = NULL;
    kv_key(key, sizeof key, "pending", c, sender);
    enum fq_err err = store_kv_get(c->store, key, &v);
    if (err == FQ_ENOTFOUND)
        return FQ_OK;
    if (err)
        return err;
    char *nl1 = strchr(v, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
    if (nl2 && strtoll(v, NULL, 10) >= c->now) {
        *nl2 = '\0';
        const char *word = nl1 + 1, *args = nl2 + 1;
        size_t n = strlen(word) + tn + strlen(args) + 3;
        if ((*text = malloc(n)))
            snprintf(*text, n, "%s %.*s %s", word, (int)tn, tok, args);
        else
            err = FQ_ENOMEM;
    }
    free(v);
    return err ? err : pending_clear(c, sender);
}

/* The question "which case?": the candidates numbered, kept as the last list, and p kept as
 * the pending command. */
static enum fq_err ask_which(struct fq_ctx *c, int sender, int loc, const struct parsed *p,
                             const struct choices *ch, char **text)
{
    char key[48];
    enum fq_err err = save_list(c, sender, ch);
    if (!err)
        err = pending_save(c, sender, p);
    if (err)
        return err;
    struct fq_buf b;
    buf_init(&b);
    char *head = i18n_format(c->lex, loc, "med_which_case", "action",
                             i18n_get(c->lex, loc, cmd_key("med_cmd_", p->cmd, key, sizeof key)),
                             (char *)NULL);
    if (!head)
        b.oom = true;
    buf_puts(&b, head ? head : "");
    free(head);
    for (size_t i = 0; i < ch->n; i++) {
        struct fq_case k;
        memset(&k, 0, sizeof k);
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i + 1);
        err = store_case_get(c->store, ch->no[i], &k);
        if (err) {
            buf_cleanup(&b);
            return err;
        }
        char *line = i18n_format(c->lex, loc, "med_which_line", "i", idx, "case", k.case_no,
                                 "category", i18n_category(c->lex, loc, k.category), "status",
                                 i18n_status(c->lex, loc, fq_case_status_name(k.status)),
                                 (char *)NULL);
        case_cleanup(&k);
        if (!line)
            b.oom = true;
        buf_puts(&b, "\n");
        buf_puts(&b, line ? line : "");
        free(line);
    }
    *text = buf_take(&b);
    return *text ? FQ_OK : FQ_ENOMEM;
}

/* Fills p->case_no from a short reference or, without one, from the sender's open cases. Sets
 * *text (an answer instead of running the command) when the case is not determined. A bare
 * number without a leading zero is the index in the last list when that list has it, else a
 * daily sequence; a sequence is the sender's case of today, else their only open case with it
 * (several: a question), else their most recent one. */
static enum fq_err resolve_case(struct fq_ctx *c, int sender, int loc, struct parsed *p,
                                char **text)
{
    char key[48];
    const char *mid = c->roster->med[sender].id;
    *text = NULL;
    if (p->ref) {
        long v = strtol(p->ref, NULL, 10);
        if (p->ref[0] != '0' && strlen(p->ref) <= 3) {
            bool found;
            enum fq_err err = list_entry(c, sender, v, p->case_no, &found);
            if (err)
                return err;
            if (found) {
                p->has_case = true;
                return FQ_OK;
            }
        }
        struct seq_scan sc = {.seq = (int)v};
        snprintf(sc.today, sizeof sc.today, "%08d", fq_local_yyyymmdd(c->now));
        struct fq_case_filter f = {.mediator_id = mid, .limit = MAX_SCAN};
        enum fq_err err = v > 0 ? store_case_list(c->store, &f, scan_seq, &sc) : FQ_OK;
        if (err)
            return err;
        const char *pick = sc.today_no[0] ? sc.today_no
                         : sc.open.n == 1 ? sc.open.no[0]
                         : sc.open.n == 0 && sc.newest[0] ? sc.newest : NULL;
        if (pick) {
            snprintf(p->case_no, sizeof p->case_no, "%s", pick);
            p->has_case = true;
            return FQ_OK;
        }
        if (sc.open.n > 1)
            return ask_which(c, sender, loc, p, &sc.open, text);
        *text = i18n_format(c->lex, loc, "med_no_seq", "seq", p->ref, (char *)NULL);
        return *text ? FQ_OK : FQ_ENOMEM;
    }
    struct choices ch = {.n = 0};
    struct fq_case_filter f = {.status = "open", .mediator_id = mid, .limit = MAX_CHOICES};
    enum fq_err err = store_case_list(c->store, &f, collect_open, &ch);
    if (err)
        return err;
    if (ch.n == 1) {
        snprintf(p->case_no, sizeof p->case_no, "%s", ch.no[0]);
        p->has_case = true;
        return FQ_OK;
    }
    if (ch.n > 1)
        return ask_which(c, sender, loc, p, &ch, text);
    *text = i18n_format(c->lex, loc, "med_need_case", "usage",
                        i18n_get(c->lex, loc, cmd_key("med_usage_", p->cmd, key, sizeof key)),
                        (char *)NULL);
    return *text ? FQ_OK : FQ_ENOMEM;
}

struct list_ctx {
    const struct fq_ctx *c;
    int loc;
    struct fq_buf b;
    size_t n;
    char (*no)[24];          /* the first max case numbers shown, in order */
    size_t max;
};

static void list_one(const struct fq_case *k, void *arg)
{
    struct list_ctx *l = arg;
    char due[32], idx[24];
    fq_local_format(k->due_resolve, FQ_LOCAL_MINUTE, due, sizeof due);
    snprintf(idx, sizeof idx, "%zu", l->n + 1);
    if (l->n < l->max)
        snprintf(l->no[l->n], 24, "%s", k->case_no);
    char *line = i18n_format(l->c->lex, l->loc, "med_list_line", "i", idx, "case", k->case_no,
                             "category",
                             i18n_category(l->c->lex, l->loc, k->category), "status",
                             i18n_status(l->c->lex, l->loc, fq_case_status_name(k->status)),
                             "due", due, (char *)NULL);
    if (!line) {
        l->b.oom = true;
        return;
    }
    buf_puts(&l->b, "\n");
    buf_puts(&l->b, line);
    free(line);
    l->n++;
}

/* The sender's open cases, newest first; the numbers are kept as the last list. */
static enum fq_err list_text(struct fq_ctx *c, int sender, int loc, char **text)
{
    struct choices ch = {.n = 0};
    struct list_ctx l = {.c = c, .loc = loc, .no = ch.no, .max = MAX_CHOICES};
    buf_init(&l.b);
    struct fq_case_filter f = {.status = "open", .mediator_id = c->roster->med[sender].id,
                               .limit = 100};
    enum fq_err err = store_case_list(c->store, &f, list_one, &l);
    ch.n = l.n < MAX_CHOICES ? l.n : MAX_CHOICES;
    if (!err)
        err = save_list(c, sender, &ch);
    if (err)
        goto out;
    char n[24];
    snprintf(n, sizeof n, "%zu", l.n);
    char *head = l.n ? i18n_format(c->lex, loc, "med_list_header", "n", n, (char *)NULL)
                     : fq_strdup(i18n_get(c->lex, loc, "med_list_none"));
    struct fq_buf all;
    buf_init(&all);
    buf_add(&all, "", 0);   /* never empty: a take then always gives a string */
    buf_puts(&all, head);
    if (!head || l.b.oom)
        all.oom = true;
    if (l.b.s)
        buf_add(&all, l.b.s, l.b.len);
    free(head);
    *text = buf_take(&all);
    if (!*text)
        err = FQ_ENOMEM;
out:
    buf_cleanup(&l.b);
    return err;
}

/* The words for a refusal. */
static char *refusal_text(const struct fq_ctx *c, int loc, const struct parsed *p,
                          const struct fq_case *k, const struct lc_result *res)
{
    char key[48];
    const char *action = i18n_get(c->lex, loc, cmd_key("med_cmd_", p->cmd, key, sizeof key));
    switch (res->refusal) {
    case LC_NOT_YOURS:
        return i18n_format(c->lex, loc, "med_not_yours", "case", k->case_no, "action", action,
                           (char *)NULL);
    case LC_BAD_STATE: {
        char *a = i18n_format(c->lex, loc, "med_bad_state", "case", k->case_no, "status",
                              i18n_status(c->lex, loc, fq_case_status_name(k->status)),
                              "action", action, (char *)NULL);
        /* not yet accepted: say what to do first */
        if (!a || p->cmd == LC_ACCEPT || !lifecycle_find(k->status, LC_ACCEPT))
            return a;
        char *h = i18n_format(c->lex, loc, "med_hint_accept", "case", k->case_no, (char *)NULL);
        struct fq_buf b;
        buf_init(&b);
        buf_puts(&b, a);
        if (h) {
            buf_puts(&b, "\n");
            buf_puts(&b, h);
        }
        free(a);
        free(h);
        return buf_take(&b);
    }
    case LC_TOP_TIER:
        return i18n_format(c->lex, loc, "med_top_tier", "case", k->case_no, (char *)NULL);
    case LC_NO_MEDIATOR:
        return i18n_format(c->lex, loc, "med_no_mediator", "case", k->case_no, "unit",
                           org_name(c, res->node), (char *)NULL);
    case LC_UNKNOWN_TARGET:
        return i18n_format(c->lex, loc, "med_unknown_target", "who", p->to ? p->to : "",
                           (char *)NULL);
    case LC_TARGET_INACTIVE:
        return i18n_format(c->lex, loc, "med_target_inactive", "who", med_name(c, res->mediator),
                           (char *)NULL);
    case LC_TARGET_SELF:
        return i18n_format(c->lex, loc, "med_target_self", "case", k->case_no, (char *)NULL);
    case LC_BAD_REASON:
        return fq_strdup(i18n_get(c->lex, loc, "med_bad_reason"));
    case LC_BAD_ANSWER:
        return fq_strdup(i18n_get(c->lex, loc, "med_bad_answer"));
    case LC_BAD_PAUSE_REASON:
        return fq_strdup(i18n_get(c->lex, loc, "med_bad_pause_reason"));
    case LC_NO_RAISE_REASON:
        return fq_strdup(i18n_get(c->lex, loc, "med_bad_raise_reason"));
    case LC_ALREADY_RED:
        return i18n_format(c->lex, loc, "med_already_red", "case", k->case_no, (char *)NULL);
    case LC_SYSTEM_ONLY:
    case LC_DONE:
        break;
    }
    return i18n_format(c->lex, loc, "med_bad_command", "command",
                       lifecycle_cmd_name((enum lc_cmd)p->cmd), (char *)NULL);
}

/* The words for a command that was applied. */
static char *done_text(const struct fq_ctx *c, int loc, const struct parsed *p,
                       const struct fq_case *k, const struct lc_result *res)
{
    char n[16], max[16], due[32], key[48];
    snprintf(max, sizeof max, "%d", c->cfg->sla_attempts_per_tier);
    const char *unit = org_name(c, res->node), *who = med_name(c, res->mediator);
    switch ((enum lc_cmd)p->cmd) {
    case LC_ACCEPT:
        fq_local_format(k->due_resolve, FQ_LOCAL_MINUTE, due, sizeof due);
        return i18n_format(c->lex, loc, "med_ok_accept", "case", k->case_no, "due", due,
                           (char *)NULL);
    case LC_ATTEMPT_FAILED:
        if (res->moved) {
            return i18n_format(c->lex, loc, "med_ok_attempt_moved", "case", k->case_no, "n", max,
                               "unit", unit, "mediator", who, (char *)NULL);
        }
        snprintf(n, sizeof n, "%d", k->attempts);
        return i18n_format(c->lex, loc, res->top_reached ? "med_ok_attempt_top" : "med_ok_attempt",
                           "case", k->case_no, "n", n, "max", max, (char *)NULL);
    case LC_CLOSE:
        snprintf(key, sizeof key, "med_reason_%s", k->close_reason ? k->close_reason : "other");
        return i18n_format(c->lex, loc, "med_ok_close", "case", k->case_no, "reason",
                           i18n_get(c->lex, loc, key), (char *)NULL);
    case LC_SURVEY:
        snprintf(key, sizeof key, "med_answer_%d", p->answer);
        return i18n_format(c->lex, loc, "med_ok_survey", "case", k->case_no, "answer",
                           i18n_get(c->lex, loc, key), (char *)NULL);
    case LC_PAUSE:
        snprintf(key, sizeof key, "med_pause_%s", k->pause_reason ? k->pause_reason : "party");
        return i18n_format(c->lex, loc, "med_ok_pause", "case", k->case_no, "reason",
                           i18n_get(c->lex, loc, key), (char *)NULL);
    case LC_RESUME: {
        char span[64], words[96];
        i18n_span(c->lex, loc, res->paused, span, sizeof span);
        i18n_deadline(c->lex, loc, k->due_resolve, c->now, words, sizeof words);
        return i18n_format(c->lex, loc, "med_ok_resume", "case", k->case_no, "paused", span,
                           "due", words, (char *)NULL);
    }
    case LC_RAISE:
        return i18n_format(c->lex, loc, "med_ok_raise", "case", k->case_no, "severity",
                           i18n_severity(c->lex, loc, k->severity), "unit", unit, "mediator",
                           who, (char *)NULL);
    default:   /* the command's med_ok_<name> */
        break;
    }
    return i18n_format(c->lex, loc, cmd_key("med_ok_", p->cmd, key, sizeof key), "case",
                       k->case_no, "unit", unit, "mediator", who, (char *)NULL);
}

/* A transfer target as a mediator may write it: the id, the id in another case, the name or
 * the chat user. Returns the roster id (borrowed) or tok itself. */
static const char *resolve_mediator(const struct fq_roster *r, const char *tok)
{
    if (!tok || roster_mediator_index(r, tok) >= 0)
        return tok;
    for (size_t i = 0; i < r->n_med; i++)
        if (strcasecmp(r->med[i].id, tok) == 0 || fq_streq(r->med[i].name, tok) ||
            fq_streq(r->med[i].chat_user, tok))
            return r->med[i].id;
    return tok;
}

/* Runs a parsed command for the roster mediator `sender`. *text (caller frees) is the answer,
 * *ok whether it was applied, *k the case concerned (k->id 0 when none; the caller zeroes it
 * before and cleans it up after). */
static enum fq_err run(struct fq_ctx *c, int sender, int loc, struct parsed *p,
                       struct fq_actions *out, char **text, bool *ok, struct fq_case *k)
{
    char key[48];
    *text = NULL;
    *ok = false;
    if (p->cmd == CMD_LIST) {
        *ok = true;
        return list_text(c, sender, loc, text);
    }
    if (p->cmd == CMD_HELP || p->cmd == CMD_UNKNOWN) {
        *ok = p->cmd == CMD_HELP;
        if (p->cmd == CMD_HELP)
            *text = help_text(c, loc);
        else {
            struct fq_buf b;
            buf_init(&b);
            char *u = i18n_format(c->lex, loc, "mediator_unknown_command", "command",
                                  p->first_word ? p->first_word : "", (char *)NULL);
            if (u)
                buf_puts(&b, u);
            else
                b.oom = true;
            free(u);
            buf_puts(&b, "\n");
            buf_puts(&b, i18n_get(c->lex, loc, "med_help"));
            *text = buf_take(&b);
        }
        return *text ? FQ_OK : FQ_ENOMEM;
    }
    if (!p->has_case && p->chat && !p->case_text) {
        enum fq_err rerr = resolve_case(c, sender, loc, p, text);
        if (rerr || *text)
            return rerr;
    }
    if (!p->has_case) {
        if (p->case_text)
            *text = i18n_format(c->lex, loc, "med_bad_case", "text", p->case_text, (char *)NULL);
        else
            *text = i18n_format(c->lex, loc, "med_need_case", "usage",
                                i18n_get(c->lex, loc, cmd_key("med_usage_", p->cmd, key,
                                                              sizeof key)),
                                (char *)NULL);
        return *text ? FQ_OK : FQ_ENOMEM;
    }

    enum fq_err err = store_case_get(c->store, p->case_no, k);
    if (err == FQ_ENOTFOUND) {
        *text = i18n_format(c->lex, loc, "med_no_such_case", "case", p->case_no, (char *)NULL);
        return *text ? FQ_OK : FQ_ENOMEM;
    }
    if (err)
        return err;
    struct lc_request rq = {
        .cmd = (enum lc_cmd)p->cmd,
        .actor = sender,
        .note = p->note,
        .reason = p->reason ? p->reason : p->reason_text,
        .to = resolve_mediator(c->roster, p->to),
        .answer = p->answer,
    };
    struct lc_result res;
    err = lifecycle_apply(c, k, &rq, &res, out);
    if (!err) {
        *ok = res.refusal == LC_DONE;
        *text = *ok ? done_text(c, loc, p, k, &res) : refusal_text(c, loc, p, k, &res);
        if (!*text)
            err = FQ_ENOMEM;
        else
            answer_set_case(out, k->case_no);
    }
    return err;
}

static int locale_of(const struct fq_msg *m)
{
    int loc = fq_locale_parse(m->locale);
    return loc < 0 ? FQ_LOC_ZH_CN : loc;
}

enum fq_err mediator_on_chat(struct fq_ctx *c, const struct fq_msg *m, int mediator,
                             struct fq_actions *out)
{
    if (mediator < 0 || (size_t)mediator >= c->roster->n_med)
        return FQ_EINVAL;
    int loc = locale_of(m);
    char *t = classify_normalize(m->text ? m->text : "");
    if (!t)
        return FQ_ENOMEM;
    struct parsed p;
    char *text = NULL;
    bool ok;
    struct fq_case k;
    memset(&k, 0, sizeof k);
    const char *orig = m->text;
    enum fq_err err = parse_chat(c, t, &p);
    /* an answer naming a case completes the command that asked which one */
    size_t tn = token_len(t);
    char no[24];
    if (!err && p.cmd == CMD_UNKNOWN && t[tn] == '\0' &&
        (is_short_ref(t, tn) || parse_case_no(t, tn, no))) {
        char *full = NULL;
        err = pending_take(c, mediator, t, tn, &full);
        if (!err && full) {
            free(t);
            t = full;
            orig = full;
            parsed_cleanup(&p);
            err = parse_chat(c, t, &p);
        }
    } else if (!err) {
        err = pending_clear(c, mediator);
    }
    if (!err)
        err = keep_original_note(&p, orig, t);
    if (!err)
        err = run(c, mediator, loc, &p, out, &text, &ok, &k);
    if (!err)
        answer_reply_take(out, text);
    case_cleanup(&k);
    parsed_cleanup(&p);
    free(t);
    return err ? err : (out->oom ? FQ_ENOMEM : FQ_OK);
}

/* Reads an MQTT command (docs/contract.md 4.4) into p; close takes "reason note" and survey
 * "answer comment" in note. */
static enum fq_err parse_command(const struct fq_ctx *c, const struct fq_msg *m, char **norm,
                               struct parsed *p)
{
    memset(p, 0, sizeof *p);
    p->answer = -1;
    *norm = NULL;
    int cmd = lifecycle_cmd_parse(m->command);
    if (cmd >= 0 && !lifecycle_commands[cmd].mediator)
        cmd = CMD_UNKNOWN;
    if (cmd < 0 && fq_streq(m->command, LIST_NAME))
        cmd = CMD_LIST;
    p->cmd = cmd < 0 ? CMD_UNKNOWN : cmd;
    if (p->cmd == CMD_UNKNOWN || p->cmd == CMD_LIST)
        return FQ_OK;
    if (m->case_no) {
        char *cn = classify_normalize(m->case_no);
        if (!cn)
            return FQ_ENOMEM;
        p->has_case = *cn && parse_case_no(cn, strlen(cn), p->case_no);
        if (!p->has_case && *cn && !(p->case_text = fq_strdup(cn))) {
            free(cn);
            return FQ_ENOMEM;
        }
        free(cn);
    }
    if (m->note && !(*norm = classify_normalize(m->note)))
        return FQ_ENOMEM;
    const char *note = *norm ? *norm : "";
    enum fq_err err = FQ_OK;
    if (lifecycle_commands[p->cmd].args == LC_ARGS_TARGET) {   /* the target is its own field */
        if (m->to && !(p->to = fq_strdup(m->to)))
            return FQ_ENOMEM;
        p->note = nonempty(note);
    } else {
        err = read_args(c->lex, p, note);
    }
    return err ? err : keep_original_note(p, m->note, *norm);
}

enum fq_err mediator_on_command(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out)
{
    int loc = locale_of(m);
    int sender = dispatch_sender(c->roster, m);   /* the topic's id, or the WeCom member */
    struct parsed p;
    char *norm = NULL, *text = NULL;
    bool ok = false;
    struct fq_case k;
    memset(&k, 0, sizeof k);
    enum fq_err err = FQ_OK;
    memset(&p, 0, sizeof p);
    if (sender < 0) {
        text = i18n_format(c->lex, loc, "med_not_mediator", "who", m->mediator ? m->mediator : "",
                           (char *)NULL);
    } else if (!(err = parse_command(c, m, &norm, &p))) {
        if (p.cmd == CMD_UNKNOWN)
            text = i18n_format(c->lex, loc, "med_bad_command", "command",
                               m->command ? m->command : "", (char *)NULL);
        else
            err = run(c, sender, loc, &p, out, &text, &ok, &k);
    }
    if (!err && !text)
        err = FQ_ENOMEM;
    if (!err) {
        actions_med_reply(out, m->mediator, m->request_id, ok, text, k.id ? &k : NULL);
        answer_reply_take(out, text);
        text = NULL;
    }
    free(text);
    free(norm);
    case_cleanup(&k);
    parsed_cleanup(&p);
    return err ? err : (out->oom ? FQ_ENOMEM : FQ_OK);
}

char *mediator_help_compose(const char *(*get)(void *arg, const char *key), void *arg,
                            char *missing, size_t missing_size)
{
    struct fq_buf b;
    buf_init(&b);
    char key[64];
    /* the head, each mediator command's line in table order, then "list"'s */
    for (int i = -1; i <= LC__CMD_COUNT; i++) {
        if (i >= 0 && i < LC__CMD_COUNT && !lifecycle_commands[i].mediator)
            continue;
        if (i < 0)
            snprintf(key, sizeof key, "med_help_head");
        else
            snprintf(key, sizeof key, "med_help_%s",
                     i < LC__CMD_COUNT ? lifecycle_commands[i].name : LIST_NAME);
        const char *line = get(arg, key);
        if (!line) {
            snprintf(missing, missing_size, "%s", key);
            buf_cleanup(&b);
            return NULL;
        }
        if (i >= 0)
            buf_puts(&b, "\n");
        buf_puts(&b, line);
    }
    return buf_take(&b);
}
