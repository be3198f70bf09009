/* locale.h: loading locales/{zh-CN,zh-TW,en}.json (schema in handlers/i18n.h) into a struct
 * fq_lexicon. The only place that parses the catalogs; handlers/ use the result without jansson. */
#ifndef FQ_LOCALE_H
#define FQ_LOCALE_H

#include "common/fq.h"
#include "handlers/i18n.h"

/* Loads dir/zh-CN.json, dir/zh-TW.json and dir/en.json and checks them against each other:
 * every catalog has the messages of zh-CN (and no others), the same "{placeholder}" names per
 * message, all 14 categories, the three severities, the statuses of zh-CN, a "category" keyword
 * list per category and every list of fq_kw_names. Keyword lists are merged over the catalogs,
 * duplicates (ASCII case ignored) removed, longest first.
 *
 * On success *out is a new lexicon (caller frees with lexicon_free). On failure returns
 * FQ_EIO (a file cannot be read), FQ_EINVAL (bad JSON or a missing or inconsistent entry) or
 * FQ_ENOMEM, and *cause (caller frees) names the file, the line for JSON errors, and the key,
 * e.g. "locales/en.json: messages.receipt: placeholders differ from zh-CN ({case} {unit})". */
enum fq_err locale_load(const char *dir, struct fq_lexicon **out, char **cause);

/* The first existing directory of: $FENGQIAO_LOCALES, <dir of /proc/self/exe>/../locales,
 * /usr/share/fengqiao/locales, ./locales. Returns ./locales when none exists (locale_load then
 * names the missing file). Caller frees; NULL on oom. */
char *locale_dir_default(void);

#endif
