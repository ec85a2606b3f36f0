# ruff: noqa: E501 (the expected table is wider than a line on purpose: one row per route)
"""Every console route x every role, as one table: what each role gets.

The routes come from the app's URL map itself: a console route the table does not list fails
the test, so a page cannot ship without its row (and without saying who may open it). Each
row names the scene its request runs against (the API table's scenes,
tests/test_authorization_table.py) and what each role gets:

    200, 302    the page, or the form's redirect after it went through
    login       302 to the login page (not signed in)
    400         the CSRF token is missing (only the logged-out language switch has none to send)
    403         signed in, and the page or the record is not for this role (or unit)
    404         the ticket, referral, notice or record is hidden from this user
    409, 422    the form reached the service, which refused the state or the input

The roles are the API table's and a county's unit admin:

    seat    seat1, general and children's desk
    disp    dispatcher1
    sup     supervisor1
    adm     admin
    lead    handler-gulou, the scene ticket's lead unit (鼓楼区)
    co      handler-edu, its co-unit (市教育局)
    oth     handler-yunlong, another county
    ptnr    partner-xz-xinli, the partner the scene's referral goes to
    uadm    admin-gulou, 鼓楼区's unit admin (the scenes' users and units are within 鼓楼区)
    anon    not signed in

Each page asks one predicate of hotline/permissions.py (`@allowed(...)`, console/guard.py), the
same the services ask: where this table and tests/test_authorization_table.py cover one rule
(mandatory reports, exports, KPIs, administration) they agree.

A role whose request succeeds (200 or 302 on a form) gets a fresh scene, as its post changes
it; the others share one. Nothing may answer 5xx: every status is compared exactly.
Run with CONSOLE_TABLE_PRINT=1 to print the table the console answers today.
"""

import io
import itertools
import os

import pytest
from sqlalchemy import delete

from hotline.console.views import NAV
from hotline.extensions import db
from hotline.users import Role, User
from referrals.models import Partner
from tests.admin_org import org  # noqa: F401  (fixture: the users and units it adds go again)
from tests.console.helpers import INTAKE, Browser
from tests.test_authorization_table import PHOTO, Scenes, expected_table

ROLES = {
    "seat": "seat1", "disp": "dispatcher1", "sup": "supervisor1", "adm": "admin",
    "lead": "handler-gulou", "co": "handler-edu", "oth": "handler-yunlong",
    "ptnr": "partner-xz-xinli", "uadm": "admin-gulou", "anon": None,
}

