/* locale.c: reads the three catalogs of locales/ with jansson and builds the immutable struct
 * fq_lexicon that handlers/ read (handlers/i18n.h).
 *
 * Design choice: every consistency rule is checked here, at start-up and on SIGHUP, so that a
 * catalog with a missing message, a renamed placeholder or a missing keyword list is refused
 * with its file and key instead of showing a raw key to a resident later. zh-CN is the reference
 * catalog: the others must have exactly its message keys and, per message, the same set of
 * "{placeholder}" names. Keyword lists are merged over the catalogs (a resident may write
 * Traditional forms in a Simplified conversation) and sorted longest first, so that
 * wordlist_find_in reports the most specific word. */
#include "bot/sys/locale.h"
#include "common/fq.h"
#include "common/status.h"
#include "handlers/i18n.h"
#include "handlers/mediator.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const files[FQ_N_LOCALES] = {"zh-CN.json", "zh-TW.json", "en.json"};

struct loader {
    const char *dir;
    char *path[FQ_N_LOCALES];
    json_t *root[FQ_N_LOCALES];
    char **cause;
};

static enum fq_err fail(struct loader *ld, enum fq_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum fq_err fail(struct loader *ld, enum fq_err err, const char *fmt, ...)
{
    if (ld->cause && !*ld->cause) {
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
            s = NULL;
        va_end(ap);
        *ld->cause = s;
    }
    return err;
}

/* ---- reading ------------------------------------------------------------------------------- */
static enum fq_err read_catalog(struct loader *ld, int l)
{
    if (asprintf(&ld->path[l], "%s/%s", ld->dir, files[l]) < 0) {
        ld->path[l] = NULL;
        return FQ_ENOMEM;
    }
    const char *p = ld->path[l];
    if (access(p, R_OK) != 0)
        return fail(ld, FQ_EIO, "%s: cannot read the catalog", p);
    json_error_t je;
    ld->root[l] = json_load_file(p, JSON_REJECT_DUPLICATES, &je);
    if (!ld->root[l])
        return fail(ld, FQ_EINVAL, "%s:%d: bad JSON: %s", p, je.line, je.text);
    if (!json_is_object(ld->root[l]))
        return fail(ld, FQ_EINVAL, "%s: the catalog must be a JSON object", p);
    json_t *loc = json_object_get(ld->root[l], "locale");
    if (!json_is_string(loc) || fq_locale_parse(json_string_value(loc)) != l)
        return fail(ld, FQ_EINVAL, "%s: locale: must be \"%s\"", p, fq_locale_name(l));
    return FQ_OK;
}

static json_t *section(struct loader *ld, int l, const char *name, enum fq_err *err)
{
    json_t *o = json_object_get(ld->root[l], name);
    if (!json_is_object(o))
        *err = fail(ld, FQ_EINVAL, "%s: %s: missing or not an object", ld->path[l], name);
    return o;
}

/* ---- string maps --------------------------------------------------------------------------- */
struct pair {
    const char *k, *v;
};

static int cmp_pair(const void *a, const void *b)
{
    return strcmp(((const struct pair *)a)->k, ((const struct pair *)b)->k);
}

/* Builds a sorted map from a JSON object of strings. */
static enum fq_err build_map(struct loader *ld, int l, const char *name, json_t *obj,
                             struct fq_strmap *m)
{
    size_t n = json_object_size(obj);
    struct pair *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return FQ_ENOMEM;
    enum fq_err err = FQ_OK;
    size_t i = 0;
    const char *k;
    json_t *val;
    json_object_foreach(obj, k, val) {
        if (!json_is_string(val)) {
            err = fail(ld, FQ_EINVAL, "%s: %s.%s: not a string", ld->path[l], name, k);
            goto out;
        }
        v[i].k = k;
        v[i].v = json_string_value(val);
        i++;
    }
    qsort(v, n, sizeof *v, cmp_pair);
    m->keys = calloc(n ? n : 1, sizeof *m->keys);
    m->vals = calloc(n ? n : 1, sizeof *m->vals);
    if (!m->keys || !m->vals) {
        err = FQ_ENOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        m->keys[i] = strdup(v[i].k);
        m->vals[i] = strdup(v[i].v);
        m->n = i + 1;
        if (!m->keys[i] || !m->vals[i]) {
            err = FQ_ENOMEM;
            goto out;
        }
    }
out:
    free(v);
    return err;
}

/* The sorted, space-separated "{name}" placeholders of s. Caller frees. */
static char *placeholders(const char *s)
{
    char *names[64];
    size_t n = 0;
    for (const char *p = strchr(s, '{'); p && n < 64; p = strchr(p + 1, '{')) {
        const char *q = p + 1;
        while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
               *q == '_')
            q++;
        if (*q != '}' || q == p + 1)
            continue;
        char *name = strndup(p, (size_t)(q - p + 1));
        if (!name)
            break;
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup = dup || strcmp(names[i], name) == 0;
        if (dup)
            free(name);
        else
            names[n++] = name;
    }
    for (size_t i = 1; i < n; i++)          /* insertion sort: a handful of names */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    struct fq_buf b;
    buf_init(&b);
    buf_add(&b, "", 0);
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_puts(&b, " ");
        buf_puts(&b, names[i]);
        free(names[i]);
    }
    return buf_take(&b);
}

