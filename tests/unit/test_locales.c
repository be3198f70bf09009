/* test_locales.c: the catalogs of locales/ and their loader (bot/sys/locale.c, handlers/i18n.c).
 * The consistency checks read the JSON files independently of the loader, so a loader bug cannot
 * hide a catalog problem; the error tests write broken copies into a temporary directory. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bot/sys/locale.h"
#include "handlers/lifecycle.h"
#include "handlers/i18n.h"
#include "common/fq.h"

static const char *const files[] = {"zh-CN.json", "zh-TW.json", "en.json"};

static const char *locales_dir(void)
{
    static const char *const cands[] = {"locales", "../locales", "../../locales"};
    const char *env = getenv("FENGQIAO_LOCALES");
    if (env)
        return env;
    for (size_t i = 0; i < 3; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/zh-CN.json", cands[i]);
        if (access(p, R_OK) == 0)
            return cands[i];
    }
    return "locales";
}

static json_t *load_json(const char *file)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", locales_dir(), file);
    json_error_t je;
    json_t *j = json_load_file(p, 0, &je);
    cr_assert(j, "%s:%d: %s", p, je.line, je.text);
    return j;
}

/* "{a} {b}" of a message, sorted, independent of the loader's own code. */
static void placeholder_set(const char *s, char *out, size_t size)
{
    char names[32][40];
    int n = 0;
    for (const char *p = strchr(s, '{'); p && n < 32; p = strchr(p + 1, '{')) {
        const char *q = strchr(p, '}');
        if (!q || (size_t)(q - p) >= sizeof names[0])
            continue;
        char name[40];
        memcpy(name, p, (size_t)(q - p + 1));
        name[q - p + 1] = '\0';
        int dup = 0;
        for (int i = 0; i < n; i++)
            dup |= strcmp(names[i], name) == 0;
        if (!dup)
            strcpy(names[n++], name);
    }
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        strncat(out, names[i], size - strlen(out) - 1);
        strncat(out, " ", size - strlen(out) - 1);
    }
}

Test(locales, all_three_load)
{
    struct fq_lexicon *lx = NULL;
    char *cause = NULL;
    enum fq_err err = locale_load(locales_dir(), &lx, &cause);
    cr_assert_eq(err, FQ_OK, "locale_load: %s", cause ? cause : "?");
    cr_assert_null(cause);
    cr_assert_not_null(lx);
    for (int l = 0; l < FQ_N_LOCALES; l++)
        cr_assert_gt(lx->messages[l].n, 20);
    lexicon_free(lx);
}

Test(locales, same_keys_and_placeholders)
{
    json_t *ref = load_json(files[0]);
    json_t *rm = json_object_get(ref, "messages");
    cr_assert(json_is_object(rm));
    for (int l = 1; l < 3; l++) {
        json_t *j = load_json(files[l]);
        json_t *m = json_object_get(j, "messages");
        cr_assert(json_is_object(m));
        cr_assert_eq(json_object_size(m), json_object_size(rm), "%s: number of messages",
                     files[l]);
        const char *k;
        json_t *v;
        json_object_foreach(rm, k, v) {
            json_t *o = json_object_get(m, k);
            cr_assert(json_is_string(o), "%s: messages.%s missing", files[l], k);
            char a[512], b[512];
            placeholder_set(json_string_value(v), a, sizeof a);
            placeholder_set(json_string_value(o), b, sizeof b);
            cr_assert_str_eq(a, b, "%s: messages.%s placeholders", files[l], k);
        }
        for (const char *sec_name = "statuses"; sec_name; sec_name = NULL) {
            json_t *rs = json_object_get(ref, sec_name), *s = json_object_get(j, sec_name);
            json_object_foreach(rs, k, v) cr_assert(json_object_get(s, k), "%s: %s.%s", files[l],
                                                    sec_name, k);
        }
        json_decref(j);
    }
    json_decref(ref);
}

