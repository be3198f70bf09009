/* eval_category: scores the category model through the C classifier (handlers/catmodel.c) on
 * the test split of the corpus, which training never reads (scripts/train-model.py: split is
 * "test" when crc32(id) % 5 == 0). Prints accuracy overall and per language, top-3 accuracy,
 * recall per category, a confusion table and the cost per message (normalising through the OpenCC
 * t2s table and scoring, then scoring alone), measured over repeated passes of at least a second.
 * Rows whose split is "holdout" are scored too: data/corpus/holdout.tsv is a set written apart
 * from the corpus, after the model, and never used to train or to choose training data.
 * Usage: eval_category MODEL CORPUS.tsv   (`make eval` runs it on both files) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers/catmodel.h"

#define MAX_MSG 4000
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

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL CORPUS.tsv\n", argv[0]);
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
    free(mbuf);
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
