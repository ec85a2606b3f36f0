# ruff: noqa: E501 (one request and its expected answer per line)
"""Administration through the API: users, the unit tree, bulk import and export (issue 20)."""

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import update

from hotline import create_app
from hotline.accounts_cli import users_group
from hotline.extensions import db
from hotline.security import InsecureConfiguration, check_demo_passwords
from hotline.users import User
from tests.admin_org import org  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("org")
GOOD = "Lantern-Harbour-42"


def token(client, username, password=GOOD):
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def new_user(api, as_user="admin", expect=201, **fields):
    body = {"username": "wang.fang", "display_name": "王芳", "role": "handler", "unit": "gulou",
            "password": GOOD, **fields}
    return api.post("/api/v1/users", as_user, body, expect=expect)


def sheet(columns: str, *rows: tuple[str, ...]) -> list[dict]:
    """The rows of an import file, written as the sheet looks: the column names, then each row."""
    return [dict(zip(columns.split(), row, strict=True)) for row in rows]


def upload(client, headers, kind, rows, dry_run, fmt="xlsx", columns=None):
    columns = columns or list(rows[0])
    if fmt == "xlsx":
        book = Workbook()
        book.active.append(columns)
        for row in rows:
            book.active.append([row.get(c, "") for c in columns])
        data = io.BytesIO()
        book.save(data)
    else:
        text = io.StringIO()
        writer = csv.DictWriter(text, columns)
        writer.writeheader()
        writer.writerows(rows)
        data = io.BytesIO(text.getvalue().encode())
    data.seek(0)
    return client.post("/api/v1/admin/import", headers=headers, content_type="multipart/form-data",
                       data={"kind": kind, "dry_run": "true" if dry_run else "false",
                             "file": (data, f"{kind}.{fmt}")})


def test_an_admin_creates_a_user_who_must_change_the_password_before_anything_else(api, client):
    created = new_user(api).json
    assert created == {"username": "wang.fang", "display_name": "王芳", "role": "handler", "unit": "gulou",
                       "desks": [], "phone": "", "active": True, "must_change_password": True}
    headers = token(client, "wang.fang")
    refused = client.get("/api/v1/tickets", headers=headers)
    assert refused.status_code == 403 and refused.json["error"] == "auth.password_change_required"
    changed = client.post("/api/v1/auth/password", headers=headers, json={"old": GOOD, "new": "Quiet-River-77"})
    assert changed.status_code == 204
    assert client.get("/api/v1/tickets", headers=token(client, "wang.fang", "Quiet-River-77")).status_code == 200
    found = api.get("/api/v1/users?q=王芳", "admin").json
    assert [u["username"] for u in found] == ["wang.fang"] and not found[0]["must_change_password"]


def test_a_bad_user_is_refused_with_each_field_named(api):
    assert "role" in new_user(api, expect=422, role="wizard").json["errors"]
    response = new_user(api, expect=422, username="x", unit="nowhere", desks=["kitchen"])
    assert set(response.json["errors"]) == {"username", "unit", "desks"}
    assert new_user(api, expect=422, role="handler", unit=None).json["errors"]["unit"]
    new_user(api)
    assert "username" in new_user(api, expect=422).json["errors"]


def test_reset_ends_the_sessions_and_forces_a_new_password(api, client):
    new_user(api)
    headers = token(client, "wang.fang")
    client.post("/api/v1/auth/password", headers=headers, json={"old": GOOD, "new": "Quiet-River-77"})
    headers = token(client, "wang.fang", "Quiet-River-77")
    api.post("/api/v1/users/wang.fang/password", "admin", {"password": "Morning-Tea-2026"}, expect=204)
    assert client.get("/api/v1/tickets", headers=headers).status_code == 401
    fresh = token(client, "wang.fang", "Morning-Tea-2026")
    assert client.get("/api/v1/tickets", headers=fresh).json["error"] == "auth.password_change_required"
    weak = api.post("/api/v1/users/wang.fang/password", "admin", {"password": "123"}, expect=422)
    assert "password" in weak.json["errors"]


def test_deactivate_and_reactivate(api, client):
    new_user(api)
    headers = token(client, "wang.fang")
    patched = client.patch("/api/v1/users/wang.fang", headers=api.headers("admin"), json={"active": False})
    assert patched.status_code == 200 and patched.json["active"] is False
    assert client.get("/api/v1/auth/token").status_code == 405
    assert client.post("/api/v1/auth/password", headers=headers, json={"old": GOOD, "new": "x"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "wang.fang", "password": GOOD}).status_code == 401
    client.patch("/api/v1/users/wang.fang", headers=api.headers("admin"), json={"active": True})
    token(client, "wang.fang")