Test(locales, keys_the_lead_uses)
{
    /* case_open formats these with exactly case, category, unit, due */
    json_t *j = load_json(files[0]);
    json_t *m = json_object_get(j, "messages");
    char set[512];
    placeholder_set(json_string_value(json_object_get(m, "receipt")), set, sizeof set);
    cr_assert_str_eq(set, "{case} {category} {due} {unit} ");
    placeholder_set(json_string_value(json_object_get(m, "receipt_red")), set, sizeof set);
    cr_assert_str_eq(set, "{case} {category} {due} {unit} ");
    cr_assert(strstr(json_string_value(json_object_get(m, "receipt_red")), "110"));
    cr_assert(strstr(json_string_value(json_object_get(m, "emergency_110")), "110"));
    placeholder_set(json_string_value(json_object_get(m, "status_line")), set, sizeof set);
    cr_assert_str_eq(set, "{case} {category} {date} {status} ");
    json_decref(j);
}

Test(locales, categories_and_lists_complete)
{
    static const char *const zh[FQ_N_CATEGORIES] = {
        "邻里纠纷", "婚姻家庭", "赡养抚养", "损害赔偿", "土地承包与宅基地", "征地拆迁",
        "欠薪与劳动争议", "物业纠纷", "合同与债务", "医患纠纷", "交通事故", "环境污染",
        "村务与干群关系", "其他"};
    struct fq_lexicon *lx = NULL;
    char *cause = NULL;
    cr_assert_eq(locale_load(locales_dir(), &lx, &cause), FQ_OK, "%s", cause ? cause : "");
    for (int i = 0; i < FQ_N_CATEGORIES; i++) {
        cr_assert_str_eq(i18n_category(lx, FQ_LOC_ZH_CN, fq_categories[i]), zh[i]);
        for (int l = 0; l < FQ_N_LOCALES; l++)
            cr_assert_str_neq(i18n_category(lx, l, fq_categories[i]), fq_categories[i],
                              "%s has no label in %s", fq_categories[i], fq_locale_name(l));
        cr_assert_gt(lx->category_kw[i].n, 0, "no keywords for %s", fq_categories[i]);
    }
    cr_assert_str_eq(i18n_category(lx, FQ_LOC_ZH_TW, "neighbour"), "鄰里糾紛");
    cr_assert_str_eq(i18n_category(lx, FQ_LOC_EN, "traffic"), "Traffic accident");
    for (int k = 0; k < FQ__KW_COUNT; k++)
        cr_assert_gt(lx->kw[k].n, 0, "keyword list %s empty", fq_kw_names[k]);
    static const char *const st[] = {"assigned", "accepted", "in_progress", "resolved", "closed",
                                     "reopened", "cancelled"};
    for (int l = 0; l < FQ_N_LOCALES; l++) {
        for (size_t i = 0; i < 7; i++) {
            bool found = false;
            for (size_t k = 0; k < lx->statuses[l].n; k++)
                found = found || strcmp(lx->statuses[l].keys[k], st[i]) == 0;
            cr_assert(found, "%s: no label for status %s", fq_locale_name(l), st[i]);
        }
        for (int s = 0; s < 3; s++)
            cr_assert_not_null(i18n_severity(lx, l, s));
    }
    cr_assert_str_eq(i18n_severity(lx, FQ_LOC_ZH_CN, FQ_SEV_RED), "红色");
    cr_assert_str_eq(i18n_status(lx, FQ_LOC_ZH_TW, "accepted"), "已接單");
    /* merged lists hold both scripts and the contract's words */
    const struct fq_wordlist *d = &lx->kw[FQ_KW_DANGER];
    const char *must[] = {"自杀", "轻生", "跳楼", "打架", "械斗", "动刀", "围堵", "上访", "集体",
                          "自殺", "輕生", "械鬥", "圍堵", "上訪", "suicide", "knife"};
    for (size_t i = 0; i < sizeof must / sizeof *must; i++)
        cr_assert(wordlist_has(d, must[i]), "danger list lacks %s", must[i]);
    cr_assert(wordlist_has(&lx->kw[FQ_KW_STATUS], "进度"));
    cr_assert(wordlist_has(&lx->kw[FQ_KW_STATUS], "查詢"));
    cr_assert(wordlist_has(&lx->kw[FQ_KW_CANCEL], "CANCEL"));    /* ASCII case ignored */
    cr_assert(wordlist_has(&lx->kw[FQ_KW_LANG_EN], "English"));
    cr_assert(wordlist_has(&lx->kw[FQ_KW_LANG_ZH_TW], "繁體"));
    cr_assert(wordlist_has(&lx->kw[FQ_KW_SKIP], "跳过"));
    cr_assert(wordlist_has(&lx->kw[FQ_KW_SKIP], "skip"));
    /* no duplicates, longest first */
    for (int k = 0; k < FQ__KW_COUNT; k++)
        for (size_t i = 1; i < lx->kw[k].n; i++) {
            cr_assert_geq(strlen(lx->kw[k].words[i - 1]), strlen(lx->kw[k].words[i]));
            for (size_t j = 0; j < i; j++)
                cr_assert_str_neq(lx->kw[k].words[i], lx->kw[k].words[j]);
        }
    lexicon_free(lx);
}

