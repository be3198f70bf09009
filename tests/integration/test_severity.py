"""Severity (红黄蓝) and routing (docs/contract.md 6.7 and 7.1): danger words and many people make a
red case for the town mediator with a 110 hint and alerts up the tree; a category route (归口办理)
sends wage disputes to the labour mediator; 5 or more people make a yellow case for the village."""
import lib
from lib import (PREFIX, Broker, Daemon, Sub, assignment_topic, check, mentions, short,
                 submit)

ANCESTRY = ["grid-fy-01", "vil-fy", "town-fq", "county-zj"]


def assigned_to(sub, case, want, timeout=10):
    """Waits for the assignment of case to want; fails if it went to anyone else."""
    got = sub.wait(assignment_topic(want), lambda m: mentions(m, case), timeout=timeout)
    wrong = [m.topic for m in sub.messages() if m.topic.endswith("/assignments")
             and mentions(m, case) and m.topic != assignment_topic(want)]
    check(got, f"{case} was not assigned to {want}; assignments seen: "
          + short([m.topic for m in sub.messages() if m.topic.endswith('/assignments')]))
    check(not wrong, f"{case} also assigned on {wrong}")
    check(got[0].payload.get("action") == "assigned", f"assignment action: {got[0]}")
    return got[0].payload


def test_danger_words_red_to_town():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    case, tr = submit(d, "res-red", "邻居要动刀打人，枫源村一网格")
    # "A red report also tells the resident at once to call 110": in the first answer, the one
    # to the message with the danger words.
    first = tr[0][1]
    check("110" in first.reply_text(), f"no 110 hint in the first answer: {first.replies()}")
    a = assigned_to(sub, case, "m-li")
    c = d.case(case)
    # Field names are the project's case JSON (bot/render/payload.c); the contract does not fix them.
    check(c.get("severity") == "red", f"severity: {short(c)}")
    check(c.get("tier") == "town" and c.get("org") == "town-fq", f"tier/org: {short(c)}")
    check(a["case"].get("severity") == "red", f"assignment case severity: {a}")
    for org in ANCESTRY:
        got = sub.wait(f"{PREFIX}/alerts/{org}", lambda m: mentions(m, case), timeout=10)
        check(got, f"no alert for {case} on {PREFIX}/alerts/{org}; topics: "
              + short(sorted({m.topic for m in sub.messages()})))
        check(isinstance(got[0].payload, dict) and got[0].payload.get("event_id"),
              f"alert without event_id: {got[0]}")
    # No alert for an unrelated branch of the tree.
    check(not sub.messages(f"{PREFIX}/alerts/vil-lq"), "alert sent to vil-lq")


def test_wage_route_and_yellow():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    case, tr = submit(d, "res-wage", "包工头拖欠工资三个月，枫源村第一网格")
    assigned_to(sub, case, "m-labour")
    c = d.case(case)
    check(c.get("category") == "wage", f"category: {short(c)}")
    check(c.get("severity") == "yellow", f"a wage case is yellow: {short(c)}")
    check(not any("110" in r.reply_text() for _, r in tr), "110 hint on a non-red report")
    check(not sub.messages(pred=lambda m: "/alerts/" in m.topic and mentions(m, case)),
          "alert raised for a yellow case")


def test_many_people_red():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    case, tr = submit(d, "res-12", "枫源村第一网格楼道堆放杂物的纠纷，涉及12人，邻居之间吵了很久")
    assigned_to(sub, case, "m-li")
    check(d.case(case).get("severity") == "red", f"12 people: {short(d.case(case))}")
    check(any("110" in r.reply_text() for _, r in tr), "no 110 hint for a red report")
    check(sub.wait(f"{PREFIX}/alerts/town-fq", lambda m: mentions(m, case), timeout=10),
          "no alert on town-fq")


def test_five_people_yellow_to_village():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    case, _ = submit(d, "res-6", "枫源村第一网格楼道堆放杂物的纠纷，涉及6人，邻居之间沟通无果")
    assigned_to(sub, case, "m-chen")
    c = d.case(case)
    check(c.get("severity") == "yellow" and c.get("tier") == "village", f"6 people: {short(c)}")
    # The same resident again within 30 days → yellow even for a plain dispute.
    case2, _ = submit(d, "res-6", "楼道里又堆满了杂物，枫源村第一网格")
    check(d.case(case2).get("severity") == "yellow", f"repeat report: {short(d.case(case2))}")


def test_other_village_blue_to_its_grid():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    case, _ = submit(d, "res-lq", "栎桥村第一网格的邻居在楼道堆放杂物，沟通无果")
    assigned_to(sub, case, "m-zhao")
    check(lib.case_no_of(d.case(case)) == case, "case not found")
