/* eval_category: scores the category model through the C classifier (handlers/catmodel.c) on
 * the test split of the corpus, which training never reads (scripts/train-model.py: split is
 * "test" when crc32(id) % 5 == 0). Prints accuracy overall and per language, top-3 accuracy,
 * recall per category, a confusion table and the cost per message (normalising through the OpenCC
 * t2s table and scoring, then scoring alone), measured over repeated passes of at least a second.
 * Rows whose split is "holdout" are scored too: data/corpus/holdout.tsv is a set written apart
 * from the corpus, after the model, and never used to train or to choose training data.
 * With LOCALES (the catalogs' directory) also the category as the daemon decides it
 * (classify_text_model, handlers/classify.h: the model, keyword overrides and the sure threshold
 * CLASSIFY_P_SURE, chosen on the train rows by cross-validation) on each message taken as a
 * resident's first message: the share filled without asking and how many of those are right,
 * the share asked with the likeliest listed (and the truth among them), the share shown the
 * full menu, the category right as decided (filled, else the first listed), overall and per
 * language; the keywords alone for comparison; and the cost of classify_text_model per message
 * without and with the model, and as the daemon calls it (danger screen, the demo roster read
 * from docker/demo-roster.json when there).
 * Usage: eval_category MODEL CORPUS.tsv [LOCALES]   (`make eval` runs it on both files) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bot/admin/roster_file.h"
#include "bot/sys/locale.h"
#include "common/roster_model.h"
#include "handlers/catmodel.h"
#include "handlers/classify.h"
#include "handlers/danger.h"
#include "handlers/i18n.h"

#define MAX_MSG 4000

/* the danger model built into the binary (build/gen/danger_model.c) */
extern const char fq_danger_model[];
extern const size_t fq_danger_model_len;
static const char *langs[] = {"zh-CN", "zh-TW", "yue", "en"};
#define NLANG 4

typedef struct {
    char *text, *norm;
    size_t len, nlen;
    int lang, truth;
} msg;

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double pct(int a, int b)
{
    return b ? 100.0 * a / b : 0;
}