# route                                                                           scene             seat  disp  sup   adm   lead  co    oth   ptnr  uadm  anon
EXPECTED = """
GET /console/                                                                     -                 302   302   302   302   302   302   302   302   302   login
GET /console/admin/calendar                                                       -                 403   403   200   200   403   403   403   403   403   login
GET /console/admin/changes                                                        -                 403   403   200   200   403   403   403   403   403   login
GET /console/admin/crisis-words                                                   -                 403   403   200   200   403   403   403   403   403   login
GET /console/admin/export                                                         -                 403   403   200   200   403   403   403   403   200   login
GET /console/admin/health                                                         -                 403   403   200   200   403   403   403   403   403   login
GET /console/admin/import                                                         -                 403   403   403   200   403   403   403   403   200   login
GET /console/admin/outbox                                                         -                 403   403   200   200   403   403   403   403   403   login
GET /console/admin/partners                                                       -                 403   403   200   200   403   403   403   403   403   login
GET /console/admin/partners/<code>                                                new_partner       403   403   403   200   403   403   403   403   403   login
GET /console/admin/routing                                                        -                 403   403   200   200   403   403   403   403   403   login
GET /console/admin/sessions                                                       -                 403   403   403   200   403   403   403   403   200   login
GET /console/admin/time-limits                                                    -                 403   403   200   200   403   403   403   403   403   login
GET /console/admin/units                                                          -                 403   403   200   200   403   403   403   403   200   login
GET /console/admin/units/<code>                                                   new_unit          403   403   200   200   403   403   403   403   200   login
GET /console/admin/users                                                          -                 403   403   200   200   403   403   403   403   200   login
GET /console/admin/users/<username>                                               new_user          403   403   200   200   403   403   403   403   200   login
GET /console/admin/webhooks                                                       -                 403   403   403   200   403   403   403   403   403   login
GET /console/admin/webhooks/<int:sub_id>                                          subscription      403   403   403   200   403   403   403   403   403   login
GET /console/attachments/<int:attachment_id>                                      attached          200   200   200   200   200   200   404   404   404   login
GET /console/attachments/<int:attachment_id>/thumbnail                            attached          200   200   200   200   200   200   404   404   404   login
GET /console/audit                                                                -                 403   403   200   200   403   403   403   403   403   login
GET /console/audit/export                                                         -                 403   403   200   200   403   403   403   403   403   login
GET /console/boards/crisis                                                        -                 403   200   200   200   403   403   403   403   403   login
GET /console/boards/mandatory-reports                                             -                 403   200   200   200   403   403   403   403   403   login
GET /console/boards/overdue                                                       -                 403   200   200   200   403   403   403   403   403   login
GET /console/boards/referrals                                                     -                 403   200   200   200   403   403   403   403   403   login
GET /console/callbacks                                                            -                 200   403   403   200   403   403   403   403   403   login
GET /console/callers                                                              -                 200   200   200   200   403   403   403   403   403   login
GET /console/calls/<string:call_sid>                                              call              200   200   200   200   403   403   403   403   403   login
GET /console/calls/waiting                                                        -                 200   403   403   200   403   403   403   403   403   login
GET /console/dispatch                                                             -                 403   200   200   200   403   403   403   403   403   login
GET /console/failed-jobs                                                          -                 403   403   200   200   403   403   403   403   403   login
GET /console/hotspots                                                             -                 403   200   200   200   403   403   403   403   403   login
GET /console/inbox                                                                -                 403   403   403   403   200   200   200   403   403   login
GET /console/knowledge                                                            -                 403   403   200   200   403   403   403   403   403   login
GET /console/knowledge/<int:article_id>/flag                                      published_article 200   200   200   200   200   200   200   403   403   login
GET /console/knowledge/suggest                                                    -                 200   200   200   200   403   403   403   403   403   login
GET /console/kpis                                                                 -                 403   200   200   200   200   200   200   403   403   login
GET /console/kpis/export                                                          -                 403   200   200   200   200   200   200   403   403   login
GET /console/lang/<code>                                                          -                 302   302   302   302   302   302   302   302   302   302
GET /console/login                                                                -                 302   302   302   302   302   302   302   302   302   200
GET /console/notices                                                              -                 200   200   200   200   200   200   200   200   200   login
GET /console/password                                                             -                 200   200   200   200   200   200   200   200   200   login
GET /console/pulse                                                                -                 200   200   200   200   200   200   200   200   200   login
GET /console/referrals                                                            -                 403   403   403   403   403   403   403   200   403   login
GET /console/referrals/<int(max=2147483647):referral_id>                          referral_sent     200   200   200   200   200   200   404   200   404   login
GET /console/reports                                                              -                 403   200   200   200   200   200   200   403   403   login
GET /console/reports/daily                                                        -                 403   200   200   200   200   200   200   403   403   login
GET /console/reports/weekly                                                       -                 403   200   200   200   200   200   200   403   403   login
GET /console/review                                                               -                 403   200   403   200   403   403   403   403   403   login
GET /console/static/<path:filename>                                               -                 200   200   200   200   200   200   200   200   200   200
GET /console/tickets                                                              -                 200   200   200   200   200   200   200   200   200   login
GET /console/tickets/<int:ticket_id>                                              in_progress       200   200   200   200   200   200   404   404   404   login
GET /console/tickets/<int:ticket_id>/refer/partners                               minor_handled     200   200   200   200   200   200   404   404   404   login
GET /console/tickets/<int:ticket_id>/sheet                                        in_progress       200   200   200   200   200   200   404   404   404   login
GET /console/tickets/<int:ticket_id>/sheet.pdf                                    in_progress       200   200   200   200   200   200   404   404   404   login
GET /console/tickets/export                                                       -                 403   200   200   200   403   403   403   403   403   login
GET /console/tickets/new                                                          -                 200   403   403   200   403   403   403   403   403   login
GET /console/units/search                                                         -                 200   200   200   200   200   200   200   403   403   login
POST /console/admin/calendar/<int:year>/declare                                   -                 403   403   403   302   403   403   403   403   403   login
POST /console/admin/calendar/days                                                 -                 403   403   403   302   403   403   403   403   403   login
POST /console/admin/calendar/days/<isodate:day>/clear                             calendar_day      403   403   403   302   403   403   403   403   403   login
POST /console/admin/crisis-words                                                  -                 403   403   403   422   403   403   403   403   403   login
POST /console/admin/import                                                        -                 403   403   403   200   403   403   403   403   200   login
POST /console/admin/outbox/<int:message_id>/cancel                                queued_text       403   403   403   302   403   403   403   403   403   login
POST /console/admin/outbox/<int:message_id>/resend                                unsent_text       403   403   403   302   403   403   403   403   403   login
POST /console/admin/partners                                                      -                 403   403   403   302   403   403   403   403   403   login
POST /console/admin/partners/<code>                                               new_partner       403   403   403   302   403   403   403   403   403   login
POST /console/admin/routing                                                       -                 403   403   403   422   403   403   403   403   403   login
POST /console/admin/sessions/<username>/end                                       -                 403   403   403   302   403   403   403   403   404   login
POST /console/admin/time-limits                                                   -                 403   403   403   200   403   403   403   403   403   login
POST /console/admin/units                                                         -                 403   403   403   302   403   403   403   403   302   login
POST /console/admin/units/<code>                                                  new_unit          403   403   403   302   403   403   403   403   302   login
POST /console/admin/users                                                         -                 403   403   403   302   403   403   403   403   302   login
POST /console/admin/users/<username>                                              new_user          403   403   403   302   403   403   403   403   302   login
POST /console/admin/users/<username>/password                                     new_user          403   403   403   302   403   403   403   403   302   login
POST /console/admin/webhooks                                                      -                 403   403   403   200   403   403   403   403   403   login
POST /console/admin/webhooks/<int:sub_id>/<any(test,retry):what>                 subscription      403   403   403   302   403   403   403   403   403   login
POST /console/alerts/<int:notice_id>/ack                                          dispatcher_alert  404   200   404   404   404   404   404   404   404   login
POST /console/bulk/<action>                                                       in_progress       302   302   302   302   302   302   302   403   403   login
POST /console/hotspots/<int:hotspot_id>/dispatch                                  hotspot           403   302   302   302   403   403   403   403   403   login
POST /console/knowledge/<int:article_id>/<action>                                 article           403   403   302   302   403   403   403   403   403   login
POST /console/knowledge/<int:article_id>/flag                                     published_article 302   302   302   302   302   302   302   403   403   login
POST /console/login                                                               -                 302   302   302   302   302   302   302   302   302   302
POST /console/logout                                                              -                 login login login login login login login login login login
POST /console/mandatory-reports/<int(max=2147483647):report_id>/actions/<action>  report_open       403   302   302   302   403   403   403   403   403   login
POST /console/notices/<int:notice_id>/read                                        unit_notice       404   404   404   404   302   404   404   404   404   login
POST /console/password                                                            -                 422   422   422   422   422   422   422   422   422   login
POST /console/referrals/<int(max=2147483647):referral_id>/actions/<action>        referral_sent     403   403   403   403   403   403   404   302   404   login
POST /console/tickets/<int:ticket_id>/actions/<action>                            in_progress       302   302   302   302   302   302   404   404   404   login
POST /console/tickets/<int:ticket_id>/append                                      in_progress       302   403   403   302   403   403   403   403   403   login
POST /console/tickets/<int:ticket_id>/attachments                                 in_progress       302   302   302   302   302   302   404   404   404   login
POST /console/tickets/<int:ticket_id>/contact                                     in_progress       302   403   302   302   403   403   404   404   404   login
POST /console/tickets/<int:ticket_id>/messages/<int:message_id>/cancel            queued_text       302   302   302   302   403   403   404   404   404   login
POST /console/tickets/<int:ticket_id>/reveal                                      in_progress       200   200   200   200   200   200   404   404   404   login
POST /console/tickets/new                                                         -                 302   403   403   302   403   403   403   403   403   login
POST /console/views                                                               -                 302   302   302   302   302   302   302   302   302   login
POST /console/views/<int:view_id>/delete                                          saved_view        302   404   404   404   404   404   404   404   404   login
"""

