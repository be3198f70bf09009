/* supplement.h: a later message of a resident with an open case that is about that case
 * (docs/contract.md 6.8). supplement_decide is the pure decision; supplement_open_cases lists
 * the candidates; supplement_record appends the message to a case's history as a `supplement`
 * event (actor "resident"), publishes it and pushes it to the case's mediator, inside the
 * core's transaction like every other change. */
#ifndef FQ_SUPPLEMENT_H
#define FQ_SUPPLEMENT_H

#include <stdint.h>

#include "common/fq.h"
#include "handlers/actions.h"
#include "handlers/classify.h"
#include "handlers/i18n.h"

/* At most this many open cases are offered (newest first) when the question is asked. */
#define SUPPLEMENT_MAX_OPEN 9
/* A message within this many seconds of a case's receipt counts as a sign it is about it. */
#define SUPPLEMENT_WINDOW (24 * 3600)
/* The longest supplement kept (bytes; longer text is cut at a character boundary). */
#define SUPPLEMENT_MAX_TEXT 2000

/* One open case of the resident, as the decision sees it. */
struct sp_open {
    char case_no[24];
    int category;                    /* index in fq_categories, -1 unknown */
    int place;                       /* roster index of the case's place, -1 unknown */
    int64_t created_at;
};

enum sp_verdict {
    SP_NEW_REPORT = 0,               /* not about an open case: start a report as before */
    SP_SUPPLEMENT,                   /* about open[*which] */
    SP_ASK,                          /* unclear: ask which (or a new report) */
};

/* The decision of docs/contract.md 6.8 for one message: text is the normalised text, k its
 * classification (place indexes in roster r), open the resident's open cases newest first (n
 * may be 0). A message that is not substantive (greetings, emoji, filler) is never a
 * supplement. *which gets the case index for SP_SUPPLEMENT, else -1. */
enum sp_verdict supplement_decide(const struct fq_lexicon *lx, const struct fq_roster *r,
                                  const char *text, const struct fq_classified *k,
                                  const struct sp_open *open, size_t n, int64_t now, int *which);

/* The resident's open cases, newest first, at most SUPPLEMENT_MAX_OPEN, into open; *n their
 * number. */
enum fq_err supplement_open_cases(struct fq_ctx *c, const char *channel, const char *user,
                                  struct sp_open open[SUPPLEMENT_MAX_OPEN], size_t *n);

/* Appends text to case case_no as a supplement: the history row (type "supplement", actor
 * "resident", note the text), the event on {p}/events/cases/{case_no}, the mediator's push
 * (assignments action "supplement" and a text in locale loc) and the resident's
 * acknowledgement. FQ_ENOTFOUND when the case is gone or finished (nothing written). */
enum fq_err supplement_record(struct fq_ctx *c, const char *case_no, const char *text, int loc,
                              struct fq_actions *out);

#endif