/* Messages of catalog l against zh-CN: the same keys, the same placeholders. */
static enum fq_err check_messages(struct loader *ld, int l, json_t *ref, json_t *msgs)
{
    const char *k;
    json_t *rv;
    json_object_foreach(ref, k, rv) {
        json_t *v = json_object_get(msgs, k);
        if (!v)
            return fail(ld, FQ_EINVAL, "%s: messages.%s: missing (it is in %s)", ld->path[l], k,
                        ld->path[FQ_LOC_ZH_CN]);
        if (!json_is_string(v) || !json_is_string(rv))
            continue;                   /* build_map names it */
        char *a = placeholders(json_string_value(rv)), *b = placeholders(json_string_value(v));
        enum fq_err err = FQ_OK;
        if (!a || !b)
            err = FQ_ENOMEM;
        else if (strcmp(a, b) != 0)
            err = fail(ld, FQ_EINVAL, "%s: messages.%s: placeholders [%s] differ from %s [%s]",
                       ld->path[l], k, b, ld->path[FQ_LOC_ZH_CN], a);
        free(a);
        free(b);
        if (err)
            return err;
    }
    json_object_foreach(msgs, k, rv) {
        if (!json_object_get(ref, k))
            return fail(ld, FQ_EINVAL, "%s: messages.%s: not in %s", ld->path[l], k,
                        ld->path[FQ_LOC_ZH_CN]);
    }
    return FQ_OK;
}

static enum fq_err require_keys(struct loader *ld, int l, const char *name, json_t *obj,
                                const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!json_is_string(json_object_get(obj, keys[i])))
            return fail(ld, FQ_EINVAL, "%s: %s.%s: missing", ld->path[l], name, keys[i]);
    return FQ_OK;
}

static enum fq_err same_keys(struct loader *ld, int l, const char *name, json_t *ref, json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach(ref, k, v) {
        if (!json_object_get(obj, k))
            return fail(ld, FQ_EINVAL, "%s: %s.%s: missing (it is in %s)", ld->path[l], name, k,
                        ld->path[FQ_LOC_ZH_CN]);
    }
    json_object_foreach(obj, k, v) {
        if (!json_object_get(ref, k))
            return fail(ld, FQ_EINVAL, "%s: %s.%s: not in %s", ld->path[l], name, k,
                        ld->path[FQ_LOC_ZH_CN]);
    }
    return FQ_OK;
}

