# ruff: noqa: E501 (the expected table is wider than a line on purpose: one row per operation)
"""Every API operation x every role, as one table: who gets 2xx, 401, 403 or 404.

The operations come from `/api/openapi.json` itself: an operation the table does not
list fails the test, so a new endpoint cannot ship without its row. Each row names the
scene its request runs against (a ticket in the state the operation needs, a referral,
a notice...) and what each role must get:

    ok   the documented success code (200, 201 or 204)
    401  no token
    403  signed in, the ticket or referral is visible, but this role (or unit) may not;
         and every Twilio webhook (/twilio/*), which only Twilio's signature opens, never
         a bearer token (the table's requests carry no X-Twilio-Signature)
    404  the ticket, referral or notice is hidden from this user

The roles and their relation to the scene's ticket (dispatched to 鼓楼区 with 市教育局
as co-unit, opened on the general desk by seat1):

    seat    seat1, general and children's desk
    disp    dispatcher1
    sup     supervisor1
    adm     admin
    lead    handler-gulou, the lead unit
    co      handler-edu, the co-unit
    oth     handler-yunlong, another county
    ptnr    partner-xz-xinli, the partner the scene's referral goes to
    anon    no token

`POST /api/v1/auth/password` is open to every signed-in role; its body here asks for the same
password again, which every role is refused with 422 (the demo users keep `demo`). A logout
ends the token it was sent with, so the next request signs in afresh.

A role expected to succeed gets a fresh scene (its request changes it); the refused roles
share one, and a refused ticket action must leave that ticket exactly as it was.
Nothing may answer 5xx: every status is compared exactly.
"""

import io
import itertools

import pytest
from sqlalchemy import delete, select

from hotline import hotspots
from hotline.extensions import db
from tests.admin_org import org  # noqa: F401  (fixture: the users and units it adds go again)
from tests.helpers import DEFAULT_TICKET

ROLES = {
    "seat": "seat1", "disp": "dispatcher1", "sup": "supervisor1", "adm": "admin",
    "lead": "handler-gulou", "co": "handler-edu", "oth": "handler-yunlong",
    "ptnr": "partner-xz-xinli", "anon": None,
}