Test(locales, lookups_and_format)
{
    struct fq_lexicon *lx = NULL;
    char *cause = NULL;
    cr_assert_eq(locale_load(locales_dir(), &lx, &cause), FQ_OK);
    cr_assert_str_eq(i18n_get(lx, FQ_LOC_EN, "no_such_key"), "no_such_key");
    cr_assert_str_eq(i18n_get(lx, 7, "lang_switched"), i18n_get(lx, FQ_LOC_ZH_CN, "lang_switched"));
    cr_assert_str_eq(i18n_get(NULL, 0, "x"), "x");
    char *s = i18n_format(lx, FQ_LOC_EN, "receipt", "case", "FQ20261122-0001", "category", "Other",
                          "unit", "Fengqiao", "due", "2026-11-23 08:00", (char *)NULL);
    cr_assert_not_null(s);
    cr_assert(strstr(s, "FQ20261122-0001"));
    cr_assert(strstr(s, "Fengqiao"));
    cr_assert(strstr(s, "2026-11-23 08:00"));
    cr_assert_null(strchr(s, '{'), "unreplaced placeholder in %s", s);
    free(s);
    s = i18n_format(lx, FQ_LOC_EN, "receipt", "case", "X", (char *)NULL);
    cr_assert(strstr(s, "{unit}"), "a missing value stays as written");
    free(s);
    s = i18n_format(lx, FQ_LOC_ZH_CN, "no {such} key", "such", "v", (char *)NULL);
    cr_assert_str_eq(s, "no v key");
    free(s);
    lexicon_free(lx);
    lexicon_free(NULL);
}

Test(locales, locale_names)
{
    cr_assert_eq(fq_locale_parse("zh-CN"), FQ_LOC_ZH_CN);
    cr_assert_eq(fq_locale_parse("zh_CN.UTF-8"), FQ_LOC_ZH_CN);
    cr_assert_eq(fq_locale_parse("zh-Hans"), FQ_LOC_ZH_CN);
    cr_assert_eq(fq_locale_parse("zh"), FQ_LOC_ZH_CN);
    cr_assert_eq(fq_locale_parse("zh-TW"), FQ_LOC_ZH_TW);
    cr_assert_eq(fq_locale_parse("zh-Hant-HK"), FQ_LOC_ZH_TW);
    cr_assert_eq(fq_locale_parse("zh_HK"), FQ_LOC_ZH_TW);
    cr_assert_eq(fq_locale_parse("en"), FQ_LOC_EN);
    cr_assert_eq(fq_locale_parse("en-US"), FQ_LOC_EN);
    cr_assert_eq(fq_locale_parse("EN_gb"), FQ_LOC_EN);
    cr_assert_eq(fq_locale_parse("fr"), -1);
    cr_assert_eq(fq_locale_parse("english"), -1);
    cr_assert_eq(fq_locale_parse(""), -1);
    cr_assert_eq(fq_locale_parse(NULL), -1);
    for (int l = 0; l < FQ_N_LOCALES; l++)
        cr_assert_eq(fq_locale_parse(fq_locale_name(l)), l);
}

Test(locales, word_matching)
{
    char *w1[] = {"kill", "hi", "上访"};
    struct fq_wordlist wl = {.words = w1, .n = 3};
    for (int compiled = 0; compiled < 2; compiled++) {   /* probes made on the spot, then kept */
        if (compiled)
            cr_assert_eq(wordlist_compile(&wl), FQ_OK);
        cr_assert_null(wordlist_find_in(&wl, "what a skill this is"));
        cr_assert_str_eq(wordlist_find_in(&wl, "he will KILL him"), "kill");
        cr_assert_str_eq(wordlist_find_in(&wl, "Hi, there"), "hi");
        cr_assert_str_eq(wordlist_find_in(&wl, "要去上访"), "上访");
        cr_assert_null(wordlist_find_in(&wl, "要去上海访友"));
        cr_assert_null(wordlist_find_in(&wl, ""));
    }
    free(wl.probe);
    cr_assert(wordlist_has(&wl, "HI"));
    cr_assert_not(wordlist_has(&wl, "his"));
}