/* The category as the daemon decides it on each message as a first message (see the top). */
static int daemon_figures(const char *locales, const char *mbuf, size_t mlen, const catmodel *m,
                          const msg *msgs, int nmsg)
{
    struct fq_lexicon *lx = NULL;
    char *cause = NULL, err[512];
    if (locale_load(locales, &lx, &cause) != FQ_OK) {
        fprintf(stderr, "eval: %s\n", cause ? cause : "cannot load the locales");
        free(cause);
        return 1;
    }
    struct classify_model *cm = classify_model_open(mbuf, mlen, err, sizeof err);
    if (!cm) {
        fprintf(stderr, "eval: %s\n", err);
        lexicon_free(lx);
        return 1;
    }
    struct fq_roster empty = {0}, *roster = NULL;
    size_t rlen;
    char *rtext = read_all("docker/demo-roster.json", &rlen), *problem = NULL;
    if (rtext && roster_json_parse(rtext, rlen, &roster, &problem) == FQ_OK)
        classify_roster_prepare(roster, cm);
    else
        roster = NULL;
    free(rtext);
    free(problem);
    enum { ALL = NLANG };
    int n[NLANG + 1] = {0}, filled[NLANG + 1] = {0}, filled_ok[NLANG + 1] = {0};
    int asked[NLANG + 1] = {0}, asked_in[NLANG + 1] = {0}, menu[NLANG + 1] = {0};
    int decided_ok[NLANG + 1] = {0}, kw_ok[NLANG + 1] = {0}, one_step[NLANG + 1] = {0};
    int by_kw = 0, by_kw_ok = 0;
    for (int i = 0; i < nmsg; i++) {
        const msg *g = &msgs[i];
        int truth = fq_category_index(catmodel_class_name(m, g->truth));
        struct fq_classified c, k;
        classify_text_model(lx, &empty, NULL, cm, g->text, &c);
        classify_text_model(lx, &empty, NULL, NULL, g->text, &k);
        int decided = c.category >= 0 ? c.category : c.n_guess ? c.guess[0] : -1;
        bool in = false;
        for (int j = 0; j < c.n_guess; j++)
            in = in || c.guess[j] == truth;
        int ls[2] = {ALL, g->lang};
        for (int x = 0; x < 2; x++) {
            int l = ls[x];
            n[l]++;
            if (c.category >= 0) {
                filled[l]++;
                filled_ok[l] += c.category == truth;
            } else if (c.n_guess) {
                asked[l]++;
                asked_in[l] += in;
            } else {
                menu[l]++;
            }
            decided_ok[l] += decided == truth;
            kw_ok[l] += k.category == truth;
            one_step[l] += (c.category >= 0 && c.category == truth) || (c.category < 0 && in);
        }
        if (c.category >= 0 && !c.by_model) {
            by_kw++;
            by_kw_ok += c.category == truth;
        }
        classify_cleanup(&c);
        classify_cleanup(&k);
    }
    printf("\nthe category as the daemon decides it (the model, sure at p >= %.2f; keywords on a "
           "text without substance; each message as a first message)\n", CLASSIFY_P_SURE);
    printf("%-7s %-21s %-14s %-30s %-10s %-15s %s\n", "", "filled without asking",
           "of them right", "asked with 2-3 listed", "full menu", "category right",
           "keywords alone");
    for (int l = NLANG; l >= 0; l--) {
        if (!n[l])
            continue;
        char c1[32], c2[32], c3[48], c4[16], c5[16], c6[16];
        snprintf(c1, sizeof c1, "%.1f%% (%d/%d)", pct(filled[l], n[l]), filled[l], n[l]);
        snprintf(c2, sizeof c2, "%.1f%%", pct(filled_ok[l], filled[l]));
        snprintf(c3, sizeof c3, "%.1f%% (truth listed %.1f%%)", pct(asked[l], n[l]),
                 pct(asked_in[l], asked[l]));
        snprintf(c4, sizeof c4, "%.1f%%", pct(menu[l], n[l]));
        snprintf(c5, sizeof c5, "%.1f%%", pct(decided_ok[l], n[l]));
        snprintf(c6, sizeof c6, "%.1f%%", pct(kw_ok[l], n[l]));
        printf("%-7s %-21s %-14s %-30s %-10s %-15s %s\n", l == ALL ? "all" : langs[l], c1, c2, c3,
               c4, c5, c6);
    }
    printf("category right in one step (filled right, or the truth among those listed): "
           "%.1f%% (%d/%d)\n", pct(one_step[ALL], n[ALL]), one_step[ALL], n[ALL]);
    printf("filled by keywords (a text without substance: a label, a keyword alone): %d, "
           "right %.1f%%\n", by_kw, pct(by_kw_ok, by_kw));

    /* cost: classify_text_model (keywords, place, people, phone, category model) without and
     * with the model, and as the daemon calls it (with the danger screen built in, the demo
     * roster's place keys); rounds of 0.2 s taken in turn, the fastest round of each kept, so
     * another process's burst on a shared machine does not count */
    char derr[256];
    struct danger_screen *ds = danger_screen_open(fq_danger_model, fq_danger_model_len, derr,
                                                  sizeof derr);
    double best[3] = {1e9, 1e9, 1e9};
    for (int round = 0; round < 10 && ds; round++)
        for (int v = 0; v < 3; v++) {
            long calls = 0;
            double t0 = now(), t1;
            do {
                for (int i = 0; i < nmsg; i++) {
                    struct fq_classified c;
                    classify_text_model(lx, roster ? roster : &empty, v == 2 ? ds : NULL,
                                        v ? cm : NULL, msgs[i].text, &c);
                    classify_cleanup(&c);
                }
                calls += nmsg;
            } while ((t1 = now()) - t0 < 0.2);
            double us = (t1 - t0) / (double)calls * 1e6;
            if (us < best[v])
                best[v] = us;
        }
    if (ds)
        printf("cost per message of classify_text_model, fastest of 10 rounds: %.2f us keywords "
               "only, %.2f us with the category model (it adds %.2f us), %.2f us as the daemon "
               "calls it (with the danger screen%s)\n", best[0], best[1], best[1] - best[0],
               best[2], roster ? ", the demo roster's place keys" : "");
    else
        fprintf(stderr, "eval: danger model: %s\n", derr);
    danger_screen_close(ds);
    roster_free(roster);
    classify_model_close(cm);
    lexicon_free(lx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s MODEL CORPUS.tsv [LOCALES]\n", argv[0]);
        return 2;
    }
    char err[512];
    size_t mlen;
    char *mbuf = read_all(argv[1], &mlen);
    if (!mbuf) {
        fprintf(stderr, "eval: cannot read %s\n", argv[1]);
        return 1;
    }
    catmodel *m = catmodel_parse(mbuf, mlen, err, sizeof err);
    if (!m) {
        fprintf(stderr, "eval: %s: %s\n", argv[1], err);
        return 1;
    }
    catnorm *cn = catnorm_open(NULL, err, sizeof err);
    if (!cn) {
        fprintf(stderr, "eval: %s\n", err);
        catmodel_free(m);
        return 1;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        fprintf(stderr, "eval: cannot read %s\n", argv[2]);
        return 1;
    }
    int k = catmodel_nclasses(m);
    msg *msgs = calloc(MAX_MSG, sizeof *msgs);
    int nmsg = 0, ntotal = 0, bad = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;
    while ((len = getline(&line, &cap, f)) >= 0 && nmsg < MAX_MSG) {
        if (++lineno == 1)
            continue;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        char *field[5], *p = line;
        int nf = 0;
        while (nf < 5) {
            field[nf++] = p;
            char *t = strchr(p, '\t');
            if (!t)
                break;
            *t = '\0';
            p = t + 1;
        }
        if (nf != 5) {
            fprintf(stderr, "eval: %s:%d: expected 5 fields\n", argv[2], lineno);
            bad = 1;
            break;
        }
        ntotal++;
        if (strcmp(field[3], "test") != 0 && strcmp(field[3], "holdout") != 0)
            continue;
        msg *g = &msgs[nmsg];
        g->lang = -1;
        for (int l = 0; l < NLANG; l++)
            if (strcmp(field[1], langs[l]) == 0)
                g->lang = l;
        g->truth = catmodel_class_index(m, field[2]);
        if (g->lang < 0 || g->truth < 0) {
            fprintf(stderr, "eval: %s:%d: unknown language or category\n", argv[2], lineno);
            bad = 1;
            break;
        }
        g->text = strdup(field[4]);
        g->len = strlen(field[4]);
        g->norm = malloc(CATMODEL_MAX_INPUT + 1);
        g->nlen = catnorm_apply(cn, g->text, g->len, g->norm, CATMODEL_MAX_INPUT + 1);
        nmsg++;
    }
    free(line);
    fclose(f);

    int right[NLANG + 1] = {0}, total[NLANG + 1] = {0}, top3 = 0;
    int *conf = calloc((size_t)k * (size_t)k, sizeof *conf);
    for (int i = 0; i < nmsg && !bad; i++) {
        catmodel_guess gs[3];
        int n = catmodel_predict(m, cn, msgs[i].text, msgs[i].len, gs, 3);
        if (n < 1) {
            bad = 1;
            break;
        }
        int ok = gs[0].cls == msgs[i].truth;
        total[NLANG]++, total[msgs[i].lang]++;
        right[NLANG] += ok, right[msgs[i].lang] += ok;
        for (int j = 0; j < n; j++)
            top3 += gs[j].cls == msgs[i].truth;
        conf[msgs[i].truth * k + gs[0].cls]++;
    }
    if (!bad && nmsg > 0) {
        printf("category model: %zu features, %d classes; %s: %d messages, scored %d\n",
               catmodel_nfeatures(m), k, argv[2], ntotal, nmsg);
        printf("accuracy (first guess):  all %.1f%% (%d/%d)\n", 100.0 * right[NLANG] / nmsg,
               right[NLANG], nmsg);
        for (int l = 0; l < NLANG; l++)
            if (total[l])
                printf("  %-6s %5.1f%% (%d/%d)\n", langs[l], 100.0 * right[l] / total[l], right[l],
                       total[l]);
        if (total[1] + total[2])
            printf("  %-6s %5.1f%% (%d/%d)\n", "zh-TW+yue",
                   100.0 * (right[1] + right[2]) / (total[1] + total[2]), right[1] + right[2],
                   total[1] + total[2]);
        printf("accuracy (in top 3):     all %.1f%% (%d/%d)\n", 100.0 * top3 / nmsg, top3, nmsg);
        printf("target: first guess right >= 90%% of messages: %s\n",
               100.0 * right[NLANG] / nmsg >= 90.0 ? "met" : "NOT met");

        printf("\nconfusion (rows: true category, columns: predicted, by number)\n%-19s", "");
        for (int c = 0; c < k; c++)
            printf("%4d", c);
        printf("  recall\n");
        for (int t = 0; t < k; t++) {
            int rowsum = 0;
            for (int c = 0; c < k; c++)
                rowsum += conf[t * k + c];
            printf("%2d %-16s", t, catmodel_class_name(m, t));
            for (int c = 0; c < k; c++) {
                if (conf[t * k + c])
                    printf("%4d", conf[t * k + c]);
                else
                    printf("%4s", ".");
            }
            if (rowsum)
                printf("  %5.1f%%\n", 100.0 * conf[t * k + t] / rowsum);
            else
                printf("      -\n");
        }

        /* cost: whole passes over the test messages until a second has gone by */
        catmodel_guess gs[3];
        long calls = 0;
        double t0 = now(), t1;
        do {
            for (int i = 0; i < nmsg; i++)
                catmodel_predict(m, cn, msgs[i].text, msgs[i].len, gs, 3);
            calls += nmsg;
        } while ((t1 = now()) - t0 < 1.0);
        double full = (t1 - t0) / (double)calls * 1e6;
        long calls2 = 0;
        t0 = now();
        do {
            for (int i = 0; i < nmsg; i++)
                catmodel_predict_normalised(m, msgs[i].norm, msgs[i].nlen, gs, 3);
            calls2 += nmsg;
        } while ((t1 = now()) - t0 < 1.0);
        double score = (t1 - t0) / (double)calls2 * 1e6;
        size_t bytes = 0;
        for (int i = 0; i < nmsg; i++)
            bytes += msgs[i].len;
        printf("\ncost per message (mean %zu bytes, one thread): %.2f us normalising "
               "(OpenCC t2s table, folding) and scoring, %.2f us scoring alone "
               "(%ld and %ld calls)\n",
               bytes / (size_t)nmsg, full, score, calls, calls2);
    }
    if (!bad && nmsg > 0 && argc == 4)
        bad = daemon_figures(argv[3], mbuf, mlen, m, msgs, nmsg);
    free(mbuf);
    for (int i = 0; i < nmsg; i++) {
        free(msgs[i].text);
        free(msgs[i].norm);
    }
    free(msgs);
    free(conf);
    catnorm_close(cn);
    catmodel_free(m);
    return bad;
}
