"""The navigation of each role, the landing page, and what every page's frame shows
(the pulse interval, the missing-holidays warning)."""

from flask import current_app, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from hotline import permissions
from hotline.clocks.overrides import missing_year, missing_year_warning
from hotline.console import bp
from hotline.users import Role

DEFAULT_PULSE_SECONDS = 15

NAV = {
    Role.SEAT: [("console.new_ticket", _l("新建工单")), ("console.callbacks", _l("回访")),
                ("console.tickets", _l("工单查询")), ("console.notices_page", _l("通知"))],
    Role.DISPATCHER: [("console.dispatch_queue", _l("待派单")), ("console.review", _l("审核")),
                      ("console.tickets", _l("工单查询")), ("console.kpi_dashboard", _l("统计指标")),
                      ("console.reports_overview", _l("报表")),
                      ("console.notices_page", _l("通知"))],
    Role.SUPERVISOR: [("console.crisis_board", _l("危机工单")), ("console.overdue_board", _l("超期工单")),
                      ("console.dispatch_queue", _l("待派单")),
                      ("console.referral_board", _l("转介超时")),
                      ("console.mandatory_reports_board", _l("强制报告")),
                      ("console.tickets", _l("工单查询")), ("console.kpi_dashboard", _l("统计指标")),
                      ("console.reports_overview", _l("报表")),
                      ("console.notices_page", _l("通知"))],
    Role.HANDLER: [("console.inbox", _l("收件箱")), ("console.notices_page", _l("通知")),
                   ("console.tickets", _l("工单查询")), ("console.kpi_dashboard", _l("统计指标")),
                   ("console.reports_overview", _l("报表"))],
    Role.ADMIN: [("console.new_ticket", _l("新建工单")), ("console.dispatch_queue", _l("待派单")),
                 ("console.review", _l("审核")), ("console.crisis_board", _l("危机工单")),
                 ("console.overdue_board", _l("超期工单")), ("console.referral_board", _l("转介超时")),
                 ("console.mandatory_reports_board", _l("强制报告")), ("console.tickets", _l("工单查询")),
                 ("console.kpi_dashboard", _l("统计指标")),
                 ("console.reports_overview", _l("报表")), ("console.admin_sessions", _l("登录会话"))],
    Role.PARTNER: [("console.referral_inbox", _l("转介收件箱"))],
}

LANDING = {
    Role.SEAT: "console.new_ticket", Role.DISPATCHER: "console.dispatch_queue",
    Role.SUPERVISOR: "console.crisis_board", Role.HANDLER: "console.inbox",
    Role.ADMIN: "console.tickets", Role.PARTNER: "console.referral_inbox",
    Role.UNIT_ADMIN: "console.admin_users",
}

# Who is told on every page that next year's holidays are missing (hotline.permissions).
CALENDAR_WATCHERS = permissions.CALENDAR_WATCHERS


def pulse_seconds() -> int:
    return int(current_app.config.get("CONSOLE_PULSE_SECONDS", DEFAULT_PULSE_SECONDS))


@bp.app_context_processor
def _navigation():
    if request.blueprint != "console" or not current_user.is_authenticated:
        return {}
    context = {"nav": [(endpoint, str(title)) for endpoint, title in NAV.get(current_user.role, [])],
               "pulse_seconds": pulse_seconds()}
    if current_user.role in CALENDAR_WATCHERS:
        context["calendar_warning"] = missing_year_warning()
        context["calendar_missing_year"] = missing_year()
    return context


@bp.get("/")
@login_required
def home():
    return redirect(url_for(LANDING[current_user.role]))