/* ---- broken catalogs ----------------------------------------------------------------------- */
static char tmpdir[64];

static void copy_catalogs(void)
{
    strcpy(tmpdir, "/tmp/fq-locales-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    for (int l = 0; l < 3; l++) {
        json_t *j = load_json(files[l]);
        char p[256];
        snprintf(p, sizeof p, "%s/%s", tmpdir, files[l]);
        cr_assert_eq(json_dump_file(j, p, JSON_INDENT(1)), 0);
        json_decref(j);
    }
}

static void remove_catalogs(void)
{
    for (int l = 0; l < 3; l++) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", tmpdir, files[l]);
        unlink(p);
    }
    rmdir(tmpdir);
}

static void edit(const char *file, void (*fn)(json_t *))
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, file);
    json_t *j = json_load_file(p, 0, NULL);
    cr_assert_not_null(j);
    fn(j);
    cr_assert_eq(json_dump_file(j, p, JSON_INDENT(1)), 0);
    json_decref(j);
}

static void expect_error(enum fq_err want, const char *needle1, const char *needle2)
{
    struct fq_lexicon *lx = (struct fq_lexicon *)1;
    char *cause = NULL;
    enum fq_err err = locale_load(tmpdir, &lx, &cause);
    cr_assert_eq(err, want, "got %d (%s)", err, cause ? cause : "");
    cr_assert_null(lx);
    cr_assert_not_null(cause);
    cr_assert(strstr(cause, needle1), "cause \"%s\" lacks \"%s\"", cause, needle1);
    if (needle2)
        cr_assert(strstr(cause, needle2), "cause \"%s\" lacks \"%s\"", cause, needle2);
    free(cause);
}

TestSuite(locales_broken, .init = copy_catalogs, .fini = remove_catalogs);

Test(locales_broken, copy_loads)
{
    struct fq_lexicon *lx = NULL;
    char *cause = NULL;
    cr_assert_eq(locale_load(tmpdir, &lx, &cause), FQ_OK, "%s", cause ? cause : "");
    lexicon_free(lx);
}

Test(locales_broken, missing_file)
{
    char p[256];
    snprintf(p, sizeof p, "%s/zh-TW.json", tmpdir);
    unlink(p);
    expect_error(FQ_EIO, "zh-TW.json", NULL);
}

Test(locales_broken, bad_json_names_line)
{
    char p[256];
    snprintf(p, sizeof p, "%s/en.json", tmpdir);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("{\n  \"locale\": \"en\",\n  \"messages\": {,\n}\n", f);
    fclose(f);
    expect_error(FQ_EINVAL, "en.json:3:", NULL);
}

static void drop_help(json_t *j) { json_object_del(json_object_get(j, "messages"), "help"); }
static void rename_placeholder(json_t *j)
{
    json_object_set_new(json_object_get(j, "messages"), "receipt",
                        json_string("{case} {category} {org} {due}"));
}
static void drop_category(json_t *j) { json_object_del(json_object_get(j, "categories"), "wage"); }
static void drop_list(json_t *j) { json_object_del(json_object_get(j, "keywords"), "people_unit"); }
static void drop_cat_kw(json_t *j)
{
    json_object_del(json_object_get(json_object_get(j, "keywords"), "category"), "medical");
}
static void extra_key(json_t *j)
{
    json_object_set_new(json_object_get(j, "messages"), "surplus", json_string("x"));
}

/* 收到 as progress too: the same word for two mediator commands */
static void shared_command_word(json_t *j)
{
    json_t *l = json_object_get(json_object_get(j, "keywords"), "cmd_progress");
    json_array_append_new(l, json_string("收到"));
}
static void command_word_is_help(json_t *j)
{
    json_t *l = json_object_get(json_object_get(j, "keywords"), "cmd_list");
    json_array_append_new(l, json_string("help"));
}

