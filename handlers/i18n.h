/* i18n.h: the user-facing catalogs and keyword tables of locales/ (zh-CN.json, zh-TW.json, en.json), in memory.
 * Loaded by bot/sys/locale.c (jansson); used by handlers without any library.
 *
 * The catalogs: locales/zh-CN.json, zh-TW.json, en.json, each of the shape
 *   { "locale": "zh-CN",
 *     "messages":   { "<key>": "text with {placeholder}s", ... },
 *     "categories": { "<category id>": "label", ... },          all 14 of docs/contract.md 6.6
 *     "severities": { "blue": "蓝色", "yellow": ..., "red": ... },
 *     "statuses":   { "<case status>": "label", ... },
 *     "keywords":   { "category": { "<category id>": ["kw", ...], ... },
 *                     "<list name>": ["word", ...], ... } }
 * Keyword lists of every catalog are merged (a resident may write Traditional forms while the
 * conversation is in zh-CN), so lookups of keywords take no locale. */
#ifndef FQ_I18N_H
#define FQ_I18N_H

#include "common/fq.h"

enum fq_locale { FQ_LOC_ZH_CN = 0, FQ_LOC_ZH_TW = 1, FQ_LOC_EN = 2, FQ_N_LOCALES = 3 };
const char *fq_locale_name(enum fq_locale l);          /* "zh-CN" ... */
int fq_locale_parse(const char *s);                     /* -1 when unknown */

struct fq_strmap {                   /* sorted by key for bsearch */
    char **keys, **vals;
    size_t n;
};

/* The words of a list by their probes (wordlist_compile), so the words a text's mask lets
 * through are found from the mask's few bits instead of by testing every word. */
struct fq_wordindex {
    uint64_t bits[4], pairs[64];   /* the probes of the list's words, as a mask sets them */
    uint32_t n_any, n_keyed;
    uint32_t *any;                 /* the words always searched (a probe of any text), ascending */
    uint32_t *keyed;               /* (probe << 16) | word index of the others, ascending */
};

struct fq_wordlist {
    char **words;
    size_t n;
    uint16_t *probe;   /* i18n_probe of each word (wordlist_compile), or NULL: made when needed;
                        * one allocation with the index: freeing probe frees both */
    size_t maxlen;     /* the longest word's bytes (wordlist_compile), 0: not known */
    const struct fq_wordindex *index;   /* in probe's allocation; NULL: not made */
};

