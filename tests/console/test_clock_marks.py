"""The console's clocks: provisional ones are marked, midnight reads as 24:00 of the day before."""

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

SH = ZoneInfo("Asia/Shanghai")


def test_a_provisional_clock_is_marked_and_the_mark_goes_on_declaration(browser, api):
    with time_machine.travel(datetime(2026, 12, 21, 10, 0, tzinfo=SH), tick=False):
        ticket = api.dispatched(category="complaint")        # handle 15wd reaches 2027
        supervisor = browser("supervisor1")
        page = supervisor.html(f"/console/tickets/{ticket['id']}")
        assert page.count("（暂定）") == 1                   # the handle clock only
        assert "按法定节假日暂定计算" in page                   # the title says why
        admin = api.headers("admin")
        api.client.put("/api/v1/calendar/days/2027-01-09", json={"is_workday": True}, headers=admin)
        api.client.post("/api/v1/calendar/years/2027", json={}, headers=admin)
        page = supervisor.html(f"/console/tickets/{ticket['id']}")
        assert "（暂定）" not in page
        assert "时限重算" in page and "2027-01-12 10:00 → 2027-01-11 10:00" in page
        assert "按正式放假安排" in page


def test_a_deadline_at_midnight_reads_as_24_00_of_the_day_before(browser, api):
    # Dispatched on Saturday 28 November: acknowledge (1wd) counts from Monday 00:00 and ends
    # when Monday ends, i.e. Tuesday 00:00.
    with time_machine.travel(datetime(2026, 11, 28, 10, 0, tzinfo=SH), tick=False):
        ticket = api.dispatched()
        page = browser("supervisor1").html(f"/console/tickets/{ticket['id']}")
    assert "2026-11-30 24:00" in page
    assert "2026-12-01 00:00" not in page
