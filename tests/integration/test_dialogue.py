"""The resident's dialogue over the wire (docs/contract.md 6.2, 6.3, 6.8): the real daemon, a real
mosquitto, the SQLite file and the chat webhook over loopback. Scripted multi-turn
conversations in zh-CN, zh-TW and English check every intent (yes, no, status questions,
labels, ordinals and parts of labels, corrections at the summary, supplements), the language of
the replies (by the catalogs' own texts) and what is stored on the case."""
import json
import os

import lib
from lib import Broker, Daemon, check, short

LOCALES = {}
for _loc in ("zh-CN", "zh-TW", "en"):
    with open(os.path.join(lib.ROOT, "locales", _loc + ".json"), encoding="utf-8") as _f:
        LOCALES[_loc] = json.load(_f)["messages"]


def head(loc, key):
    """The text of key in loc up to its first placeholder: how a reply made from it begins."""
    t = LOCALES[loc][key]
    return t.split("{", 1)[0]


def said(r, loc, key):
    """Whether one of r's replies is (or contains a line made from) key of loc."""
    h = head(loc, key)
    return any(h and (rep.startswith(h) or ("\n" + h) in rep) for rep in r.replies())


class Talk:
    """One resident's conversation: each turn sends text and checks the state it lands in."""

    def __init__(self, d, user, **fields):
        self.d, self.user, self.fields, self.log = d, user, fields, []

    def say(self, text, state=None, **extra):
        f = dict(self.fields)
        f.update(extra)
        r = self.d.chat(self.user, text, **f)
        self.log.append((text, r.status, r.json))
        check(r.status == 200, f"{self.user}: {text!r} answered {r}")
        if state is not None:
            check(r.get("state") == state,
                  f"{self.user}: {text!r} -> state {r.get('state')!r}, expected {state!r}; "
                  f"transcript {short(self.log, 2500)}")
        return r

    def expect(self, r, loc, key, what=""):
        check(said(r, loc, key), f"{self.user}: {what or key} not said in {loc}: "
              f"{short(r.replies(), 800)}")

    def expect_not(self, r, loc, key, what=""):
        check(not said(r, loc, key), f"{self.user}: {what or key} said in {loc}: "
              f"{short(r.replies(), 800)}")


def option_labels(r):
    return [o.get("label") for o in r.get("options") or []]


def stored(d, case_no):
    c = d.case(case_no)
    check(c is not None, f"case {case_no} not stored")
    return c


def daemon():
    b = Broker()
    d = Daemon(b)
    return b, d