/* ---- keyword lists ------------------------------------------------------------------------- */
static int cmp_word(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    size_t lx = strlen(x), ly = strlen(y);
    if (lx != ly)
        return lx > ly ? -1 : 1;        /* longest first */
    return strcmp(x, y);
}

/* Appends a copy of s to wl unless it is there already. */
static enum fq_err add_word(struct fq_wordlist *wl, const char *s)
{
    if (wordlist_has(wl, s))
        return FQ_OK;
    char **nw = realloc(wl->words, (wl->n + 1) * sizeof *nw);
    if (!nw)
        return FQ_ENOMEM;
    wl->words = nw;
    if (!(wl->words[wl->n] = strdup(s)))
        return FQ_ENOMEM;
    wl->n++;
    return FQ_OK;
}

/* Appends the words of the JSON array arr (named name for errors) to wl, skipping duplicates. */
static enum fq_err merge_list(struct loader *ld, int l, const char *name, json_t *arr,
                              struct fq_wordlist *wl)
{
    if (!json_is_array(arr))
        return fail(ld, FQ_EINVAL, "%s: keywords.%s: missing or not an array", ld->path[l], name);
    size_t i;
    json_t *w;
    json_array_foreach(arr, i, w) {
        if (!json_is_string(w) || json_string_length(w) == 0)
            return fail(ld, FQ_EINVAL, "%s: keywords.%s[%zu]: not a non-empty string",
                        ld->path[l], name, i);
        enum fq_err err = add_word(wl, json_string_value(w));
        if (err)
            return err;
    }
    return FQ_OK;
}

/* The command word list named name (keywords.cmd_<command>), added when first seen. NULL on
 * oom. */
static struct fq_wordlist *command_list(struct fq_lexicon *lx, const char *name)
{
    for (size_t i = 0; i < lx->n_cmd_kw; i++)
        if (strcmp(lx->cmd_kw[i].name, name) == 0)
            return &lx->cmd_kw[i].words;
    struct fq_named_words *nv = realloc(lx->cmd_kw, (lx->n_cmd_kw + 1) * sizeof *nv);
    if (!nv)
        return NULL;
    lx->cmd_kw = nv;
    struct fq_named_words *w = &nv[lx->n_cmd_kw];
    memset(w, 0, sizeof *w);
    if (!(w->name = strdup(name)))
        return NULL;
    lx->n_cmd_kw++;
    return &w->words;
}

static enum fq_err load_keywords(struct loader *ld, int l, struct fq_lexicon *lx)
{
    enum fq_err err = FQ_OK;
    json_t *kw = section(ld, l, "keywords", &err);
    if (err)
        return err;
    json_t *cat = json_object_get(kw, "category");
    if (!json_is_object(cat))
        return fail(ld, FQ_EINVAL, "%s: keywords.category: missing or not an object",
                    ld->path[l]);
    char name[64];
    for (int i = 0; i < FQ_N_CATEGORIES; i++) {
        snprintf(name, sizeof name, "category.%s", fq_categories[i]);
        if ((err = merge_list(ld, l, name, json_object_get(cat, fq_categories[i]),
                              &lx->category_kw[i])))
            return err;
    }
    const char *k;
    json_t *v;
    json_object_foreach(cat, k, v) {
        if (fq_category_index(k) < 0)
            return fail(ld, FQ_EINVAL, "%s: keywords.category.%s: unknown category", ld->path[l],
                        k);
    }
    for (int i = 0; i < FQ__KW_COUNT; i++)
        if ((err = merge_list(ld, l, fq_kw_names[i], json_object_get(kw, fq_kw_names[i]),
                              &lx->kw[i])))
            return err;
    json_object_foreach(kw, k, v) {
        bool known = strcmp(k, "category") == 0;
        for (int i = 0; i < FQ__KW_COUNT && !known; i++)
            known = strcmp(k, fq_kw_names[i]) == 0;
        if (known)
            continue;
        size_t pl = strlen(FQ_KW_CMD_PREFIX);
        if (strncmp(k, FQ_KW_CMD_PREFIX, pl) != 0 || !mediator_command_known(k + pl))
            return fail(ld, FQ_EINVAL, "%s: keywords.%s: unknown list", ld->path[l], k);
        struct fq_wordlist *wl = command_list(lx, k);
        if (!wl)
            return FQ_ENOMEM;
        if ((err = merge_list(ld, l, k, v, wl)))
            return err;
    }
    return FQ_OK;
}