def test_supervisors_read_and_others_may_not(api, client):
    new_user(api)
    assert "wang.fang" in [u["username"] for u in api.get("/api/v1/users", "supervisor1").json]
    new_user(api, as_user="supervisor1", expect=403, username="li.lei")
    assert api.get("/api/v1/users", "seat1", expect=403).json["code"] == 403
    assert api.get("/api/v1/users", "handler-gulou", expect=403)


def test_import_users_dry_run_lists_every_problem_and_writes_nothing(api, client):
    rows = sheet("username display_name role unit desks phone",
                 ("zhao.yi", "赵一", "handler", "gulou", "", "139 1234 5678"),
                 ("qian.er", "", "handler", "gulou", "", ""),
                 ("sun.san", "孙三", "chef", "atlantis", "", ""),
                 ("zhao.yi", "赵一", "seat", "", "general", ""))
    headers = api.headers("admin")
    result = upload(client, headers, "users", rows, dry_run=False).json
    assert (result["ok"], result["written"], result["problems"]) == (False, False, 3)
    by_row = {row["row"]: row["errors"] for row in result["rows"]}
    assert by_row[2] == {}
    assert list(by_row[3]) == ["display_name"]
    assert set(by_row[4]) == {"role", "unit"}
    assert list(by_row[5]) == ["username"]
    assert api.get("/api/v1/users?q=zhao", "admin").json == []

    fixed = [dict(rows[0]), {**rows[1], "display_name": "钱二"}]
    dry = upload(client, headers, "users", fixed, dry_run=True, fmt="csv").json
    assert (dry["ok"], dry["written"], dry["created"]) == (True, False, 2)
    assert api.get("/api/v1/users?q=zhao", "admin").json == []
    done = upload(client, headers, "users", fixed, dry_run=False, fmt="csv").json
    assert (done["ok"], done["written"], done["created"]) == (True, True, 2)
    zhao = api.get("/api/v1/users?q=zhao", "admin").json[0]
    assert zhao["phone"] == "+8613912345678" and zhao["must_change_password"]


