"""A resident's report through the chat webhook (docs/contract.md 3.1, 4, 6, 7): the conversation's
states and questions, the receipt, the events and assignment on MQTT, the admin API's view of
the case, numbered choices in every accepted form, cancel, status, help and languages."""
import re

import lib
from lib import (CASE_NO_RE, CATEGORIES, Broker, Daemon, Sub, assignment_topic, check,
                 event_topic, has_han, mentions, short, submit)

ONE_MESSAGE = "枫源村一网格的邻居在楼道堆放杂物，多次沟通无果，我的电话13800000001"


def step(d, user, text, want_state, what=""):
    r = d.chat(user, text)
    check(r.status == 200, f"{what or text!r}: status {r}")
    check(r.get("state") == want_state,
          f"{what or text!r}: expected state {want_state}, got {r.get('state')!r}: {r}")
    check(r.replies(), f"{what or text!r}: no reply text: {r}")
    return r


def test_full_report_walk():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    user = "res-walk"

    r = step(d, user, "你好", "ask_category")
    opts = r.get("options")
    check(isinstance(opts, list) and len(opts) == 14, f"ask_category options: {opts}")
    check([o.get("key") for o in opts] == [str(i) for i in range(1, 15)],
          f"option keys are not 1..14: {opts}")
    # The contract lists the categories in this order; fq.h calls that the menu order.
    check([o.get("label") for o in opts] == [label for _, label in CATEGORIES],
          f"option labels are not the 14 categories of docs/contract.md 6.6: {opts}")

    step(d, user, "１", "ask_location", "full-width 1")
    step(d, user, "枫源村第一网格", "ask_description", "location")
    step(d, user, "邻居在楼道堆放杂物，多次沟通无果", "ask_contact", "description")
    r = step(d, user, "13800000000", "confirm", "contact")
    # Contract-silent: what the summary shows. A user expects to see the category and place.
    summary = r.reply_text()
    check("邻里纠纷" in summary and "枫源村第一网格" in summary,
          f"confirm summary does not show the category and place: {summary!r}")

    r = step(d, user, "1", "submitted", "confirm 1")
    case = r.get("case")
    check(isinstance(case, str) and CASE_NO_RE.fullmatch(case), f"case number {case!r}")
    receipt = r.replies()[-1]
    check(case in receipt, f"the last reply (receipt) does not name {case}: {r.replies()}")
    allr = r.reply_text()
    check("邻里纠纷" in allr, f"the receipt does not name the category: {allr!r}")
    check("枫源村第一网格" in allr or "王建国" in allr,
          f"the receipt does not name the handling unit: {allr!r}")

    # Blue neighbour dispute in grid-fy-01 → the grid worker m-wang.
    asg = sub.wait(assignment_topic("m-wang"), lambda m: mentions(m, case), timeout=10)
    check(asg, f"no assignment for {case} on {assignment_topic('m-wang')}; got {sub.messages()}")
    a = asg[0].payload
    check(isinstance(a, dict) and a.get("action") == "assigned", f"assignment payload: {a}")
    check(isinstance(a.get("case"), dict) and lib.case_no_of(a["case"]) == case,
          f"assignment case: {a}")
    check(isinstance(a.get("event_id"), str) and a["event_id"], f"assignment event_id: {a}")
    others = [m for m in sub.messages() if "/assignments" in m.topic and mentions(m, case)
              and m.topic != assignment_topic("m-wang")]
    check(not others, f"the case was assigned to someone else too: {others}")

    evs = sub.wait(event_topic(case), count=2, timeout=10)
    types = [m.payload.get("type") for m in evs if isinstance(m.payload, dict)]
    check("created" in types and "assigned" in types, f"events of {case}: {types}")
    check(types.index("created") < types.index("assigned"), f"assigned before created: {types}")
    ids = [m.payload.get("event_id") for m in evs]
    check(all(ids) and len(set(ids)) == len(ids), f"event ids not distinct: {ids}")
    check(a["event_id"] not in ids, "the assignment reuses an event's event_id")
    for m in evs:
        check(lib.case_no_of(m.payload.get("case")) == case, f"event case: {m}")
        check(isinstance(m.payload.get("at"), str)
              and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", m.payload["at"]),
              f"event 'at' is not RFC 3339: {m}")

    c = d.case(case)
    check(c is not None and lib.case_no_of(c) == case, f"admin case {case}: {c}")
    et = lib.event_types(c)
    check("created" in et and "assigned" in et, f"admin case events: {short(c)}")
    check(isinstance(c.get("surveys", []), list), f"admin case surveys: {short(c)}")
    # Field names below are the project's case JSON (bot/render/payload.c), not fixed by the contract.
    check(c.get("mediator") == "m-wang", f"admin case mediator: {short(c)}")
    check(c.get("category") == "neighbour" and c.get("severity") == "blue",
          f"admin case category/severity: {short(c)}")
    check(case in lib.case_nos(d.cases()), "the case is not in GET /api/v1/cases")
    r = d.get(f"/api/v1/cases/{case}")
    check(r.status == 401, f"admin case without token answered {r.status}")


