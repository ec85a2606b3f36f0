"""What the console calls things: the API's codes (states, actions, desks...) as words.

Chinese is the source language of the console (msgids); hotline/translations/en holds
the English. Codes without a label show as themselves, so a new state or action added
elsewhere is never hidden, only untranslated.
"""

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from hotline import error_messages
from hotline.tickets.registry import LABELS
from referrals.workflow import LABELS as REFERRAL_STEP_LABELS
from referrals.workflow import REPORT_LABELS

STATES = {
    "intake": _l("受理中"), "pending_dispatch": _l("待派单"), "dispatched": _l("待签收"),
    "in_progress": _l("办理中"), "return_requested": _l("退单申请中"), "replied": _l("待审核"),
    "callback_pending": _l("待回访"), "closed": _l("已办结"), "transferred": _l("已转出"),
    "rejected": _l("不予受理"), "merged": _l("已并单"),
}

# The ticket actions' names come with their entries in the registry (hotline/tickets/registry.py);
# these are the events that are not actions.
ACTIONS = {
    **LABELS,
    "create": _l("受理"), "merged_in": _l("并入工单"), "timer_warning": _l("临期预警"),
    "timer_overdue": _l("超期"),
    "crisis_flagged": _l("进入危机处置"),
    "timer_recomputed": _l("时限重算"),
    "mandatory_report_report": _l("强制报告已报送"),
    "mandatory_report_record_receipt": _l("强制报告回执已登记"),
    "referral_sent": _l("发出转介"), "referral_accept": _l("机构接收转介"),
    "referral_decline": _l("机构拒绝转介"), "referral_first_contact": _l("机构首次联系"),
    "referral_report_outcome": _l("机构报告服务结果"), "referral_close": _l("转介关闭"),
    "referral_escalate": _l("转介超时未接收"), "referral_revoke": _l("撤回转介"),
    "referral_rename_child": _l("修改儿童称呼"),
    "attach": _l("上传附件"), "attach_refused": _l("彩信附件未保存"),
}

# Contact safety, the callback survey and the outbox (hotline/contact_safety.py, callbacks.py).
ACTIONS.update({
    "callback_survey": _l("发送回访短信"), "callback_voice_survey": _l("拨打回访电话"),
    "callback_seat_task": _l("转坐席电话回访"), "text_withheld": _l("自动短信未发送"),
    "contact_safety_set": _l("设置联系安全"), "message_cancelled": _l("取消外发短信"),
    "anonymised": _l("已匿名化"),
})
# What an outgoing text or call is for (hotline/outbox.py `purpose`).
PURPOSES = {"callback_survey": _l("回访短信"), "callback_voice_survey": _l("回访电话"),
            "sms_ticket": _l("受理回执"), "sms_note": _l("补充回执"), "sms_survey_answer": _l("评价致谢")}

# The referral's own lifecycle (referrals/workflow.py) and its steps.
REFERRAL_STATES = {
    "sent": _l("待接收"), "accepted": _l("已接收"), "declined": _l("已拒绝"),
    "in_service": _l("服务中"), "completed": _l("服务已完成"), "closed": _l("已关闭"),
    "escalated": _l("超时未接收"), "revoked": _l("已撤回"),
}
# The steps' names come with their entries in referrals/workflow.py; "sent" is the opening.
REFERRAL_ACTIONS = {"sent": _l("发出转介"), **REFERRAL_STEP_LABELS}
SERVICES = {
    "counselling": _l("心理咨询"), "therapy": _l("心理治疗"), "crisis_intervention": _l("危机干预"),
    "legal_consultation": _l("法律咨询"), "legal_aid": _l("法律援助"), "mediation": _l("调解"),
    "case_management": _l("个案管理"), "family_support": _l("家庭支持"),
}
CONSENT_HOW = {"phone": _l("电话"), "in_person": _l("当面"), "sms": _l("短信"),
               "video": _l("视频"), "written": _l("书面")}