def test_export_is_the_import_format(api, client):
    new_user(api, phone="13912345678")
    exported = client.get("/api/v1/admin/export?kind=users&format=xlsx", headers=api.headers("admin"))
    sheet = load_workbook(io.BytesIO(exported.data)).active
    table = [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert table[0] == ["username", "display_name", "role", "unit", "desks", "phone", "active"]
    assert ["wang.fang", "王芳", "handler", "gulou", "", "+8613912345678", "yes"] in table
    edited = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    for row in edited:
        if row["username"] == "wang.fang":
            row["display_name"] = "王芳芳"
    again = upload(client, api.headers("admin"), "users", edited, dry_run=False).json
    assert again["ok"] and again["created"] == 0
    assert api.get("/api/v1/users?q=wang.fang", "admin").json[0]["display_name"] == "王芳芳"


def test_import_a_unit_tree_children_before_parents(api, client):
    rows = sheet("code name kind parent contact_name contact_phone",
                 ("xq-town", "新区街道", "town", "xq", "", ""),
                 ("xq", "新区", "county", "xz", "刘主任", "0516-1234567"),
                 ("bad code", "", "planet", "nowhere", "", ""))
    headers = api.headers("admin")
    refused = upload(client, headers, "units", rows, dry_run=True).json
    assert not refused["ok"] and {row["row"] for row in refused["rows"] if row["errors"]} == {4}
    assert set(refused["rows"][2]["errors"]) == {"code", "name", "kind", "parent"}
    done = upload(client, headers, "units", rows[:2], dry_run=False).json
    assert done["written"] and done["created"] == 2
    units = {u["code"]: u for u in api.get("/api/v1/units", "admin").json}
    assert units["xq-town"]["parent"] == "xq" and units["xq"]["parent"] == "xz"


def test_moving_a_unit_moves_who_sees_its_tickets_open_and_closed(api, client):
    """鼓楼区教育局 moves to 云龙区 with its sub-unit: 云龙区's handler now sees their tickets
    (open and closed), 鼓楼区's no longer."""
    api.post("/api/v1/units", "admin", {"code": "gedu-sub", "name": "教研室", "kind": "department",
                                        "parent": "gulou-edu"}, expect=201)
    open_ticket = api.dispatched(unit="gulou-edu")["id"]
    api.act(open_ticket, "acknowledge", "handler-gulou-edu")
    api.act(open_ticket, "forward", "handler-gulou-edu", {"unit": "gedu-sub", "note": "请办理"})
    closed = api.callback_pending(unit="gulou-edu")["id"]
    api.act(closed, "record_callback", "seat1", {"reached": True, "resolved": True, "satisfied": True})
    for ticket in (open_ticket, closed):
        api.get(f"/api/v1/tickets/{ticket}", "handler-gulou", expect=200)
        api.get(f"/api/v1/tickets/{ticket}", "handler-yunlong", expect=404)
    moved = client.patch("/api/v1/units/gulou-edu", headers=api.headers("admin"), json={"parent": "yunlong"})
    assert moved.status_code == 200 and moved.json["parent"] == "yunlong"
    for ticket in (open_ticket, closed):
        api.get(f"/api/v1/tickets/{ticket}", "handler-yunlong", expect=200)
        api.get(f"/api/v1/tickets/{ticket}", "handler-gulou", expect=404)
    cycle = client.patch("/api/v1/units/gulou-edu", headers=api.headers("admin"), json={"parent": "gedu-sub"})
    assert cycle.status_code == 422 and "parent" in cycle.json["errors"]


def test_a_deactivated_unit_keeps_its_history_but_takes_no_dispatch(api, client):
    old = api.dispatched(unit="gulou-edu")["id"]
    off = client.patch("/api/v1/units/gulou-edu", headers=api.headers("admin"), json={"active": False})
    assert off.json["active"] is False
    api.get(f"/api/v1/tickets/{old}", "handler-gulou-edu", expect=200)
    tid = api.create()["id"]
    api.act(tid, "submit", "seat1")
    refused = api.try_act(tid, "dispatch", "dispatcher1", {"unit": "gulou-edu", "note": "请处理"})
    assert refused.status_code == 422 and refused.json["error"] == "unit.inactive"
    client.patch("/api/v1/units/gulou-edu", headers=api.headers("admin"), json={"active": True})
    api.act(tid, "dispatch", "dispatcher1", {"unit": "gulou-edu", "note": "请处理"})


def test_merging_a_unit_moves_its_people_and_keeps_its_tickets_visible(api, client):
    tid = api.dispatched(unit="gulou-edu")["id"]
    merged = client.patch("/api/v1/units/gulou-edu", headers=api.headers("admin"),
                          json={"merge_into": "gulou-huanglou"})
    assert merged.status_code == 200 and merged.json["active"] is False
    assert merged.json["parent"] == "gulou-huanglou"
    handler = api.get("/api/v1/users?q=handler-gulou-edu", "admin").json[0]
    assert handler["unit"] == "gulou-huanglou"
    api.get(f"/api/v1/tickets/{tid}", "handler-gulou-huanglou", expect=200)


def test_a_unit_admin_manages_only_its_subtree(api, client):
    new_user(api, username="gulou-admin", role="unit_admin", unit="gulou")
    headers = token(client, "gulou-admin")
    client.post("/api/v1/auth/password", headers=headers, json={"old": GOOD, "new": "Quiet-River-77"})
    headers = token(client, "gulou-admin", "Quiet-River-77")
    seen = {u["unit"] for u in client.get("/api/v1/users", headers=headers).json}
    assert seen and all(code.startswith("gulou") for code in seen)
    body = {"username": "hl2", "display_name": "黄楼二", "role": "handler", "password": GOOD}
    made = client.post("/api/v1/users", headers=headers, json={**body, "unit": "gulou-huanglou"})
    assert made.status_code == 201, made.json
    outside = client.post("/api/v1/users", headers=headers, json={**body, "username": "yl2", "unit": "yunlong"})
    assert outside.status_code == 403 and outside.json["error"] == "admin.outside_subtree"
    grant = client.post("/api/v1/users", headers=headers, json={**body, "username": "d2", "role": "dispatcher",
                                                                 "unit": "gulou"})
    assert grant.status_code == 422 and "role" in grant.json["errors"]
    assert client.patch("/api/v1/users/handler-yunlong", headers=headers, json={"active": False}).status_code == 404
    assert client.post("/api/v1/users/handler-yunlong/password", headers=headers,
                       json={"password": GOOD}).status_code == 404
    unit = {"code": "gulou-new", "name": "新街道", "kind": "town"}
    assert client.post("/api/v1/units", headers=headers, json={**unit, "parent": "gulou"}).status_code == 201
    assert client.post("/api/v1/units", headers=headers,
                       json={**unit, "code": "yl-new", "parent": "yunlong"}).status_code == 422
    assert client.patch("/api/v1/units/yunlong-edu", headers=headers, json={"name": "x"}).status_code == 404
    assert client.patch("/api/v1/units/gulou", headers=headers, json={"active": False}).status_code == 422
    rows = [{"username": "yl3", "display_name": "云龙三", "role": "handler", "unit": "yunlong"}]
    result = upload(client, headers, "users", rows, dry_run=True).json
    assert result["rows"][0]["errors"]["unit"]


def test_the_first_admin_and_an_import_from_the_command_line(app, client, tmp_path):
    runner = app.test_cli_runner()
    made = runner.invoke(users_group, ["create", "itadmin", "--role", "admin", "--display-name", "信息科"],
                         input=f"{GOOD}\n{GOOD}\n")
    assert made.exit_code == 0, made.output
    admin = token(client, "itadmin")
    assert client.get("/api/v1/users", headers=admin).status_code == 200  # no forced change: it is theirs
    weak = runner.invoke(users_group, ["create", "it2", "--role", "admin", "--display-name", "x"],
                         input="123\n123\n")
    assert weak.exit_code != 0 and "password" in weak.output.lower()

    units = tmp_path / "units.csv"
    units.write_text("code,name,kind,parent\nbinhu,滨湖新区,county,xz\nbinhu-edu,滨湖新区教育局,department,bad\n",
                     encoding="utf-8")
    checked = runner.invoke(users_group, ["import", str(units), "--kind", "units", "--commit"])
    assert checked.exit_code != 0 and "row 3: parent" in checked.output
    units.write_text("code,name,kind,parent\nbinhu-edu,滨湖新区教育局,department,binhu\nbinhu,滨湖新区,county,xz\n",
                     encoding="utf-8")
    dry = runner.invoke(users_group, ["import", str(units), "--kind", "units"])
    assert dry.exit_code == 0 and "would import: 2 new" in dry.output
    assert "binhu" not in {u["code"] for u in client.get("/api/v1/units", headers=admin).json}
    done = runner.invoke(users_group, ["import", str(units), "--kind", "units", "--commit"])
    assert done.exit_code == 0 and "imported: 2 new" in done.output
    assert "binhu-edu" in {u["code"] for u in client.get("/api/v1/units", headers=admin).json}


def test_production_refuses_to_serve_while_a_demo_unit_admin_has_the_demo_password(app):
    """The seeded county admins (admin-<county>) manage people: they count as demo users."""
    with app.app_context():
        db.session.execute(update(User).where(User.username != "admin-gulou").values(active=False))
        db.session.commit()
    production = create_app({"ENV_NAME": "production", "SECRET_KEY": "a-long-random-secret-from-the-environment"})
    with pytest.raises(InsecureConfiguration, match="admin-gulou"):
        check_demo_passwords(production)


@pytest.mark.parametrize("name, data", [("users.txt", b"username\nx\n"), ("users.xlsx", b"not a workbook"),
                                        ("users.csv", b""), ("users.csv", b"\xff\xfe\x00bad")])
def test_a_file_that_cannot_be_read_is_refused_by_name(api, client, name, data):
    response = client.post("/api/v1/admin/import", headers=api.headers("admin"), content_type="multipart/form-data",
                           data={"kind": "users", "dry_run": "true", "file": (io.BytesIO(data), name)})
    assert response.status_code == 422 and response.json["error"] == "import.bad_file"
    assert "file" in response.json["errors"]


def test_a_gb18030_csv_from_excel_is_read(api, client):
    text = "username,display_name,role,unit\nzhou.wu,周五,handler,gulou\n"
    response = client.post("/api/v1/admin/import", headers=api.headers("admin"), content_type="multipart/form-data",
                           data={"kind": "users", "dry_run": "true",
                                 "file": (io.BytesIO(text.encode("gb18030")), "users.csv")})
    assert response.json["ok"] and response.json["rows"][0]["key"] == "zhou.wu"
