"""What each error code says: the catalogue of hotline/errors.py's stable codes.

A raise site names a code and its parameters (`Conflict(error="ticket.wrong_state",
params={"state": "dispatched", "action": "dispatch"})`); `render` makes the message in the
language of the request: the Chinese text below is the msgid (the source language), the
English is in hotline/translations/en. A parameter that is a code is shown in words through
`PARAM_WORDS` (filled by hotline/console/labels.py, the one table of what things are
called), so messages say "工单当前为“待签收”，不能派单" and never "dispatched"/"dispatch".
`Problem`s (one field's coded error) and durations given as parameters are rendered too.

tests/test_error_codes.py fails when a raise site has no code, or a code has no entry here
or no English translation.
"""

import functools
from collections.abc import Mapping
from pathlib import Path

from babel import support
from flask_babel import lazy_gettext as _l

# Parameter name -> {code: words}; registered by hotline/console/labels.py.
PARAM_WORDS: dict[str, Mapping] = {}

DURATION_WORDS = {
    "s": _l("%(n)s 秒"), "m": _l("%(n)s 分钟"), "h": _l("%(n)s 小时"), "d": _l("%(n)s 天"),
    "wd": _l("%(n)s 个工作日"), "wm": _l("%(n)s 工作分钟"), "wh": _l("%(n)s 工作小时"),
}
LIST_SEPARATOR = _l("、")

