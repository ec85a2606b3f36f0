"""Every ticket action, one entry each: what it does to the state, who may, its body, its name.

Adding an action is one `Action(...)` below (and its `before` / `after` methods on
`TicketWorkflow` when it has any):

    Action("recall", [{"source": S.DISPATCHED, "dest": S.PENDING_DISPATCH, "after": "recalled"}],
           Rule(DISPATCHERS), schemas.ReasonIn, _l("撤回派单")),

- `transitions`: the machine's rows for this trigger (`hotline/tickets/workflow.py`), in order
  (the first whose `conditions` hold fires); `dest: None` records without changing state.
- `rule`: who may (`hotline/permissions.py`): roles, and a handler's relation to the ticket.
- `body`: the API's request body (`POST /api/v1/tickets/{id}/actions/{name}`) and the console's
  form, whose fields come from it; None for an action no one posts (the survey's own steps).
- `label`: what the console calls it (Chinese; English in the console's catalogue).
- `offered`: where the console's ticket page offers it: among the forms at the side (FORM),
  in a panel of its own (PANEL: the crisis panel, the risk assessment, the children's-desk
  offer) or not at all (HIDDEN).

Everything else is derived from these entries: the machine's `TRANSITIONS`, `ACTION_RULES`,
`ACTION_BODIES` (the API's routes and the console's forms) and the console's `LABELS`.
"""

from dataclasses import dataclass

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from hotline.permissions import (
    CO_UNIT,
    DISPATCHERS,
    HANDLERS,
    LEAD,
    LEAD_OR_CO,
    MANDATORY_REPORT,
    REFER,
    SEATS,
    SUPERVISORS,
    Rule,
)
from hotline.tickets import schemas
from hotline.tickets.models import NOT_TERMINAL, OPEN_HANDLING, Ticket
from hotline.tickets.models import TicketState as S
from hotline.users import Role, User

FORM, PANEL, HIDDEN = "form", "panel", "hidden"
SUPERVISOR = frozenset({Role.SUPERVISOR})


@dataclass(frozen=True)
class Action:
    name: str
    transitions: list[dict]
    rule: Rule
    body: type[ma.Schema] | None
    label: object   # a lazy string
    offered: str = FORM


OPEN = [*OPEN_HANDLING]
LIVE = [*NOT_TERMINAL]

