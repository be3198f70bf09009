/* eval_places: how often the place a resident names is found (handlers/classify.c, through
 * classify_text_model as the daemon calls it, with the roster's place keys of
 * classify_roster_prepare), on data/corpus/places-holdout.tsv: messages naming places of the
 * demo roster (docker/demo-roster.json) in Simplified and Traditional characters, pinyin (any
 * case, spacing, tone marks) and English, written apart from the matching rules and never used
 * to tune them, plus messages naming no place. A row is right when the org found is the one
 * labelled (the most specific named), or none for "none". Prints "places found" overall and per
 * language, the same with the plain name match alone (no place keys) for comparison, places
 * found in messages that name none, and the rows missed.
 * Usage: eval_places LOCALES ROSTER.json PLACES.tsv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot/admin/roster_file.h"
#include "bot/sys/locale.h"
#include "common/roster_model.h"
#include "handlers/classify.h"
#include "handlers/i18n.h"

static const char *langs[] = {"zh-CN", "zh-TW", "en"};
#define NLANG 3

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
    if (buf)
        buf[n] = '\0';
    fclose(f);
    *len = n >= 0 ? (size_t)n : 0;
    return buf;
}

static struct fq_roster *load_roster(const char *path)
{
    size_t len;
    char *text = read_all(path, &len), *problem = NULL;
    struct fq_roster *r = NULL;
    if (!text || roster_json_parse(text, len, &r, &problem) != FQ_OK) {
        fprintf(stderr, "eval: %s: %s\n", path, problem ? problem : "cannot read it");
        r = NULL;
    }
    free(problem);
    free(text);
    return r;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s LOCALES ROSTER.json PLACES.tsv\n", argv[0]);
        return 2;
    }
    struct fq_lexicon *lx = NULL;
    char *cause = NULL, err[512];
    if (locale_load(argv[1], &lx, &cause) != FQ_OK) {
        fprintf(stderr, "eval: %s\n", cause ? cause : "cannot load the locales");
        free(cause);
        return 1;
    }
    struct fq_roster *r = load_roster(argv[2]), *plain = load_roster(argv[2]);
    struct classify_model *cm = classify_model_open(NULL, 0, err, sizeof err);
    FILE *f = fopen(argv[3], "r");
    if (!r || !plain || !cm || !f) {
        fprintf(stderr, "eval: %s\n", !cm ? err : !f ? "cannot read the places file" : "roster");
        return 1;
    }
    classify_roster_prepare(r, cm);
    classify_roster_probes(plain);
    int named[NLANG + 1] = {0}, found[NLANG + 1] = {0}, found_plain[NLANG + 1] = {0};
    int none = 0, false_place = 0, rows = 0, bad = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (++lineno == 1)
            continue;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        char *field[4], *p = line;
        int nf = 0;
        while (nf < 4) {
            field[nf++] = p;
            char *t = strchr(p, '\t');
            if (!t)
                break;
            *t = '\0';
            p = t + 1;
        }
        int lang = -1;
        for (int l = 0; l < NLANG; l++)
            if (nf == 4 && strcmp(field[1], langs[l]) == 0)
                lang = l;
        int want = nf == 4 && strcmp(field[2], "none") != 0 ? roster_org_index(r, field[2]) : -1;
        if (lang < 0 || (want < 0 && strcmp(field[2], "none") != 0)) {
            fprintf(stderr, "eval: %s:%d: bad row\n", argv[3], lineno);
            bad = 1;
            break;
        }
        rows++;
        struct fq_classified c, k;
        classify_text_model(lx, r, NULL, cm, field[3], &c);
        classify_text_model(lx, plain, NULL, NULL, field[3], &k);
        if (want < 0) {
            none++;
            false_place += c.org >= 0;
            if (c.org >= 0)
                printf("  place found where none is named: %s -> %s\n", field[0], r->org[c.org].id);
        } else {
            int ls[2] = {NLANG, lang};
            for (int x = 0; x < 2; x++) {
                named[ls[x]]++;
                found[ls[x]] += c.org == want;
                found_plain[ls[x]] += k.org == want;
            }
            if (c.org != want)
                printf("  missed: %s (%s) found %s\n", field[0], field[2],
                       c.org >= 0 ? r->org[c.org].id : "none");
        }
        classify_cleanup(&c);
        classify_cleanup(&k);
    }
    free(line);
    fclose(f);
    if (!bad && rows) {
        printf("places (%s, roster %s): %d messages, %d naming a place\n", argv[3], argv[2], rows,
               named[NLANG]);
        printf("places found: all %.1f%% (%d/%d)", 100.0 * found[NLANG] / named[NLANG],
               found[NLANG], named[NLANG]);
        for (int l = 0; l < NLANG; l++)
            if (named[l])
                printf(", %s %.1f%% (%d/%d)", langs[l], 100.0 * found[l] / named[l], found[l],
                       named[l]);
        printf("\nplaces found by the names as written alone (no place keys): all %.1f%% (%d/%d)",
               100.0 * found_plain[NLANG] / named[NLANG], found_plain[NLANG], named[NLANG]);
        for (int l = 0; l < NLANG; l++)
            if (named[l])
                printf(", %s %.1f%%", langs[l], 100.0 * found_plain[l] / named[l]);
        printf("\nplace found in a message naming none: %d of %d\n", false_place, none);
    }
    classify_model_close(cm);
    roster_free(r);
    roster_free(plain);
    lexicon_free(lx);
    return bad;
}