CONSENT_KINDS = {"guardian": _l("监护人已同意"), "override": _l("紧急免同意"),
                 "not needed": _l("无需监护人同意")}
REPORT_ACTIONS = REPORT_LABELS
REPORT_STATES = {"open": _l("待报告"), "reported": _l("已报告，待回执"), "receipted": _l("已回执")}

# Inbound calls (hotline/channels/models.CallState).
CALL_STATES = {"ringing": _l("语音菜单中"), "queued": _l("排队等待"), "in-progress": _l("通话中"),
               "completed": _l("已结束")}

DESKS = {"general": _l("综合专席"), "children": _l("儿童服务专席"), "hard_case": _l("办不成事专席")}
CHANNELS = {"voice": _l("电话"), "sms": _l("短信"), "web": _l("网站"), "walk_in": _l("来访")}
CATEGORIES = {
    "consultation": _l("咨询"), "help": _l("求助"), "complaint": _l("投诉"), "report": _l("举报"),
    "suggestion": _l("建议"), "psych_support": _l("心理支持"), "legal": _l("法律"),
    "rights_violation": _l("权益侵害"),
}
PRIORITIES = {"normal": _l("一般"), "urgent": _l("紧急"), "crisis": _l("危机")}
TIMERS = {
    "dispatch": _l("派单时限"), "acknowledge": _l("签收时限"), "respond": _l("响应时限"),
    "handle": _l("办理时限"), "review": _l("审核时限"), "callback": _l("回访时限"),
    "accept": _l("接收时限"), "first_contact": _l("首次联系时限"), "outcome": _l("服务结果时限"),
}
TIMER_STATES = {
    "running": _l("计时中"), "warned": _l("临期"), "overdue": _l("已超期"), "met": _l("已完成"),
    "cancelled": _l("已取消"),
}
ROLES = {
    "seat": _l("坐席"), "dispatcher": _l("派单员"), "supervisor": _l("值班长"),
    "handler": _l("承办单位"), "partner": _l("合作机构"), "admin": _l("管理员"),
    "unit_admin": _l("单位管理员"),
}
RESOLUTIONS = {
    "answered": _l("直接答复"), "transferred": _l("转出"), "rejected": _l("不予受理"),
    "merged": _l("并单"), "satisfied": _l("回访满意办结"), "unreachable": _l("回访未接通办结"),
}
UNIT_KINDS = {
    "city": _l("市级"), "county": _l("区县"), "department": _l("部门"), "town": _l("街道/镇"),
    "village": _l("村/社区"),
}

# Form fields of the intake form and of the action bodies (API field names).
FIELDS = {
    "desk": _l("专席"), "channel": _l("渠道"), "category": _l("类别"), "priority": _l("紧急程度"),
    "subject": _l("标题"), "content": _l("诉求内容"), "caller_phone": _l("来电号码"),
    "caller_name": _l("来电人姓名"), "caller_is_minor": _l("未成年人"), "caller_age": _l("年龄"),
    "location_unit": _l("所在区域"), "address": _l("详细地址"), "call_sid": _l("来电"),
    "answer": _l("答复内容"), "to": _l("转出至"), "note": _l("说明"), "reason": _l("理由"),
    "into": _l("并入工单号"), "unit": _l("承办单位"), "co_units": _l("协办单位"),
    "opinion": _l("协办意见"), "days": _l("延期工作日数"), "result": _l("办理结果"),
    "resolved": _l("问题已解决"), "reached": _l("已接通"), "satisfied": _l("满意"),
    "units": _l("参与单位"), "rating": _l("满意度评价（1 满意，2 基本满意，3 不满意）"),
    "partner": _l("合作机构代码"), "service": _l("服务"), "urgency": _l("紧急程度"),
    "need": _l("需求"), "child_alias": _l("儿童称呼"), "contact_route": _l("联系方式"),
    "consent_by": _l("同意人"), "consent_how": _l("同意方式"), "consent_at": _l("同意时间"),
    "consent_covers_contact": _l("同意向机构提供电话"), "consent_override_reason": _l("紧急免同意理由"),
    "suspected": _l("疑似情形"), "what": _l("情况说明"),
    "outcome": _l("服务结果"), "follow_up": _l("需要后续跟进"), "receipt_number": _l("回执编号"),
    "consent": _l("监护人同意"),
    "immediate_danger": _l("眼下有危险"), "self_harm_thoughts": _l("有自伤/自杀想法"),
    "self_harm_plan": _l("有具体计划"), "self_harm_means": _l("手边有工具或药物"),
    "violence_or_abuse": _l("家中或学校有暴力/虐待"), "safe_adult": _l("身边有可信任的大人"),
    "location_known": _l("已知孩子所在位置"), "level": _l("风险等级"),
}

