/* cases.h: opening a case from a finished report (handlers/cases.c). */
#ifndef FQ_CASES_H
#define FQ_CASES_H

#include "common/fq.h"
#include "handlers/actions.h"
#include "store/case_table.h"

/*  opening a case from a finished report. */
struct fq_report {
    const char *channel, *user, *name, *contact, *locale;
    const char *category;            /* category id */
    const char *org_id;              /* place node id, may be NULL */
    const char *place_text;
    const char *description;
    int people;
    bool danger;
    bool has_location;               /* a shared location, kept on the case with its coordinates */
    double latitude, longitude;
    const struct fq_case *parent;    /* the case this one relapsed from, NULL if none */
};
/* Grades, routes, inserts the case, its events, the assignment, alerts and timers. On success
 * *created holds the case (caller cleans up with case_cleanup), and the resident's receipt is
 * appended to out's replies. */
enum fq_err case_open(struct fq_ctx *c, const struct fq_report *r, struct fq_actions *out,
                      struct fq_case *created);

#endif
