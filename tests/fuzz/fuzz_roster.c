/* fuzz_roster.c: libFuzzer target for the roster file (docs/contract.md 5): roster_json_parse,
 * which parses the JSON and runs roster_validate (unknown parents, cycles, repeated ids, levels,
 * roles, categories). The same code serves `roster import FILE` and POST /api/v1/roster, so
 * anything an admin (or whoever holds the token) can send goes through here.
 *
 * A parsed roster is walked through the lookups routing uses, to catch index fields that
 * roster_validate left pointing outside the arrays. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bot/admin/roster_file.h"
#include "common/roster_model.h"
#include "common/fq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the text as http.c and cli.c hold it: NUL-terminated, length given */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct fq_roster *r = NULL;
    char *problem = NULL;
    enum fq_err err = roster_json_parse(text, size, &r, &problem);
    if (err == FQ_OK) {
        if (!r || problem)
            abort();
        for (size_t i = 0; i < r->n_org; i++) {
            const struct fq_org *o = &r->org[i];
            if (o->parent < -1 || o->parent >= (int)r->n_org)
                abort();
            if (roster_org_index(r, o->id) < 0)
                abort();
            for (int l = FQ_LEVEL_COUNTY; l <= FQ_LEVEL_GRID; l++)
                (void)roster_org_at_level(r, (int)i, (enum fq_level)l);
            (void)roster_org_is_ancestor(r, 0, (int)i);
        }
        for (size_t i = 0; i < r->n_med; i++) {
            const struct fq_mediator *m = &r->med[i];
            if (m->org < 0 || m->org >= (int)r->n_org)
                abort();
            if (roster_mediator_index(r, m->id) < 0)
                abort();
            if (m->chat_user)
                (void)roster_mediator_by_chat_user(r, m->chat_user);
            if (m->wecom_userid)
                (void)roster_mediator_by_wecom(r, m->wecom_userid);
            (void)roster_mediator_handles(m, "wage");
        }
        for (size_t i = 0; i < r->n_routes; i++)
            if (r->routes[i].org < 0 || r->routes[i].org >= (int)r->n_org)
                abort();
    } else if (r) {
        abort();   /* a rejected roster hands nothing out */
    }
    roster_free(r);
    free(problem);
    free(text);
    return 0;
}