# Codes offered in a form's list (OneOf choices of the API's bodies).
CHOICES = {
    "normal": _l("一般"), "crisis": _l("危机"), "abuse": _l("虐待"), "sexual_abuse": _l("性侵害"),
    "neglect": _l("忽视照料"), "violence": _l("暴力"), "trafficking": _l("拐卖"), "other": _l("其他"),
    "110": _l("110 报警"), "119": _l("119 火警"), "120": _l("120 急救"), "122": _l("122 交通事故"),
    "yes": _l("是"), "no": _l("否"), "unknown": _l("不清楚"),
    "low": _l("低风险"), "medium": _l("中风险"), "high": _l("高风险"),
}

# The risk assessment's questions as the seat asks them (hotline/risk.py), and why a ticket
# is on the crisis path (console/child_safety.crisis_reasons).
RISK_QUESTIONS = {
    "immediate_danger": _l("孩子现在是否有危险（正在受伤、被威胁、在危险的地方）？"),
    "self_harm_thoughts": _l("孩子是否有伤害自己或自杀的想法？"),
    "self_harm_plan": _l("是否有具体的计划（怎么做、什么时候）？"),
    "self_harm_means": _l("工具或药物是否就在手边？"),
    "violence_or_abuse": _l("家里或学校是否有暴力、虐待或欺凌？"),
    "safe_adult": _l("身边是否有可以信任、能马上找到的大人？"),
    "location_known": _l("是否知道孩子现在的具体位置？"),
}
CRISIS_SOURCES = {
    "intake": _l("受理内容中的危机词"), "note": _l("备注中的危机词"), "sms": _l("短信中的危机词"),
    "seat": _l("坐席判断"), "risk": _l("风险评估为高风险"), "intake_judged": _l("受理时标为危机"),
}

KPIS = {
    "dispatch_on_time": _l("派单及时率"), "acknowledged_on_time": _l("及时签收率"),
    "responded_on_time": _l("响应率"), "replied_on_time": _l("按时办结率"),
    "resolved": _l("解决率"), "satisfied": _l("满意率"), "answered_directly": _l("直接答复率"),
    "returned": _l("退单率"), "extended": _l("延期率"), "overdue": _l("超期率"),
    "reworked": _l("重办率"),
}

# Kinds of notices (hotline/notices.py) in a unit's or a role's inbox.
NOTICE_KINDS = {
    "supervise": _l("督办"), "overdue": _l("超期"), "crisis_warning": _l("危机临期"),
    "crisis": _l("危机警报"),
    "recall": _l("撤回改派"), "reveal": _l("查看完整联系方式"), "consent_override": _l("紧急免同意转介"),
    "referral_declined": _l("转介被拒"), "referral_escalated": _l("转介超时未接收"),
    "referral_overdue": _l("转介超时"), "mandatory_report": _l("强制报告"),
}