# operation                                                          scene                seat disp sup  adm  lead co   oth  ptnr anon
EXPECTED = """
POST   /api/v1/auth/token                                            -                    ok   ok   ok   ok   ok   ok   ok   ok   ok
POST   /api/v1/auth/logout                                           -                    ok   ok   ok   ok   ok   ok   ok   ok   401
POST   /api/v1/auth/password                                         -                    422  422  422  422  422  422  422  422  401
GET    /api/v1/users/{username}/sessions                             -                    403  403  403  ok   403  403  403  403  401
DELETE /api/v1/users/{username}/sessions                             -                    403  403  403  ok   403  403  403  403  401
DELETE /api/v1/users/{username}/sessions/{session_id}                user_session         403  403  403  ok   403  403  403  403  401
POST   /api/v1/tickets                                               -                    ok   403  403  ok   403  403  403  403  401
GET    /api/v1/tickets                                               -                    ok   ok   ok   ok   ok   ok   ok   ok   401
GET    /api/v1/tickets/export                                        -                    403  ok   ok   ok   403  403  403  403  401
GET    /api/v1/tickets/{ticket_id}                                   in_progress          ok   ok   ok   ok   ok   ok   404  404  401
GET    /api/v1/tickets/{ticket_id}/routing                           in_progress          ok   ok   ok   ok   ok   ok   404  404  401
GET    /api/v1/tickets/{ticket_id}/events                            in_progress          ok   ok   ok   ok   ok   ok   404  404  401
GET    /api/v1/tickets/{ticket_id}/similar                           in_progress          ok   ok   ok   ok   ok   ok   404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/answer                    intake               ok   403  403  ok   404  404  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/transfer_out              intake               ok   403  403  ok   404  404  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/reject                    intake               ok   403  403  ok   404  404  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/merge                     intake               ok   ok   ok   ok   404  404  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/submit                    intake               ok   403  403  ok   404  404  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/dispatch                  pending_dispatch     403  ok   ok   ok   404  404  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/recall                    dispatched           403  ok   ok   ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/acknowledge               dispatched           403  403  403  403  ok   ok   404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/return                    in_progress          403  403  403  403  ok   403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/approve_return            return_requested     403  ok   403  ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/deny_return               return_requested     403  ok   403  ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/forward                   in_progress          403  403  403  403  ok   403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/contact_caller            in_progress          403  403  403  403  ok   403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/submit_opinion            in_progress          403  403  403  403  403  ok   404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/request_extension         in_progress          403  403  403  403  ok   403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/approve_extension         extension_asked      403  ok   403  ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/deny_extension            extension_asked      403  ok   403  ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/reply                     opinion_in           403  403  403  403  ok   403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/approve_reply             replied              403  ok   403  ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/send_back                 replied              403  ok   403  ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/record_callback           callback_pending     ok   403  403  ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/reopen                    closed               ok   403  ok   ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/supervise                 in_progress          403  403  ok   ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/consult                   in_progress          403  ok   ok   ok   ok   403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/refer                     minor_handled        ok   403  ok   ok   ok   403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/flag_crisis               in_progress          ok   ok   ok   ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/mandatory_report          minor_handled        ok   403  ok   ok   ok   403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/assess_risk               minor_handled        ok   403  ok   ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/call_emergency            in_progress          ok   ok   ok   ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/move_to_children_desk     minor_handled        ok   ok   ok   ok   403  403  404  404  401
GET    /api/v1/tickets/{ticket_id}/risk                              minor_handled        ok   ok   ok   ok   ok   ok   404  404  401
POST   /api/v1/tickets/{ticket_id}/risk                              minor_handled        ok   403  ok   ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/add_note                  in_progress          ok   ok   ok   ok   ok   ok   404  404  401
POST   /api/v1/tickets/{ticket_id}/actions/append                    in_progress          ok   403  403  ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/reveal                            in_progress          ok   ok   ok   ok   ok   ok   404  404  401
PATCH  /api/v1/tickets/{ticket_id}/contact                           in_progress          ok   403  ok   ok   403  403  404  404  401
POST   /api/v1/tickets/{ticket_id}/messages/{message_id}/cancel      queued_text          ok   ok   ok   ok   403  403  404  404  401
GET    /api/v1/units                                                 -                    ok   ok   ok   ok   ok   ok   ok   ok   401
GET    /api/v1/notices                                               -                    ok   ok   ok   ok   ok   ok   ok   ok   401
POST   /api/v1/notices/{notice_id}/read                              unit_notice          404  404  404  404  ok   404  404  404  401
GET    /api/v1/alerts                                                -                    ok   ok   ok   ok   ok   ok   ok   ok   401
POST   /api/v1/alerts/{alert_id}/acknowledge                         dispatcher_alert     404  ok   404  404  404  404  404  404  401
GET    /api/v1/calendar/{year}                                       -                    ok   ok   ok   ok   ok   ok   ok   ok   401
PUT    /api/v1/calendar/days/{day}                                   -                    403  403  403  ok   403  403  403  403  401
DELETE /api/v1/calendar/days/{day}                                   calendar_day         403  403  403  ok   403  403  403  403  401
POST   /api/v1/calendar/years/{year}                                 -                    403  403  403  ok   403  403  403  403  401
GET    /api/v1/outbox                                                -                    403  ok   ok   ok   403  403  403  403  401
GET    /api/v1/reports/kpis                                          -                    403  ok   ok   ok   ok   ok   ok   403  401
GET    /api/v1/reports/volumes                                       -                    403  ok   ok   ok   ok   ok   ok   403  401
GET    /api/v1/reports/rankings                                      -                    403  ok   ok   ok   ok   ok   ok   403  401
GET    /api/v1/calls                                                 -                    ok   ok   ok   ok   403  403  403  403  401
GET    /api/v1/calls/{call_sid}                                      call                 ok   ok   ok   ok   403  403  403  403  401
GET    /api/v1/referrals                                             -                    ok   ok   ok   ok   ok   ok   ok   ok   401
GET    /api/v1/referrals/{referral_id}                               referral_sent        ok   ok   ok   ok   ok   ok   404  ok   401
GET    /api/v1/referrals/{referral_id}/events                        referral_sent        ok   ok   ok   ok   ok   ok   404  ok   401
POST   /api/v1/referrals/{referral_id}/actions/accept                referral_sent        403  403  403  403  403  403  404  ok   401
POST   /api/v1/referrals/{referral_id}/actions/decline               referral_sent        403  403  403  403  403  403  404  ok   401
POST   /api/v1/referrals/{referral_id}/actions/first_contact         referral_accepted    403  403  403  403  403  403  404  ok   401
POST   /api/v1/referrals/{referral_id}/actions/report_outcome        referral_in_service  403  403  403  403  403  403  404  ok   401
POST   /api/v1/referrals/{referral_id}/actions/close                 referral_completed   403  403  403  403  403  403  404  ok   401
POST   /api/v1/referrals/{referral_id}/actions/revoke                referral_sent        ok   403  ok   ok   ok   403  404  403  401
POST   /api/v1/referrals/{referral_id}/actions/rename_child          referral_sent        ok   403  ok   ok   ok   403  404  403  401
GET    /api/v1/partners                                              -                    ok   ok   ok   ok   ok   ok   ok   ok   401
POST   /api/v1/partners                                              -                    403  403  403  ok   403  403  403  403  401
PUT    /api/v1/partners/{code}                                       new_partner          403  403  403  ok   403  403  403  403  401
PATCH  /api/v1/partners/{code}                                       new_partner          403  403  403  ok   403  403  403  403  401
GET    /api/v1/mandatory-reports                                     -                    403  ok   ok   ok   403  403  403  403  401
POST   /api/v1/mandatory-reports/{report_id}/actions/report          report_open          403  ok   ok   ok   403  403  403  403  401
POST   /api/v1/mandatory-reports/{report_id}/actions/record_receipt  report_made          403  ok   ok   ok   403  403  403  403  401
GET    /api/v1/reports/partners                                      -                    403  ok   ok   ok   403  403  403  403  401
GET    /api/v1/audit/reads                                           -                    403  403  ok   ok   403  403  403  403  401
POST   /api/v1/subscriptions                                         -                    403  403  403  ok   403  403  403  403  401
GET    /api/v1/subscriptions                                         -                    403  403  403  ok   403  403  403  403  401
GET    /api/v1/subscriptions/{sub_id}                                subscription         403  403  403  ok   403  403  403  403  401
PATCH  /api/v1/subscriptions/{sub_id}                                subscription         403  403  403  ok   403  403  403  403  401
DELETE /api/v1/subscriptions/{sub_id}                                subscription         403  403  403  ok   403  403  403  403  401
GET    /api/v1/subscriptions/{sub_id}/deliveries                     subscription         403  403  403  ok   403  403  403  403  401
POST   /api/v1/subscriptions/{sub_id}/deliveries/retry               subscription         403  403  403  ok   403  403  403  403  401
POST   /api/v1/subscriptions/{sub_id}/deliveries/{delivery_id}/retry failed_delivery      403  403  403  ok   403  403  403  403  401
POST   /api/v1/subscriptions/{sub_id}/test                           subscription         403  403  403  ok   403  403  403  403  401
GET    /api/v1/users                                                 -                    403  403  ok   ok   403  403  403  403  401
POST   /api/v1/users                                                 -                    403  403  403  ok   403  403  403  403  401
PATCH  /api/v1/users/{username}                                      new_user             403  403  403  ok   403  403  403  403  401
POST   /api/v1/users/{username}/password                             new_user             403  403  403  ok   403  403  403  403  401
POST   /api/v1/units                                                 -                    403  403  403  ok   403  403  403  403  401
PATCH  /api/v1/units/{code}                                          new_unit             403  403  403  ok   403  403  403  403  401
GET    /api/v1/admin/changes                                         -                    403  403  ok   ok   403  403  403  403  401
POST   /api/v1/outbox/{message_id}/resend                            unsent_text          403  403  403  ok   403  403  403  403  401
POST   /api/v1/outbox/{message_id}/cancel                            queued_text          403  403  403  ok   403  403  403  403  401
GET    /api/v1/rules/time-limits                                     -                    403  403  ok   ok   403  403  403  403  401
POST   /api/v1/rules/time-limits/preview                             -                    403  403  403  ok   403  403  403  403  401
PATCH  /api/v1/rules/time-limits                                     -                    403  403  403  ok   403  403  403  403  401
GET    /api/v1/rules/routing                                         -                    403  403  ok   ok   403  403  403  403  401
PUT    /api/v1/rules/routing                                         -                    403  403  403  ok   403  403  403  403  401
GET    /api/v1/rules/crisis-words                                    -                    403  403  ok   ok   403  403  403  403  401
PUT    /api/v1/rules/crisis-words                                    -                    403  403  403  ok   403  403  403  403  401
POST   /api/v1/admin/import                                          -                    403  403  403  ok   403  403  403  403  401
GET    /api/v1/admin/export                                          -                    403  403  ok   ok   403  403  403  403  401
GET    /api/v1/knowledge/search                                      -                    ok   ok   ok   ok   ok   ok   ok   403  401
GET    /api/v1/knowledge/articles                                    -                    ok   ok   ok   ok   ok   ok   ok   403  401
POST   /api/v1/knowledge/articles                                    -                    ok   ok   ok   ok   ok   ok   ok   403  401
GET    /api/v1/knowledge/articles/{article_id}                       article              ok   ok   ok   ok   ok   ok   ok   403  401
PATCH  /api/v1/knowledge/articles/{article_id}                       article              ok   403  ok   ok   403  403  403  403  401
POST   /api/v1/knowledge/articles/{article_id}/actions/submit        article              ok   403  ok   ok   403  403  403  403  401
POST   /api/v1/knowledge/articles/{article_id}/actions/publish       article              403  403  ok   ok   403  403  403  403  401
POST   /api/v1/knowledge/articles/{article_id}/actions/retire        article              403  403  ok   ok   403  403  403  403  401
POST   /api/v1/knowledge/articles/import                             -                    422  422  422  422  422  422  422  403  401
GET    /api/v1/knowledge/figures                                     -                    403  403  ok   ok   403  403  403  403  401
POST   /api/v1/tickets/{ticket_id}/attachments                       in_progress          ok   ok   ok   ok   ok   ok   404  404  401
GET    /api/v1/tickets/{ticket_id}/attachments                       attached             ok   ok   ok   ok   ok   ok   404  404  401
GET    /api/v1/attachments/{attachment_id}/content                   attached             ok   ok   ok   ok   ok   ok   404  404  401
GET    /api/v1/attachments/{attachment_id}/thumbnail                 attached             ok   ok   ok   ok   ok   ok   404  404  401
POST   /api/v1/knowledge/articles/{article_id}/flag                  published_article    ok   ok   ok   ok   ok   ok   ok   403  401
GET    /api/v1/hotspots                                              -                    403  ok   ok   ok   403  403  403  403  401
GET    /api/v1/hotspots/{hotspot_id}                                 hotspot              403  ok   ok   ok   403  403  403  403  401
POST   /api/v1/hotspots/{hotspot_id}/dispatch                        hotspot              403  ok   ok   ok   403  403  403  403  401
GET    /api/v1/views                                                 -                    ok   ok   ok   ok   ok   ok   ok   ok   401
POST   /api/v1/views                                                 -                    ok   ok   ok   ok   ok   ok   ok   ok   401
DELETE /api/v1/views/{view_id}                                       saved_view           ok   404  404  404  404  404  404  404  401
POST   /twilio/voice                                                 -                    403  403  403  403  403  403  403  403  403
POST   /twilio/voice/gather                                          -                    403  403  403  403  403  403  403  403  403
POST   /twilio/voice/connect                                         -                    403  403  403  403  403  403  403  403  403
POST   /twilio/voice/after                                           -                    403  403  403  403  403  403  403  403  403
POST   /twilio/voice/survey                                          -                    403  403  403  403  403  403  403  403  403
POST   /twilio/sms                                                   -                    403  403  403  403  403  403  403  403  403
POST   /twilio/status                                                -                    403  403  403  403  403  403  403  403  403
"""