# Path values beyond the scene's, and a query string for some GETs.
PATH_VALUES = {"code": "zh", "filename": "console.css", "username": "seat3", "what": "test",
               "year": 2027, "day": "2027-01-04"}
ACTIONS = {   # which action a route with <action> takes (its body below)
    "/console/tickets/<int:ticket_id>/actions/<action>": "supervise",
    "/console/referrals/<int(max=2147483647):referral_id>/actions/<action>": "accept",
    "/console/mandatory-reports/<int(max=2147483647):report_id>/actions/<action>": "report",
    "/console/knowledge/<int:article_id>/<action>": "publish",
    "/console/bulk/<action>": "supervise",
}
QUERIES = {
    "GET /console/callers": "?phone=13800000001",
    "GET /console/knowledge/suggest": "?q=社保卡",
    "GET /console/admin/export": "?kind=units",
    "GET /console/tickets/export": "?format=csv",
    "GET /console/kpis/export": "?format=csv",
    "GET /console/units/search": "?q=鼓楼",
    "GET /console/audit/export": "?format=csv",
}
_CODES = itertools.count(1)
BODIES = {
    "POST /console/login": {"username": "seat1", "password": "demo"},
    "POST /console/password": {"old": "demo", "new": "demo", "confirm": "demo"},
    "POST /console/tickets/new": INTAKE,
    "POST /console/tickets/<int:ticket_id>/actions/<action>": {"note": "请加快办理"},
    "POST /console/tickets/<int:ticket_id>/contact": {"safe_to_text": "no", "note": "家暴，勿发短信"},
    "POST /console/tickets/<int:ticket_id>/reveal": {"reason": "需回拨核实"},
    "POST /console/mandatory-reports/<int(max=2147483647):report_id>/actions/<action>": {"to": "鼓楼公安分局"},
    "POST /console/admin/users": lambda: {"username": f"console-authz-{next(_CODES)}", "display_name": "授权测试",
                                          "role": "handler", "unit": "gulou"},
    "POST /console/admin/users/<username>": {"display_name": "授权测试改名", "role": "handler", "unit": "gulou",
                                             "active": "yes"},
    "POST /console/admin/users/<username>/password": {"password": "Lantern-Harbour-42"},
    "POST /console/admin/units": lambda: {"code": f"console-authz-{next(_CODES)}", "name": "授权测试单位",
                                          "kind": "town", "parent": "gulou"},
    "POST /console/admin/units/<code>": {"name": "授权测试单位改名", "kind": "town", "parent": "gulou",
                                         "active": "yes"},
    "POST /console/admin/partners": lambda: {"code": f"authz-c{next(_CODES)}", "name": "授权测试机构",
                                             "kind": "psychology", "services": "counselling"},
    "POST /console/admin/partners/<code>": {"name": "授权测试机构", "kind": "psychology", "services": "counselling",
                                            "hours": "周一至周五 9:00-17:00", "active": "yes"},
    "POST /console/admin/webhooks": {"url": "https://grid.gulou.example/hooks", "unit": "gulou"},
    "POST /console/admin/import": lambda: {"kind": "units", "mode": "check", "file": (io.BytesIO(
        "code,name,kind,parent\nauthz-import,导入测试,town,gulou\n".encode()), "units.csv")},
}
BODIES |= {
    "POST /console/admin/calendar/<int:year>/declare": {"rest_days": "2027-01-01", "work_days": "",
                                                        "note": "授权测试"},
    "POST /console/admin/calendar/days": {"day": "2027-01-04", "is_workday": "no", "note": "授权测试"},
    "POST /console/admin/outbox/<int:message_id>/cancel": {"reason": "授权测试"},
    "POST /console/bulk/<action>": lambda: {"note": "请加快办理"},
    "POST /console/hotspots/<int:hotspot_id>/dispatch": {"unit": "gulou"},
    "POST /console/knowledge/<int:article_id>/flag": {"reason": "条目已过时"},
    "POST /console/tickets/<int:ticket_id>/append": {"content": "来电人再次来电催办"},
    "POST /console/tickets/<int:ticket_id>/attachments": lambda: {"file": (io.BytesIO(PHOTO), "现场.png")},
    "POST /console/views": {"name": "授权测试视图", "desk": "general"},
}
# Requests that end or change the browser's own session: sent from a browser of their own.
OWN_SESSION = {"POST /console/login", "POST /console/logout", "GET /console/lang/<code>"}


