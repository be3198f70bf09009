"""The category and the place in the resident's conversation, through the real daemon
(docs/contract.md 6.1, 4.2): the embedded category model fills the category of a first message
it is sure of without asking; when unsure the category question lists the two or three likeliest
first (numbered, plus one number for the full menu) and a number maps to what was shown; a text
with no signal gets the full menu. Places named in Traditional characters or pinyin are found,
and a shared location stays on the case with its coordinates (admin API and MQTT event)."""
import json
import os

import lib
from lib import CASE_NO_RE, Broker, Daemon, Sub, check, event_topic, new_mid, short

SURE = [
    ("zh-CN", "老板拖欠我们三个月的工资，一直不给", "wage"),
    ("zh-TW", "老闆拖欠我們三個月的工資，一直不給", "wage"),
    ("en", "my boss has not paid our wages for three months", "wage"),
]
UNSURE = "我们两家的事情拖了很久，想找个人评评理"


def catalog(loc):
    with open(os.path.join(lib.ROOT, "locales", loc + ".json"), encoding="utf-8") as f:
        return json.load(f)


def finish(d, user, r, answers, locale=None, max_turns=8):
    """Answers whatever is still asked until submitted; returns the case number."""
    extra = {"locale": locale} if locale else {}
    for _ in range(max_turns):
        state = r.get("state")
        if state == "submitted":
            return r.get("case")
        check(state in answers, f"{user}: unexpected state {state}: {short(r.json)}")
        r = d.chat(user, answers[state], **extra)
        check(r.status == 200, f"{user}: {r}")
    raise lib.Failure(f"{user}: no case after {max_turns} turns: {short(r.json)}")


ANSWERS = {"ask_location": "枫源村第一网格", "ask_description": "已经拖了好几个月了",
           "ask_contact": "跳过", "confirm": "1", "ask_safety": "否"}


def test_sure_first_message_is_not_asked():
    d = Daemon(Broker())
    for i, (loc, text, want) in enumerate(SURE):
        user = f"res-sure-{i}"
        r = d.chat(user, text, locale=loc)
        check(r.status == 200 and r.get("state") == "ask_location",
              f"{text!r}: expected the place to be asked next, got {short(r.json)}")
        case = finish(d, user, r, ANSWERS, locale=loc)
        c = d.case(case)
        check(c.get("category") == want, f"{text!r}: category {short(c)}")


def test_unsure_offers_the_likeliest_and_a_choice_maps_to_them():
    d = Daemon(Broker())
    r = d.chat("res-unsure", UNSURE)
    check(r.get("state") == "ask_category", f"not asked: {short(r.json)}")
    opts = r.get("options") or []
    check(3 <= len(opts) <= 4, f"expected 2-3 likeliest plus the full menu: {opts}")
    check([o.get("key") for o in opts] == [str(i) for i in range(1, len(opts) + 1)],
          f"keys are not 1..n: {opts}")
    names = {lab: cid for cid, lab in lib.CATEGORIES}
    shown = [names.get(o.get("label")) for o in opts[:-1]]
    check(all(shown) and len(set(shown)) == len(shown), f"not distinct categories: {opts}")
    check(opts[-1].get("label") == catalog("zh-CN")["messages"]["category_opt_all"],
          f"the last option is not the full menu: {opts}")
    check(len(r.get("options")) < 14 and "14." not in r.reply_text(),
          f"the full menu was shown: {r.reply_text()!r}")
    r = d.chat("res-unsure", "2")
    check(r.get("state") == "ask_location", f"choice 2 not taken: {short(r.json)}")
    case = finish(d, "res-unsure", r, ANSWERS)
    c = d.case(case)
    check(c.get("category") == shown[1],
          f"chose 2 = {shown[1]} of {shown}, the case has {c.get('category')}")
    check(c.get("description") == UNSURE, f"the first message is the description: {short(c)}")

    # the last number: the full menu, whose numbers are the menu's
    r = d.chat("res-all", UNSURE)
    r = d.chat("res-all", str(len(opts)))
    check(r.get("state") == "ask_category" and len(r.get("options") or []) == 14,
          f"the full menu was not shown: {short(r.json)}")
    r = d.chat("res-all", "7")
    case = finish(d, "res-all", r, ANSWERS)
    check(d.case(case).get("category") == lib.CATEGORIES[6][0], "7 of the full menu")