# What each KPI counts, for the people who are scored by it (hotline/kpis.py has the exact rules).
KPI_HELP = {
    "dispatch_on_time": _l("期间到期或已完成的派单时限中，按时派出的比例。"),
    "acknowledged_on_time": _l("承办单位在签收时限内签收的比例。"),
    "responded_on_time": _l("承办单位在响应时限内首次联系来电人的比例（办理回复也算联系）。"),
    "replied_on_time": _l(
        "每一轮办理（派单后、退回重办后、回访不满意后、重启后）在办理时限内回复的比例；批准的延期计入时限。"),
    "resolved": _l("回访接通的来电人中，表示问题已解决的比例。"),
    "satisfied": _l("回访接通的来电人中，评价满意或基本满意的比例。"),
    "answered_directly": _l("期间受理的工单中，坐席当场直接答复办结的比例。"),
    "returned": _l("派出的工单中，被退单且经派单员同意的比例（市中心撤回改派不计）。"),
    "extended": _l("办理时限中，经批准延期的比例。"),
    "overdue": _l("承办单位的签收、响应、办理时限中，超过时限才完成或仍未完成的比例。"),
    "reworked": _l("办理回复后，因回访不满意或重启而再次办理的比例。"),
}


# Why a ticket's caller may or may not be texted (hotline/contact_safety.py REASONS).
CONTACT_REASONS = {
    "safe": _l("可以发送"), "seat": _l("坐席已标记"), "children_desk": _l("儿童专席工单默认不发短信"),
    "crisis": _l("危机工单默认不发短信"), "abuse": _l("疑似侵害工单默认不发短信"),
    "opted_out": _l("该号码已退订短信"), "no_number": _l("没有来电号码"),
}
# Who on a ticket may act (hotline/permissions.py relations), outgoing texts and webhook
# deliveries, knowledge articles: the words error messages use for these codes.
RELATIONS = {"lead": _l("主办单位"), "co_unit": _l("协办单位"), "lead_or_co_unit": _l("主办或协办单位")}
MESSAGE_STATES = {
    "queued": _l("排队中"), "sending": _l("发送中"), "sent": _l("已发送"), "delivered": _l("已送达"),
    "undelivered": _l("未送达"), "failed": _l("发送失败"), "not_sent": _l("未发送"),
    "cancelled": _l("已取消"),
}
DELIVERY_STATES = {"pending": _l("待推送"), "retrying": _l("重试中"), "delivered": _l("已送达"),
                   "failed": _l("推送失败"), "cancelled": _l("已取消")}
ARTICLE_STATES = {"draft": _l("草稿"), "submitted": _l("待审核"), "published": _l("已发布"),
                  "retired": _l("已停用")}
ARTICLE_ACTIONS = {"submit": _l("提交审核"), "publish": _l("发布"), "retire": _l("停用"), "edit": _l("修改")}


def label(table: dict, code) -> str:
    if code is None:
        return ""
    code = getattr(code, "value", code)
    return str(table.get(code, code))


# What a report's volumes are counted by (hotline/reports.py), but areas, which are units.
DIMENSIONS = {"category": CATEGORIES, "channel": CHANNELS, "desk": DESKS}


def code_name(dimension: str, code: str, names: dict[str, str]) -> str:
    """What a volume's code is called: a category's, channel's or desk's label, a unit's name."""
    if dimension == "area":
        return names.get(code, code) if code else gettext("未指定区域")
    return label(DIMENSIONS[dimension], code)


def field_error(message) -> str:
    """One field error in the viewer's language: a coded `Problem` by its code, other text as it is."""
    code = getattr(message, "code", None)
    if isinstance(code, str):
        return error_messages.render(code, message.params)
    return str(message)


# What error messages call the codes they are given (hotline/error_messages.py).
error_messages.PARAM_WORDS.update({
    "state": STATES, "action": ACTIONS, "role": ROLES, "desk": DESKS, "relation": RELATIONS,
    "field": {**FIELDS, "location.unit": FIELDS["location_unit"]},
    "referral_state": REFERRAL_STATES, "referral_action": REFERRAL_ACTIONS,
    "report_state": REPORT_STATES, "report_action": REPORT_ACTIONS,
    "service": SERVICES, "offered": SERVICES, "status": MESSAGE_STATES, "delivery_status": DELIVERY_STATES,
    "article_state": ARTICLE_STATES, "article_action": ARTICLE_ACTIONS,
})
