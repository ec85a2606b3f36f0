"""The provisional calendar: undeclared years computed from the law, recomputed when declared.

The law: 《全国年节及纪念日放假办法》 as revised in 2024 (from 2025), 13 days a year.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import time_machine

from hotline import callbacks, tasks
from hotline.clocks import firing
from hotline.clocks.calendar import WorkCalendar, add_duration, statutory_holidays
from hotline.clocks.durations import Duration
from hotline.extensions import db
from tests.test_referrals import child_ticket, ract, refer, referral_id

SH = ZoneInfo("Asia/Shanghai")
PHONE = "+8613800000001"   # the default caller in tests/helpers.py


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


# Lunar festivals and 清明, as published (Hong Kong Observatory / Purple Mountain Observatory
# almanacs: 正月初一, 清明, 五月初五, 八月十五); 除夕 is the day before 正月初一.
FESTIVALS = ("春节", "清明", "端午节", "中秋节")
KNOWN = {year: dict(zip(FESTIVALS, map(date.fromisoformat, days), strict=True)) for year, *days in (
    (2025, "2025-01-29", "2025-04-04", "2025-05-31", "2025-10-06"),
    (2026, "2026-02-17", "2026-04-05", "2026-06-19", "2026-09-25"),
    (2027, "2027-02-06", "2027-04-05", "2027-06-09", "2027-09-15"),
    (2028, "2028-01-26", "2028-04-04", "2028-05-28", "2028-10-03"),
    (2029, "2029-02-13", "2029-04-04", "2029-06-16", "2029-09-22"),
    (2030, "2030-02-03", "2030-04-05", "2030-06-05", "2030-09-12"),
)}


@pytest.mark.parametrize("year", sorted(KNOWN))
def test_the_law_gives_13_days_on_the_known_dates(year):
    days = statutory_holidays(year)
    assert sum(len(name.split("、")) for name in days.values()) == 13
    # 2028: 中秋 falls on 3 October, a 国庆 day: the law's days overlap.
    assert len(days) == (12 if year == 2028 else 13)
    known = KNOWN[year]
    new_year = known["春节"]
    assert sorted(d for d, name in days.items() if "春节" in name) == [
        new_year - timedelta(days=1), new_year, new_year + timedelta(days=1), new_year + timedelta(days=2)]
    for festival in ("清明", "端午节", "中秋节"):
        assert [d for d, name in days.items() if festival in name] == [known[festival]]
    assert {d for d, name in days.items() if {"元旦", "劳动节", "国庆节"} & set(name.split("、"))} == {
        date(year, 1, 1), date(year, 5, 1), date(year, 5, 2),
        date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)}


# Every statutory day of 2025 and 2026 the law defines is a holiday in the State Council's
# notices (as carried by chinesecalendar): 国办发明电〔2024〕12号 and 〔2025〕7号.
OFFICIAL = {
    2025: ["2025-01-01", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31", "2025-04-04",
           "2025-05-01", "2025-05-02", "2025-05-31", "2025-10-01", "2025-10-02", "2025-10-03",
           "2025-10-06"],
    2026: ["2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-04-05",
           "2026-05-01", "2026-05-02", "2026-06-19", "2026-09-25", "2026-10-01", "2026-10-02",
           "2026-10-03"],
}


@pytest.mark.parametrize("year", sorted(OFFICIAL))
def test_the_law_agrees_with_the_official_notices(year):
    computed = sorted(day.isoformat() for day in statutory_holidays(year))
    assert computed == OFFICIAL[year]
    for day in statutory_holidays(year):
        assert chinese_calendar.is_holiday(day), day
        assert chinese_calendar.get_holiday_detail(day)[1] is not None, day


def test_a_provisional_year_rests_on_the_law_days_only():
    calendar = WorkCalendar()
    assert not calendar.knows(2027)
    assert not calendar.is_workday(date(2027, 2, 5))          # 除夕, a Friday
    assert not calendar.is_workday(date(2027, 2, 8))          # 正月初三, a Monday
    assert calendar.is_workday(date(2027, 2, 9))              # no bridge days are guessed
    assert not calendar.is_workday(date(2027, 6, 9))          # 端午, a Wednesday
    # Thu 4 Feb 2027 + 1wd: 除夕 and 春节 through Monday -> Tuesday 9 February.
    assert add_duration(sh(2027, 2, 4, 10, 0), Duration(1, "wd"), calendar) == sh(2027, 2, 9, 10, 0)


# --- through the API: the whole way with no 503 ---------------------------------------------

def _whole_way(app, api, when: datetime) -> dict:
    with time_machine.travel(when, tick=False):
        created = api.create(category="complaint")
        tid = created["id"]
        api.act(tid, "submit", "seat1")
        dispatched = api.act(tid, "dispatch", "dispatcher1", {"unit": "gulou"})
        api.act(tid, "acknowledge", "handler-gulou")
        api.act(tid, "reply", "handler-gulou", {"result": "已处理", "resolved": True})
        approved = api.act(tid, "approve_reply", "dispatcher1", {"note": "同意"})
        assert approved["state"] == "callback_pending"
        with app.app_context():
            assert tasks.callback_survey(tid, 0, 1) is True
        with app.app_context():
            ticket = callbacks.record_answer(PHONE, "3 未解决")    # back to the unit
            db.session.commit()
            assert ticket.id == tid
        back = api.ticket(tid)
        assert back["state"] == "in_progress"
        again = api.act(tid, "reply", "handler-gulou", {"result": "已再次处理", "resolved": True})
        api.act(tid, "approve_reply", "dispatcher1", {"note": "同意"})
        closed = api.act(tid, "record_callback", "seat1",
                         {"reached": True, "resolved": True, "satisfied": True, "note": "满意"})
        assert closed["state"] == "closed"
        return {"dispatched": dispatched, "back": back, "again": again}


def test_december_2026_runs_the_whole_way_with_provisional_clocks(app, api):
    seen = _whole_way(app, api, sh(2026, 12, 20, 10, 0))
    handle = api.running_timer(seen["dispatched"], "handle")
    assert handle["provisional"] is True                       # 15wd from 20 Dec reaches 2027
    assert api.running_timer(seen["back"], "handle")["provisional"] is True
    assert {t["kind"]: t["provisional"] for t in seen["again"]["timers"] if t["kind"] == "review"} \
        == {"review": False}                                  # 1wd from 20 Dec stays in 2026


def test_june_2027_with_neither_2027_nor_2028_declared(app, api):
    seen = _whole_way(app, api, sh(2027, 6, 1, 10, 0))
    assert all(t["provisional"] for t in seen["dispatched"]["timers"]
               if t["kind"] in ("acknowledge", "respond", "handle"))
    # 端午 (Wed 9 June 2027) is not counted: 15wd from Tue 1 June ends Wed 23 June.
    due = datetime.fromisoformat(api.running_timer(seen["dispatched"], "handle")["due_at"])
    assert due == sh(2027, 6, 23, 10, 0)


def test_declaring_2027_with_a_make_up_day_moves_the_clock_once(app, api):
    with time_machine.travel(sh(2026, 12, 21, 10, 0), tick=False):
        ticket = api.dispatched(category="complaint")
        tid = ticket["id"]
        handle = api.running_timer(ticket, "handle")
        # 22-25, 28-31 Dec, (元旦), 4-8 and 11, 12 Jan: the 15th working day is Tue 12 Jan.
        assert datetime.fromisoformat(handle["due_at"]) == sh(2027, 1, 12, 10, 0)
        assert handle["provisional"] is True
        admin = api.headers("admin")
        assert api.client.put("/api/v1/calendar/days/2027-01-09",
                              json={"is_workday": True, "note": "调休上班"}, headers=admin).status_code == 200
        declared = api.client.post("/api/v1/calendar/years/2027", json={"note": "国办发明电"}, headers=admin)
        assert declared.status_code == 200 and declared.json["recomputed"] == 1
        seen = api.ticket(tid)
        handle = api.running_timer(seen, "handle")
        assert datetime.fromisoformat(handle["due_at"]) == sh(2027, 1, 11, 10, 0)
        assert handle["provisional"] is False
        recomputed = [e for e in api.events(tid) if e["action"] == "timer_recomputed"]
        assert [e["data"]["timer"] for e in recomputed] == ["handle"]
        assert datetime.fromisoformat(recomputed[0]["data"]["old_due"]) == sh(2027, 1, 12, 10, 0)
        assert datetime.fromisoformat(recomputed[0]["data"]["new_due"]) == sh(2027, 1, 11, 10, 0)
        # Declaring again changes nothing and records nothing.
        again = api.client.post("/api/v1/calendar/years/2027", json={}, headers=admin)
        assert again.json["recomputed"] == 0
        assert len([e for e in api.events(tid) if e["action"] == "timer_recomputed"]) == 1


def sweep(app) -> dict:
    with app.app_context():
        result = firing.sweep()
        db.session.commit()
        return result


def test_overdue_only_provisionally_runs_again_after_the_declaration(app, api):
    # Thu 4 Feb 2027: acknowledge (1wd) ends Tue 9 Feb by the law alone.
    with time_machine.travel(sh(2027, 2, 4, 10, 0), tick=False):
        tid = api.dispatched()["id"]
    api.forget_tokens()
    with time_machine.travel(sh(2027, 2, 9, 10, 30), tick=False):
        sweep(app)
        assert [t["state"] for t in api.ticket(tid)["timers"] if t["kind"] == "acknowledge"] == ["overdue"]
        # The notice comes: 9-12 February are rest days too.
        admin = api.headers("admin")
        for day in ("2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12"):
            api.client.put(f"/api/v1/calendar/days/{day}", json={"is_workday": False, "note": "春节"},
                           headers=admin)
        api.client.post("/api/v1/calendar/years/2027", json={}, headers=admin)
        acknowledge = api.running_timer(api.ticket(tid), "acknowledge")
        assert acknowledge["state"] == "running"
        assert datetime.fromisoformat(acknowledge["due_at"]) == sh(2027, 2, 15, 10, 0)
        assert sweep(app) == {"warning": 0, "overdue": 0}
    api.forget_tokens()
    with time_machine.travel(sh(2027, 2, 15, 10, 1), tick=False):
        assert sweep(app)["overdue"] >= 1
        states = [t["state"] for t in api.ticket(tid)["timers"] if t["kind"] == "acknowledge"]
        assert states == ["overdue"]
        fired = [e for e in api.events(tid) if e["action"] == "timer_overdue"
                 and e["data"]["timer"] == "acknowledge"]
        assert len(fired) == 2                                 # the provisional one and the real one


def test_an_extension_stays_on_top_of_the_recomputed_due(api):
    with time_machine.travel(sh(2026, 12, 28, 10, 0), tick=False):
        tid = api.in_progress(desk="children", category="psych_support")["id"]
        api.act(tid, "request_extension", "handler-gulou", {"days": 3, "reason": "需要家访"})
        extended = api.act(tid, "approve_extension", "dispatcher1", {"note": "同意"})
        handle = api.running_timer(extended, "handle")
        # 5wd: 29, 30, 31 Dec, (元旦), 4, 5 Jan; +3wd -> Fri 8 Jan.
        assert datetime.fromisoformat(handle["original_due_at"]) == sh(2027, 1, 5, 10, 0)
        assert datetime.fromisoformat(handle["due_at"]) == sh(2027, 1, 8, 10, 0)
        admin = api.headers("admin")
        api.client.put("/api/v1/calendar/days/2027-01-04", json={"is_workday": False}, headers=admin)
        api.client.post("/api/v1/calendar/years/2027", json={}, headers=admin)
        handle = api.running_timer(api.ticket(tid), "handle")
        # 29, 30, 31 Dec, 5, 6 Jan -> Wed 6 Jan; the 3 extension days on top -> Mon 11 Jan.
        assert datetime.fromisoformat(handle["original_due_at"]) == sh(2027, 1, 6, 10, 0)
        assert datetime.fromisoformat(handle["due_at"]) == sh(2027, 1, 11, 10, 0)
        event = [e for e in api.events(tid) if e["action"] == "timer_recomputed"][-1]
        assert (event["data"]["timer"], event["data"]["cause"]) == ("handle", "calendar_declared")


def test_a_referrals_outcome_clock_is_recomputed_too(api):
    with time_machine.travel(sh(2026, 12, 24, 10, 0), tick=False):
        tid = child_ticket(api)["id"]
        rid = referral_id(refer(api, tid), "xz-xinli")
        ract(api, rid, "accept", "partner-xz-xinli")
        ract(api, rid, "first_contact", "partner-xz-xinli", {"note": "已联系母亲"})
        outcome = [t for t in api.get(f"/api/v1/referrals/{rid}", "partner-xz-xinli").json["timers"]
                   if t["kind"] == "outcome"][0]
        # 10wd: 25, 28-31 Dec, (元旦), 4-8 Jan -> Fri 8 Jan, provisional.
        assert (datetime.fromisoformat(outcome["due_at"]), outcome["provisional"]) == (
            sh(2027, 1, 8, 10, 0), True)
        admin = api.headers("admin")
        api.client.put("/api/v1/calendar/days/2027-01-08", json={"is_workday": False}, headers=admin)
        api.client.post("/api/v1/calendar/years/2027", json={}, headers=admin)
        outcome = [t for t in api.get(f"/api/v1/referrals/{rid}", "partner-xz-xinli").json["timers"]
                   if t["kind"] == "outcome"][0]
        assert (datetime.fromisoformat(outcome["due_at"]), outcome["provisional"]) == (
            sh(2027, 1, 11, 10, 0), False)
        event = [e for e in api.events(tid) if e["action"] == "timer_recomputed"][-1]
        assert (event["data"]["timer"], event["data"]["referral"]) == ("outcome", rid)
