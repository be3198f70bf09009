/* test_classify_input.c: a message's text normalised once for every reader (struct
 * classify_input, handlers/classify.h) gives each reader what it made for itself before: the
 * UTF-8 decoder of common/fq.h against a plain reference decoder, classify_normalize against the
 * two-pass reference it replaced, and each form of classify_input_make (code points, masks, the
 * models' input, the place key) against the function that makes that form from the text alone;
 * the danger screen on the prepared forms against danger_screen_text; the word lists' index
 * (wordlist_candidates) against testing every word. Real locales, models and OpenCC. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/sys/locale.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/catmodel.h"
#include "handlers/classify.h"
#include "handlers/danger.h"
#include "handlers/i18n.h"

extern const char fq_danger_model[];
extern const size_t fq_danger_model_len;
extern const char fq_category_model[];
extern const size_t fq_category_model_len;

static struct fq_lexicon *lx;
static struct fq_roster *ro;
static struct classify_model *cm;
static struct danger_screen *ds;
static catnorm *cn;

static const char *locales_dir(void)
{
    static const char *const cands[] = {"locales", "../locales", "../../locales"};
    for (size_t i = 0; i < 3; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/zh-CN.json", cands[i]);
        if (access(p, R_OK) == 0)
            return cands[i];
    }
    return "locales";
}

static void add_org(struct fq_roster *r, const char *id, const char *name, enum fq_level level,
                    const char *parent, const char *const *aliases)
{
    r->org = realloc(r->org, (r->n_org + 1) * sizeof *r->org);
    struct fq_org *o = &r->org[r->n_org++];
    memset(o, 0, sizeof *o);
    o->id = strdup(id);
    o->name = strdup(name);
    o->parent_id = parent ? strdup(parent) : NULL;
    o->level = level;
    size_t n = 0;
    while (aliases && aliases[n])
        n++;
    o->aliases = n ? calloc(n, sizeof *o->aliases) : NULL;
    for (size_t i = 0; i < n; i++)
        o->aliases[i] = strdup(aliases[i]);
    o->n_aliases = n;
}

static void setup(void)
{
    char *cause = NULL, err[256];
    cr_assert_eq(locale_load(locales_dir(), &lx, &cause), FQ_OK, "%s", cause ? cause : "");
    cm = classify_model_open(fq_category_model, fq_category_model_len, err, sizeof err);
    cr_assert_not_null(cm, "%s", err);
    ds = danger_screen_open(fq_danger_model, fq_danger_model_len, err, sizeof err);
    cr_assert_not_null(ds, "%s", err);
    cn = catnorm_open(NULL, err, sizeof err);
    cr_assert_not_null(cn, "%s", err);
    ro = roster_new();
    add_org(ro, "town-fq", "枫桥镇", FQ_LEVEL_TOWN, NULL, (const char *const[]){"枫桥", NULL});
    add_org(ro, "vil-fy", "枫源村", FQ_LEVEL_VILLAGE, "town-fq",
            (const char *const[]){"枫源", "Fengyuan Cun", "fengyuancun", NULL});
    add_org(ro, "grid-fy-01", "枫源村第一网格", FQ_LEVEL_GRID, "vil-fy",
            (const char *const[]){"Fengyuan Grid 1", NULL});
    char *prob = NULL;
    cr_assert_eq(roster_validate(ro, &prob), FQ_OK, "%s", prob ? prob : "");
    classify_roster_prepare(ro, cm);
}

static void teardown(void)
{
    catnorm_close(cn);
    danger_screen_close(ds);
    classify_model_close(cm);
    lexicon_free(lx);
    roster_free(ro);
}

TestSuite(classify_input, .init = setup, .fini = teardown);

/* ---- references ------------------------------------------------------------------------------ */
/* A UTF-8 decoder written as plainly as possible: the lead byte gives the length, every
 * continuation byte must be 10xxxxxx, overlong forms, surrogates and code points past U+10FFFF
 * are invalid; -1 leaves *pp where it was. */