PHOTO = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
         b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc```\x00\x00\x00\x04\x00\x01\xf6\x178U\x00\x00\x00\x00"
         b"IEND\xaeB`\x82")   # a 1x1 PNG

# A minimal valid body per operation (a callable gets the scene); none for the others.
PARTNER_BODY = {"name": "授权测试机构", "kind": "psychology", "services": ["counselling"]}
BODIES = {
    "POST /api/v1/auth/token": {"username": "seat1", "password": "demo"},
    "POST /api/v1/auth/password": {"old": "demo", "new": "demo"},
    "POST /api/v1/tickets": DEFAULT_TICKET,
    "answer": {"answer": "已电话答复"},
    "transfer_out": {"to": "110", "note": "涉及治安"},
    "reject": {"reason": "不属于受理范围"},
    "merge": lambda scene: {"into": scene["other_ticket"]},
    "submit": {},
    "dispatch": {"unit": "gulou", "co_units": ["edu"], "note": "请核实处理"},
    "acknowledge": {},
    "return": {"reason": "非本单位职责"},
    "recall": {"reason": "派错单位，改派"},
    "approve_return": {"note": "同意"},
    "deny_return": {"note": "不同意"},
    "forward": {"unit": "gulou-huanglou", "note": "请街道办理"},
    "contact_caller": {"note": "已联系市民"},
    "submit_opinion": {"opinion": "同意主办意见"},
    "request_extension": {"days": 2, "reason": "需现场勘查"},
    "approve_extension": {"note": "同意"},
    "deny_extension": {"note": "不同意"},
    "reply": {"result": "已修复路灯", "resolved": True},
    "approve_reply": {"note": "同意"},
    "send_back": {"note": "请补充"},
    "record_callback": {"reached": True, "resolved": True, "satisfied": True},
    "reopen": {"reason": "市民再次来电"},
    "supervise": {"note": "请加快办理"},
    "consult": {"note": "会商：由鼓楼区主办", "units": ["edu"]},
    "refer": {"partner": "xz-xinli", "service": "counselling", "urgency": "normal",
              "need": "情绪疏导"},
    "flag_crisis": {"reason": "来电者情绪激动"},
    "mandatory_report": {"suspected": "neglect", "what": "孩子长期无人照看"},
    "add_note": {"note": "备注"},
    "append": {"content": "来电人再次来电：还没有修好", "channel": "voice"},
    "assess_risk": {"immediate_danger": "no", "self_harm_thoughts": "yes", "safe_adult": "yes"},
    "risk": {"immediate_danger": "no", "self_harm_thoughts": "yes", "safe_adult": "yes"},
    "call_emergency": {"to": "110", "note": "已转110"},
    "move_to_children_desk": {},
    "reveal": {"reason": "需立即联系来电人"},
    "PATCH /api/v1/tickets/{ticket_id}/contact": {"safe_to_text": False, "note": "父亲不能知道"},
    "POST /api/v1/tickets/{ticket_id}/messages/{message_id}/cancel": {"reason": "来电人要求不发短信"},
    "PUT /api/v1/calendar/days/{day}": {"is_workday": False, "note": "地方调休"},
    "POST /api/v1/calendar/years/{year}": {"note": "已按国务院通知录入"},
    "decline": {"reason": "本周已满"},
    "first_contact": {"note": "已与来电人通话"},
    "report_outcome": {"outcome": "三次面谈后情绪稳定", "follow_up": False},
    "close": {},
    "revoke": {"reason": "家长改变主意"},
    "rename_child": {"child_alias": "小雨点"},
    "accept": {},
    "POST /api/v1/partners": lambda scene: {"code": f"authz-{next(_CODES)}", **PARTNER_BODY},
    "PUT /api/v1/partners/{code}": lambda scene: {"code": scene["code"], **PARTNER_BODY},
    "POST /api/v1/knowledge/articles": {"title": "授权测试条目", "answer": "答复内容"},
    "PATCH /api/v1/knowledge/articles/{article_id}": {"answer": "更新后的答复"},
    "POST /api/v1/mandatory-reports/{report_id}/actions/report": {"to": "鼓楼公安分局", "note": "已报"},
    "POST /api/v1/mandatory-reports/{report_id}/actions/record_receipt": {"receipt_number": "GL-2026-001"},
    "POST /api/v1/users": lambda scene: {"username": f"authz-{next(_CODES)}", "display_name": "授权测试",
                                         "role": "handler", "unit": "gulou"},
    "PATCH /api/v1/users/{username}": {"display_name": "授权测试改名"},
    "POST /api/v1/users/{username}/password": {"password": "Lantern-Harbour-42"},
    "POST /api/v1/units": lambda scene: {"code": f"authz-{next(_CODES)}", "name": "授权测试单位",
                                         "kind": "town", "parent": "gulou"},
    "PATCH /api/v1/units/{code}": {"name": "授权测试单位改名"},
    "PATCH /api/v1/partners/{code}": {"hours": "周一至周五 9:00-17:00"},
}
BODIES["POST /api/v1/rules/time-limits/preview"] = {"changes": {"ticket.review": "2wd"}}
BODIES["PATCH /api/v1/rules/time-limits"] = {"changes": {"ticket.review": "2wd"}, "note": "授权测试"}
BODIES["PUT /api/v1/rules/routing"] = {"routes": [{"name": "属地管理", "unit": "@county"}]}
BODIES["PUT /api/v1/rules/crisis-words"] = {"kinds": {"self_harm": ["想死", "自杀"], "abuse": ["虐待"]},
                                            "ignore": ["笑死我了"], "negation": {"kinds": ["self_harm"],
                                                                               "cues": ["不是"]}}
