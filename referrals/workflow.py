"""The referral lifecycle (docs/design.md §5) and the mandatory report's: one `transitions`
machine each, built once, in the ticket's pattern (`hotline/tickets/workflow.py`).

Each step is one entry of its registry (`STEPS`, `REPORT_STEPS`) carrying its transition, the
side that takes it, its body (the API's and the console's form), and what the console calls
it; the machines' `TRANSITIONS`, the bodies and the labels are derived from them. `before`
callbacks refuse with a stable error code, `after` callbacks apply the effects (fields,
clocks, notices). Callbacks never commit; the service records the step and flushes.

Adding a referral step is one `Step(...)` below and, if it has effects, its `after` method.
"""

from dataclasses import dataclass

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from transitions import Machine

from hotline import notices
from hotline.clocks import service as clocks
from hotline.clocks.models import TimerKind, TimerState
from hotline.errors import Conflict
from hotline.machine import BoundModel
from hotline.tickets.schemas import Empty
from hotline.types import utcnow
from hotline.users import Role, User
from referrals import schemas
from referrals.models import MandatoryReport, Referral, ReportState
from referrals.models import ReferralState as R

OPEN = [R.SENT, R.ACCEPTED, R.IN_SERVICE, R.ESCALATED]

# Who takes a step: the partner the referral went to, the referring side (the ticket's `refer`
# rule, hotline.permissions.REFER), or the service itself (a clock).
PARTNER, REFERRER, SYSTEM = "partner", "referrer", "system"


@dataclass(frozen=True)
class Step:
    name: str
    transition: dict
    side: str
    body: type[ma.Schema] | None
    label: object   # a lazy string


STEPS = [
    Step("accept", {"source": [R.SENT, R.ESCALATED], "dest": R.ACCEPTED, "after": "accepted"},
         PARTNER, Empty, _l("接收")),
    Step("decline", {"source": [R.SENT, R.ESCALATED], "dest": R.DECLINED, "after": "declined"},
         PARTNER, schemas.DeclineIn, _l("拒绝")),
    Step("first_contact", {"source": R.ACCEPTED, "dest": R.IN_SERVICE, "after": "contacted"},
         PARTNER, schemas.FirstContactIn, _l("记录首次联系")),
    Step("report_outcome", {"source": R.IN_SERVICE, "dest": R.COMPLETED, "after": "completed"},
         PARTNER, schemas.OutcomeIn, _l("报告服务结果")),
    Step("close", {"source": R.COMPLETED, "dest": R.CLOSED, "after": "closed"},
         PARTNER, Empty, _l("关闭转介")),
    # The accept clock went overdue (referrals.service.clock_fired).
    Step("escalate", {"source": R.SENT, "dest": R.ESCALATED, "after": "escalated"},
         SYSTEM, None, _l("超时升级")),
    Step("revoke", {"source": OPEN, "dest": R.REVOKED, "after": "revoked"},
         REFERRER, schemas.DeclineIn, _l("撤回转介")),
    # The seat changes how the partner addresses the child (the alias), while the referral is open.
    Step("rename_child", {"source": OPEN, "dest": None, "after": "renamed"},
         REFERRER, schemas.AliasIn, _l("修改儿童称呼")),
]

TRANSITIONS = [{"trigger": step.name, **step.transition} for step in STEPS]
ACTIONS = frozenset(step.name for step in STEPS)
PARTNER_ACTIONS = frozenset(step.name for step in STEPS if step.side == PARTNER)
REFERRER_ACTIONS = frozenset(step.name for step in STEPS if step.side == REFERRER)
ACTION_BODIES: dict[str, type[ma.Schema]] = {step.name: step.body for step in STEPS if step.body}
LABELS = {step.name: step.label for step in STEPS}

MACHINE = {"states": R, "transitions": TRANSITIONS, "auto_transitions": False}


