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

# The menu, in one place: (endpoint, title, who sees it). Entries in MANAGE sit under one
# 管理 menu at the end of the row, so the pages of administration do not each take a place
# in the top row (which would wrap on a desk's screen and fill a phone's).
S, D, SV, H, A, P, UA = (Role.SEAT, Role.DISPATCHER, Role.SUPERVISOR, Role.HANDLER, Role.ADMIN, Role.PARTNER,
                         Role.UNIT_ADMIN)
WORK = [
    ("console.inbox", _l("收件箱"), {H}),
    ("console.referral_inbox", _l("转介收件箱"), permissions.PARTNERS),
    ("console.new_ticket", _l("新建工单"), permissions.SEATS),
    ("console.callbacks", _l("回访"), {S}),
    ("console.crisis_board", _l("危机工单"), permissions.SUPERVISORS),
    ("console.dispatch_queue", _l("待派单"), {D, SV, A}),
    ("console.hotspot_board", _l("热点诉求"), permissions.BOARD_VIEWERS),
    ("console.review", _l("审核"), permissions.DISPATCHERS),
    ("console.overdue_board", _l("超期工单"), permissions.SUPERVISORS),
    ("console.referral_board", _l("转介超时"), permissions.SUPERVISORS),
    ("console.mandatory_reports_board", _l("强制报告"), permissions.SUPERVISORS),
    ("console.notices_page", _l("通知"), {S, D, SV, H}),
    ("console.tickets", _l("工单查询"), {S, D, SV, H, A}),
    ("console.kpi_dashboard", _l("统计指标"), permissions.KPI_VIEWERS),
    ("console.reports_overview", _l("报表"), permissions.REPORT_READERS),
]
MANAGE = [
    ("console.admin_users", _l("用户管理"), permissions.ADMIN_READERS),
    ("console.admin_units", _l("组织机构"), permissions.ADMIN_READERS),
    ("console.admin_import", _l("批量导入"), permissions.ADMIN_WRITERS),
    ("console.admin_sessions", _l("登录会话"), permissions.SESSION_MANAGERS),
    ("console.admin_partners", _l("合作机构"), permissions.ADMINS),
    ("console.knowledge_page", _l("知识库"), {Role(name) for name in permissions.DEFAULT_KNOWLEDGE_EDITORS}),
    ("console.admin_calendar", _l("工作日历"), permissions.RULE_READERS),
    ("console.admin_time_limits", _l("时限规则"), permissions.RULE_READERS),
    ("console.webhooks_page", _l("推送订阅"), permissions.SUBSCRIPTION_MANAGERS),
    ("console.admin_health", _l("运行状态"), permissions.OUTBOX_READERS),
    ("console.audit_page", _l("访问审计"), permissions.AUDIT_VIEWERS),
    ("console.admin_changes", _l("变更记录"), permissions.ADMIN_READERS - {UA}),
    ("console.failed_jobs_page", _l("失败任务"), permissions.SEES_FAILED_JOBS),
]


def _menu(entries, role: Role) -> list[tuple[str, str]]:
    return [(endpoint, title) for endpoint, title, roles in entries if role in roles]


# The top row and the 管理 menu of each role.
NAV = {role: _menu(WORK, role) for role in Role}
MANAGE_NAV = {role: _menu(MANAGE, role) for role in Role}

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
    manage = [(endpoint, str(title)) for endpoint, title in MANAGE_NAV[current_user.role]]
    context = {"nav": [(endpoint, str(title)) for endpoint, title in NAV[current_user.role]],
               "nav_manage": manage, "nav_manage_active": request.endpoint in {e for e, _t in manage},
               "pulse_seconds": pulse_seconds()}
    if current_user.role in CALENDAR_WATCHERS:
        context["calendar_warning"] = missing_year_warning()
        context["calendar_missing_year"] = missing_year()
    return context


@bp.get("/")
@login_required
def home():
    return redirect(url_for(LANDING[current_user.role]))