BODIES["POST /api/v1/outbox/{message_id}/cancel"] = {"reason": "授权测试"}
BODIES["POST /api/v1/knowledge/articles/{article_id}/flag"] = {"reason": "条目已过时"}
BODIES["POST /api/v1/hotspots/{hotspot_id}/dispatch"] = {"unit": "gulou"}
BODIES["POST /api/v1/views"] = {"name": "授权测试视图", "filters": {"desk": "general"}}
BODIES["POST /api/v1/subscriptions"] = {"url": "https://grid.gulou.example/hooks", "unit": "gulou"}
BODIES["PATCH /api/v1/subscriptions/{sub_id}"] = {"description": "鼓楼区网格化平台"}
QUERIES = {"GET /api/v1/reports/partners": "?from=2026-11-01&to=2026-11-30",
           "GET /api/v1/admin/export": "?kind=units",
           "GET /api/v1/knowledge/search": "?q=社保卡",
           "POST /twilio/voice/survey": "?ticket=1&cycle=0&attempt=1"}
# The webhooks' form bodies, as Twilio posts them (minus the signature).
CALL = {"CallSid": "CA" + "0" * 32, "AccountSid": "AC" + "0" * 32, "From": "+8613800000001",
        "To": "+8651612345", "CallStatus": "in-progress"}
