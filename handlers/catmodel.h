/* catmodel.h: the statistical category classifier (a linear model over character n-grams) and
 * the text normaliser it reads through.
 *
 * Normaliser (catnorm): Traditional -> Simplified with OpenCC's t2s.json (libopencc-data),
 * character by character: catnorm_open converts every code point of U+3400-4DBF, U+4E00-9FFF
 * and U+F900-FAFF once with OpenCC and keeps the one-for-one changes as a table (shared
 * read-only by every thread; OpenCC is not called per message). Then per code point: full-width
 * ASCII folded to ASCII, ASCII letters lower-cased, every run of digits (ASCII or full-width)
 * written as one '0', ASCII punctuation, control characters, spaces and CJK / general
 * punctuation (U+2000-206F, U+3000-303F, U+FE30-FE4F, U+FF00-FF0F and the rest of the
 * full-width block that is not a letter or digit) turned into one space, runs of spaces
 * collapsed, leading and
 * trailing space dropped. Invalid UTF-8 bytes are dropped. The training script
 * (scripts/train-model.py) runs the same code (build/eval/catnorm), so both see one text.
 *
 * Features: the normalised text with one space added at each end, taken as code points; every
 * n-gram of n consecutive code points for n in [nmin, nmax], and for n in (nmax, nmax_ascii]
 * those made of ASCII only (English words need longer grams), except the lone space; each
 * distinct n-gram counts once (binary). With x_j = idf_j for each present feature j of the
 * model (absent ones are ignored), the score of class c is
 *     s_c = bias_c + sum_j (idf_j * w_jc) / sqrt(sum_j idf_j^2)
 * (TF-IDF, binary term frequency, L2 norm, then a multinomial logistic regression), and the
 * probabilities are softmax(s). A message with no known feature scores the biases alone.
 *
 * Model file format (UTF-8 text, LF line ends, fields separated by one TAB):
 *     fqcat<TAB>1
 *     ngram<TAB>NMIN<TAB>NMAX<TAB>NMAX_ASCII
 *     classes<TAB>K
 *     K lines:  class<TAB>NAME<TAB>BIAS
 *     features<TAB>N
 *     N lines:  NGRAM<TAB>IDF<TAB>C:W C:W ...   (C a class index 0..K-1, W = idf * weight,
 *                                              classes with W == 0 left out, space-separated)
 * Numbers are plain decimals ([-]digits[.digits]). NGRAM is normalised text (so it has no TAB
 * or newline). Anything else is rejected by catmodel_parse with a reason.
 *
 * Pure: no I/O here except that catnorm_open lets OpenCC read its dictionary files; the caller
 * reads the model file and hands its bytes to catmodel_parse. */
#ifndef FQ_CATMODEL_H
#define FQ_CATMODEL_H

#include <stddef.h>
#include <stdint.h>

/* Inputs longer than this many bytes are cut (at a UTF-8 boundary) before normalising. */
#define CATMODEL_MAX_INPUT 4096
/* Bounds on a model file, so a hostile or broken file cannot ask for unbounded memory. */
#define CATMODEL_MAX_CLASSES 64
#define CATMODEL_MAX_FEATURES 2000000
#define CATMODEL_MAX_NGRAM 6

typedef struct catnorm catnorm;
typedef struct catmodel catmodel;

typedef struct {
    int cls;     /* class index, see catmodel_class_name */
    double prob; /* softmax probability, 0..1 */
} catmodel_guess;

/* Opens the normaliser with an OpenCC config (NULL: "t2s.json", looked up in OpenCC's data
 * directory); takes some 50 ms (OpenCC loads its dictionaries and converts the table). NULL on
 * failure, with the reason in err. */
catnorm *catnorm_open(const char *opencc_config, char *err, size_t errsize);
void catnorm_close(catnorm *n);
/* Normalises in[0..len) into out (NUL-terminated, at most cap-1 bytes, cut at a code point).
 * Returns the length written ((size_t)-1 only if cap is 0). Thread-safe. */
size_t catnorm_apply(const catnorm *n, const char *in, size_t len, char *out, size_t cap);
/* The same on text already decoded: cp[0..ncp), the code points of a valid UTF-8 text (already
 * cut to CATMODEL_MAX_INPUT bytes by the caller), written as catnorm_apply writes that text. */
size_t catnorm_apply_cps(const catnorm *n, const int32_t *cp, size_t ncp, char *out, size_t cap);

/* The Simplified form of one code point by the OpenCC t2s table (cp itself when unchanged).
 * The place matching of handlers/classify.c reads names through it. */
long catnorm_t2s(const catnorm *n, long cp);

/* Parses a model file's bytes. NULL on error with the reason (and line) in err. */
catmodel *catmodel_parse(const char *buf, size_t len, char *err, size_t errsize);
void catmodel_free(catmodel *m);
int catmodel_nclasses(const catmodel *m);
size_t catmodel_nfeatures(const catmodel *m);
const char *catmodel_class_name(const catmodel *m, int cls);
/* The index of the class called name, or -1. */
int catmodel_class_index(const catmodel *m, const char *name);

/* Classifies text[0..len): fills out[0..k) with the k most probable classes, best first
 * (k is cut to the number of classes). Returns the number filled, or -1 if out of memory.
 * Thread-safe (reads the model only). */
int catmodel_predict(const catmodel *m, const catnorm *n, const char *text, size_t len,
                     catmodel_guess *out, int k);
/* The same on text already normalised by catnorm_apply (no OpenCC call). */
int catmodel_predict_normalised(const catmodel *m, const char *norm, size_t len,
                                catmodel_guess *out, int k);

#endif