static int32_t ref_next(const char **pp, const char *end)
{
    const unsigned char *p = (const unsigned char *)*pp, *e = (const unsigned char *)end;
    if (p >= e)
        return -1;
    uint32_t c = p[0], min;
    int n;
    if (c < 0x80) {
        n = 0, min = 0;
    } else if ((c & 0xE0) == 0xC0) {
        n = 1, c &= 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 2, c &= 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 3, c &= 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (e - p < n + 1)
        return -1;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return -1;
        c = c << 6 | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *pp += n + 1;
    return (int32_t)c;
}

static bool ref_punct(int32_t c)
{
    if (c < 0x80)
        return c == ' ' || (c >= '\t' && c <= '\r') || (c > 0x20 && c < 0x7F &&
               !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')));
    switch (c) {
    case 0x00A0: case 0x00B7: case 0x2014: case 0x2018: case 0x2019: case 0x201C: case 0x201D:
    case 0x2026: case 0x3001: case 0x3002: case 0xFF61: case 0xFF64: case 0xFE0F:
        return true;
    default:
        return (c >= 0x3008 && c <= 0x3011) || (c >= 0x3014 && c <= 0x301F);
    }
}

static size_t put_utf8(char *o, int32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | c >> 6);
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | c >> 12);
        o[1] = (char)(0x80 | (c >> 6 & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | c >> 18);
    o[1] = (char)(0x80 | (c >> 12 & 0x3F));
    o[2] = (char)(0x80 | (c >> 6 & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* classify_normalize as classify.h describes it, in two passes: fold every code point (bytes
 * that are not UTF-8 dropped), then trim punctuation and spaces at both ends. */
static char *ref_normalize(const char *text)
{
    size_t len = strlen(text), o = 0;
    char *f = malloc(len + 1);
    cr_assert_not_null(f);
    for (const char *p = text, *end = text + len; p < end;) {
        int32_t c = ref_next(&p, end);
        if (c < 0) {
            p++;
            continue;
        }
        if (c >= 0xFF01 && c <= 0xFF5E)
            c -= 0xFEE0;
        else if (c == 0x3000)
            c = ' ';
        o += put_utf8(f + o, c);
    }
    f[o] = '\0';
    const char *q = f, *e = f + o, *first = NULL, *last = f;
    while (q < e) {
        const char *at = q;
        int32_t c = ref_next(&q, e);
        if (!ref_punct(c)) {
            if (!first)
                first = at;
            last = q;
        }
    }
    char *out = first ? strndup(first, (size_t)(last - first)) : strdup("");
    free(f);
    return out;
}

/* ---- texts ----------------------------------------------------------------------------------- */
static const char *const samples[] = {
    "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话13800000001",
    "楓源村第一網格的鄰居天天吵架，我老公喝醉了就打我",
    "ＡＢＣ１２３　全角字母和数字、全角空格",
    "。。！你好！！。",
    "   ",
    "",
    "I live in Fengyuan Cun, grid 1, and forty of us will go to the county government tomorrow",
    "Fēngyuán Cūn 的 ǚ 和 Ü",
    "表情🙂也要算一个字符😀",
    "坏字节\xff\xfe在中间\xc0\xaf和\xed\xa0\x80代理和截断\xe6\x9e",
    "\xe6",
    "集体土地上砍树，邻居说要我好看，他拿刀砍人了",
    "十几户人家，二十多个人，上百人，dozens of villagers",
    "包工头拖欠工资三个月了，１３８-１２３４-５６７８",
};

/* A text over 4096 bytes (the models' cut) ending in a danger word past the cut. */
static char *long_text(void)
{
    struct fq_buf b;
    buf_init(&b);
    for (int i = 0; i < 120; i++)
        buf_puts(&b, "邻居家装修噪音太大，每天早上六点就开始，");
    buf_puts(&b, "他说要杀了我");
    return buf_take(&b);
}

/* Random strings from bytes that make every kind of sequence, valid and not. */
static char *random_text(unsigned *seed, size_t n)
{
    static const char *const parts[] = {
        "a", "Z", "0", " ", ",", "\t", "。", "，", "　", "Ａ", "ｚ", "９", "楓", "网", "ē", "Ü",
        "🙂", "\xff", "\x80", "\xe6\x9e", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "·", "—",
    };
    struct fq_buf b;
    buf_init(&b);
    buf_add(&b, "", 0);
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        buf_puts(&b, parts[(*seed >> 16) % (sizeof parts / sizeof *parts)]);
    }
    return buf_take(&b);
}

/* ---- the decoder ----------------------------------------------------------------------------- */
static void same_decode(const unsigned char *bytes, size_t n)
{
    const char *s = (const char *)bytes;
    for (size_t len = 0; len <= n; len++) {    /* every cut, so truncated sequences too */
        const char *p = s, *q = s;
        int32_t a = fq_utf8_next(&p, s + len), b = ref_next(&q, s + len);
        cr_assert_eq(a, b, "%02x %02x %02x %02x cut at %zu: %d, expected %d", bytes[0],
                     n > 1 ? bytes[1] : 0, n > 2 ? bytes[2] : 0, n > 3 ? bytes[3] : 0, len, a, b);
        cr_assert_eq(p, q);
    }
}

Test(classify_input, decoder_matches_the_reference)
{
    unsigned char b[4];
    for (unsigned x = 0; x < 256; x++) {
        b[0] = (unsigned char)x;
        same_decode(b, 1);
        for (unsigned y = 0; y < 256; y++) {
            b[1] = (unsigned char)y;
            same_decode(b, 2);
            if (x < 0xE0 || x > 0xF7)
                continue;
            for (unsigned z = 0; z < 256; z++) {   /* all three-byte sequences from E0 to F7 */
                b[2] = (unsigned char)z;
                same_decode(b, 3);
                if (x >= 0xF0 && (z & 0x0F) == 0) {
                    b[3] = 0x80 | (unsigned char)(y & 0x3F);
                    same_decode(b, 4);
                    b[3] = (unsigned char)y;
                    same_decode(b, 4);
                }
            }
        }
    }
}

/* ---- classify_normalize ---------------------------------------------------------------------- */
Test(classify_input, normalize_matches_the_two_pass_reference)
{
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        char *a = classify_normalize(samples[i]), *b = ref_normalize(samples[i]);
        cr_assert_str_eq(a, b, "sample %zu", i);
        free(a);
        free(b);
    }
    unsigned seed = 7;
    for (int i = 0; i < 3000; i++) {
        char *t = random_text(&seed, (size_t)(i % 40));
        char *a = classify_normalize(t), *b = ref_normalize(t);
        cr_assert_str_eq(a, b, "random text %d", i);
        char *again = classify_normalize(a);          /* and it is idempotent */
        cr_assert_str_eq(again, a);
        free(again);
        free(a);
        free(b);
        free(t);
    }
}

/* ---- classify_input -------------------------------------------------------------------------- */
static void check_input(const char *text)
{
    struct classify_input in;
    cr_assert_eq(classify_input_make(&in, ro, ds, cm, text), FQ_OK);
    char *norm = classify_normalize(text);
    cr_assert_str_eq(in.norm, norm);
    cr_assert_eq(in.len, strlen(norm));

    /* the code points and their offsets */
    size_t n = 0;
    for (const char *p = norm, *end = norm + in.len; p < end; n++) {
        cr_assert_lt(n, in.n);
        cr_assert_eq(in.off[n], (size_t)(p - norm));
        int32_t c = ref_next(&p, end);
        cr_assert_eq(in.cp[n], c);
    }
    cr_assert_eq(n, in.n);
    cr_assert_eq(in.off[n], in.len);

    /* the mask, and the models' input */
    struct fq_textmask m;
    i18n_textmask(norm, &m);
    cr_assert_eq(memcmp(&m, &in.mask, sizeof m), 0);
    char model[CATMODEL_MAX_INPUT + 1];
    size_t ml = catnorm_apply(cn, norm, in.len, model, sizeof model);
    cr_assert_not_null(in.model);
    cr_assert_eq(in.model_len, ml);
    cr_assert_str_eq(in.model, model);

    /* the place key: its mask, offsets in order, breaks where punctuation or spaces were */
    cr_assert_not_null(in.key);
    cr_assert_eq(strlen(in.key), in.key_len);
    i18n_textmask(in.key, &m);
    cr_assert_eq(memcmp(&m, &in.key_mask, sizeof m), 0);
    for (size_t i = 0; i < in.key_len; i++)
        cr_assert_leq(in.key_at[i], in.key_at[i + 1]);
    cr_assert_eq(in.key_at[in.key_len], in.len);
    if (in.key_len)
        cr_assert(in.key_brk[0]);

    /* the danger screen on the prepared forms decides as on the text */
    struct danger_result a, b;
    danger_screen_prepared(ds, lx, in.norm, in.len, &in.mask, in.model, in.model_len, &a);
    danger_screen_text(ds, lx, norm, &b);
    cr_assert_eq(a.level, b.level, "%s", text);
    cr_assert_eq(a.word, b.word);
    cr_assert_eq(a.p_red, b.p_red);
    cr_assert_eq(a.p_moderate, b.p_moderate);

    /* and the whole reading of the prepared text is the reading of the text */
    struct fq_classified x, y;
    classify_text_input(lx, ro, ds, cm, &in, &x);
    classify_text_model(lx, ro, ds, cm, text, &y);
    cr_assert_eq(x.category, y.category);
    cr_assert_eq(x.org, y.org);
    cr_assert_eq(x.people, y.people);
    cr_assert_eq(x.danger_level, y.danger_level);
    cr_assert_eq(x.substantive, y.substantive);
    cr_assert_eq(x.p_first, y.p_first);
    classify_cleanup(&x);
    classify_cleanup(&y);
    free(norm);
    classify_input_cleanup(&in);
}

Test(classify_input, every_form_matches_its_maker)
{
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++)
        check_input(samples[i]);
    char *t = long_text();
    check_input(t);
    free(t);
    unsigned seed = 11;
    for (int i = 0; i < 300; i++) {
        t = random_text(&seed, (size_t)(i % 60));
        check_input(t);
        free(t);
    }
}

/* The place key finds a place written in Traditional characters and in pinyin, as the names
 * as written do not. */
Test(classify_input, place_key_of_the_prepared_text)
{
    struct fq_classified c;
    classify_text_model(lx, ro, ds, cm, "楓源村第一網格有人佔道", &c);
    cr_assert_eq(c.org, 2);
    classify_cleanup(&c);
    classify_text_model(lx, ro, ds, cm, "I live in Fengyuan Cun", &c);
    cr_assert_eq(c.org, 1);
    classify_cleanup(&c);
}

/* A text over the models' cut: the danger word past it is found by the words (the whole text
 * is read for them up to DANGER_MAX_INPUT bytes) exactly as without the prepared forms. */
Test(classify_input, long_text_is_cut_alike)
{
    char *t = long_text();
    struct classify_input in;
    cr_assert_eq(classify_input_make(&in, ro, ds, cm, t), FQ_OK);
    cr_assert_gt(in.len, (size_t)CATMODEL_MAX_INPUT);
    cr_assert_leq(in.model_len, (size_t)CATMODEL_MAX_INPUT);
    classify_input_cleanup(&in);
    free(t);
}

/* Without a model nor a roster with keys, only the text, its code points and mask are made. */
Test(classify_input, only_what_is_called_for)
{
    struct classify_input in;
    cr_assert_eq(classify_input_make(&in, NULL, NULL, NULL, "邻居吵架"), FQ_OK);
    cr_assert_str_eq(in.norm, "邻居吵架");
    cr_assert_eq(in.n, 4);
    cr_assert_null(in.model);
    cr_assert_null(in.key);
    classify_input_cleanup(&in);
    cr_assert_eq(classify_input_make(&in, NULL, NULL, NULL, NULL), FQ_EINVAL);
    cr_assert_null(in.norm);
    classify_input_cleanup(&in);
}

/* ---- the word lists' index ------------------------------------------------------------------- */
static void same_candidates(const struct fq_wordlist *wl, const struct fq_textmask *m)
{
    uint32_t c[1024];
    size_t want = 0;
    for (size_t i = 0; i < wl->n; i++)
        want += i18n_textmask_probe(m, wordlist_probe(wl, i));
    cr_assert_not_null(wl->index);
    size_t nc = wordlist_candidates(wl, m, c, sizeof c / sizeof *c);
    cr_assert_eq(nc, want);
    size_t k = 0;
    for (size_t i = 0; i < wl->n; i++)
        if (i18n_textmask_probe(m, wordlist_probe(wl, i)))
            cr_assert_eq(c[k++], i, "the candidates are the words let through, in list order");
    if (want > 0)   /* more than the room given: told so, the caller tests every word */
        cr_assert_eq(wordlist_candidates(wl, m, c, want - 1), (size_t)-1);
}

static void same_candidates_all(const char *text)
{
    char *norm = classify_normalize(text);
    struct fq_textmask m;
    i18n_textmask(norm, &m);
    for (int k = 0; k < FQ__KW_COUNT; k++)
        if (lx->kw[k].n)
            same_candidates(&lx->kw[k], &m);
    for (int k = 0; k < FQ_N_CATEGORIES; k++)
        same_candidates(&lx->category_kw[k], &m);
    same_candidates(&lx->category_names, &m);
    free(norm);
}

Test(classify_input, word_index_lets_through_what_the_probes_do)
{
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++)
        same_candidates_all(samples[i]);
    unsigned seed = 3;
    for (int i = 0; i < 200; i++) {
        char *t = random_text(&seed, (size_t)(i % 80));
        same_candidates_all(t);
        free(t);
    }
    /* a mask of every bit lets every word through */
    struct fq_textmask all;
    memset(&all, 0xff, sizeof all);
    same_candidates(&lx->kw[FQ_KW_DANGER_RED], &all);
}

Test(classify_input, first_word_in_list_order)
{
    char *w[] = {"打人", "kill", "打", " x"};
    struct fq_wordlist wl = {.words = w, .n = 4};
    cr_assert_eq(wordlist_compile(&wl), FQ_OK);
    cr_assert_not_null(wl.index);
    cr_assert_str_eq(wordlist_find_in(&wl, "他打了人"), "打");
    cr_assert_str_eq(wordlist_find_in(&wl, "他打人了"), "打人");
    cr_assert_str_eq(wordlist_find_in(&wl, "I will KILL"), "kill");
    cr_assert_null(wordlist_find_in(&wl, "skill"));
    cr_assert_str_eq(wordlist_find_in(&wl, "a x"), " x");      /* a leading space: always tried */
    free(wl.probe);
}