MESSAGES = {
    # --- any request ---------------------------------------------------------------------
    "request.changed_concurrently": _l("记录已被他人同时修改，请刷新后重试。"),
    "request.concurrent_conflict": _l("与同时进行的其他操作冲突，请刷新后重试。"),
    "request.out_of_range": _l("数值超出范围。"),
    "request.database_unavailable": _l("数据库暂不可用，请稍后重试。"),
    "request.internal_error": _l("服务器内部错误，本次操作没有执行。"),
    "request.invalid_input": _l("输入有误：%(fields)s"),
    "input.invalid": _l("输入有误：%(why)s"),
    "text.nul": _l("不能包含 NUL 控制字符。"),
    "text.surrogate": _l("包含无效的 Unicode 字符（孤立代理项）。"),
    # --- form fields (the API's schemas, as the console shows their refusals) ---------------
    "field.required": _l("此项为必填项"),
    "field.invalid": _l("格式不正确"),
    "field.not_integer": _l("请输入整数"),
    "field.not_boolean": _l("请选择是或否"),
    "field.not_text": _l("请输入文字"),
    "field.not_date": _l("请输入日期"),
    "field.choose": _l("请从列表中选择"),
    "field.too_long": _l("不得超过 %(max)s 字"),
    "field.too_short": _l("至少 %(min)s 字"),
    "field.length_between": _l("长度应在 %(min)s 到 %(max)s 字之间"),
    "field.range": _l("应在 %(min)s 到 %(max)s 之间"),
    "field.at_least": _l("不得小于 %(min)s"),
    "field.at_most": _l("不得大于 %(max)s"),
    "field.ticket_ref": _l("请输入工单号（如 12345-20261123-000042）或工单 ID"),
    "field.yes_or_no": _l("应为“是”或“否”"),
    "field.phone": _l("不是有效的电话号码"),
    "field.required_when_reached": _l("接通回访时必填"),
    "contact.nothing_to_change": _l("请至少修改一项：能否发短信、可联系时间或说明。"),
    # --- sign-in, passwords, sessions ----------------------------------------------------------
    "auth.token_missing": _l("需要登录：请求没有带令牌。"),
    "auth.token_invalid": _l("令牌无效或已过期，请重新登录。"),
    "auth.password_change_required": _l("请先修改密码（/api/v1/auth/password）。"),
    "auth.bad_credentials": _l("用户名或密码错误。"),
    "auth.too_many_attempts": _l("登录失败次数过多，请 %(minutes)s 分钟后再试。"),
    "auth.wrong_password": _l("原密码不正确。"),
    "auth.same_password": _l("新密码不能与原密码相同。"),
    "auth.weak_password": _l("密码不符合要求：%(why)s"),
    "password.too_short": _l("密码至少 %(min)s 个字符。"),
    "password.too_long": _l("密码最多 %(max)s 个字符。"),
    "password.contains_username": _l("密码不能包含用户名。"),
    "password.too_common": _l("密码太常见或太简单。"),
    "user.not_found": _l("用户 %(username)s 不存在。"),
    "session.not_found": _l("该登录会话不存在或已结束。"),
    "admin.sessions_forbidden": _l("只有管理员可以管理用户的登录会话。"),
    # --- tickets ----------------------------------------------------------------------------
    "ticket.not_found": _l("工单 %(ticket)s 不存在。"),
    "ticket.unknown_action": _l("没有“%(action)s”这项操作。"),
    "ticket.wrong_state": _l("工单当前为“%(state)s”，不能%(action)s。"),
    "ticket.not_applicable": _l("%(action)s不适用于此工单（当前为“%(state)s”）。"),
    "ticket.role_may_not": _l("%(role)s不能%(action)s。"),
    "ticket.only_relation": _l("只有%(relation)s可以%(action)s。"),
    "ticket.only_seats_open": _l("只有坐席可以受理工单。"),
    "ticket.not_your_desk": _l("您不在%(desk)s，不能受理该专席的工单。"),
    "ticket.merge_self": _l("不能与自身并单。"),
    "ticket.merge_target_unknown": _l("目标工单 %(into)s 不存在。"),
    "ticket.merge_target_closed": _l("目标工单 %(number)s 已结束，不能并入。"),
    "ticket.dispatch_not_county": _l("%(unit)s不是区县或市级部门，不能直接派单。"),
    "ticket.lead_is_co_unit": _l("主办单位不能同时是协办单位。"),
    "ticket.duplicate_co_units": _l("协办单位有重复。"),
    "ticket.unit_required": _l("请选择%(field)s。"),
    "ticket.text_too_long": _l("%(field)s不得超过 %(limit)s 字。"),
    "ticket.already_acknowledged": _l("承办单位已签收或已转办，不能撤回改派；如需改派，请承办单位申请退单。"),
    "ticket.co_unit_already_acknowledged": _l("本单位已签收此工单。"),
    "ticket.return_window_passed": _l("已超过退单时限（派单后 %(window)s），请联系派单员。"),
    "ticket.forward_not_below": _l("%(unit)s不是本单位的下级单位，不能转办。"),
    "ticket.already_co_unit": _l("%(unit)s已是本工单的协办单位。"),
    "ticket.extension_too_late": _l("办理时限已过，不能再申请延期。"),
    "ticket.extension_pending": _l("已有待审批的延期申请。"),
    "ticket.extension_cap": _l("延期累计不得超过 %(cap)s，还可申请 %(left)s 个工作日。"),
    "ticket.no_extension_pending": _l("没有待审批的延期申请。"),
    "ticket.crisis_referral_unanswered": _l("危机转介尚未获%(partners)s接收，暂不能回复。"),
    "ticket.opinions_missing": _l("协办单位尚未提交意见：%(units)s。"),
    "ticket.not_reopenable": _l("此工单不能重启。"),
    "ticket.reopen_window_passed": _l("已超过重启时限（办结后 %(window)s）。"),
    "ticket.already_crisis": _l("此工单已是危机工单。"),
    "ticket.not_child_case": _l("仅适用于儿童专席或未成年来电人的工单。"),
    "ticket.not_minor_on_general_desk": _l("只有综合专席上未成年来电人的工单可以转入儿童专席。"),
    "ticket.no_routing_suggestion": _l("派单目录中没有适用于此工单的建议。"),
    "ticket.export_forbidden": _l("%(role)s不能导出工单。"),
    "audit.forbidden": _l("%(role)s不能查看访问审计。"),
    "contact.forbidden": _l("%(role)s不能修改联系安全设置。"),
    # --- units, KPIs, administration ------------------------------------------------------------
    "unit.unknown": _l("单位 %(unit)s 不存在。"),
    "unit.not_found": _l("单位 %(unit)s 不存在。"),
    "unit.inactive": _l("%(unit)s已停用，不能接收新工单。"),
    "kpi.period_reversed": _l("结束日期早于开始日期。"),
    "kpi.period_too_long": _l("统计区间不能超过 %(days)s 天。"),
    "kpi.outside_unit": _l("只能查看本单位及下级单位的指标。"),
    "kpi.forbidden": _l("%(role)s不能查看统计指标。"),
    "admin.read_forbidden": _l("%(role)s不能查看用户与单位管理。"),
    "admin.outside_subtree": _l("超出您管理的单位范围。"),
    "admin.role_not_grantable": _l("单位管理员不能授予%(role)s角色。"),
    "admin.bad_username": _l("用户名须为 2 到 80 个字母、数字或 . _ -"),
    "admin.name_required": _l("姓名不能为空"),
    "admin.name_too_long": _l("姓名最多 200 字"),
    "admin.unknown_role": _l("没有“%(value)s”这个角色"),
    "admin.partner_users_elsewhere": _l("合作机构的用户在合作机构目录中管理"),
    "admin.unit_inactive": _l("单位 %(unit)s 已停用"),
    "admin.role_needs_unit": _l("承办单位用户和单位管理员必须属于一个单位"),
    "admin.unknown_desks": _l("没有这些专席：%(desks)s"),
    "admin.bad_phone": _l("电话号码格式不正确"),
    "admin.grants_handler_roles": _l("单位管理员只能授予承办单位或单位管理员角色"),
    "admin.deactivate_self": _l("不能停用自己的账号。"),
    "admin.bad_unit_code": _l("代码须为小写字母、数字或 -，最多 64 个"),
    "admin.unit_code_taken": _l("单位代码 %(unit)s 已被使用"),
    "admin.unit_name": _l("名称不能为空，最多 200 字"),
    "admin.unknown_unit_kind": _l("没有“%(value)s”这种单位类型"),
    "admin.unknown_parent": _l("上级单位 %(unit)s 不存在"),
    "admin.parent_required": _l("除市中心外，每个单位都要有上级单位"),
    "admin.parent_below_itself": _l("不能把单位移到它自己的下级"),
    "admin.parent_inactive": _l("上级单位 %(unit)s 已停用"),
    "admin.too_long": _l("最多 %(max)s 字"),
    "admin.username_taken": _l("用户名已被使用"),
    "admin.bad_merge_target": _l("合并目标须是此单位以外的另一个单位"),
    "import.duplicate_row": _l("与文件中的另一行重复"),
    "partner.edit_forbidden": _l("只有管理员可以编辑合作机构。"),
    "partner.not_found": _l("合作机构 %(partner)s 不存在。"),
    "partner.unknown": _l("合作机构 %(partner)s 不存在。"),
    "partner.exists": _l("合作机构代码 %(partner)s 已被使用。"),
    "partner.code_fixed": _l("不能修改合作机构的代码。"),
    "import.bad_file": _l("无法导入该文件：%(why)s"),
    "import.no_file": _l("请选择 CSV 或 XLSX 文件。"),
    "import.unknown_encoding": _l("文件编码无法识别，请另存为 UTF-8。"),
    "import.unreadable_xlsx": _l("无法读取该 XLSX 文件。"),
    "import.wrong_type": _l("只支持 CSV 或 XLSX 文件。"),
    "import.empty": _l("文件是空的。"),
    "import.too_many_rows": _l("一次最多导入 %(max)s 行。"),
    "calendar.forbidden": _l("只有管理员可以修改工作日历。"),
    "calendar.bad_days": _l("放假安排有误：%(why)s"),
    "calendar.bad_range": _l("日期范围不对：%(range)s（应从前往后，最长 %(days)s 天）。"),
    # --- the centre's rules: time limits, routing catalogue, crisis lexicon ----------------------
    "rules.forbidden": _l("只有管理员可以修改中心规则。"),
    "rules.read_forbidden": _l("%(role)s不能查看中心规则。"),
    "time_limits.invalid": _l("时限设置有误：%(why)s"),
    "time_limits.unchanged": _l("没有修改任何时限。"),
    "time_limits.not_editable": _l("%(limit)s 不是可修改的时限。"),
    "time_limits.bad_duration": _l("时限格式不对：“%(value)s”，应如 2h、30m、5wd、30wm，且不超过一年。"),
    # the rule builders' refusals (hotline/routing.py, crisis.py, clocks/limits.py): `key` is the
    # place in the document ("rule[0] (crisis).handle"); a bad shipped file shows them at start-up
    "rules.file_missing": _l("规则文件 %(file)s 不存在。"),
    "rules.file_unreadable": _l("无法读取规则文件 %(file)s：%(why)s"),
    "rules.file_not_toml": _l("%(file)s 不是有效的 TOML：%(why)s"),
    "time_limits.missing_key": _l("缺少 %(key)s。"),
    "time_limits.not_a_duration": _l("%(key)s 不是时限：“%(value)s”，应如 2h、30m、5wd、30wm。"),
    "time_limits.bad_ratio": _l("%(key)s 须为 0 到 1 之间的数。"),
    "time_limits.bad_attempts": _l("%(key)s 须为不小于 1 的整数。"),
    "time_limits.bad_match_key": _l("%(key)s 不是可用的匹配条件（可用：%(allowed)s）。"),
    "time_limits.bad_clock": _l("%(key)s 须为 calendar 或 24x7。"),
    "time_limits.bad_escalation": _l("%(key)s 的键只能是 %(allowed)s。"),
    "time_limits.no_fallback": _l("最后一条 [[rule]] 的 match 须为空（兜底规则）。"),
    "time_limits.no_periods": _l("%(key)s 须为非空列表，如 [\"09:00-12:00\", \"13:30-17:30\"]。"),
    "time_limits.bad_period": _l("%(key)s：“%(period)s”不是时段，应如 09:00-12:00。"),
    "time_limits.periods_out_of_order": _l("%(key)s：“%(period)s”与前一时段重叠或在其之前。"),
    "time_limits.no_rule_fits": _l("没有适用于专席“%(desk)s”、类别“%(category)s”、紧急程度“%(priority)s”的 "
                                   "[[rule]]；时限文件的最后一条规则须 match 为空。"),
    "routing.invalid": _l("派单目录有误：%(why)s"),
    "routing.route_count": _l("派单目录须有 1 至 %(max)s 条规则。"),
    "routing.name_required": _l("请填写规则名称（%(max)s 字以内）。"),
    "routing.unit_required": _l("请填写单位代码或 @county。"),
    "routing.unknown_unit": _l("单位 %(unit)s 不存在；可填单位代码或 @county。"),
    "routing.unknown_location": _l("地点单位 %(location)s 不存在。"),
    "routing.unknown_desk": _l("未知专席：%(desks)s。"),
    "routing.unknown_category": _l("未知类别：%(categories)s。"),
    "routing.bad_unit": _l("%(key)s 须为单位代码或 @county。"),
    "crisis_words.invalid": _l("危机词库有误：%(why)s"),
    "crisis_words.no_kinds": _l("至少需要一类危机词。"),
    "crisis_words.bad_kind": _l("类别名只能用小写字母和下划线。"),
    "crisis_words.empty_kind": _l("每类至少一个词；不用的类别请删除。"),
    "crisis_words.too_many": _l("最多 %(max)s 个词，每个 %(length)s 字以内。"),
    "crisis_words.unknown_negation": _l("否定只能用于已有的类别，未知：%(kinds)s。"),
    "crisis_words.no_kinds_table": _l("[kinds] 须按类别列出危机词。"),
    "crisis_words.not_words": _l("%(key)s 须为词语列表（不能有空词）。"),
    # --- attachments -----------------------------------------------------------------------------
    "attachment.forbidden": _l("%(role)s不能上传附件。"),
    "attachment.masked": _l("这是来电人提供的材料，仅对可查看来电人信息的人员开放。"),
    "attachment.not_found": _l("附件 %(attachment)s 不存在。"),
    "attachment.no_file": _l("请选择要上传的文件。"),
    "attachment.empty": _l("上传的文件是空的。"),
    "attachment.too_many": _l("一次最多上传 %(max)s 个文件。"),
    "attachment.too_large": _l("%(file)s超过 %(limit)s 的大小上限，未保存；请压缩后再上传或分次上传。"),
    "attachment.unsupported_type": _l("不支持的文件类型：“%(file)s”（识别为 %(mime)s）。"
                                      "只能上传%(accepted)s。"),
    "attachment.unknown_type": _l("不支持的文件类型：无法识别“%(file)s”。只能上传%(accepted)s。"),
    "attachment.bad_image": _l("图片“%(file)s”无法读取，可能已损坏。"),
    "attachment.no_thumbnail": _l("该附件没有缩略图。"),
    "attachment.checksum_mismatch": _l("附件校验失败，文件可能已损坏，请联系管理员。"),
    "attachment.missing": _l("附件文件不存在，可能存储卷未挂载，请联系管理员。"),
    "attachment.not_twilio_media": _l("不是本账户的 Twilio 彩信地址，未下载。"),
    "attachment.no_credentials": _l("未配置 Twilio 账户凭据，无法取回彩信附件。"),
    "attachment.twilio_refused": _l("Twilio 拒绝提供该附件（HTTP %(status)s）。"),
    # --- hotspots and saved views ------------------------------------------------------------------
    "hotspot.forbidden": _l("%(role)s不能查看热点诉求。"),
    "hotspot.not_found": _l("热点 %(hotspot)s 不存在。"),
    "hotspot.nothing_to_dispatch": _l("热点中没有待派单的工单。"),
    "view.not_found": _l("视图 %(view)s 不存在。"),
    "view.name_required": _l("视图名称不能为空。"),
    "view.bad_filters": _l("视图的筛选条件无效。"),
    "view.too_many": _l("最多保存 %(max)s 个视图。"),
    # --- notices, alerts, calls, texts, webhooks -------------------------------------------------
    "notice.not_found": _l("通知 %(notice)s 不存在。"),
    "alert.not_found": _l("警报 %(notice)s 不存在。"),
    "call.unknown": _l("来电 %(call)s 不存在。"),
    "call.not_found": _l("来电 %(call)s 不存在。"),
    "call.forbidden": _l("只有中心人员可以查看来电。"),
    "outbox.forbidden": _l("只有中心人员可以查看发件箱。"),
    "outbox.cancel_forbidden": _l("%(role)s不能取消外发短信。"),
    "outbox.message_not_found": _l("短信 %(message)s 不存在。"),
    "outbox.edit_forbidden": _l("只有管理员可以重发或取消发件箱中的短信。"),
    "outbox.not_resendable": _l("短信当前为“%(status)s”，不能重发：只有尚未发出的短信可以重发。"),
    "outbox.not_cancellable": _l("短信当前为“%(status)s”，不能取消：只有排队中的短信可以取消。"),
    "twilio.not_configured": _l("未配置 TWILIO_AUTH_TOKEN，拒绝未签名的回调。"),
    "twilio.signature_missing": _l("缺少 Twilio 签名。"),
    "twilio.signature_invalid": _l("Twilio 签名无效。"),
    "twilio.missing_field": _l("Twilio 回调缺少 %(name)s 或其值无效。"),
    "twilio.missing_status": _l("Twilio 回调缺少 Sid 或状态。"),
    "subscription.forbidden": _l("只有管理员或本单位的单位管理员可以管理推送订阅。"),
    "subscription.bad_secret": _l("密钥须为 whsec_ 加上 24 到 64 字节的 base64。"),
    "subscription.unknown_event": _l("请选择已有的事件类型（没有：%(events)s）。"),
    "subscription.not_found": _l("推送订阅 %(subscription)s 不存在。"),
    "subscription.inactive": _l("推送订阅已停用，请先启用。"),
    "delivery.not_found": _l("推送记录 %(delivery)s 不存在。"),
    "delivery.not_failed": _l("推送当前为“%(delivery_status)s”，只有失败或已取消的推送可以重试。"),
    # --- knowledge base ---------------------------------------------------------------------------
    "knowledge.not_found": _l("知识条目 %(article)s 不存在。"),
    "knowledge.wrong_state": _l("知识条目当前为“%(article_state)s”，不能%(article_action)s。"),
    "knowledge.not_editor": _l("%(role)s不能审核或发布知识条目。"),
    "knowledge.not_author": _l("%(role)s不能使用知识库。"),
    "knowledge.valid_to_before_from": _l("有效期的结束早于开始。"),
    "knowledge.flag_unpublished": _l("只能对已发布的知识条目纠错。"),
    "knowledge.not_published": _l("知识条目 %(article)s 不存在或尚未发布。"),
    "knowledge.bad_import": _l("无法导入：%(why)s"),
    "knowledge.import_header": _l("表头应包含“问题”和“答案”两列。"),
    "knowledge.import_rows": _l("有 %(count)s 行有误，全部未导入。"),
    # --- referrals and mandatory reports ------------------------------------------------------------
    "referral.not_found": _l("转介 %(referral)s 不存在。"),
    "referral.not_allowed_now": _l("转介当前为“%(referral_state)s”，不能%(referral_action)s。"),
    "referral.service_not_offered": _l("%(partner)s不提供%(service)s服务（提供：%(offered)s）。"),
    "referral.consent_required": _l("为 14 岁以下儿童转介，须记录监护人同意（谁、以何方式、何时），"
                                    "紧急情况可填写免同意理由。"),
    "referral.partner_only": _l("只有合作机构可以%(referral_action)s。"),
    "referral.not_referring_side": _l("只有转介方可以%(referral_action)s。"),
    "referral.not_lead_unit": _l("只有主办单位可以撤回转介。"),
    "referral.centre_only": _l("只有中心人员可以查看合作机构的指标。"),
    "mandatory_report.forbidden": _l("只有中心人员可以查看或办理强制报告。"),
    "report.not_found": _l("强制报告 %(report)s 不存在。"),
    "mandatory_report.not_allowed_now": _l("强制报告当前为“%(report_state)s”，不能%(report_action)s。"),
}