/* Names of the keyword lists besides "category" (each catalog must have all of them). */
enum fq_kw {
    FQ_KW_DANGER = 0,     /* red: 自杀 轻生 跳楼 打架 械斗 动刀 围堵 上访 集体 ... */
    FQ_KW_STATUS,         /* 进度 查询 status */
    FQ_KW_CANCEL,         /* 取消 cancel */
    FQ_KW_HELP,           /* 帮助 help */
    FQ_KW_SKIP,           /* 跳过 skip */
    FQ_KW_LANG_ZH_CN,     /* 中文 简体 */
    FQ_KW_LANG_ZH_TW,     /* 繁體 繁体 */
    FQ_KW_LANG_EN,        /* English */
    FQ_KW_FILLER,         /* greetings and empty phrases not counted as a description: 你好 我要反映 */
    FQ_KW_NOT_SOLVED,     /* a survey comment that says the problem is back: 没解决 又 */
    FQ_KW_YES,            /* 是 yes */
    FQ_KW_NO,             /* 否 no */
    FQ_KW_PEOPLE_UNIT,    /* counters after a number of people: 人 户 名 家 people persons */
    /* the mediator's close reasons (the command words are keywords.cmd_<name>, below) */
    FQ_KW_REASON_LITIGATION, /* 转诉讼 litigation */
    FQ_KW_REASON_PETITION,   /* 转信访 petition */
    FQ_KW_REASON_WITHDRAWN,  /* 撤回 withdrawn */
    FQ_KW_REASON_OTHER,      /* 其他 other */
    /* danger screening beyond the contract's list (handlers/danger.c) */
    FQ_KW_DANGER_RED,        /* red too: 家暴 跳下去 政府门口 beats me */
    FQ_KW_DANGER_MODERATE,   /* worth one safety question: 要我好看 崩溃 threatened */
    FQ_KW_DANGER_NOT,        /* phrases that only contain a danger word: 集体土地 砍树 */
    /* a later message of a resident with an open case (handlers/supplement.c) */
    FQ_KW_SUPPLEMENT,        /* about the open case: 补充 还有 他又 also */
    FQ_KW_SUPPLEMENT_NEW,    /* a new matter: 另外一件事 another problem */
    /* the resident's intents in whole short messages (handlers/intent.h) */
    FQ_KW_CONFIRM,           /* agreement: 对的 没错 提交吧 冇錯 係 yep submit it */
    FQ_KW_REFUSE,            /* refusal: 不对 算了 不用了 nope not right */
    FQ_KW_STATUS_ASK,        /* status questions: 有进展吗 有人管吗 any update */
    FQ_KW_PARTICLE,          /* trailing particles ignored by intents: 吗 呢 吧 啊 la */
    /* choosing by ordinal (handlers/intent.h intent_ordinal) */
    FQ_KW_ORDINAL,           /* patterns around {n}: 第{n}个 the {n} one */
    FQ_KW_ORDINAL_WORD,      /* "N word": 1 first, 2 second, 1 头 */
    FQ_KW_ORDINAL_LAST,      /* the last one: 最后 最後 last */
    /* corrections at the summary (handlers/intent.h intent_correction) */
    FQ_KW_FIELD_CATEGORY,    /* 类别 category */
    FQ_KW_FIELD_PLACE,       /* 地点 地址 place */
    FQ_KW_FIELD_DESCRIPTION, /* 描述 情况 description */
    FQ_KW_FIELD_CONTACT,     /* 电话 phone */
    FQ_KW_CORRECTION,        /* between the field and the value: 不对 是 改成 is wrong it's */
    FQ_KW_CORRECTION_LEAD,   /* before the field: 把 我的 the change */
    /* the mediator's pause reasons (handlers/lifecycle.c LC_PAUSE) */
    FQ_KW_PAUSE_PARTY,       /* 等待当事人 party */
    FQ_KW_PAUSE_COOLING_OFF, /* 冷静期 cooling_off */
    FQ_KW_PAUSE_APPRAISAL,   /* 鉴定 appraisal */
    FQ__KW_COUNT
};
extern const char *const fq_kw_names[FQ__KW_COUNT];   /* "danger", "status", ... */

/* The mediator's command words (docs/contract.md 7.2): keywords.cmd_<name>, one list per
 * command, named after the command's wire name (handlers/lifecycle.h lifecycle_commands, and
 * "list" in handlers/mediator.c), so a new command needs no entry here. */
#define FQ_KW_CMD_PREFIX "cmd_"
struct fq_named_words {
    char *name;                      /* "cmd_accept" */
    struct fq_wordlist words;        /* merged over locales */
};

/* Owned by the holder; freed with lexicon_free. Immutable once loaded, so it can be shared
 * between threads. */
struct fq_lexicon {
    struct fq_strmap messages[FQ_N_LOCALES];
    struct fq_strmap categories[FQ_N_LOCALES];
    struct fq_strmap severities[FQ_N_LOCALES];
    struct fq_strmap statuses[FQ_N_LOCALES];
    struct fq_wordlist category_kw[FQ_N_CATEGORIES];    /* merged over locales, by fq_categories order */
    struct fq_wordlist kw[FQ__KW_COUNT];                /* merged over locales */
    struct fq_wordlist category_names;                  /* display names, all locales, longest first */
    struct fq_named_words *cmd_kw;                      /* keywords.cmd_*, in first-seen order */
    size_t n_cmd_kw;
};

void lexicon_free(struct fq_lexicon *lx);              /* NULL-safe */

/* The text of key in locale, falling back to zh-CN, then to the key itself (never NULL). */
const char *i18n_get(const struct fq_lexicon *lx, int locale, const char *key);
const char *i18n_category(const struct fq_lexicon *lx, int locale, const char *category_id);
const char *i18n_severity(const struct fq_lexicon *lx, int locale, int severity);
const char *i18n_status(const struct fq_lexicon *lx, int locale, const char *status);
/* The command word list keywords.cmd_<command> (command: a wire name, "accept"), or NULL
 * when no catalog has one. */
