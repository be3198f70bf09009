/* roster.c: importing a roster (docs/contract.md 5) into the store, and its generation, by which a
 * running core notices a new one. The roster type, its validation and its lookups are
 * common/roster_model.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/roster.h"
#include "store/roster_table.h"
#include "store/store.h"

enum fq_err roster_import(struct fq_ctx *c, struct fq_roster *r, struct fq_actions *out)
{
    char *prob = NULL;
    enum fq_err err = roster_validate(r, &prob);
    if (err == FQ_ENOMEM)
        return err;
    if (err) {
        answer_error(out, 400, "invalid_roster", prob);
        free(prob);
        return FQ_OK;   /* a rejected roster is an answer, not a store failure */
    }
    err = roster_store(c->store, r);
    if (err)
        return err;
    (void)out;   /* 200 with no replies: the caller reports the counts */
    return FQ_OK;
}

enum fq_err roster_store(struct store *s, const struct fq_roster *r)
{
    enum fq_err err = store_roster_replace(s, r);
    if (err)
        return err;
    char *gen = NULL;
    err = store_kv_get(s, "roster_gen", &gen);
    if (err && err != FQ_ENOTFOUND)
        return err;
    long long next = (gen ? atoll(gen) : 0) + 1;
    free(gen);
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", next);
    return store_kv_put(s, "roster_gen", buf);
}

char *roster_generation(struct store *s)
{
    char *gen = NULL;
    if (store_kv_get(s, "roster_gen", &gen) != FQ_OK)
        return NULL;
    return gen;
}