class _Params(dict):
    def __missing__(self, key: str) -> str:
        return ""


def words(name: str, value) -> str:
    """A parameter as the message shows it: codes in words, durations spelt out, lists joined."""
    if isinstance(value, list | tuple | set | frozenset):
        return str(LIST_SEPARATOR).join(words(name, item) for item in value)
    code = getattr(value, "code", None)
    if isinstance(value, str) and isinstance(code, str):   # a Problem: its own coded message
        return render(code, getattr(value, "params", {}))
    if hasattr(value, "amount") and getattr(value, "unit", None) in DURATION_WORDS:
        return str(DURATION_WORDS[value.unit]) % {"n": value.amount}
    value = getattr(value, "value", value)     # an enum member: its code
    table = PARAM_WORDS.get(name)
    if table is not None and value in table:
        return str(table[value])
    return "" if value is None else str(value)


def render(code: str | None, params: Mapping | None = None, fallback: str | None = None) -> str:
    """The message of `code` in the current language, filled with `params` (in words)."""
    template = MESSAGES.get(code) if code else None
    if template is None:
        return fallback or code or ""
    return str(template) % _Params({name: words(name, value) for name, value in (params or {}).items()})


def in_english(code: str, params: Mapping | None = None) -> str:
    """`code`'s message in English outside any request: what the IT officer reads in the terminal
    and the log when a rule file stops start-up (no reader, so no reader's language)."""
    values = {name: ", ".join(map(str, value)) if isinstance(value, list | tuple | set | frozenset)
              else str(value) for name, value in (params or {}).items()}
    return _english().gettext(MESSAGES[code]._args[0]) % _Params(values)


@functools.cache
def _english() -> support.NullTranslations:
    return support.Translations.load(str(Path(__file__).parent / "translations"), ["en"])