const struct fq_wordlist *i18n_command_words(const struct fq_lexicon *lx, const char *command);

/* Formats key with "{name}" placeholders replaced by the values given as name, value pairs,
 * ending with NULL: i18n_format(lx, loc, "receipt", "case", no, "unit", name, NULL).
 * Caller frees; NULL on oom. An unknown placeholder stays as written. */
char *i18n_format(const struct fq_lexicon *lx, int locale, const char *key, ...);

/* The local time t (server.timezone) as a deadline in the locale's words, from the catalog's
 * deadline_words with wday_N and month_N: "12月4日（周五）17:30" (zh-CN), "12月4日（週五）17:30"
 * (zh-TW), "Fri 4 Dec 17:30" (en); deadline_words_year, with the year, when it is not the
 * year of `now`. Into buf (at least 64 bytes); the texts around it say "by" or "前". */
void i18n_deadline(const struct fq_lexicon *lx, int locale, int64_t t, int64_t now, char *buf,
                   size_t size);

/* A length of time in the locale's words: "2天3小时" / "5小时20分钟" (paused_days, paused_hours). */
void i18n_span(const struct fq_lexicon *lx, int locale, int64_t secs, char *buf, size_t size);

/* True when the word list contains w exactly (after the caller's normalisation). */
bool wordlist_has(const struct fq_wordlist *wl, const char *w);
/* Where word occurs in text, ASCII case ignored; a word that starts or ends with an ASCII
 * letter or digit must do so at a word boundary ("kill" is not in "skill"). NULL when absent. */
const char *i18n_find_word(const char *text, const char *word);
/* A sketch of a text, to skip the search for words that cannot occur in it: the first code
 * points present (256 bits) and the pairs of adjacent code points present (4096 bits), ASCII
 * letters folded. A keyword of two or more characters is tested by its first pair, so a
 * Chinese text of a few dozen characters lets about one keyword in a hundred through. */
struct fq_textmask {
    uint64_t bits[4];
    uint64_t pairs[64];
};
void i18n_textmask(const char *text, struct fq_textmask *m);
/* The same from a text's code points cp[0..n) (of a valid UTF-8 text: the same mask). */
void i18n_textmask_cps(const int32_t *cp, size_t n, struct fq_textmask *m);
/* The slot a word is tested by (computed once per keyword by wordlist_compile). */
uint16_t i18n_probe(const char *word);
/* False when word certainly does not occur in the text the mask was made from (or in any text
 * made from it by blanking parts out with ASCII spaces, byte for byte); true when it may. */
bool i18n_textmask_may_have(const struct fq_textmask *m, const char *word);
static inline bool i18n_textmask_probe(const struct fq_textmask *m, uint16_t probe)
{
    if (probe & 0x4000u)                          /* not UTF-8, or a leading space: search */
        return true;
    unsigned k = probe & 0xfffu;
    const uint64_t *bits = probe & 0x8000u ? m->pairs : m->bits;
    return (bits[k >> 6] >> (k & 63)) & 1;
}
/* The probe of word i of wl: kept by wordlist_compile, else made now. */
static inline uint16_t wordlist_probe(const struct fq_wordlist *wl, size_t i)
{
    return wl->probe ? wl->probe[i] : i18n_probe(wl->words[i]);
}
/* Fills wl->probe; FQ_ENOMEM on failure. */
enum fq_err wordlist_compile(struct fq_wordlist *wl);
/* The words of wl that the mask m lets through (i18n_textmask_probe true for their probe),
 * as indices in list order into out[0..cap): their number, or (size_t)-1 when wl has no index
 * or they are more than cap (then test every word). */
#define WORDLIST_CANDIDATES 64
size_t wordlist_candidates(const struct fq_wordlist *wl, const struct fq_textmask *m,
                           uint32_t *out, size_t cap);
/* The first word of wl, in list order, that m lets through and i18n_find_word finds in text
 * (m made from text, or from a text text was made from by blanking), or NULL. */
const char *wordlist_first_in(const struct fq_wordlist *wl, const char *text,
                              const struct fq_textmask *m);
/* The first word of the list found inside text, or NULL. */
const char *wordlist_find_in(const struct fq_wordlist *wl, const char *text);

#endif
