"""Danger screening in the resident's conversation (handlers/danger.c, docs/contract.md 6.7):
danger said in other words than the contract's list makes a red case with the 110 advice; a
moderate signal asks one safety question (ask_safety), whose yes makes the case red with the
110 advice and whose no goes on as usual; words that only contain a danger word (集体土地,
砍树, "we argue all the time") are not red and get no 110 advice (the safety question may
still be asked: a false alarm costs one question). In zh-CN, zh-TW and English."""
from lib import Broker, Daemon, check, drive_report, short, submit

RED = [
    ("zh-CN", "老板再不给工资，我就从他家楼顶跳下去"),
    ("zh-CN", "我老公一喝醉就打我，昨天把我头都打破了"),
    ("zh-TW", "我先生喝醉就打我，身上都是瘀青"),
    ("zh-TW", "如果再拆我家，我就點火燒掉自己"),
    ("en", "my husband beats me when he is drunk"),
    ("en", "I was cut with a kitchen knife by my neighbour"),
]
MODERATE = [
    ("zh-CN", "对方说要给我好看，我有点担心"),
    ("zh-TW", "對方放話說要給我好看，我很擔心"),
    ("en", "my neighbour keeps threatening me at night"),
]
YES = {"zh-CN": "是", "zh-TW": "是", "en": "yes"}
NO = {"zh-CN": "否", "zh-TW": "否", "en": "no"}
NOT_RED = [
    ("zh-CN", "村里把集体土地租给外地老板，租金一直没分给我们"),
    ("zh-CN", "邻居砍树砍倒了我家的围墙，要他赔"),
    ("zh-TW", "鄰居砍樹的時候樹枝壓壞了我家屋頂"),
    ("en", "we argue all the time about money and want someone to help us talk"),
]


def has_110(transcript):
    return any("110" in r.reply_text() for _, r in transcript)


def test_danger_in_other_words_is_red_with_110():
    d = Daemon(Broker())
    for i, (loc, text) in enumerate(RED):
        case, tr = submit(d, f"res-red-{i}", text, locale=loc)
        first = tr[0][1]
        check("110" in first.reply_text(), f"{text!r}: no 110 advice at once: {first.replies()}")
        check(first.get("state") != "ask_safety", f"{text!r}: asked instead of red: {first.json}")
        c = d.case(case)
        check(c.get("severity") == "red", f"{text!r}: severity {short(c)}")


def test_moderate_asks_safety_yes_is_red():
    d = Daemon(Broker())
    for i, (loc, text) in enumerate(MODERATE):
        user = f"res-mod-yes-{i}"
        r = d.chat(user, text, locale=loc)
        check(r.get("state") == "ask_safety", f"{text!r}: no safety question: {r.json}")
        check("110" not in r.reply_text(), f"{text!r}: 110 before the answer: {r.replies()}")
        labels = [o.get("label", "") for o in r.get("options") or []]
        check(len(labels) == 2 and labels[0].lower().startswith(YES[loc])
              and labels[1].lower().startswith(NO[loc]),
              f"{text!r}: options must start with the answer words: {labels}")
        a = d.chat(user, YES[loc], locale=loc)
        check("110" in a.reply_text(), f"{text!r}: yes without the 110 advice: {a.replies()}")
        check(a.get("state") not in ("ask_safety", "idle"), f"yes did not go on: {a.json}")
        case, tr = drive_report(d, user, "枫源村第一网格", locale=loc)
        check(case, f"{text!r}: no case after yes: {short([(s, t.json) for s, t in tr], 1500)}")
        check(d.case(case).get("severity") == "red", f"{text!r}: yes, not red: {d.case(case)}")


def test_moderate_no_goes_on_normally():
    d = Daemon(Broker())
    for i, (loc, text) in enumerate(MODERATE):
        user = f"res-mod-no-{i}"
        r = d.chat(user, text, locale=loc)
        check(r.get("state") == "ask_safety", f"{text!r}: no safety question: {r.json}")
        a = d.chat(user, NO[loc], locale=loc)
        check("110" not in a.reply_text(), f"{text!r}: 110 after no: {a.replies()}")
        check(a.get("state") in ("ask_category", "ask_location", "ask_description",
                                 "ask_contact", "confirm"),
              f"{text!r}: no did not go on with the report: {a.json}")
        case, tr = drive_report(d, user, "枫源村第一网格", locale=loc,
                                category_label="邻里")
        check(case, f"{text!r}: no case: {short([(s, t.json) for s, t in tr], 1500)}")
        check(d.case(case).get("severity") != "red", f"{text!r}: red after no: {d.case(case)}")
        check(not has_110(tr), f"{text!r}: 110 advice after no")


def test_words_that_only_contain_a_danger_word_stay_ordinary():
    d = Daemon(Broker())
    for i, (loc, text) in enumerate(NOT_RED):
        case, tr = submit(d, f"res-not-{i}", text, locale=loc)
        check(not has_110(tr), f"{text!r}: 110 advice: {[r.replies() for _, r in tr]}")
        check(d.case(case).get("severity") != "red", f"{text!r}: red: {d.case(case)}")