Test(locales_broken, command_word_of_two_commands)
{
    edit("zh-TW.json", shared_command_word);
    expect_error(FQ_EINVAL, "cmd_accept", "cmd_progress");
}

Test(locales_broken, command_word_is_help)
{
    edit("en.json", command_word_is_help);
    expect_error(FQ_EINVAL, "cmd_list", "help");
}

Test(locales_broken, missing_message)
{
    edit("en.json", drop_help);
    expect_error(FQ_EINVAL, "en.json", "messages.help");
}

Test(locales_broken, placeholders_differ)
{
    edit("zh-TW.json", rename_placeholder);
    expect_error(FQ_EINVAL, "zh-TW.json", "messages.receipt");
}

Test(locales_broken, missing_category)
{
    edit("zh-CN.json", drop_category);
    expect_error(FQ_EINVAL, "zh-CN.json", "categories.wage");
}

Test(locales_broken, missing_keyword_list)
{
    edit("en.json", drop_list);
    expect_error(FQ_EINVAL, "en.json", "people_unit");
}

Test(locales_broken, missing_category_keywords)
{
    edit("zh-TW.json", drop_cat_kw);
    expect_error(FQ_EINVAL, "zh-TW.json", "category.medical");
}

Test(locales_broken, extra_message)
{
    edit("en.json", extra_key);
    expect_error(FQ_EINVAL, "en.json", "messages.surplus");
}

static void drop_help_line(json_t *j)
{
    json_object_del(json_object_get(j, "messages"), "med_help_transfer");
}
static void write_help(json_t *j)
{
    json_object_set_new(json_object_get(j, "messages"), "med_help", json_string("x"));
}

Test(locales_broken, help_line_missing)
{
    edit("zh-TW.json", drop_help_line);
    expect_error(FQ_EINVAL, "zh-TW.json", "messages.med_help_transfer");
}

Test(locales_broken, help_written_by_hand)
{
    edit("en.json", write_help);
    expect_error(FQ_EINVAL, "en.json", "messages.med_help");
}

/* The mediators' help is made from the command table: the head, one line per mediator command
 * in the table's order (none for the system's), the list line; and each card command of the
 * table has its button label and its answer in every catalog. */
Test(locales, help_and_card_from_the_command_table)
{
    struct fq_lexicon *lx = NULL;
    char *cause = NULL;
    cr_assert_eq(locale_load(locales_dir(), &lx, &cause), FQ_OK, "%s", cause ? cause : "");
    for (int l = 0; l < FQ_N_LOCALES; l++) {
        struct fq_buf want;
        buf_init(&want);
        buf_puts(&want, i18n_get(lx, l, "med_help_head"));
        size_t lines = 0, cards = 0;
        char key[64];
        for (int i = 0; i < LC__CMD_COUNT; i++) {
            const struct lc_command *cm = &lifecycle_commands[i];
            snprintf(key, sizeof key, "med_help_%s", cm->name);
            if (!cm->mediator) {
                cr_assert_str_eq(i18n_get(lx, l, key), key, "%s has a help line", cm->name);
                continue;
            }
            buf_puts(&want, "\n");
            buf_puts(&want, i18n_get(lx, l, key));
            lines++;
            if (cm->card) {
                snprintf(key, sizeof key, "wc_btn_%s", cm->name);
                cr_assert_str_neq(i18n_get(lx, l, key), key);
                snprintf(key, sizeof key, "wc_card_ok_%s", cm->name);
                cr_assert_str_neq(i18n_get(lx, l, key), key);
                cards++;
            }
        }
        buf_puts(&want, "\n");
        buf_puts(&want, i18n_get(lx, l, "med_help_list"));
        cr_assert_str_eq(i18n_get(lx, l, "med_help"), want.s);
        cr_assert_eq(lines, 11);   /* accept .. survey, pause, resume, raise */
        cr_assert_eq(cards, 2);
        buf_cleanup(&want);
    }
    lexicon_free(lx);
}

/* ---- no user-facing Chinese in C string literals ------------------------------------------- */
/* Scans string and character literals (comments are skipped: they may quote Chinese terms)
 * for CJK characters and full-width punctuation. */