ACTIONS = [
    Action("answer", [{"source": S.INTAKE, "dest": S.CLOSED, "after": "answered"}],
           Rule(SEATS), schemas.AnswerIn, _l("直接答复")),
    Action("transfer_out", [{"source": S.INTAKE, "dest": S.TRANSFERRED, "after": "transferred"}],
           Rule(SEATS), schemas.TransferIn, _l("转出")),
    Action("reject", [{"source": S.INTAKE, "dest": S.REJECTED, "after": "rejected"}],
           Rule(SEATS), schemas.ReasonIn, _l("不予受理")),
    Action("merge", [{"source": [S.INTAKE, S.PENDING_DISPATCH], "dest": S.MERGED,
                      "before": "check_merge", "after": "merged"}],
           # Supervisors merge too, when they send a hotspot as one matter (issue 21).
           Rule(SEATS | DISPATCHERS | SUPERVISOR), schemas.MergeIn, _l("并单")),
    Action("submit", [{"source": S.INTAKE, "dest": S.PENDING_DISPATCH, "after": "submitted"}],
           Rule(SEATS), schemas.Empty, _l("提交派单")),
    Action("dispatch", [{"source": S.PENDING_DISPATCH, "dest": S.DISPATCHED,
                         "before": "check_dispatch", "after": "dispatched"}],
           # The duty supervisor dispatches too (issue 22: an overdue crisis ticket in 待派单).
           Rule(DISPATCHERS | SUPERVISOR), schemas.DispatchIn, _l("派单")),
    # 改派 (issue 22): the centre takes a ticket back before the unit signs for it.
    Action("recall", [{"source": S.DISPATCHED, "dest": S.PENDING_DISPATCH,
                       "before": "check_not_acknowledged", "after": "recalled"}],
           Rule(DISPATCHERS | SUPERVISOR), schemas.ReasonIn, _l("撤回改派")),
    Action("acknowledge", [
        {"source": S.DISPATCHED, "dest": S.IN_PROGRESS, "conditions": "actor_is_lead",
         "after": "acknowledged_by_lead"},
        {"source": OPEN, "dest": None, "conditions": "actor_is_co_unit",
         "before": "check_co_unit_acknowledge", "after": "acknowledged_by_co_unit"},
    ], Rule(HANDLERS, LEAD_OR_CO), schemas.Empty, _l("签收")),
    Action("return", [{"source": [S.DISPATCHED, S.IN_PROGRESS], "dest": S.RETURN_REQUESTED,
                       "before": "check_return_window"}],
           Rule(HANDLERS, LEAD), schemas.ReasonIn, _l("退单")),
    Action("approve_return", [{"source": S.RETURN_REQUESTED, "dest": S.PENDING_DISPATCH,
                               "after": "return_approved"}],
           Rule(DISPATCHERS), schemas.NoteIn, _l("同意退单")),
    Action("deny_return", [{"source": S.RETURN_REQUESTED, "dest": S.IN_PROGRESS,
                            "after": "return_denied"}],
           Rule(DISPATCHERS), schemas.NoteIn, _l("驳回退单")),
    Action("forward", [{"source": S.IN_PROGRESS, "dest": S.DISPATCHED, "before": "check_forward",
                        "after": "forwarded"}],
           Rule(HANDLERS, LEAD), schemas.ForwardIn, _l("转办")),
    Action("contact_caller", [{"source": [S.IN_PROGRESS, S.RETURN_REQUESTED], "dest": None,
                               "after": "contacted"}],
           Rule(HANDLERS, LEAD), schemas.NoteIn, _l("联系来电人")),
    Action("submit_opinion", [{"source": OPEN, "dest": None, "after": "opinion_submitted"}],
           Rule(HANDLERS, CO_UNIT), schemas.OpinionIn, _l("提交协办意见")),
    Action("request_extension", [{"source": S.IN_PROGRESS, "dest": None,
                                  "before": "check_extension_request", "after": "extension_requested"}],
           Rule(HANDLERS, LEAD), schemas.ExtensionIn, _l("申请延期")),
    Action("approve_extension", [{"source": OPEN, "dest": None, "before": "check_extension_pending",
                                  "after": "extension_approved"}],
           Rule(DISPATCHERS), schemas.NoteIn, _l("同意延期")),
    Action("deny_extension", [{"source": OPEN, "dest": None, "before": "check_extension_pending",
                               "after": "extension_denied"}],
           Rule(DISPATCHERS), schemas.NoteIn, _l("驳回延期")),
    Action("reply", [{"source": S.IN_PROGRESS, "dest": S.REPLIED, "before": "check_opinions_in",
                      "after": "replied"}],
           Rule(HANDLERS, LEAD), schemas.ReplyIn, _l("办理回复")),
    Action("approve_reply", [{"source": S.REPLIED, "dest": S.CALLBACK_PENDING,
                              "after": "reply_approved"}],
           Rule(DISPATCHERS), schemas.NoteIn, _l("审核通过")),
    Action("send_back", [{"source": S.REPLIED, "dest": S.IN_PROGRESS, "after": "sent_back"}],
           Rule(DISPATCHERS), schemas.NoteIn, _l("退回重办")),
    Action("record_callback", [
        {"source": S.CALLBACK_PENDING, "dest": S.CLOSED, "conditions": "caller_satisfied",
         "after": "closed_satisfied"},
        {"source": S.CALLBACK_PENDING, "dest": S.IN_PROGRESS, "conditions": "caller_reached",
         "after": "rework"},
        {"source": S.CALLBACK_PENDING, "dest": S.CLOSED, "conditions": "last_attempt_failed",
         "after": "closed_unreachable"},
        {"source": S.CALLBACK_PENDING, "dest": None, "after": "attempt_failed"},
    ], Rule(SEATS), schemas.CallbackIn, _l("记录回访")),
    Action("reopen", [
        {"source": S.CLOSED, "dest": S.IN_PROGRESS, "conditions": "has_lead_unit",
         "before": "check_reopen_window", "after": "reopened"},
        {"source": S.CLOSED, "dest": S.PENDING_DISPATCH, "before": "check_reopen_window",
         "after": "reopened_for_dispatch"},
    ], Rule(SEATS | SUPERVISOR), schemas.ReasonIn, _l("重启工单")),
    Action("supervise", [{"source": LIVE, "dest": None, "after": "supervised"}],
           Rule(SUPERVISORS), schemas.RequiredNoteIn, _l("督办")),
    Action("consult", [{"source": [*OPEN, S.REPLIED], "dest": None, "after": "consulted"}],
           Rule(DISPATCHERS | HANDLERS | SUPERVISOR, LEAD), schemas.ConsultIn, _l("会商记录")),
    Action("add_note", [{"source": list(S), "dest": None, "after": "noted"}],
           Rule(frozenset(Role)), schemas.RequiredNoteIn, _l("添加备注")),
    # A repeat caller's new request added to the open ticket instead of a duplicate (issue 21).
    Action("append", [{"source": LIVE, "dest": None, "after": "appended"}],
           Rule(SEATS), schemas.AppendIn, _l("追加诉求")),
    # The referral itself is opened by referrals (a receiver of `signals.action_performed`).
    Action("refer", [{"source": LIVE, "dest": None, "before": "check_child_case"}],
           REFER, schemas.ReferIn, _l("转介")),
    Action("flag_crisis", [{"source": LIVE, "dest": None, "before": "check_not_crisis",
                            "after": "crisis_flagged"}],
           Rule(SEATS | DISPATCHERS | SUPERVISOR), schemas.FlagCrisisIn, _l("标记危机")),
    Action("mandatory_report", [{"source": list(S), "dest": None, "before": "check_child_case"}],
           MANDATORY_REPORT, schemas.MandatoryReportIn, _l("强制报告")),
    # Child safety (issue 16): the risk assessment, the recorded 110/120 call, the desk move.
    Action("assess_risk", [{"source": LIVE, "dest": None, "before": "check_child_case",
                            "after": "risk_assessed"}],
           Rule(SEATS | SUPERVISOR), schemas.AssessRiskIn, _l("风险评估"), PANEL),
    Action("call_emergency", [{"source": LIVE, "dest": None, "after": "emergency_called"}],
           Rule(SEATS | DISPATCHERS | SUPERVISOR), schemas.EmergencyCallIn, _l("转接 110/120"), PANEL),
    Action("move_to_children_desk", [{"source": LIVE, "dest": None,
                                      "before": "check_minor_on_general_desk",
                                      "after": "moved_to_children_desk"}],
           Rule(SEATS | DISPATCHERS | SUPERVISOR), schemas.Empty, _l("转入儿童专席"), PANEL),
    # The survey's last failed attempt (hotline/callbacks.py): no one posts it.
    Action("callback_unreachable", [{"source": S.CALLBACK_PENDING, "dest": S.CLOSED,
                                     "after": "closed_unreachable"}],
           Rule(frozenset()), None, _l("回访未接通办结"), HIDDEN),
]

REGISTRY: dict[str, Action] = {action.name: action for action in ACTIONS}
assert len(REGISTRY) == len(ACTIONS), "one entry per action"

# --- derived ------------------------------------------------------------------------------

TRANSITIONS = [{"trigger": action.name, **row} for action in ACTIONS for row in action.transitions]
ACTION_RULES: dict[str, Rule] = {action.name: action.rule for action in ACTIONS
                                 if action.body is not None}
ACTION_BODIES: dict[str, type[ma.Schema]] = {action.name: action.body for action in ACTIONS
                                             if action.body is not None}
LABELS = {action.name: action.label for action in ACTIONS}


def check_action_allowed(user: User, ticket: Ticket, action: str) -> None:
    """403 unless `user` may take `action` on `ticket` (its rule in the registry)."""
    REGISTRY[action].rule.check(user, ticket, action)


def may_take(user: User, ticket: Ticket, action: str) -> bool:
    return REGISTRY[action].rule.allows(user, ticket)
