"""KPIs from rollups (issue 24, item 1): the per-(day, unit, desk) counts folded from the events
give exactly the figures of the reference SQL (`kpis.collect_tallies`), for every day, unit and
desk, also for facts that changed after the last fold; rebuilding them is idempotent."""

from collections import Counter
from datetime import date, datetime

import time_machine

from hotline import kpi_rollups, kpis
from hotline.cli import kpis_group
from hotline.extensions import db
from hotline.knowledge import service as knowledge
from hotline.users import User
from tests.console.test_kpis import EXPECTED, SHANGHAI, at, week  # noqa: F401  (the fixture)
from tests.test_knowledge import answered_twice_with_an_article_once_without

START, END = date(2026, 11, 20), date(2026, 11, 27)
SCOPES = [(None, None), ("gulou", None), ("yunlong", None), ("xz", None), (None, "general"),
          (None, "children"), ("gulou", "children")]
PERIODS = [(START, END), (date(2026, 11, 23), date(2026, 11, 23)), (date(2026, 11, 24), date(2026, 11, 26)),
           (date(2026, 11, 25), date(2026, 11, 26))]


def reference(start, end, unit, desk, now) -> kpis.Report:
    return kpis.compute(start, end, unit=unit, desk=desk, now=now, with_units=True,
                        source=kpis.collect_tallies)


def as_numbers(report: kpis.Report) -> tuple:
    return ([(k.key, k.numerator, k.denominator) for k in report.kpis], report.series,
            {code: [(k.key, k.numerator, k.denominator) for k in values]
             for code, values in report.by_unit.items()})


def assert_same_as_reference(app):
    now = kpis.utcnow()
    with app.app_context():
        for start, end in PERIODS:
            for unit, desk in SCOPES:
                rolled = kpis.compute(start, end, unit=unit, desk=desk, now=now, with_units=True)
                assert as_numbers(rolled) == as_numbers(reference(start, end, unit, desk, now)), (
                    start, end, unit, desk)


def rows(app) -> Counter:
    with app.app_context():
        return Counter((r.kpi, r.day, r.unit, r.desk, r.hits, r.total)
                       for r in db.session.scalars(db.select(kpi_rollups.KpiRollup)))


def children_ticket(api):
    """A children's-desk ticket dispatched to yunlong on Tuesday, replied on Wednesday."""
    with at(api, 24, 9, 0):
        ticket = api.create(desk="children")
        api.act(ticket["id"], "submit", "seat1")
        api.act(ticket["id"], "dispatch", "dispatcher1", {"unit": "yunlong"})
    with at(api, 25, 9, 0):
        api.act(ticket["id"], "acknowledge", "handler-yunlong", {})
        api.act(ticket["id"], "reply", "handler-yunlong", {"result": "已处理", "resolved": True})
    return ticket


def acknowledged_thursday(api):
    """Dispatched and acknowledged on Thursday morning, the caller never contacted: its respond
    clock falls due on Friday with no event on the ticket."""
    with at(api, 26, 9, 0):
        ticket = api.create()
        api.act(ticket["id"], "submit", "seat1")
        api.act(ticket["id"], "dispatch", "dispatcher1", {"unit": "gulou"})
    with at(api, 26, 9, 30):
        api.act(ticket["id"], "acknowledge", "handler-gulou", {})


def test_rollups_give_the_reference_figures_for_every_day_unit_and_desk(app, api, week):  # noqa: F811
    children_ticket(api)
    acknowledged_thursday(api)
    with time_machine.travel(datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI), tick=False):
        with app.app_context():
            assert kpi_rollups.rebuild() > 0
            db.session.commit()
            assert [(k.key, k.numerator, k.denominator) for k in kpis.compute(
                date(2026, 11, 23), date(2026, 11, 25), desk="general").kpis] == [
                (key, *EXPECTED[key]) for key in kpis.KPI_KEYS]
        assert_same_as_reference(app)

    # Later, without a fold: T4 (dispatched Monday) is replied, T2 reopened on the callback's
    # news; Monday's and Wednesday's facts change and still count exactly.
    with at(api, 27, 11, 0):
        api.act(week["t4"]["id"], "reply", "handler-gulou", {"result": "已处理", "resolved": True})
    with time_machine.travel(datetime(2026, 11, 28, 12, 0, tzinfo=SHANGHAI), tick=False):
        assert_same_as_reference(app)           # clocks fell due since: live, not stale
        with app.app_context():
            kpi_rollups.fold()
            db.session.commit()
        assert_same_as_reference(app)