static enum fq_err sort_list(struct fq_wordlist *wl)
{
    if (wl->n > 1)
        qsort(wl->words, wl->n, sizeof *wl->words, cmp_word);
    return wordlist_compile(wl);
}

/* ---- the whole load ------------------------------------------------------------------------ */
static const char *message_of(void *arg, const char *key)
{
    return json_string_value(json_object_get(arg, key));
}

/* messages.med_help is made from the command table (handlers/mediator.h), never written. */
static enum fq_err make_help(struct loader *ld, int l, json_t *msgs)
{
    if (json_object_get(msgs, "med_help"))
        return fail(ld, FQ_EINVAL, "%s: messages.med_help: made from med_help_head, "
                                   "med_help_<command> and med_help_list; remove it",
                    ld->path[l]);
    char missing[64];
    char *help = mediator_help_compose(message_of, msgs, missing, sizeof missing);
    if (!help)
        return fail(ld, FQ_EINVAL, "%s: messages.%s: missing (a line of the mediators' help)",
                    ld->path[l], missing);
    int rc = json_object_set_new(msgs, "med_help", json_string(help));
    free(help);
    return rc ? FQ_ENOMEM : FQ_OK;
}

static enum fq_err load_one(struct loader *ld, int l, struct fq_lexicon *lx)
{
    enum fq_err err = FQ_OK;
    json_t *msgs = section(ld, l, "messages", &err);
    json_t *cats = err ? NULL : section(ld, l, "categories", &err);
    json_t *sevs = err ? NULL : section(ld, l, "severities", &err);
    json_t *stats = err ? NULL : section(ld, l, "statuses", &err);
    if (err || (err = make_help(ld, l, msgs)))
        return err;
    if (l != FQ_LOC_ZH_CN) {
        if ((err = check_messages(ld, l, json_object_get(ld->root[FQ_LOC_ZH_CN], "messages"),
                                  msgs)) ||
            (err = same_keys(ld, l, "statuses",
                             json_object_get(ld->root[FQ_LOC_ZH_CN], "statuses"), stats)))
            return err;
    } else if ((err = require_keys(ld, l, "statuses", stats, fq_case_status_names,
                                   FQ_CASE__COUNT))) {
        return err;
    }
    static const char *const sev[] = {"blue", "yellow", "red"};
    if ((err = require_keys(ld, l, "categories", cats, fq_categories, FQ_N_CATEGORIES)) ||
        (err = require_keys(ld, l, "severities", sevs, sev, 3)))
        return err;
    const char *k;
    json_t *v;
    json_object_foreach(cats, k, v) {
        if (fq_category_index(k) < 0)
            return fail(ld, FQ_EINVAL, "%s: categories.%s: unknown category", ld->path[l], k);
    }
    if ((err = build_map(ld, l, "messages", msgs, &lx->messages[l])) ||
        (err = build_map(ld, l, "categories", cats, &lx->categories[l])) ||
        (err = build_map(ld, l, "severities", sevs, &lx->severities[l])) ||
        (err = build_map(ld, l, "statuses", stats, &lx->statuses[l])))
        return err;
    return load_keywords(ld, l, lx);
}

/* A mediator's command word must mean one command (handlers/mediator.c takes the longest word
 * that matches, so two commands sharing one would be decided by the order of the lists):
 * no word in two keywords.cmd_* lists, nor in one of them and keywords.help. */
