/* eval_danger: scores danger screening (handlers/danger.c, through classify_text_screened as the
 * daemon calls it) and the people counts (handlers/classify.c) on data training never read:
 * the test split (crc32(id) % 5 == 0) of data/corpus/danger.tsv and of the category corpus
 * (danger levels from data/corpus/messages-danger.tsv, "none" when not listed), and every row of
 * data/corpus/danger-holdout.tsv (written apart, never used to train or to choose words).
 *
 * For each set: red recall (truly red messages the case would grade red: the screen says red,
 * or 10 or more people are counted, docs/contract.md 6.7), the same counting the screen alone,
 * red-or-asked (red, or moderate so that the safety question is asked), false red (messages
 * labelled none, with fewer than 10 people, graded red), moderate messages caught (asked or
 * red), and people-count accuracy (the count read equals the labelled one) on rows that carry
 * a labelled count (danger.tsv and the held-out set; 0 means none said). Misses are listed.
 * Then the cost per message: classify_text_screened as a whole (normalising once for the words,
 * the text mask, category keywords, place, people, phone, danger words, the OpenCC t2s table
 * and the danger model), and the danger screen alone, each over repeated passes of a second.
 *
 * Usage: eval_danger LOCALES_DIR DANGER_MODEL DANGER.tsv CORPUS.tsv LABELS.tsv HOLDOUT.tsv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bot/sys/locale.h"
#include "handlers/classify.h"
#include "handlers/danger.h"
#include "handlers/i18n.h"

#define MAX_MSG 8000

typedef struct {
    char *id, *text;
    int truth;      /* enum danger_level */
    int people;     /* labelled count, -1 when the file has none */
    int set;
} msg;

static const char *set_names[] = {"danger.tsv test split", "category corpus test split",
                                  "danger held-out set (written apart)"};
#define NSET 3

static msg msgs[MAX_MSG];
static int nmsg;

