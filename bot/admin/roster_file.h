/* roster_file.h: the roster file of docs/contract.md 5 (JSON) into a struct fq_roster. */
#ifndef FQ_ROSTER_FILE_H
#define FQ_ROSTER_FILE_H

#include <stddef.h>

#include "common/roster_model.h"
#include "common/fq.h"

/* Parses and validates (roster_validate) a roster. On success *out is a new roster (caller
 * frees with roster_free). On failure returns FQ_EINVAL with *problem (caller frees) naming the
 * first problem and where. */
enum fq_err roster_json_parse(const char *text, size_t len, struct fq_roster **out,
                              char **problem);

#endif