static enum fq_err check_command_words(struct loader *ld, const struct fq_lexicon *lx)
{
    size_t n = lx->n_cmd_kw;
    for (size_t i = 0; i <= n; i++) {
        const struct fq_wordlist *a = i < n ? &lx->cmd_kw[i].words : &lx->kw[FQ_KW_HELP];
        const char *an = i < n ? lx->cmd_kw[i].name : "help";
        for (size_t j = i + 1; j <= n; j++) {
            const struct fq_wordlist *b = j < n ? &lx->cmd_kw[j].words : &lx->kw[FQ_KW_HELP];
            const char *bn = j < n ? lx->cmd_kw[j].name : "help";
            for (size_t x = 0; x < a->n; x++)
                for (size_t y = 0; y < b->n; y++)
                    if (strcasecmp(a->words[x], b->words[y]) == 0)
                        return fail(ld, FQ_EINVAL,
                                    "%s: keywords.%s and keywords.%s both have \"%s\"", ld->dir,
                                    an, bn, a->words[x]);
        }
    }
    return FQ_OK;
}

enum fq_err locale_load(const char *dir, struct fq_lexicon **out, char **cause)
{
    struct loader ld = {.dir = dir ? dir : "locales", .cause = cause};
    if (cause)
        *cause = NULL;
    *out = NULL;
    enum fq_err err = FQ_OK;
    struct fq_lexicon *lx = calloc(1, sizeof *lx);
    if (!lx)
        return FQ_ENOMEM;
    for (int l = 0; l < FQ_N_LOCALES && !err; l++)
        err = read_catalog(&ld, l);
    for (int l = 0; l < FQ_N_LOCALES && !err; l++)
        err = load_one(&ld, l, lx);
    if (err)
        goto out;
    for (int i = 0; i < FQ_N_CATEGORIES && !err; i++)
        err = sort_list(&lx->category_kw[i]);
    for (int i = 0; i < FQ__KW_COUNT && !err; i++)
        err = sort_list(&lx->kw[i]);
    for (size_t i = 0; i < lx->n_cmd_kw && !err; i++)
        err = sort_list(&lx->cmd_kw[i].words);
    if (!err)
        err = check_command_words(&ld, lx);
    /* the categories' display names, which a resident's text may quote (handlers/classify.c) */
    for (int l = 0; l < FQ_N_LOCALES && !err; l++)
        for (size_t i = 0; i < lx->categories[l].n && !err; i++)
            err = add_word(&lx->category_names, lx->categories[l].vals[i]);
    if (!err)
        err = sort_list(&lx->category_names);
    if (err)
        goto out;
    *out = lx;
    lx = NULL;
out:
    if (err == FQ_ENOMEM)
        fail(&ld, err, "out of memory loading the catalogs in %s", ld.dir);
    for (int l = 0; l < FQ_N_LOCALES; l++) {
        json_decref(ld.root[l]);
        free(ld.path[l]);
    }
    lexicon_free(lx);
    return err;
}

static bool has_catalog(const char *dir)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, files[FQ_LOC_ZH_CN]) < 0)
        return false;
    bool ok = access(p, R_OK) == 0;
    free(p);
    return ok;
}

char *locale_dir_default(void)
{
    const char *env = getenv("FENGQIAO_LOCALES");
    if (env && *env && has_catalog(env))
        return strdup(env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char *p = NULL;
            if (asprintf(&p, "%s/../locales", exe) < 0)
                return NULL;
            if (has_catalog(p))
                return p;
            free(p);
            /* installed: PREFIX/bin/fengqiao next to PREFIX/share/fengqiao/locales */
            if (asprintf(&p, "%s/../share/fengqiao/locales", exe) < 0)
                return NULL;
            if (has_catalog(p))
                return p;
            free(p);
        }
    }
    if (has_catalog("/usr/share/fengqiao/locales"))
        return strdup("/usr/share/fengqiao/locales");
    return strdup("./locales");
}
