/* Routing (docs/contract.md 7.1) on a real store: tiers by severity, category routes,
 * walking up past nodes without an active mediator, and load balancing. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/admin/roster_file.h"
#include "bot/sys/config.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "common/roster_model.h"
#include "handlers/actions.h"
#include "handlers/route.h"
#include "store/case_table.h"
#include "store/store.h"

static const char *roster_text =
    "{\"org\":["
    "{\"id\":\"county\",\"name\":\"C\",\"level\":\"county\",\"parent\":null},"
    "{\"id\":\"town\",\"name\":\"T\",\"level\":\"town\",\"parent\":\"county\"},"
    "{\"id\":\"vil\",\"name\":\"V\",\"level\":\"village\",\"parent\":\"town\"},"
    "{\"id\":\"vil2\",\"name\":\"V2\",\"level\":\"village\",\"parent\":\"town\"},"
    "{\"id\":\"grid\",\"name\":\"G\",\"level\":\"grid\",\"parent\":\"vil\"},"
    "{\"id\":\"grid2\",\"name\":\"G2\",\"level\":\"grid\",\"parent\":\"vil2\"}],"
    "\"mediators\":["
    "{\"id\":\"g1\",\"name\":\"a\",\"role\":\"grid_worker\",\"org\":\"grid\",\"categories\":[\"*\"]},"
    "{\"id\":\"g2\",\"name\":\"b\",\"role\":\"grid_worker\",\"org\":\"grid\",\"categories\":[\"*\"]},"
    "{\"id\":\"v1\",\"name\":\"c\",\"role\":\"village_mediator\",\"org\":\"vil\",\"categories\":[\"*\"]},"
    "{\"id\":\"v2\",\"name\":\"d\",\"role\":\"village_mediator\",\"org\":\"vil2\",\"categories\":[\"*\"],\"active\":false},"
    "{\"id\":\"t1\",\"name\":\"e\",\"role\":\"town_mediator\",\"org\":\"town\",\"categories\":[\"*\"],\"supervisor\":true},"
    "{\"id\":\"tw\",\"name\":\"f\",\"role\":\"town_mediator\",\"org\":\"town\",\"categories\":[\"wage\"]},"
    "{\"id\":\"env\",\"name\":\"g\",\"role\":\"town_mediator\",\"org\":\"town\",\"categories\":[\"environment\"]}],"
    "\"routes\":[{\"category\":\"wage\",\"org\":\"town\",\"mediators\":[\"tw\"]}]}";

static char dir[] = "/tmp/fqroute-XXXXXX";
static struct store *st;
static struct fq_roster *ro;
static struct fq_config *cfg;
static struct fq_ctx ctx;

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    char path[256], *cause = NULL;
    snprintf(path, sizeof path, "%s/t.db", dir);
    cr_assert_eq(store_open(path, &st, &cause), FQ_OK, "%s", cause ? cause : "");
    char *problem = NULL;
    cr_assert_eq(roster_json_parse(roster_text, strlen(roster_text), &ro, &problem), FQ_OK, "%s",
                 problem ? problem : "");
    cfg = config_new_defaults();
    ctx = (struct fq_ctx){.store = st, .cfg = cfg, .roster = ro, .now = 1700000000};
}

static void teardown(void)
{
    store_close(st);
    roster_free(ro);
    config_free(cfg);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    strcpy(dir, "/tmp/fqroute-XXXXXX");
}

static const char *pick(const char *category, int severity, const char *place, const char **node)
{
    struct fq_route_pick p;
    cr_assert_eq(route_pick(&ctx, category, severity, roster_org_index(ro, place), &p), FQ_OK);
    *node = p.node >= 0 ? ro->org[p.node].id : NULL;
    return p.mediator >= 0 ? ro->med[p.mediator].id : NULL;
}

/* Gives mediator id one more open case, assigned at time t. */
static void load_case(const char *id, int64_t t)
{
    struct fq_case k;
    memset(&k, 0, sizeof k);
    k.channel = "web";
    k.user = "u";
    strcpy(k.category, "neighbour");
    k.status = FQ_CASE_ASSIGNED;
    k.mediator_id = (char *)id;
    k.org_id = "grid";
    k.created_at = k.assigned_at = t;
    cr_assert_eq(store_begin(st), FQ_OK);
    cr_assert_eq(store_case_insert(st, &k), FQ_OK);
    cr_assert_eq(store_commit(st), FQ_OK);
}

TestSuite(route, .init = setup, .fini = teardown);

