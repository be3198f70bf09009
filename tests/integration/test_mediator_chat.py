"""A mediator's commands in chat without the full case number (docs/contract.md 7.2): the daily
sequence, the number in the last list, no reference at all (the only open case, or a question
whose numbered answer completes the command) and natural words, in zh-CN, zh-TW and English,
against a real daemon, a real mosquitto and the real SQLite file. The MQTT side of the same
commands is tests/integration/test_lifecycle.py's."""
import lib
from lib import PREFIX, Broker, Daemon, Sub, check, event_topic, short, submit

REPORTS = ["邻居在楼道堆放杂物，多次沟通无果，枫源村第一网格",
           "邻居装修噪音很大，多次沟通无果，枫源村第一网格",
           "楼上漏水到我家，多次沟通无果，枫源村第一网格"]


def say(d, text, locale=None, user="m-wang"):
    kw = {"locale": locale} if locale else {}
    r = d.chat(user, text, **kw)
    check(r.status == 200, f"{text}: {r.status} {r.json}")
    return r.reply_text()


def events(d, case, type_):
    c = d.case(case)
    check(c is not None, f"case {case} not found")
    return [e for e in c.get("events") or [] if isinstance(e, dict) and e.get("type") == type_]


def open_cases(d, n, tag):
    cases = []
    for i in range(n):
        c, _ = submit(d, f"u-{tag}-{i}", REPORTS[i])
        cases.append(c)
    return cases


def test_sequence_and_list_index_zh_cn():
    b = Broker()
    d = Daemon(broker=b)
    sub = Sub(b, f"{PREFIX}/events/cases/#")
    c1, c2, c3 = open_cases(d, 3, "seq")
    # 进展 0001: the sequence alone (accepted first with the full number)
    say(d, f"接单 {c1}")
    got = say(d, f"进展 {c1[-4:]} 已电话联系双方")
    check(c1 in got, f"进展 {c1[-4:]}: {got}")
    ev = events(d, c1, "progress")
    check(len(ev) == 1 and ev[0].get("note") == "已电话联系双方", f"progress of {c1}: {ev}")
    # 列表 numbers the open cases newest first; 接单 2 takes the second
    got = say(d, "列表")
    check(got.index(c3) < got.index(c2) < got.index(c1) and "\n2. " in got, f"列表: {got}")
    got = say(d, "接单 2")
    check(c2 in got and c3 not in got, f"接单 2: {got}")
    check(len(events(d, c2, "accepted")) == 1 and not events(d, c3, "accepted"),
          f"接单 2 accepted the wrong case: {d.case(c2)}")
    # the event is on the bus like any other
    check(sub.wait(event_topic(c2), lambda m: isinstance(m.payload, dict)
                   and m.payload.get("type") == "accepted", timeout=10),
          f"no accepted event of {c2}: " + short([m.raw for m in sub.messages()]))
    # the list is durable: still there after a restart
    d.stop()
    d.start()
    got = say(d, "接单 1")
    check(c3 in got and len(events(d, c3, "accepted")) == 1, f"接单 1 after a restart: {got}")


def test_bare_command_one_then_two_open_cases_zh_tw():
    d = Daemon()
    (c1,) = open_cases(d, 1, "tw")
    # 收到 with one open case accepts it, answered in zh-TW naming the case
    got = say(d, "收到", "zh-TW")
    check(c1 in got, f"收到: {got}")
    check(len(events(d, c1, "accepted")) == 1, f"收到 did not accept {c1}")
    (c2,) = [submit(d, "u-tw-2", REPORTS[1])[0]]
    # two open cases: a bare command asks which, listing both, and changes nothing
    got = say(d, "進展 已約雙方週五面談", "zh-TW")
    check(c1 in got and c2 in got and "1. " in got and "2. " in got, f"進展 without a case: {got}")
    check(not events(d, c1, "progress"), f"a question wrote an event: {d.case(c1)}")
    # the number answers it: 2 is the older case
    got = say(d, "2", "zh-TW")
    check(c1 in got, f"answer 2: {got}")
    ev = events(d, c1, "progress")
    check(len(ev) == 1 and ev[0].get("note") == "已約雙方週五面談", f"progress of {c1}: {ev}")
    # the question was answered once: the same number again is no command
    say(d, "2", "zh-TW")
    check(len(events(d, c1, "progress")) == 1, f"a second answer applied again: {d.case(c1)}")


def test_natural_words_and_a_question_in_english():
    d = Daemon()
    c1, c2 = open_cases(d, 2, "en")
    got = say(d, "got it", "en")
    check(c1 in got and c2 in got and "Which" in got, f"got it with two cases: {got}")
    got = say(d, "1", "en")            # newest first: c2
    check(c2 in got and len(events(d, c2, "accepted")) == 1, f"answer 1: {got}")
    got = say(d, f"on it {c1[-4:]}", "en")
    check(c1 in got and len(events(d, c1, "accepted")) == 1, f"on it {c1[-4:]}: {got}")
    got = say(d, "list", "en")
    got = say(d, "working on it 2 called both parties", "en")
    check(c1 in got, f"working on it 2: {got}")
    ev = events(d, c1, "progress")
    check(len(ev) == 1 and ev[0].get("note") == "called both parties", f"progress of {c1}: {ev}")
    # zh-CN natural words for resolve, on the only case still open after c2 is resolved
    say(d, f"调结 {c2} 双方和解")
    got = say(d, "已经解决了 双方签了协议")
    check(c1 in got and len(events(d, c1, "resolved")) == 1, f"已经解决了: {got}")