FORMS = {
    "/twilio/voice": CALL, "/twilio/voice/gather": {**CALL, "Digits": "1"},
    "/twilio/voice/connect": CALL, "/twilio/voice/after": {**CALL, "QueueResult": "bridged"},
    "/twilio/voice/survey": {**CALL, "Digits": "1"},
    "/twilio/sms": {"MessageSid": "SM" + "0" * 32, "From": "+8613800000001", "To": "+8651612345",
                    "Body": "路灯坏了"},
    "/twilio/status": {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"},
    # a callable: a fresh file for each request (a read upload is empty the next time)
    "/api/v1/tickets/{ticket_id}/attachments": lambda: {"file": (io.BytesIO(PHOTO), "现场.png")},
    "/api/v1/admin/import": lambda: {"kind": "units", "dry_run": "true", "file": (io.BytesIO(
        "code,name,kind,parent\nauthz-import,导入测试,town,gulou\n".encode()), "units.csv")},
}
PATH_VALUES = {"year": 2027, "day": "2027-01-04", "username": "seat3"}
ENDS_THE_TOKEN = {"POST /api/v1/auth/logout"}
_CODES = itertools.count(1)


def expected_table(text: str = EXPECTED, roles: dict = ROLES) -> dict[str, dict[str, str]]:
    """'METHOD path' -> its scene and each role's code (the console's table is read alike)."""
    table = {}
    for line in text.strip().splitlines():
        method, path, scene, *codes = line.split()
        assert len(codes) == len(roles), line
        table[f"{method} {path}"] = {"scene": scene, **dict(zip(roles, codes, strict=True))}
    return table


class Scenes:
    """Builds, through the API itself, what each row's request runs against."""

    def __init__(self, app, api):
        self.app, self.api = app, api

    def build(self, name: str) -> dict:
        return {} if name == "-" else getattr(self, name)()

    # --- tickets, along the lifecycle
    def intake(self):
        return {"ticket_id": self.api.create()["id"], "other_ticket": self.api.create()["id"]}

    def pending_dispatch(self):
        tid = self.api.create()["id"]
        self.api.act(tid, "submit", "seat1")
        return {"ticket_id": tid}

    def dispatched(self):
        return {"ticket_id": self.api.dispatched(unit="gulou", co_units=["edu"])["id"]}

    def in_progress(self):
        tid = self.dispatched()["ticket_id"]
        self.api.act(tid, "acknowledge", "handler-gulou")
        return {"ticket_id": tid}

    def attached(self):
        """In progress, with a site photo the lead unit added (not the caller's material)."""
        tid = self.in_progress()["ticket_id"]
        response = self.api.client.post(f"/api/v1/tickets/{tid}/attachments",
                                        headers=self.api.headers("handler-gulou"),
                                        data={"file": (io.BytesIO(PHOTO), "现场.png")})
        assert response.status_code == 201, response.get_json()
        return {"ticket_id": tid, "attachment_id": response.get_json()["id"]}

    def minor_handled(self):
        """In progress, on the general desk, with a caller of 15: a child's case (referral,
        强制报告 and the risk assessment apply; no guardian consent needed)."""
        ticket = self.api.dispatched(unit="gulou", co_units=["edu"],
                                     caller={"phone": "+8613900000015", "name": "周小安", "age": 15})
        self.api.act(ticket["id"], "acknowledge", "handler-gulou")
        return {"ticket_id": ticket["id"]}

    def opinion_in(self):
        tid = self.in_progress()["ticket_id"]
        self.api.act(tid, "submit_opinion", "handler-edu", BODIES["submit_opinion"])
        return {"ticket_id": tid}

    def return_requested(self):
        tid = self.in_progress()["ticket_id"]
        self.api.act(tid, "return", "handler-gulou", BODIES["return"])
        return {"ticket_id": tid}

    def extension_asked(self):
        tid = self.in_progress()["ticket_id"]
        self.api.act(tid, "request_extension", "handler-gulou", BODIES["request_extension"])
        return {"ticket_id": tid}

    def replied(self):
        tid = self.opinion_in()["ticket_id"]
        self.api.act(tid, "reply", "handler-gulou", BODIES["reply"])
        return {"ticket_id": tid}

    def callback_pending(self):
        tid = self.replied()["ticket_id"]
        self.api.act(tid, "approve_reply", "dispatcher1", BODIES["approve_reply"])
        return {"ticket_id": tid}

    def queued_text(self):
        """A ticket waiting for its callback, its survey text queued (not sent)."""
        from hotline import callbacks

        tid = self.callback_pending()["ticket_id"]
        with self.app.app_context():
            callbacks.send_survey(tid, 0, 1)
            db.session.commit()
        [message] = self.api.ticket(tid)["messages"]
        return {"ticket_id": tid, "message_id": message["id"]}

    def unsent_text(self):
        """A queued survey text that never went (no SMS provider): it may be sent again."""
        from hotline.outbox import MessageStatus, OutboxMessage

        scene = self.queued_text()
        with self.app.app_context():
            db.session.get(OutboxMessage, scene["message_id"]).status = MessageStatus.NOT_SENT
            db.session.commit()
        return scene

    def closed(self):
        tid = self.callback_pending()["ticket_id"]
        self.api.act(tid, "record_callback", "seat1", BODIES["record_callback"])
        return {"ticket_id": tid}

    # --- referrals (to partner-xz-xinli) and mandatory reports
    def referral_sent(self):
        tid = self.minor_handled()["ticket_id"]
        ticket = self.api.act(tid, "refer", "seat1", BODIES["refer"])
        return {"ticket_id": tid, "referral_id": ticket["referrals"][-1]["id"]}

    def _referral_after(self, *actions: str) -> dict:
        scene = self.referral_sent()
        for action in actions:
            self.api.post(f"/api/v1/referrals/{scene['referral_id']}/actions/{action}",
                          "partner-xz-xinli", BODIES[action])
        return scene

    def referral_accepted(self):
        return self._referral_after("accept")

    def referral_in_service(self):
        return self._referral_after("accept", "first_contact")

    def referral_completed(self):
        return self._referral_after("accept", "first_contact", "report_outcome")

    def report_open(self):
        tid = self.minor_handled()["ticket_id"]
        ticket = self.api.act(tid, "mandatory_report", "seat1", BODIES["mandatory_report"])
        report = self.api.get("/api/v1/mandatory-reports", "supervisor1").json[0]
        assert report["ticket"] == ticket["id"]
        return {"report_id": report["id"]}

    def report_made(self):
        scene = self.report_open()
        self.api.post(f"/api/v1/mandatory-reports/{scene['report_id']}/actions/report", "supervisor1",
                      BODIES["POST /api/v1/mandatory-reports/{report_id}/actions/report"])
        return scene

    # --- the rest
    def unit_notice(self):
        """A 督办 notice in 鼓楼区's inbox (the co-unit gets its own, not this one)."""
        tid = self.in_progress()["ticket_id"]
        self.api.act(tid, "supervise", "supervisor1", BODIES["supervise"])
        notice = self.api.get("/api/v1/notices", "handler-gulou").json[0]
        assert notice["unit"] == "gulou" and notice["ticket"] == tid
        return {"notice_id": notice["id"]}

    def dispatcher_alert(self):
        """The dispatchers' crisis alert on a ticket a seat judged a crisis."""
        tid = self.api.create()["id"]
        self.api.act(tid, "flag_crisis", "seat1", {"reason": "孩子表达轻生念头"})
        alerts = self.api.get("/api/v1/alerts", "dispatcher1").json
        return {"alert_id": next(alert["id"] for alert in alerts if alert["ticket"] == tid)}

    def calendar_day(self):
        self.api.client.put(f"/api/v1/calendar/days/{PATH_VALUES['day']}", headers=self.api.headers("admin"),
                            json=BODIES["PUT /api/v1/calendar/days/{day}"])
        return {}

    def call(self):
        """A call that chose the general desk (seat1's) and waits in its queue."""
        from hotline.channels import calls
        from hotline.tickets.models import Desk

        sid = f"CA{next(_CODES):032d}"
        with self.app.app_context():
            calls.record_arrival(sid, "+8613800000001", "+8651612345", "ringing")
            calls.choose_desk(sid, Desk.GENERAL)
            db.session.commit()
        return {"call_sid": sid}

    def user_session(self):
        """A bearer token of seat3's, which an admin may end."""
        self.api.client.post("/api/v1/auth/token", json={"username": "seat3", "password": "demo"})
        newest = self.api.get("/api/v1/users/seat3/sessions", "admin").json[0]
        return {"session_id": newest["id"]}

    def subscription(self):
        sub = self.api.post("/api/v1/subscriptions", "admin", {"url": "http://127.0.0.1:9/down", "unit": "gulou"},
                            expect=201).json
        return {"sub_id": sub["id"]}

    def failed_delivery(self):
        """A delivery whose retries ran out (set so directly: the schedule takes a day)."""
        from hotline.subscriptions import Delivery, DeliveryStatus

        scene = self.subscription()
        self.dispatched()
        with self.app.app_context():
            delivery = db.session.scalars(db.select(Delivery).filter_by(subscription_id=scene["sub_id"])).one()
            delivery.status = DeliveryStatus.FAILED
            scene["delivery_id"] = delivery.id
            db.session.commit()
        return scene

    def new_user(self):
        username = f"authz-{next(_CODES)}"
        self.api.post("/api/v1/users", "admin", {"username": username, "display_name": "授权测试",
                                                 "role": "handler", "unit": "gulou"}, expect=201)
        return {"username": username}

    def new_unit(self):
        code = f"authz-{next(_CODES)}"
        self.api.post("/api/v1/units", "admin", {"code": code, "name": "授权测试单位", "kind": "town",
                                                 "parent": "gulou"}, expect=201)
        return {"code": code}

    def article(self):
        """A draft knowledge article seat1 wrote (its author may edit and submit it)."""
        body = BODIES["POST /api/v1/knowledge/articles"]
        return {"article_id": self.api.post("/api/v1/knowledge/articles", "seat1", body, expect=201).json["id"]}

    def published_article(self):
        article_id = self.article()["article_id"]
        self.api.post(f"/api/v1/knowledge/articles/{article_id}/actions/publish", "supervisor1")
        return {"article_id": article_id}

    def hotspot(self):
        """Five callers about one estate's water, waiting for dispatch: a hotspot."""
        for n in range(5):
            tid = self.api.create(content=f"幸福小区停水了（{n}）",
                                  location={"unit": "gulou-huanglou", "address": "幸福小区"})["id"]
            self.api.act(tid, "submit", "seat1")
        with self.app.app_context():
            hotspots.detect()
            db.session.commit()
            return {"hotspot_id": db.session.scalars(select(hotspots.Hotspot.id)).all()[-1]}

    def saved_view(self):
        view = self.api.post("/api/v1/views", "seat1", {"name": f"视图{next(_CODES)}"}, expect=201).json
        return {"view_id": view["id"]}

    def new_partner(self):
        code = f"authz-{next(_CODES)}"
        self.api.post("/api/v1/partners", "admin", {"code": code, **PARTNER_BODY}, expect=201)
        return {"code": code}


def _body(key: str, action: str, scene: dict):
    body = BODIES.get(key, BODIES.get(action))
    return body(scene) if callable(body) else body


# The table runs in shards (every SHARDS-th operation from `shard`), so the suite's two
# workers share its ~25 s instead of one of them finishing it alone.
SHARDS = 4


@pytest.mark.usefixtures("org")
@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_operation_for_every_role(app, api, client, monkeypatch, shard):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "authz-test-token")  # webhooks on
    spec = client.get("/api/openapi.json").json
    operations = {f"{method.upper()} {path}": op for path, ops in spec["paths"].items()
                  for method, op in ops.items() if method in ("get", "post", "put", "delete", "patch")}
    table = expected_table()
    assert sorted(operations) == sorted(table), (
        f"in the spec, not in the table: {sorted(set(operations) - set(table))}; "
        f"in the table, not in the spec: {sorted(set(table) - set(operations))}")

    scenes = Scenes(app, api)
    wrong = []
    try:
        for key, row in list(table.items())[shard::SHARDS]:
            method, template = key.split(" ", 1)
            success = next(int(code) for code in operations[key]["responses"] if code.startswith("2"))
            action = template.rsplit("/", 1)[1]
            shared = before = None

            def request(scene, username, method=method, template=template, key=key, action=action):
                path = template.format(**{**PATH_VALUES, **scene}) + QUERIES.get(key, "")
                headers = api.headers(username) if username else {}
                if template in FORMS:
                    form = FORMS[template]() if callable(FORMS[template]) else FORMS[template]
                    return client.open(path, method=method, headers=headers, data=form)
                return client.open(path, method=method, headers=headers, json=_body(key, action, scene))

            for role, username in ROLES.items():
                expected = row[role]
                if expected == "ok" and method != "GET":
                    scene = scenes.build(row["scene"])       # its success changes the scene
                else:
                    if shared is None:
                        shared = scenes.build(row["scene"])
                        before = api.snapshot(shared["ticket_id"]) if "ticket_id" in shared else None
                    scene = shared
                response = request(scene, username)
                response.get_data()      # a streamed download ends before the next request
                if key in ENDS_THE_TOKEN:
                    api.forget_tokens()
                want = success if expected == "ok" else int(expected)
                if response.status_code != want:
                    wrong.append(f"{key:62} {role:7} expected {want}, got {response.status_code}: "
                                 f"{response.get_data(as_text=True)[:160]}")
                elif want >= 400:
                    api.assert_error(response, want)
            if before is not None and method != "GET" and api.snapshot(shared["ticket_id"]) != before:
                wrong.append(f"{key}: a refused request changed the ticket")
    finally:
        with app.app_context():
            from referrals.models import Partner

            db.session.execute(delete(Partner).where(Partner.code.like("authz-%")))
            db.session.commit()
    assert not wrong, "\n" + "\n".join(wrong)