static int level_parse(const char *s)
{
    return strcmp(s, "none") == 0 ? DANGER_NONE : strcmp(s, "moderate") == 0 ? DANGER_MODERATE
           : strcmp(s, "red") == 0 ? DANGER_RED : -1;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* Splits line into at most max TAB-separated fields; returns the count. */
static int split(char *line, char **field, int max)
{
    int nf = 0;
    for (char *p = line; nf < max;) {
        field[nf++] = p;
        char *t = strchr(p, '\t');
        if (!t)
            break;
        *t = '\0';
        p = t + 1;
    }
    return nf;
}

typedef struct {
    char *id;
    int level;
} label;
static label labels[2000];
static int nlabels;

static int label_of(const char *id)
{
    for (int i = 0; i < nlabels; i++)
        if (strcmp(labels[i].id, id) == 0)
            return labels[i].level;
    return DANGER_NONE;
}

/* kind 0: a danger file (id lang danger people split text); 1: the category corpus. */
static int load(const char *path, int kind, int set)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "eval: cannot read %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0 && nmsg < MAX_MSG) {
        if (++lineno == 1)
            continue;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        char *fl[6];
        int want = kind == 0 ? 6 : 5;
        if (split(line, fl, want) != want) {
            fprintf(stderr, "eval: %s:%d: expected %d fields\n", path, lineno, want);
            rc = -1;
            break;
        }
        const char *sp = kind == 0 ? fl[4] : fl[3];
        if (strcmp(sp, "test") != 0 && strcmp(sp, "holdout") != 0)
            continue;
        msg *g = &msgs[nmsg];
        g->set = set;
        g->id = strdup(fl[0]);
        g->text = strdup(kind == 0 ? fl[5] : fl[4]);
        g->truth = kind == 0 ? level_parse(fl[2]) : label_of(fl[0]);
        g->people = kind == 0 ? atoi(fl[3]) : -1;
        if (g->truth < 0 || !g->id || !g->text) {
            fprintf(stderr, "eval: %s:%d: bad danger level\n", path, lineno);
            rc = -1;
            break;
        }
        nmsg++;
    }
    free(line);
    fclose(f);
    return rc;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double pct(int a, int b)
{
    return b ? 100.0 * a / b : 0.0;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s LOCALES MODEL DANGER.tsv CORPUS.tsv LABELS.tsv HOLDOUT.tsv\n",
                argv[0]);
        return 2;
    }
    struct fq_lexicon *lx = NULL;
    char *cause = NULL;
    if (locale_load(argv[1], &lx, &cause) != FQ_OK) {
        fprintf(stderr, "eval: %s\n", cause ? cause : "cannot load the locales");
        return 1;
    }
    size_t mlen;
    char *mbuf = read_all(argv[2], &mlen), err[512];
    if (!mbuf)
        snprintf(err, sizeof err, "cannot read it");
    struct danger_screen *ds = mbuf ? danger_screen_open(mbuf, mlen, err, sizeof err) : NULL;
    free(mbuf);
    if (!ds) {
        fprintf(stderr, "eval: %s: %s\n", argv[2], err);
        return 1;
    }
    FILE *lf = fopen(argv[5], "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (lf && (len = getline(&line, &cap, lf)) >= 0 && nlabels < 2000) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        char *fl[2];
        if (split(line, fl, 2) != 2 || level_parse(fl[1]) < 0)
            continue;                           /* the header */
        labels[nlabels].id = strdup(fl[0]);
        labels[nlabels++].level = level_parse(fl[1]);
    }
    free(line);
    if (lf)
        fclose(lf);
    if (load(argv[3], 0, 0) || load(argv[4], 1, 1) || load(argv[6], 0, 2))
        return 1;

    struct fq_roster empty = {0};
    int red_n[NSET] = {0}, red_hit[NSET] = {0}, red_screen[NSET] = {0}, red_asked[NSET] = {0};
    int none_n[NSET] = {0}, none_red[NSET] = {0}, mod_n[NSET] = {0}, mod_hit[NSET] = {0};
    int ppl_n[NSET] = {0}, ppl_ok[NSET] = {0}, ppl_said[NSET] = {0}, ppl_said_ok[NSET] = {0};
    size_t bytes = 0;
    printf("danger screening and people counts (handlers/danger.c, handlers/classify.c)\n");
    for (int i = 0; i < nmsg; i++) {
        msg *g = &msgs[i];
        bytes += strlen(g->text);
        char *norm = classify_normalize(g->text);
        struct fq_classified c;
        classify_text_screened(lx, &empty, ds, norm ? norm : "", &c);
        bool graded_red = c.danger || c.people >= 10;
        int s = g->set;
        if (g->truth == DANGER_RED) {
            red_n[s]++;
            red_hit[s] += graded_red;
            red_screen[s] += c.danger;
            red_asked[s] += graded_red || c.danger_level == DANGER_MODERATE;
            if (!graded_red)
                printf("  missed red (%s) [%s] %s\n", danger_level_name(c.danger_level), g->id,
                       g->text);
        } else if (g->truth == DANGER_MODERATE) {
            mod_n[s]++;
            mod_hit[s] += c.danger_level >= DANGER_MODERATE || graded_red;
        } else if (g->people < 10) {
            /* without a labelled count, 10 or more people counted is red by the contract's
             * rule, not a false alarm: only the screen's red counts */
            bool false_red = g->people < 0 ? c.danger : graded_red;
            none_n[s]++;
            none_red[s] += false_red;
            if (false_red)
                printf("  false red (%s%s) [%s] %s\n",
                       c.danger_word ? c.danger_word : "model", c.people >= 10 ? ", people" : "",
                       g->id, g->text);
        }
        if (g->people >= 0) {
            ppl_n[s]++;
            ppl_ok[s] += c.people == g->people;
            if (g->people > 0) {
                ppl_said[s]++;
                ppl_said_ok[s] += c.people == g->people;
            }
            if (c.people != g->people)
                printf("  people %d, labelled %d [%s] %s\n", c.people, g->people, g->id, g->text);
        }
        classify_cleanup(&c);
        free(norm);
    }
    for (int s = 0; s < NSET; s++) {
        printf("\n%s:\n", set_names[s]);
        printf("  red recall %.1f%% (%d/%d) graded red; screen alone %.1f%%; red or safety "
               "question %.1f%%\n", pct(red_hit[s], red_n[s]), red_hit[s], red_n[s],
               pct(red_screen[s], red_n[s]), pct(red_asked[s], red_n[s]));
        printf("  false red %.1f%% (%d/%d none graded red)\n", pct(none_red[s], none_n[s]),
               none_red[s], none_n[s]);
        if (mod_n[s])
            printf("  moderate asked or red %.1f%% (%d/%d)\n", pct(mod_hit[s], mod_n[s]),
                   mod_hit[s], mod_n[s]);
        if (ppl_n[s])
            printf("  people count right %.1f%% (%d/%d); where a count is said %.1f%% (%d/%d)\n",
                   pct(ppl_ok[s], ppl_n[s]), ppl_ok[s], ppl_n[s], pct(ppl_said_ok[s], ppl_said[s]),
                   ppl_said_ok[s], ppl_said[s]);
    }

    /* cost per message */
    char **norms = calloc((size_t)nmsg, sizeof *norms);
    for (int i = 0; i < nmsg; i++)
        norms[i] = classify_normalize(msgs[i].text);
    long passes = 0;
    double t0 = now(), t1;
    do {
        for (int i = 0; i < nmsg; i++) {
            struct fq_classified c;
            classify_text_screened(lx, &empty, ds, norms[i] ? norms[i] : "", &c);
            classify_cleanup(&c);
        }
        passes++;
    } while ((t1 = now()) - t0 < 1.0);
    double whole = (t1 - t0) / ((double)passes * nmsg) * 1e6;
    passes = 0;
    t0 = now();
    do {
        for (int i = 0; i < nmsg; i++) {
            struct danger_result r;
            danger_screen_text(ds, lx, norms[i] ? norms[i] : "", &r);
        }
        passes++;
    } while ((t1 = now()) - t0 < 1.0);
    double screen = (t1 - t0) / ((double)passes * nmsg) * 1e6;
    printf("\ncost per message (mean %zu bytes, one thread): %.2f us classify_text_screened "
           "(category keywords, place, people, phone, danger words, OpenCC t2s table, danger "
           "model), %.2f us of it the danger screen\n",
           nmsg ? bytes / (size_t)nmsg : 0, whole, screen);
    for (int i = 0; i < nmsg; i++) {
        free(norms[i]);
        free(msgs[i].id);
        free(msgs[i].text);
    }
    free(norms);
    for (int i = 0; i < nlabels; i++)
        free(labels[i].id);
    danger_screen_close(ds);
    lexicon_free(lx);
    return 0;
}