# ---- choosing by ordinal and by a part of a label ----------------------------------------
def test_ordinals_and_parts_of_labels_in_three_languages():
    _, d = daemon()

    t = Talk(d, "dl-cn", locale="zh-CN")
    t.say("你好", "ask_category")
    r = t.say("纠纷", "ask_category")                 # in three labels: those three asked
    t.expect(r, "zh-CN", "ask_category_likely")
    check(option_labels(r)[:3] == ["邻里纠纷", "物业纠纷", "医患纠纷"], f"options {option_labels(r)}")
    t.say("第二个", "ask_location")
    t.say("枫源村第一网格", "ask_description")
    t.say("楼上漏水一个多月了，物业一直不来修", "ask_contact")
    t.say("跳过", "confirm")
    r = t.say("第一个", "submitted")
    c = stored(d, r.get("case"))
    check(c["category"] == "property" and c["place"] == "grid-fy-01", f"case {short(c)}")
    check(c["description"] == "楼上漏水一个多月了，物业一直不来修", f"description {short(c)}")

    t = Talk(d, "dl-tw", locale="zh-TW")
    r = t.say("你好", "ask_category")
    t.expect(r, "zh-TW", "ask_category")
    r = t.say("鄰里", "ask_location")                 # a part of 鄰里糾紛
    t.expect(r, "zh-TW", "ask_location")
    t.say("楓源村第一網格", "ask_description")
    t.say("隔籬成日喺樓道堆雜物，講咗好多次都唔聽", "ask_contact")
    t.say("跳過", "confirm")
    r = t.say("頭一個", "submitted")
    t.expect(r, "zh-TW", "receipt")
    c = stored(d, r.get("case"))
    check(c["category"] == "neighbour" and c["place"] == "grid-fy-01", f"case {short(c)}")

    t = Talk(d, "dl-en", locale="en")
    r = t.say("hello", "ask_category")
    t.expect(r, "en", "ask_category")
    r = t.say("the last one", "ask_location")          # the 14th, other
    t.expect(r, "en", "ask_location")
    t.say("Fengyuan Cun", "ask_description")
    t.say("The people upstairs keep making noise late at night", "ask_contact")
    t.say("skip", "confirm")
    r = t.say("the first one", "submitted")
    c = stored(d, r.get("case"))
    check(c["category"] == "other" and c["place"] == "vil-fy", f"case {short(c)}")

    # the safety question and the summary by ordinal; a part of both safety labels is asked
    t = Talk(d, "dl-safe", locale="zh-CN")
    t.say("枫源村第一网格的邻居说要我好看，天天在门口骂", "ask_safety")
    r = t.say("危险", "ask_safety")
    t.expect(r, "zh-CN", "choice_ambiguous")
    check(len(option_labels(r)) == 2, f"both offered: {option_labels(r)}")
    r = t.say("第二个")
    check(r.get("state") != "ask_safety", f"answered: {r}")
    t = Talk(d, "dl-cancel", locale="zh-TW")
    t.say("楓源村第一網格鄰居在樓道堆放雜物，多次溝通無果，電話13800000000", "confirm")
    r = t.say("最後嗰個", "idle")                       # the summary's last option: cancel
    t.expect(r, "zh-TW", "cancelled")
    check(len(d.cases()) == 3, f"cases {short(d.cases())}")


test_ordinals_and_parts_of_labels_in_three_languages.timeout = 90


# ---- corrections at the summary ----------------------------------------------------------
def test_corrections_at_the_summary_in_three_languages():
    _, d = daemon()

    t = Talk(d, "dc-cn", locale="zh-CN")
    t.say("枫源村第一网格邻居在楼道堆放杂物，多次沟通无果，电话13800000000", "confirm")
    r = t.say("地点不对，是栎桥村", "confirm")
    check("栎桥村" in r.reply_text(), f"summary with the new place: {r.replies()}")
    r = t.say("电话改成 13900001111", "confirm")
    check("13900001111" in r.reply_text(), f"summary with the new phone: {r.replies()}")
    r = t.say("电话改成 12345", "ask_contact")         # validated as when first asked
    t.expect(r, "zh-CN", "invalid_phone")
    t.say("13900001111", "confirm")
    t.say("类别错了，是劳动争议", "confirm")
    r = t.say("对的", "submitted")
    c = stored(d, r.get("case"))
    check(c["category"] == "wage" and c["place"] == "vil-lq", f"case {short(c)}")
    check((c.get("contact_masked") or "").endswith("1111"), f"contact {short(c)}")

    t = Talk(d, "dc-tw", locale="zh-TW")
    t.say("楓源村第一網格鄰居在樓道堆放雜物，多次溝通無果，電話13800000000", "confirm")
    r = t.say("電話改成 13900002222", "confirm")
    t.expect(r, "zh-TW", "confirm")
    r = t.say("地點唔啱", "ask_location")              # a field without a value: its question
    t.expect(r, "zh-TW", "ask_location")
    t.say("栎桥村第一网格", "confirm")
    r = t.say("冇錯", "submitted")
    c = stored(d, r.get("case"))
    check(c["place"] == "grid-lq-01" and c["category"] == "neighbour", f"case {short(c)}")
    check((c.get("contact_masked") or "").endswith("2222"), f"contact {short(c)}")

    t = Talk(d, "dc-en", locale="en")
    t.say("My neighbour in Fengyuan Cun plays loud music every night, phone 13800000000",
          "confirm")
    r = t.say("the place is wrong, it's Liqiao Cun", "confirm")
    t.expect(r, "en", "confirm")
    t.say("change the phone to 13900003333", "confirm")
    r = t.say("the category is wrong", "ask_category")
    t.expect(r, "en", "ask_category")
    t.say("wages", "confirm")                          # a part of one label
    r = t.say("yep", "submitted")
    c = stored(d, r.get("case"))
    check(c["place"] == "vil-lq" and c["category"] == "wage", f"case {short(c)}")
    check((c.get("contact_masked") or "").endswith("3333"), f"contact {short(c)}")