def test_the_rebuild_is_idempotent_and_the_fold_agrees_with_it(app, api, week):  # noqa: F811
    children_ticket(api)
    with time_machine.travel(datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI), tick=False):
        with app.app_context():
            kpi_rollups.rebuild()
            db.session.commit()
        first = rows(app)
        with app.app_context():
            kpi_rollups.rebuild()
            kpi_rollups.fold()
            kpi_rollups.fold()
            db.session.commit()
        assert rows(app) == first and sum(first.values()) > 0


def test_the_cli_rebuilds_the_rollups(app, api, week):  # noqa: F811
    with time_machine.travel(datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI), tick=False):
        result = app.test_cli_runner().invoke(kpis_group, ["rebuild"])
        assert result.exit_code == 0, result.output
        assert "天" in result.output
    assert rows(app)


def rebuilt_at(app, day: int, hour: int) -> None:
    with time_machine.travel(datetime(2026, 11, day, hour, tzinfo=SHANGHAI), tick=False), app.app_context():
        kpi_rollups.rebuild()
        db.session.commit()


def t4_replied_at(api, week, day: int, hour: int, minute: int) -> None:  # noqa: F811
    with at(api, day, hour, minute):
        api.act(week["t4"]["id"], "reply", "handler-gulou", {"result": "已处理", "resolved": True})


def folded_then_t4_replied(api, week):  # noqa: F811
    """Rollups rebuilt on Thursday 10:00, then T4 replied at 10:30 (changed since the fold)."""
    children_ticket(api)
    rebuilt_at(api.app, 26, 10)
    t4_replied_at(api, week, 26, 10, 30)


def test_a_read_after_a_fold_recounts_only_the_tickets_touched_since(app, api, week, monkeypatch):  # noqa: F811
    """A busy centre's day is tens of thousands of tickets: what was folded is read from the
    rollups, today included, and only the tickets with an event (or a clock falling due) since
    the fold are counted again, each ticket's folded facts swapped for its live ones."""
    folded_then_t4_replied(api, week)
    asked = []
    counted = kpis.collect_tallies

    def spy(start, end, now, tickets=None):
        asked.append(None if tickets is None else set(tickets))
        return counted(start, end, now, tickets)

    with time_machine.travel(datetime(2026, 11, 26, 10, 31, tzinfo=SHANGHAI), tick=False):
        assert_same_as_reference(app)
        monkeypatch.setattr(kpis, "collect_tallies", spy)
        with app.app_context():
            kpi_rollups.sums(START, END, kpis.utcnow(), kpis.Selection(kpis.KPI_KEYS))
    assert asked and None not in asked, asked
    assert all(ids == {week["t4"]["id"]} for ids in asked), asked


def recounted_by_a_read(app, monkeypatch, now: datetime) -> list:
    """The ticket sets a read of the week's KPIs at `now` counted live (after checking that its
    figures are the reference's)."""
    asked: list = []
    counted = kpis.collect_tallies

    def spy(start, end, now, tickets=None):
        asked.append(None if tickets is None else set(tickets))
        return counted(start, end, now, tickets)

    with time_machine.travel(now, tick=False):
        assert_same_as_reference(app)
        monkeypatch.setattr(kpis, "collect_tallies", spy)
        with app.app_context():
            kpi_rollups.sums(START, END, kpis.utcnow(), kpis.Selection(kpis.KPI_KEYS))
        monkeypatch.setattr(kpis, "collect_tallies", counted)
    return asked


def test_a_read_does_not_recount_what_the_fold_already_counted(app, api, week, monkeypatch):  # noqa: F811
    """Events are looked for minutes before the fold (a transaction may commit late), but a
    ticket whose last event the fold counted is not counted again: at 100,000 tickets a day
    those minutes are ~1,500 tickets on every opening of the KPI page."""
    children_ticket(api)
    t4_replied_at(api, week, 26, 9, 58)
    rebuilt_at(app, 26, 10)
    assert recounted_by_a_read(app, monkeypatch, datetime(2026, 11, 26, 10, 1, tzinfo=SHANGHAI)) == []


def test_an_event_committed_after_the_fold_with_an_earlier_time_is_counted(app, api, week, monkeypatch):  # noqa: F811
    """An action's events carry the time it began; one that commits after a fold began is
    counted by the next read and fold, though its time is before the fold's."""
    children_ticket(api)
    rebuilt_at(app, 26, 10)
    t4_replied_at(api, week, 26, 9, 59)
    after = datetime(2026, 11, 26, 10, 1, tzinfo=SHANGHAI)
    assert recounted_by_a_read(app, monkeypatch, after) == [{week["t4"]["id"]}]
    with time_machine.travel(after, tick=False), app.app_context():
        assert kpi_rollups.fold() == 1
        db.session.commit()
    assert recounted_by_a_read(app, monkeypatch, after) == []


