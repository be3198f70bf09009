/* world.c: see world.h. */
#include "tests/unit/helpers/world.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bot/sys/locale.h"
#include "bot/sys/config.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/cases.h"
#include "handlers/i18n.h"
#include "store/case_table.h"
#include "store/store.h"

static void die(const char *what, const char *cause)
{
    fprintf(stderr, "world: %s: %s\n", what, cause ? cause : "failed");
    abort();
}

static char *dup_or_die(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        die("strdup", "out of memory");
    return d;
}

static const char *locale_dir(void)
{
    const char *env = getenv("FENGQIAO_LOCALES");
    if (env)
        return env;
    return access("locales/zh-CN.json", R_OK) == 0 ? "locales" : "../../locales";
}

void world_add_org(struct world *w, const char *id, const char *name, enum fq_level level,
                   const char *parent)
{
    struct fq_roster *ro = w->ro;
    struct fq_org *v = realloc(ro->org, (ro->n_org + 1) * sizeof *ro->org);
    if (!v)
        die("roster", "out of memory");
    ro->org = v;
    struct fq_org *o = &ro->org[ro->n_org++];
    memset(o, 0, sizeof *o);
    o->id = dup_or_die(id);
    o->name = dup_or_die(name);
    o->parent_id = dup_or_die(parent);
    o->level = level;
    o->parent = -1;
}

int world_add_med(struct world *w, const char *id, const char *name, const char *role,
                  const char *org, const char *category, bool active, bool supervisor)
{
    struct fq_roster *ro = w->ro;
    struct fq_mediator *v = realloc(ro->med, (ro->n_med + 1) * sizeof *ro->med);
    if (!v)
        die("roster", "out of memory");
    ro->med = v;
    struct fq_mediator *m = &ro->med[ro->n_med];
    memset(m, 0, sizeof *m);
    m->id = dup_or_die(id);
    m->name = dup_or_die(name ? name : id);
    m->role = dup_or_die(role);
    m->org_id = dup_or_die(org);
    m->chat_user = dup_or_die(id);
    m->categories = malloc(sizeof *m->categories);
    if (!m->categories)
        die("roster", "out of memory");
    m->categories[0] = dup_or_die(category);
    m->n_categories = 1;
    m->active = active;
    m->supervisor = supervisor;
    m->org = -1;
    return (int)ro->n_med++;
}

void world_open(struct world *w, const char *tag)
{
    memset(w, 0, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "/tmp/fq-%s-XXXXXX", tag);
    if (!mkdtemp(w->dir))
        die("mkdtemp", w->dir);
    char path[512];
    snprintf(path, sizeof path, "%s/fq.db", w->dir);
    char *cause = NULL;
    if (store_open(path, &w->st, &cause) != FQ_OK)
        die("store_open", cause);
    if (locale_load(locale_dir(), &w->lex, &cause) != FQ_OK)
        die("locale_load", cause);
    if (!(w->cfg = config_new_defaults()) || !(w->ro = roster_new()))
        die("setup", "out of memory");
    /* the tests fire timers at whatever hour they run: no waiting for working hours unless a
     * test turns it on (test_calendar.c) */
    w->cfg->calendar_hold_night = false;
    world_add_org(w, "county-zj", "诸暨市", FQ_LEVEL_COUNTY, NULL);
    world_add_org(w, "town-fq", "枫桥镇", FQ_LEVEL_TOWN, "county-zj");
    world_add_org(w, "vil-fy", "枫源村", FQ_LEVEL_VILLAGE, "town-fq");
    world_add_org(w, "grid-fy-01", "枫源村第一网格", FQ_LEVEL_GRID, "vil-fy");
}

void world_ready(struct world *w)
{
    char *problem = NULL;
    if (roster_validate(w->ro, &problem) != FQ_OK)
        die("roster_validate", problem);
    w->ctx = (struct fq_ctx){.store = w->st, .cfg = w->cfg, .lex = w->lex, .roster = w->ro,
                             .now = (int64_t)time(NULL)};
}

void world_open_case(struct world *w, struct fq_ctx *ctx, const char *channel, struct fq_case *k)
{
    char user[32];
    snprintf(user, sizeof user, "u-%d", ++w->residents);
    struct fq_report r = {.channel = channel, .user = user, .locale = "zh-CN",
                          .category = "neighbour", .org_id = "grid-fy-01",
                          .place_text = "枫源村第一网格", .description = "邻居在楼道堆杂物",
                          .people = 2};
    struct fq_actions a;
    actions_init(&a);
    enum fq_err err = case_open(ctx, &r, &a, k);
    actions_cleanup(&a);
    if (err)
        die("case_open", fq_strerror(err));
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void world_close(struct world *w)
{
    store_close(w->st);
    config_free(w->cfg);
    lexicon_free(w->lex);
    roster_free(w->ro);
    if (w->dir[0])
        nftw(w->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    memset(w, 0, sizeof *w);
}