def route_keys(app) -> dict[str, str]:
    """'METHOD /rule' -> endpoint, for every console route (HEAD and OPTIONS aside)."""
    keys = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("console."):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                keys[f"{method} {rule.rule.replace(' ', '')}"] = rule.endpoint   # one word per column
    return keys


def fill(rule: str, scene: dict) -> str:
    """The rule's path with the scene's values (and the table's) in its placeholders."""
    path = rule
    while "<" in path:
        start, end = path.index("<"), path.index(">")
        name = path[start + 1:end].split(":")[-1]
        value = ACTIONS.get(rule) if name == "action" else scene.get(name, PATH_VALUES.get(name))
        assert value is not None, (rule, name, scene)
        path = path[:start] + str(value) + path[end + 1:]
    return path


def status_of(response) -> str:
    location = response.headers.get("Location", "")
    if response.status_code == 302 and "/console/login" in location:
        return "login"
    return str(response.status_code)


SUCCESS = {"200", "302"}


class ConsoleScenes(Scenes):
    """The API table's scenes, and what only console rows need."""

    def dispatcher_alert(self):
        return {"notice_id": super().dispatcher_alert()["alert_id"]}

    def new_user(self):
        username = f"console-authz-{next(_CODES)}"
        self.api.post("/api/v1/users", "admin", {"username": username, "display_name": "授权测试",
                                                 "role": "handler", "unit": "gulou"}, expect=201)
        return {"username": username}