test_corrections_at_the_summary_in_three_languages.timeout = 90


# ---- language --------------------------------------------------------------------------------
def test_the_first_message_sets_the_language_and_says_how_back():
    _, d = daemon()

    # Traditional (Cantonese) from a zh-CN phone
    t = Talk(d, "lg-tw", locale="zh-CN")
    r = t.say("我屋企樓上成日漏水，已經一個星期了，冇人理")
    t.expect(r, "zh-TW", "lang_detected")
    t.expect(r, "zh-CN", "lang_switch_back")
    check(r.get("state") in ("ask_category", "ask_location"), f"state {r}")
    check(said(r, "zh-TW", "ask_category") or said(r, "zh-TW", "ask_category_likely")
          or said(r, "zh-TW", "ask_location"), f"the question in zh-TW: {r.replies()}")
    r = t.say("取消", "idle")                           # the conversation keeps its language
    t.expect(r, "zh-TW", "cancelled")

    # English from a zh-CN phone, to the receipt, then back with a language word
    t = Talk(d, "lg-en", locale="zh-CN")
    r = t.say("My neighbour plays loud music every night")
    t.expect(r, "en", "lang_detected")
    t.expect(r, "zh-CN", "lang_switch_back")
    for _ in range(6):
        s = r.get("state")
        if s == "submitted":
            break
        ans = {"ask_category": "1", "ask_location": "Fengyuan Cun", "ask_contact": "skip",
               "confirm": "1", "ask_description": "loud music every night"}[s]
        r = t.say(ans)
        t.expect_not(r, "zh-CN", "invalid_choice")
    check(r.get("state") == "submitted", f"not submitted: {short(t.log, 2000)}")
    t.expect(r, "en", "receipt")
    r = t.say("简体", "submitted")
    t.expect(r, "zh-CN", "lang_switched")
    r = t.say("how is my case going", "submitted")     # the choice wins over the text
    t.expect(r, "zh-CN", "status_header")
    t.expect_not(r, "en", "lang_detected")

    # Simplified from an English phone
    t = Talk(d, "lg-cn", locale="en")
    r = t.say("我家楼上漏水，已经一个星期了，没人管")
    t.expect(r, "zh-CN", "lang_detected")
    t.expect(r, "en", "lang_switch_back")

    # a greeting written alike in both scripts keeps the phone's language
    t = Talk(d, "lg-hk", locale="zh-TW")
    r = t.say("你好", "ask_category")
    t.expect(r, "zh-TW", "greeting")
    t.expect_not(r, "zh-CN", "lang_detected")


test_the_first_message_sets_the_language_and_says_how_back.timeout = 90


# ---- emoji, stickers, punctuation ----------------------------------------------------------
def test_emoji_and_punctuation_are_re_asked_in_the_language():
    _, d = daemon()
    for loc, user, place, desc in (("zh-CN", "em-cn", "枫源村第一网格", "邻居在楼道堆放杂物"),
                                   ("zh-TW", "em-tw", "楓源村第一網格", "鄰居在樓道堆放雜物"),
                                   ("en", "em-en", "Fengyuan Cun", "my neighbour plays loud music every night")):
        t = Talk(d, user, locale=loc)
        r = t.say("😀😀😀😀", "ask_category")
        t.expect(r, loc, "wordless_reask")
        r = t.say("👍👍👍👍", "ask_category")
        t.expect(r, loc, "wordless_reask")
        t.expect_not(r, loc, "invalid_choice")
        t.say("1", "ask_location")
        r = t.say("🙏🙏🙏", "ask_location")
        t.expect(r, loc, "wordless_reask")
        t.say(place, "ask_description")
        for text in ("😂😂😂😂😂", "？？？", "[捂脸][捂脸]", "……"):
            r = t.say(text, "ask_description")
            t.expect(r, loc, "wordless_reask", f"re-ask after {text!r}")
            t.expect(r, loc, "ask_description", f"the question after {text!r}")
        t.say(desc, "ask_contact")
        t.say("🙂", "ask_contact")
        t.say("跳过" if loc != "en" else "skip", "confirm")
        r = t.say("1", "submitted")
        c = stored(d, r.get("case"))
        check(c["description"] == desc and c["category"] == "neighbour", f"case {short(c)}")
        # after the receipt an emoji is no supplement
        r = t.say("👍")
        check(r.get("state") == "ask_category", f"after the receipt: {r}")
        t.expect(r, loc, "wordless_reask")
        ev = [e.get("type") for e in stored(d, c["case_no"]).get("events") or []]
        check("supplement" not in ev, f"an emoji became a supplement: {ev}")