Test(route, tier_by_severity)
{
    const char *node, *m;
    m = pick("neighbour", FQ_SEV_BLUE, "grid", &node);
    cr_assert_str_eq(node, "grid");
    cr_assert(strcmp(m, "g1") == 0 || strcmp(m, "g2") == 0);
    m = pick("neighbour", FQ_SEV_YELLOW, "grid", &node);
    cr_assert_str_eq(node, "vil");
    cr_assert_str_eq(m, "v1");
    m = pick("neighbour", FQ_SEV_RED, "grid", &node);
    cr_assert_str_eq(node, "town");
    cr_assert_str_eq(m, "t1");
}

Test(route, category_route_wins_over_territory)
{
    const char *node, *m;
    m = pick("wage", FQ_SEV_BLUE, "grid", &node);   /* a route at an ancestor of the grid */
    cr_assert_str_eq(m, "tw");
    cr_assert_str_eq(node, "town");
    m = pick("wage", FQ_SEV_YELLOW, "grid2", &node);
    cr_assert_str_eq(m, "tw");
}

Test(route, category_filter_at_a_node)
{
    const char *node, *m;
    /* red environment case at the town: t1 (all categories) and env (environment) qualify;
     * after env gets a case, t1 has fewer open cases and wins */
    load_case("t1", 100);
    m = pick("environment", FQ_SEV_RED, "grid", &node);
    cr_assert_str_eq(m, "env");
    m = pick("family", FQ_SEV_RED, "grid", &node);    /* env does not take family cases */
    cr_assert_str_eq(m, "t1");
}

Test(route, walks_up_past_inactive)
{
    const char *node, *m;
    /* grid2 has no mediator, vil2's is on leave: the town takes it */
    m = pick("neighbour", FQ_SEV_BLUE, "grid2", &node);
    cr_assert_str_eq(node, "town");
    cr_assert_str_eq(m, "t1");
}

Test(route, least_open_then_least_recent)
{
    const char *node, *m;
    load_case("g1", 100);
    m = pick("neighbour", FQ_SEV_BLUE, "grid", &node);
    cr_assert_str_eq(m, "g2", "fewest open cases wins");
    load_case("g2", 200);
    m = pick("neighbour", FQ_SEV_BLUE, "grid", &node);
    cr_assert_str_eq(m, "g1", "equal load: the one assigned least recently wins");
}

Test(route, unknown_place_starts_at_root)
{
    struct fq_route_pick p;
    cr_assert_eq(route_pick(&ctx, "neighbour", FQ_SEV_BLUE, -1, &p), FQ_OK);
    cr_assert_str_eq(ro->org[p.node].id, "county");
    cr_assert_eq(p.mediator, -1, "no mediator at the county: unassigned, not invented");
}

Test(route, roster_validation_names_the_problem)
{
    struct {
        const char *text, *needle;
    } bad[] = {
        {"{\"org\":[{\"id\":\"a\",\"name\":\"A\",\"level\":\"town\",\"parent\":\"zz\"}]}", "unknown parent"},
        {"{\"org\":[{\"id\":\"a\",\"name\":\"A\",\"level\":\"town\",\"parent\":null},"
         "{\"id\":\"a\",\"name\":\"B\",\"level\":\"town\",\"parent\":null}]}", "duplicate id"},
        {"{\"org\":[{\"id\":\"a\",\"name\":\"A\",\"level\":\"town\",\"parent\":\"b\"},"
         "{\"id\":\"b\",\"name\":\"B\",\"level\":\"town\",\"parent\":\"a\"}]}", "cycle"},
        {"{\"org\":[{\"id\":\"a\",\"name\":\"A\",\"level\":\"town\",\"parent\":null}],"
         "\"mediators\":[{\"id\":\"m\",\"name\":\"M\",\"role\":\"town_mediator\",\"org\":\"a\","
         "\"categories\":[\"gossip\"]}]}", "unknown category"},
        {"{\"org\":[{\"id\":\"a\",\"name\":\"A\",\"level\":\"town\",\"parent\":null}],"
         "\"routes\":[{\"category\":\"wage\",\"org\":\"a\",\"mediators\":[\"nobody\"]}]}", "unknown mediator"},
        {"{\"org\":[{\"id\":\"a\",\"name\":\"A\",\"level\":\"city\",\"parent\":null}]}", "level"},
        {"[1,2]", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fq_roster *r = NULL;
        char *problem = NULL;
        cr_assert_eq(roster_json_parse(bad[i].text, strlen(bad[i].text), &r, &problem), FQ_EINVAL,
                     "case %zu accepted", i);
        cr_assert_null(r);
        cr_assert(problem && strstr(problem, bad[i].needle), "case %zu: \"%s\" lacks \"%s\"", i,
                  problem ? problem : "(null)", bad[i].needle);
        free(problem);
    }
}