# The table runs in shards (every SHARDS-th route from `shard`), so the suite's two workers
# share its ~13 s instead of one of them finishing it alone; each shard checks the whole map.
SHARDS = 4


@pytest.mark.usefixtures("org")
@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_console_route_for_every_role(app, api, shard):
    keys = route_keys(app)
    table = expected_table(EXPECTED, ROLES)
    printing = bool(os.environ.get("CONSOLE_TABLE_PRINT"))
    if not printing:
        assert sorted(keys) == sorted(table), (
            f"routes without a row: {sorted(set(keys) - set(table))}; "
            f"rows without a route: {sorted(set(table) - set(keys))}")
    scenes = ConsoleScenes(app, api)
    browsers: dict[str, Browser] = {}

    def browser_of(role: str, key: str) -> Browser:
        if key in OWN_SESSION or role not in browsers:
            fresh = Browser(app)
            if ROLES[role]:
                fresh.login(ROLES[role])
            if key in OWN_SESSION:
                return fresh
            browsers[role] = fresh
        return browsers[role]

    wrong, printed = [], []
    try:
        for key in sorted(keys)[shard::SHARDS]:
            method, rule = key.split(" ", 1)
            row = table.get(key) or {"scene": SCENE_OF.get(key, "-")}
            shared = None
            codes = []
            for role in ROLES:
                want = row.get(role)
                if method == "POST" and (want in SUCCESS or want is None):
                    scene = scenes.build(row["scene"])       # its success changes the scene
                else:
                    shared = shared if shared is not None else scenes.build(row["scene"])
                    scene = shared
                page = browser_of(role, key)
                path = fill(rule, scene) + QUERIES.get(key, "")
                if method == "GET":
                    response = page.get(path, expect=None)
                else:
                    body = BODIES.get(key, {})
                    response = page.post(path, body() if callable(body) else body, expect=None)
                response.get_data()
                got = status_of(response)
                codes.append(got)
                if response.status_code >= 500 or (want is not None and got != want):
                    wrong.append(f"{key:75} {role:5} expected {want}, got {got}: "
                                 f"{page.text(response)[:120]!r}")
            printed.append(f"{key:75} {row['scene']:17} " + " ".join(f"{c:5}" for c in codes))
    finally:
        with app.app_context():
            db.session.execute(delete(Partner).where(Partner.code.like("authz-%")))
            db.session.commit()
    if printing:
        print("\n" + "\n".join(printed))
    assert not wrong, "\n" + "\n".join(wrong)