static int scan_file(const char *path, char *where, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int line = 1, bad = 0;
    int c, prev = 0;
    enum { CODE, LINE_COMMENT, BLOCK_COMMENT, STR, CHR } mode = CODE;
    unsigned char u[4];
    int un = 0, need = 0;
    while ((c = fgetc(f)) != EOF && !bad) {
        if (c == '\n')
            line++;
        switch (mode) {
        case CODE:
            if (prev == '/' && c == '/')
                mode = LINE_COMMENT;
            else if (prev == '/' && c == '*')
                mode = BLOCK_COMMENT, c = 0;
            else if (c == '"')
                mode = STR;
            else if (c == '\'')
                mode = CHR;
            break;
        case LINE_COMMENT:
            if (c == '\n')
                mode = CODE;
            break;
        case BLOCK_COMMENT:
            if (prev == '*' && c == '/')
                mode = CODE, c = 0;
            break;
        case STR:
        case CHR:
            if (prev == '\\') {
                c = 0;                  /* escaped character */
                break;
            }
            if ((mode == STR && c == '"') || (mode == CHR && c == '\'')) {
                mode = CODE;
                break;
            }
            if (c >= 0xC0) {
                u[0] = (unsigned char)c;
                un = 1;
                need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            } else if (c >= 0x80 && un > 0) {
                u[un++] = (unsigned char)c;
                if (un == need) {
                    unsigned cp = need == 3 ? ((u[0] & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) |
                                                  (u[2] & 0x3Fu)
                                            : 0;
                    if ((cp >= 0x3000 && cp <= 0x9FFF) || (cp >= 0xFF00 && cp <= 0xFFEF))
                        bad = line;
                    un = 0;
                }
            }
            break;
        }
        prev = c;
    }
    fclose(f);
    if (bad)
        snprintf(where, size, "%s:%d", path, bad);
    return bad;
}

static void scan_dir(const char *root, const char *dir, int *bad, char *where, size_t size)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, dir);
    DIR *d = opendir(p);
    cr_assert_not_null(d, "cannot open %s", p);
    struct dirent *e;
    while ((e = readdir(d)) && !*bad) {
        size_t n = strlen(e->d_name);
        if (e->d_type == DT_DIR && e->d_name[0] != '.') { /* a room: bot/core, bot/chan/wecom */
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
            scan_dir(root, sub, bad, where, size);
            continue;
        }
        if (n < 3 || (strcmp(e->d_name + n - 2, ".c") != 0 && strcmp(e->d_name + n - 2, ".h") != 0))
            continue;
        char f[1024];
        snprintf(f, sizeof f, "%s/%s", p, e->d_name);
        *bad = scan_file(f, where, size);
    }
    closedir(d);
}

Test(locales, no_chinese_literals_in_c)
{
    char root[256];
    snprintf(root, sizeof root, "%s/..", locales_dir());
    int bad = 0;
    char where[600] = "";
    const char *dirs[] = {"bot", "handlers", "store", "common"};
    for (size_t i = 0; i < 4 && !bad; i++)
        scan_dir(root, dirs[i], &bad, where, sizeof where);
    cr_assert_eq(bad, 0, "Chinese text in a C literal at %s: move it to locales/", where);

    /* the scanner itself finds one */
    char tmp[] = "/tmp/fq-scan-XXXXXX";
    int fd = mkstemp(tmp);
    cr_assert_geq(fd, 0);
    const char *src = "/* 注释 is fine */\nconst char *s = \"ok\";\nconst char *t = \"接单\";\n";
    cr_assert_eq(write(fd, src, strlen(src)), (ssize_t)strlen(src));
    close(fd);
    cr_assert_eq(scan_file(tmp, where, sizeof where), 3);
    unlink(tmp);
}

Test(locales_broken, default_dir_prefers_the_environment)
{
    setenv("FENGQIAO_LOCALES", tmpdir, 1);
    char *d = locale_dir_default();
    cr_assert_str_eq(d, tmpdir);
    free(d);
    setenv("FENGQIAO_LOCALES", "/nonexistent/fq-locales", 1);
    d = locale_dir_default();
    cr_assert_str_neq(d, "/nonexistent/fq-locales", "a directory without catalogs is skipped");
    free(d);
    unsetenv("FENGQIAO_LOCALES");
}