test_emoji_and_punctuation_are_re_asked_in_the_language.timeout = 90


# ---- yes, no, status questions, supplements ------------------------------------------------
def test_yes_no_status_and_supplements_in_three_languages():
    _, d = daemon()
    scripts = (
        ("zh-CN", "in-cn", "枫源村第一网格邻居在楼道堆放杂物，多次沟通无果，电话13800000000",
         "有进展吗", "不对", "没错", "他又把杂物堆回楼道了，还挡住了消防通道"),
        ("zh-TW", "in-tw", "楓源村第一網格鄰居在樓道堆放雜物，多次溝通無果，電話13800000000",
         "有冇進展呀", "唔係", "冇錯", "補充：佢又將雜物堆返落樓道"),
        ("en", "in-en", "My neighbour in Fengyuan Cun plays loud music every night, "
         "phone 13800000000", "any update?", "not right", "yep",
         "Also, the neighbour played loud music again last night"),
    )
    for loc, user, first, status, no, yes, follow in scripts:
        t = Talk(d, user, locale=loc)
        t.say(first, "confirm")
        r = t.say(status, "confirm")                 # answered, the draft kept
        t.expect(r, loc, "status_none")
        t.expect(r, loc, "confirm")
        r = t.say(no, "confirm")                     # refusal: what is wrong?
        t.expect(r, loc, "confirm_refused")
        r = t.say(yes, "submitted")
        case = r.get("case")
        t.expect(r, loc, "receipt")
        r = t.say(status)                             # the case is listed
        check(case in r.reply_text(), f"{user}: status lists {case}: {r.replies()}")
        t.expect(r, loc, "status_header")
        r = t.say(follow)
        if r.get("state") == "ask_supplement":       # unclear: the first option, that case
            t.expect(r, loc, "ask_supplement")
            r = t.say("第一个" if loc != "en" else "the first one")
        check(r.get("state") == "submitted" and r.get("case") == case, f"{user}: {r}")
        t.expect(r, loc, "supplement_added")
        evs = [e for e in stored(d, case).get("events") or [] if e.get("type") == "supplement"]
        check(len(evs) == 1 and evs[0].get("actor") == "resident", f"{user}: {short(evs)}")

    # the safety question in natural words: yes makes it red
    for loc, user, text, yes in (("zh-CN", "sf-cn", "枫源村第一网格的邻居说要我好看，天天在门口骂",
                                   "有危险"),
                                  ("zh-TW", "sf-tw", "楓源村第一網格的鄰居話要我好看，日日喺門口鬧",
                                   "係"),
                                  ("en", "sf-en", "My neighbour in Fengyuan Cun threatened me "
                                   "and shouts at my door every day", "yes")):
        t = Talk(d, user, locale=loc)
        r = t.say(text)
        if r.get("state") == "ask_safety":
            r = t.say(yes)
        # asked and answered yes, or plainly red at once: the 110 advice either way
        t.expect(r, loc, "emergency_110")
        check(r.get("state") != "ask_safety", f"{user}: still asked: {r}")


test_yes_no_status_and_supplements_in_three_languages.timeout = 120