def test_a_rebuild_since_a_day_gives_the_rows_of_a_whole_rebuild(app, api, week):  # noqa: F811
    """After a fix to one week's counting an operator recounts that week, not ten years: the
    days from `--since` are recounted (the others brought up to date by a fold first), and the
    rows are those of a whole rebuild."""
    children_ticket(api)
    rebuilt_at(app, 25, 16)
    t4_replied_at(api, week, 26, 9, 0)
    with time_machine.travel(datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI), tick=False):
        result = app.test_cli_runner().invoke(kpis_group, ["rebuild", "--since", "2026-11-25"])
        assert result.exit_code == 0, result.output
        assert "已重算 3 天" in result.output
        partly = rows(app)
        with app.app_context():
            kpi_rollups.rebuild()
            db.session.commit()
        assert rows(app) == partly and sum(partly.values()) > 0
        assert_same_as_reference(app)


def test_the_kpi_page_recounts_the_changed_tickets_once(app, api, week, browser, monkeypatch):  # noqa: F811
    """The KPI page shows the KPIs and, to editors, the knowledge figures: both of one moment,
    the tickets changed since the fold counted live once for the two (each recount is ~100 ms
    at 100,000 tickets a day)."""
    folded_then_t4_replied(api, week)
    supervisor = browser("supervisor1")
    asked = []
    counted = kpis.collect_tallies

    def spy(start, end, now, tickets=None, by_ticket=False):
        asked.append(None if tickets is None else set(tickets))
        return counted(start, end, now, tickets, by_ticket)

    with time_machine.travel(datetime(2026, 11, 26, 10, 31, tzinfo=SHANGHAI), tick=False):
        monkeypatch.setattr(kpis, "collect_tallies", spy)
        page = supervisor.html("/console/kpis?from=2026-11-20&to=2026-11-26")
    assert "派单及时率" in page and "引用知识条目的直接答复率" in page
    assert asked == [{week["t4"]["id"]}]


def test_the_kpi_pages_knowledge_figures_come_from_the_rollups(app, api, statements):
    """The KPI page shows editors the direct answers by article for its period: from the
    rollups too (at 90,000 tickets counting them was most of the page), the same figures."""
    with at(api, 23, 10, 0):
        answered_twice_with_an_article_once_without(api)
    since = datetime(2026, 11, 20, tzinfo=SHANGHAI)
    with time_machine.travel(datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI), tick=False), app.app_context():
        editor = db.session.scalar(db.select(User).where(User.username == "supervisor1"))
        counted = knowledge.figures(editor, since=since)
        kpi_rollups.rebuild()
        db.session.commit()
        statements.clear()
        rolled = knowledge.figures(editor, since=since)
    assert rolled == counted
    assert rolled["answers"] == 3 and rolled["by_article"][0]["answers"] == 2
    assert rolled["direct_rate"] == 1.0
    counting = [s for s in statements
                if ("GROUP BY" in s and "ticket_events" in s) or "resolution IS NOT NULL" in s]
    assert not counting, counting


def test_the_database_adds_the_rollups_up_for_the_view(app, api, week, statements):  # noqa: F811
    """At 30,000 tickets a day a province's month is ~36,000 rollup rows (day, unit, desk): the
    database adds them up per (kpi, day) and per (kpi, unit) and returns only those, and a
    read recounts the tickets changed since the fold in one statement, not one per KPI."""
    folded_then_t4_replied(api, week)
    with time_machine.travel(datetime(2026, 11, 26, 10, 31, tzinfo=SHANGHAI), tick=False), app.app_context():
        statements.clear()
        kpis.compute(START, END, with_units=True, now=kpis.utcnow())
    read = [s for s in statements if "FROM kpi_rollups" in s]
    assert read and all("GROUP BY" in s for s in read), read
    assert len([s for s in statements if "FROM ticket_events" in s or "FROM timers" in s]) == 2, statements


def test_a_fold_after_a_storm_of_changed_tickets_counts_them_all(app, api, week):  # noqa: F811
    """After a clock storm tens of thousands of tickets changed since the mark: the fold counts
    them all (not "too many SQL variables" on every minute's sweep, which would stop the
    rollups and the KPI page moving)."""
    with time_machine.travel(datetime(2026, 11, 26, 10, 31, tzinfo=SHANGHAI), tick=False), app.app_context():
        kpi_rollups.rebuild()
        ticket = week["t4"]["id"]
        storm = {ticket, *range(10_000_000, 10_000_000 + 40_000)}   # ids with no ticket count nothing
        live, delta = kpi_rollups._difference(storm, kpis.utcnow())
        alone, same = kpi_rollups._difference({ticket}, kpis.utcnow())
    assert live == alone and delta == same
    assert {key[0] for key in live} == {ticket}