def test_one_message_report_goes_to_confirm():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    r = step(d, "res-one", ONE_MESSAGE, "confirm", "one-message report")
    r = step(d, "res-one", "1", "submitted", "confirm")
    case = r.get("case")
    check(case and CASE_NO_RE.fullmatch(case), f"case {case!r}")
    check(sub.wait(assignment_topic("m-wang"), lambda m: mentions(m, case), timeout=10),
          f"no assignment of {case} to m-wang: {sub.messages()}")
    c = d.case(case)
    # Contract-silent field names (the project's case JSON): category, place.
    check(c.get("category") == "neighbour", f"category read from the text: {short(c)}")
    check(c.get("place") == "grid-fy-01", f"place read from '枫源村一网格': {short(c)}")


def test_choice_forms():
    """Numbered choices accept 一 and ① as well as 1 (docs/contract.md 6.3); the number picked
    counts."""
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    # 一 → category 1 (neighbour): a blue case for the grid worker.
    step(d, "res-cn", "你好", "ask_category")
    step(d, "res-cn", "一", "ask_location", "Chinese numeral 一")
    case1, _ = submit(d, "res-cn", "枫源村第一网格")
    # ⑦ → category 7 (wage): routed to m-labour by the wage route at the town.
    step(d, "res-circ", "你好", "ask_category")
    step(d, "res-circ", "⑦", "ask_location", "circled ⑦")
    case7, _ = submit(d, "res-circ", "枫源村第一网格",
                      description="干了三个月的活一直没拿到钱")
    check(d.case(case1).get("category") == "neighbour", f"一 did not pick neighbour: {d.case(case1)}")
    check(d.case(case7).get("category") == "wage", f"⑦ did not pick wage: {d.case(case7)}")
    check(sub.wait(assignment_topic("m-labour"), lambda m: mentions(m, case7), timeout=10),
          f"⑦ (wage) case not routed to m-labour: {sub.messages()}")
    # Contract-silent: an out-of-range choice is asked again, not taken.
    step(d, "res-bad", "你好", "ask_category")
    step(d, "res-bad", "99", "ask_category", "choice 99")


def test_cancel_and_confirm_choices():
    d = Daemon()
    before = d.cases()
    step(d, "res-cancel", "你好", "ask_category")
    step(d, "res-cancel", "取消", "idle", "取消")
    # 0 at confirm cancels; 2 starts over (contract-silent: over = back to the first question).
    step(d, "res-zero", ONE_MESSAGE, "confirm")
    step(d, "res-zero", "0", "idle", "0 at confirm")
    step(d, "res-two", ONE_MESSAGE, "confirm")
    step(d, "res-two", "2", "ask_category", "2 at confirm")
    step(d, "res-en-cancel", ONE_MESSAGE, "confirm")
    step(d, "res-en-cancel", "cancel", "idle", "cancel")
    check(lib.case_nos(d.cases()) == lib.case_nos(before), "a cancelled report created a case")
    # Contract-silent: help keeps the conversation where it was.
    step(d, "res-help", "你好", "ask_category")
    step(d, "res-help", "帮助", "ask_category", "帮助")


def test_status_lists_cases():
    d = Daemon()
    case, _ = submit(d, "res-status", ONE_MESSAGE)
    for word in ("进度", "查询", "status"):
        r = d.chat("res-status", word)
        check(r.status == 200 and case in r.reply_text(),
              f"{word!r} does not list the resident's case {case}: {r}")
    r = d.chat("res-nocase", "进度")
    check(r.status == 200 and r.replies(), f"status with no case: {r}")
    check(not CASE_NO_RE.search(r.reply_text()), f"another resident's case shown: {r}")


def test_languages():
    d = Daemon()
    r = d.chat("res-en", "English")
    check(r.status == 200 and r.replies(), f"English: {r}")
    check(not has_han(r.reply_text()), f"reply after 'English' is not English: {r.replies()}")
    r = d.chat("res-en", "hello")
    check(r.status == 200 and r.get("state") == "ask_category", f"hello in English: {r}")
    labels = [o.get("label", "") for o in r.get("options") or []]
    check(len(labels) == 14 and not any(has_han(x) for x in labels) and not has_han(r.reply_text()),
          f"English question or options contain Chinese: {r}")

    r = d.chat("res-tw", "繁體")
    check(r.status == 200 and has_han(r.reply_text()), f"繁體: {r}")
    r = d.chat("res-tw", "你好")
    check(r.get("state") == "ask_category", f"你好 after 繁體: {r}")
    labels = [o.get("label", "") for o in r.get("options") or []]
    check(labels and "糾紛" in labels[0], f"Traditional labels expected (鄰里糾紛): {labels}")

    # The optional body field locale (docs/contract.md 3.1).
    r = d.chat("res-loc", "hello", locale="en")
    check(r.status == 200 and not has_han(r.reply_text()), f"locale en: {r}")
    # 中文 switches back to Simplified.
    r = d.chat("res-en", "中文")
    check(r.status == 200 and has_han(r.reply_text()), f"中文 after English: {r}")