class ReferralWorkflow(BoundModel):
    """The machine's model for one step on one loaded referral (bound without resetting it).

    `ticket` is the referral's ticket, locked (its clocks and its handling unit); `data` the
    validated body; `related` what the service found for the step (the partner proposed on an
    escalation); `record` what the event keeps beyond the body."""

    # Built once, like the ticket's: each step binds its referral for the one trigger.
    machine = Machine(model=None, initial=R.SENT, **MACHINE)

    def __init__(self, referral: Referral, ticket, actor: User | None, data: dict,
                 *, related: dict | None = None):
        self.referral = self.row = referral
        self.ticket, self.actor, self.data = ticket, actor, data
        self.related = related or {}
        self.record: dict = dict(data)
        self.now = utcnow()

    def refusal(self, action: str) -> Conflict:
        """409 (`referral.not_allowed_now`) when the state does not allow `action`."""
        return Conflict(error="referral.not_allowed_now",
                        params={"referral_state": self.referral.state, "referral_action": action})

    # --- effects --------------------------------------------------------------

    def accepted(self) -> None:
        self.referral.accepted_at = self.now
        clocks.stop_referral_timers(self.ticket, self.referral, TimerKind.ACCEPT)
        clocks.start_referral_timer(self.ticket, self.referral, TimerKind.FIRST_CONTACT, self.now)

    def declined(self) -> None:
        referral, ticket, reason = self.referral, self.ticket, self.data["reason"]
        referral.decline_reason = reason
        clocks.stop_referral_timers(ticket, referral, state=TimerState.CANCELLED)
        if ticket.lead_unit is not None:
            notices.notify_unit(ticket.lead_unit, ticket, "referral_declined",
                                f"转介被拒：{referral.partner.name}：{reason}，请另行转介")
        notices.notify_role(Role.SEAT, ticket, "referral_declined",
                            f"工单 {ticket.number} 的转介被 {referral.partner.name} 拒绝，请另行转介")

    def contacted(self) -> None:
        self.referral.first_contact_at = self.now
        clocks.stop_referral_timers(self.ticket, self.referral, TimerKind.FIRST_CONTACT)
        clocks.start_referral_timer(self.ticket, self.referral, TimerKind.OUTCOME, self.now)

    def completed(self) -> None:
        self.referral.outcome, self.referral.follow_up = self.data["outcome"], self.data["follow_up"]
        self.referral.completed_at = self.now
        clocks.stop_referral_timers(self.ticket, self.referral, TimerKind.OUTCOME)

    def closed(self) -> None:
        self.referral.closed_at = self.now

    def escalated(self) -> None:
        """No answer in time: the next suitable partner is proposed and the supervisor told."""
        referral, ticket, proposal = self.referral, self.ticket, self.related.get("proposal")
        referral.proposed_partner = proposal
        self.record = {"proposed_partner": proposal.code if proposal else None}
        notices.notify_role(Role.SUPERVISOR, ticket, "referral_escalated",
                            f"工单 {ticket.number} 转介 {referral.partner.name} 超时未接收；"
                            + (f"建议转介 {proposal.name}" if proposal else "暂无其他合适机构"))

    def revoked(self) -> None:
        self.referral.revoke_reason = self.data["reason"]
        clocks.stop_referral_timers(self.ticket, self.referral, state=TimerState.CANCELLED)

    def renamed(self) -> None:
        self.record = {"child_alias": self.data["child_alias"], "previous": self.referral.child_alias}
        self.referral.child_alias = self.data["child_alias"]


# --- the mandatory report (强制报告) ---------------------------------------------------------

@dataclass(frozen=True)
class ReportStep:
    name: str
    transition: dict
    body: type[ma.Schema]
    label: object   # a lazy string


REPORT_STEPS = [
    ReportStep("report", {"source": ReportState.OPEN, "dest": ReportState.REPORTED,
                          "after": "reported"}, schemas.ReportIn, _l("记录已报告")),
    ReportStep("record_receipt", {"source": ReportState.REPORTED, "dest": ReportState.RECEIPTED,
                                  "after": "receipted"}, schemas.ReceiptIn, _l("登记回执")),
]
REPORT_TRANSITIONS = [{"trigger": step.name, **step.transition} for step in REPORT_STEPS]
REPORT_BODIES: dict[str, type[ma.Schema]] = {step.name: step.body for step in REPORT_STEPS}
REPORT_LABELS = {step.name: step.label for step in REPORT_STEPS}
# The one step each state offers (the console's board shows its form).
NEXT_REPORT_STEP = {step.transition["source"]: step.name for step in REPORT_STEPS}



class ReportWorkflow(BoundModel):
    """The machine's model for one step on one mandatory report."""

    machine = Machine(model=None, initial=ReportState.OPEN, states=ReportState,
                      transitions=REPORT_TRANSITIONS, auto_transitions=False)

    def __init__(self, report: MandatoryReport, actor: User, data: dict):
        self.report = self.row = report
        self.actor, self.data = actor, data
        self.now = utcnow()

    def refusal(self, action: str) -> Conflict:
        """409 (`mandatory_report.not_allowed_now`) out of turn."""
        return Conflict(error="mandatory_report.not_allowed_now",
                        params={"report_state": self.report.state, "report_action": action})

    def reported(self) -> None:
        report = self.report
        report.reported_at, report.reported_by_id = self.now, self.actor.id
        report.reported_to = self.data.get("to") or report.reported_to
        report.report_note = self.data.get("note")

    def receipted(self) -> None:
        self.report.receipt_number, self.report.receipt_at = self.data["receipt_number"], self.now