def test_no_signal_gets_the_full_menu():
    d = Daemon(Broker())
    for user, text in [("res-hi", "你好"), ("res-hi-en", "hello")]:
        r = d.chat(user, text)
        check(r.get("state") == "ask_category" and len(r.get("options") or []) == 14,
              f"{text!r}: the full menu expected: {short(r.json)}")


def test_traditional_and_pinyin_places_are_found():
    d = Daemon(Broker())          # the test roster has pinyin aliases (lib.base_roster)
    cases = [
        ("zh-TW", "老闆拖欠我們三個月的工資，我在楓源村第一網格", "grid-fy-01"),
        ("zh-TW", "櫟橋村的老闆拖欠我們三個月的工資", "vil-lq"),
        ("en", "my boss in Fengyuan Cun has not paid our wages for three months", "vil-fy"),
        ("en", "my boss in FENGYUANCUN has not paid our wages for three months", "vil-fy"),
        ("en", "liqiao cun: my boss has not paid our wages for three months", "vil-lq"),
    ]
    for i, (loc, text, want) in enumerate(cases):
        user = f"res-place-{i}"
        r = d.chat(user, text, locale=loc)
        check(r.status == 200 and r.get("state") not in ("ask_location", "ask_category"),
              f"{text!r}: the place or category was asked: {short(r.json)}")
        case = finish(d, user, r, ANSWERS, locale=loc)
        c = d.case(case)
        check(c.get("place") == want, f"{text!r}: place {c.get('place')}, expected {want}")
    # a place alone, in Traditional characters, answers the place question
    r = d.chat("res-place-q", "老板拖欠我们三个月的工资，一直不给")
    check(r.get("state") == "ask_location", f"setup: {short(r.json)}")
    r = d.chat("res-place-q", "楓源村")
    check(r.get("state") == "ask_contact", f"楓源村 not taken as the place: {short(r.json)}")
    case = finish(d, "res-place-q", r, ANSWERS)
    check(d.case(case).get("place") == "vil-fy", "楓源村 is vil-fy")


def near(obj, lat, lon):
    la, lo = obj.get("latitude"), obj.get("longitude")
    return (isinstance(la, (int, float)) and isinstance(lo, (int, float))
            and abs(la - lat) < 1e-6 and abs(lo - lon) < 1e-6)


def test_location_message_puts_coordinates_on_the_case():
    b = Broker()
    sub = Sub(b)
    d = Daemon(b)
    user = "res-geo"
    r = d.chat(user, "老板拖欠我们三个月的工资，一直不给")
    check(r.get("state") == "ask_location", f"setup: {short(r.json)}")
    r = d.chat_raw({"channel": "web", "user": user, "message_id": new_mid(), "type": "location",
                    "latitude": 29.7312, "longitude": 120.4487})
    check(r.status == 200 and r.get("state") != "ask_location", f"location: {short(r.json)}")
    case = finish(d, user, r, ANSWERS)
    check(CASE_NO_RE.fullmatch(case or ""), f"no case: {case}")
    c = d.case(case)
    check(c.get("place") == "grid-fy-01", f"nearest grid expected: {short(c)}")
    check(near(c, 29.7312, 120.4487), f"the case lacks the coordinates: {short(c)}")
    ev = sub.wait(event_topic(case), pred=lambda m: (m.payload or {}).get("type") == "created")
    pc = ev[0].payload.get("case") or {}
    check(near(pc, 29.7312, 120.4487),
          f"the created event's case lacks the coordinates: {short(pc)}")
    # a case without a shared location carries none
    r = d.chat("res-nogeo", "老板拖欠我们三个月的工资，一直不给")
    c2 = d.case(finish(d, "res-nogeo", r, ANSWERS))
    check("latitude" not in c2 and "longitude" not in c2,
          f"coordinates without a location: {short(c2)}")