# The scene each route's request runs against (used to print the table; the table says it too).
SCENE_OF = {
    "GET /console/tickets/<int:ticket_id>": "in_progress",
    "GET /console/attachments/<int:attachment_id>": "attached",
    "GET /console/attachments/<int:attachment_id>/thumbnail": "attached",
    "POST /console/tickets/<int:ticket_id>/attachments": "in_progress",
    "GET /console/tickets/<int:ticket_id>/sheet": "in_progress",
    "GET /console/tickets/<int:ticket_id>/sheet.pdf": "in_progress",
    "POST /console/tickets/<int:ticket_id>/append": "in_progress",
    "POST /console/bulk/<action>": "in_progress",
    "GET /console/knowledge/<int:article_id>/flag": "published_article",
    "POST /console/knowledge/<int:article_id>/flag": "published_article",
    "POST /console/hotspots/<int:hotspot_id>/dispatch": "hotspot",
    "POST /console/views/<int:view_id>/delete": "saved_view",
    "POST /console/admin/outbox/<int:message_id>/cancel": "queued_text",
    "POST /console/admin/outbox/<int:message_id>/resend": "unsent_text",
    "POST /console/admin/calendar/days/<isodate:day>/clear": "calendar_day",
    "POST /console/tickets/<int:ticket_id>/actions/<action>": "in_progress",
    "POST /console/tickets/<int:ticket_id>/contact": "in_progress",
    "POST /console/tickets/<int:ticket_id>/reveal": "in_progress",
    "POST /console/tickets/<int:ticket_id>/messages/<int:message_id>/cancel": "queued_text",
    "GET /console/tickets/<int:ticket_id>/refer/partners": "minor_handled",
    "GET /console/referrals/<int(max=2147483647):referral_id>": "referral_sent",
    "POST /console/referrals/<int(max=2147483647):referral_id>/actions/<action>": "referral_sent",
    "POST /console/mandatory-reports/<int(max=2147483647):report_id>/actions/<action>": "report_open",
    "POST /console/notices/<int:notice_id>/read": "unit_notice",
    "POST /console/alerts/<int:notice_id>/ack": "dispatcher_alert",
    "GET /console/calls/<string:call_sid>": "call",
    "GET /console/admin/users/<username>": "new_user",
    "POST /console/admin/users/<username>": "new_user",
    "POST /console/admin/users/<username>/password": "new_user",
    "GET /console/admin/units/<code>": "new_unit",
    "POST /console/admin/units/<code>": "new_unit",
    "GET /console/admin/partners/<code>": "new_partner",
    "POST /console/admin/partners/<code>": "new_partner",
    "GET /console/admin/webhooks/<int:sub_id>": "subscription",
    "POST /console/admin/webhooks/<int:sub_id>/<any(test,retry):what>": "subscription",
    "POST /console/knowledge/<int:article_id>/<action>": "article",
}


def test_no_menu_entry_leads_to_a_403(app):
    """Each role's navigation lists only pages whose predicate admits that role."""
    with app.test_request_context():
        for role, entries in NAV.items():
            for endpoint, title in entries:
                predicate = getattr(app.view_functions[endpoint], "permission", None)
                assert predicate is None or predicate(User(role=role)), (role, endpoint, str(title))
    assert {Role.SEAT, Role.HANDLER, Role.PARTNER, Role.UNIT_ADMIN} <= set(NAV)