def test_a_referral_shows_the_child_no_more_than_the_ticket_does(api):
    """The co-unit sees the caller masked on the ticket; the ticket's referral must not unmask it."""
    child = {"phone": "+8613900000013", "name": "李小雨", "is_minor": True, "age": 12}
    tid = api.dispatched(unit="gulou", co_units=["edu"], desk="children", category="psych_support",
                         caller=child)["id"]
    ticket = api.act(tid, "refer", "seat1", {**BODIES["refer"], "consent": {
        "by": "母亲 王某", "how": "phone", "covers_contact": True}})
    rid = ticket["referrals"][-1]["id"]

    for user in ("handler-edu", "handler-gulou", "supervisor1", "partner-xz-xinli"):
        caller = api.ticket(tid, as_user=user)["caller"] if user != "partner-xz-xinli" else None
        shown = [api.get(f"/api/v1/referrals/{rid}", user).json["child"],
                 api.get("/api/v1/referrals", user).json[0]["child"]]
        for seen in shown:
            if user == "partner-xz-xinli":      # alias and the phone consent covers, never the name
                assert seen["phone"] == child["phone"] and "name" not in seen
            else:
                assert (seen["phone"], seen["name"]) == (caller["phone"], caller["name"]), user
    assert api.ticket(tid, as_user="handler-edu")["caller"]["masked"] is True
