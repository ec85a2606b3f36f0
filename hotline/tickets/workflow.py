"""The ticket lifecycle (docs/design.md §3): one `transitions` machine, built once.

Its rows come from the action registry (`hotline/tickets/registry.py`, one entry per action);
this module holds the model the machine drives. Every action is a trigger. State changes are
ordinary transitions; actions that only record something (notes, opinions, extensions,
supervision) are internal transitions (`dest=None`), so the machine alone decides what each
state allows.
Conditions choose between branches, `before` callbacks refuse with a reason,
`after` callbacks apply the effects. Callbacks never commit.

Other domains take part through `hotline.signals`, sent by the machine itself around every
action: `action_checking` before the transition's own refusals (a receiver may refuse),
`action_performed` after its effects (a referral opened, a survey queued...).

Depends on: the clocks, notices, risk, crisis words, the crisis path, the ticket models and
registry, units and users; never on the ticket services (which import this module) nor on
referrals, callbacks or any domain above the tickets.
"""

from datetime import datetime

from transitions import Machine

from hotline import crisis, notices, risk, signals
from hotline.clocks import service as clocks
from hotline.clocks.durations import Duration
from hotline.clocks.models import TimerKind, TimerState
from hotline.crisis import Signal
from hotline.errors import Conflict, Invalid
from hotline.machine import BoundModel
from hotline.tickets.crisis_path import enter_crisis_path
from hotline.tickets.models import Desk, Priority, Resolution, Ticket, TicketCoUnit
from hotline.tickets.models import TicketState as S
from hotline.tickets.registry import REGISTRY, TRANSITIONS
from hotline.types import utcnow
from hotline.units import Unit, UnitKind
from hotline.users import User

DISPATCH_TARGETS = (UnitKind.COUNTY, UnitKind.DEPARTMENT)

MACHINE = {
    "states": S,
    "transitions": TRANSITIONS,
    "auto_transitions": False,
    "send_event": False,
    # Around every transition, internal ones too: other domains' refusals and effects.
    "before_state_change": "ask_other_domains",
    "after_state_change": "tell_other_domains",
}

ACTIONS = frozenset(REGISTRY)


class WrongState(Conflict):
    """The ticket's state does not allow the action (someone else acted first, most often).
    Carries the state and the action so a page can say so in words (console/action_pages)."""

    error_code = "ticket.wrong_state"

    def __init__(self, state: S, action: str, *, applies: bool = True):
        self.state, self.action = state, action
        super().__init__(error="ticket.wrong_state" if applies else "ticket.not_applicable",
                         params={"state": state, "action": action})


class TicketWorkflow(BoundModel):
    """The machine's model for one action on one loaded ticket.

    Bound without resetting: the machine's initial state is the row's state.
    `data` is the validated body; `record` collects what the event should keep
    beyond it (previous unit, timers moved...).
    """

    # Built once: each action binds its ticket for the one trigger (hotline/machine.py).
    machine = Machine(model=None, initial=S.INTAKE, **MACHINE)

    def __init__(self, ticket: Ticket, actor: User, data: dict, *, related: dict | None = None):
        self.ticket = self.row = ticket
        self.actor = actor
        self.data = data
        self.related = related or {}
        self.record: dict = {}
        self.now = utcnow()
        self.action = ""

    def refusal(self, action: str) -> Conflict:
        return WrongState(self.ticket.state, action)

    def run(self, action: str) -> None:
        """Fire `action`; 409 when the current state does not allow it."""
        self.action = action
        if not self.fire(action):
            raise WrongState(self.ticket.state, action, applies=False)

    # --- conditions (choose a branch) ---------------------------------------

    def actor_is_lead(self) -> bool:
        unit_id = self.actor.unit_id if self.actor else None
        return unit_id is not None and unit_id == self.ticket.lead_unit_id

    def actor_is_co_unit(self) -> bool:
        return self.actor is not None and self.ticket.co_unit_link(self.actor.unit) is not None

    def caller_satisfied(self) -> bool:
        return bool(self.data["reached"] and self.data["satisfied"] and self.data["resolved"])

    def caller_reached(self) -> bool:
        return bool(self.data["reached"])

    def last_attempt_failed(self) -> bool:
        return self.ticket.callback_attempts + 1 >= clocks.time_limits().callback_attempts

    def has_lead_unit(self) -> bool:
        return self.ticket.lead_unit_id is not None

    # --- other domains (hotline.signals) -------------------------------------

    def ask_other_domains(self) -> None:
        """The state allows the action: a receiver of `action_checking` may still refuse it."""
        signals.action_checking.send(self.action, ticket=self.ticket, actor=self.actor, data=self.data)

    def tell_other_domains(self) -> None:
        """The action's own effects are applied: receivers of `action_performed` add theirs."""
        signals.action_performed.send(self.action, ticket=self.ticket, actor=self.actor,
                                      data=self.data, record=self.record, now=self.now)

    # --- refusals ------------------------------------------------------------

    def check_merge(self) -> None:
        target: Ticket = self.related["into"]
        if target.id == self.ticket.id:
            raise Invalid(errors={"into": ["self"]}, error="ticket.merge_self")
        if target.is_terminal:
            raise Conflict(error="ticket.merge_target_closed", params={"number": target.number})

    def check_dispatch(self) -> None:
        lead: Unit = self.related["unit"]
        co_units: list[Unit] = self.related["co_units"]
        if lead.kind not in DISPATCH_TARGETS:
            raise Invalid(errors={"unit": ["not a county or department"]},
                          error="ticket.dispatch_not_county", params={"unit": lead.name})
        if any(unit.id == lead.id for unit in co_units):
            raise Invalid(errors={"co_units": ["contains the lead unit"]}, error="ticket.lead_is_co_unit")

    def check_not_acknowledged(self) -> None:
        """A recall is for a ticket no unit has taken up: once the lead unit signed for it in this
        dispatch (a forward comes after a signature), the unit returns it instead."""
        signed = any(timer.kind == TimerKind.ACKNOWLEDGE and timer.state == TimerState.MET
                     and timer.referral_id is None and timer.started_at >= self.ticket.dispatched_at
                     for timer in self.ticket.timers)
        if signed:
            raise Conflict(error="ticket.already_acknowledged")

    def check_co_unit_acknowledge(self) -> None:
        if self.ticket.co_unit_link(self.actor.unit).acknowledged_at is not None:
            raise Conflict(error="ticket.co_unit_already_acknowledged")

    def check_return_window(self) -> None:
        window: Duration = clocks.time_limits().windows["return"]
        deadline = clocks.deadline(self.ticket.dispatched_at, window)
        if self.now > deadline:
            raise Conflict(error="ticket.return_window_passed", params={"window": window})

    def check_forward(self) -> None:
        target: Unit = self.related["unit"]
        current = self.ticket.lead_unit
        if target.id == current.id or not target.is_within(current):
            raise Invalid(errors={"unit": ["not below the lead unit"]},
                          error="ticket.forward_not_below", params={"unit": target.name})
        if self.ticket.co_unit_link(target) is not None:
            raise Invalid(errors={"unit": ["already a co-unit"]},
                          error="ticket.already_co_unit", params={"unit": target.name})

    def check_extension_request(self) -> None:
        handle = clocks.open_timers(self.ticket, TimerKind.HANDLE)
        if not handle or self.now >= handle[0].due_at:
            raise Conflict(error="ticket.extension_too_late")
        if self.ticket.pending_extension_days:
            raise Conflict(error="ticket.extension_pending")
        cap = clocks.time_limits().windows["extension_total"]
        if self.ticket.extended_days + self.data["days"] > cap.amount:
            left = cap.amount - self.ticket.extended_days
            raise Invalid(errors={"days": [f"at most {left}"]},
                          error="ticket.extension_cap", params={"cap": cap, "left": left})

    def check_extension_pending(self) -> None:
        if not self.ticket.pending_extension_days:
            raise Conflict(error="ticket.no_extension_pending")

    def check_opinions_in(self) -> None:
        missing = [link.unit for link in self.ticket.co_unit_links if link.opinion_at is None]
        if missing:
            raise Conflict(error="ticket.opinions_missing", params={"units": [u.name for u in missing]})

    def check_reopen_window(self) -> None:
        window: Duration = clocks.time_limits().windows["reopen"]
        if self.ticket.resolution not in (Resolution.ANSWERED, Resolution.SATISFIED,
                                          Resolution.UNREACHABLE):
            raise Conflict(error="ticket.not_reopenable")
        if self.now > clocks.deadline(self.ticket.closed_at, window):
            raise Conflict(error="ticket.reopen_window_passed", params={"window": window})

    def check_not_crisis(self) -> None:
        if self.ticket.priority == Priority.CRISIS:
            raise Conflict(error="ticket.already_crisis")

    def check_child_case(self) -> None:
        """Referral, 强制报告 and the risk assessment are for children: the children's desk or
        a caller under 18."""
        if self.ticket.desk != Desk.CHILDREN and not self.ticket.caller_is_minor:
            raise Conflict(error="ticket.not_child_case")

    def check_minor_on_general_desk(self) -> None:
        if self.ticket.desk != Desk.GENERAL or not self.ticket.caller_is_minor:
            raise Conflict(error="ticket.not_minor_on_general_desk")

    # --- effects --------------------------------------------------------------

    def _close(self, resolution: Resolution, note: str | None = None) -> None:
        self.ticket.resolution = resolution
        self.ticket.resolution_note = note
        self.ticket.closed_at = self.now
        clocks.cancel_timers(self.ticket)

    def answered(self) -> None:
        self._close(Resolution.ANSWERED, self.data["answer"])

    def transferred(self) -> None:
        self.ticket.transfer_to = self.data["to"]
        self._close(Resolution.TRANSFERRED, self.data.get("note"))

    def rejected(self) -> None:
        self._close(Resolution.REJECTED, self.data["reason"])

    def merged(self) -> None:
        target: Ticket = self.related["into"]
        self.ticket.merged_into = target
        self.record["into_number"] = target.number
        self._close(Resolution.MERGED)

    def submitted(self) -> None:
        clocks.start_timer(self.ticket, TimerKind.DISPATCH, self.now)

    def dispatched(self) -> None:
        lead: Unit = self.related["unit"]
        suggestion = self.related.get("suggestion")
        if suggestion is not None:
            self.record["suggested_unit"] = suggestion.unit.code
            self.record["followed_suggestion"] = suggestion.unit.id == lead.id
        self.ticket.lead_unit = lead
        self.ticket.dispatch_note = self.data.get("note")
        self.ticket.co_unit_links = [TicketCoUnit(unit=unit) for unit in self.related["co_units"]]
        self.ticket.dispatched_at = self.now
        self.ticket.acknowledged_at = None
        clocks.meet_timer(self.ticket, TimerKind.DISPATCH)
        kinds = [TimerKind.ACKNOWLEDGE, TimerKind.HANDLE]
        if self.ticket.responded_at is None:
            kinds.insert(1, TimerKind.RESPOND)
        for kind in kinds:
            clocks.start_timer(self.ticket, kind, self.now)

    def supervised(self) -> None:
        """督办: counted on the ticket and a notice in each handling unit's inbox."""
        self.ticket.supervise_count += 1
        units = [unit for unit in [self.ticket.lead_unit, *self.ticket.co_units] if unit]
        for unit in units:
            notices.notify_unit(unit, self.ticket, "supervise",
                                f"督办：工单 {self.ticket.number}：{self.data['note']}", self.actor)
        self.record["notified"] = [unit.code for unit in units]

    def noted(self) -> None:
        """A note that speaks of a crisis puts the ticket on the crisis path."""
        self._crisis_in(self.data["note"])

    def appended(self) -> None:
        """The caller's new request is part of the ticket's record (the event keeps it); the unit
        in charge hears of it; crisis words in it put the ticket on the crisis path."""
        unit = self.ticket.lead_unit
        if unit is not None:
            notices.notify_unit(unit, self.ticket, "append",
                                f"来电人再次来电，工单 {self.ticket.number} 追加诉求：{self.data['content']}",
                                self.actor)
        self.record["notified"] = [unit.code] if unit else []
        self._crisis_in(self.data["content"])

    def _crisis_in(self, text: str) -> None:
        signal = crisis.detect(text)
        if signal and self.ticket.priority != Priority.CRISIS:
            enter_crisis_path(self.ticket, self.actor, signal)
            self.record["crisis_words"] = signal.words

    def crisis_flagged(self) -> None:
        """The seat's judgement: a crisis although no crisis word was said."""
        enter_crisis_path(self.ticket, self.actor, Signal(), judged=True)

    def risk_assessed(self) -> None:
        """High risk: the crisis path (clocks follow); medium: a normal ticket becomes urgent."""
        assessment = risk.record(self.ticket, self.actor, self.data, self.now)
        self.record.update(assessment=assessment.id, level=assessment.level.value)
        if assessment.level == risk.RiskLevel.HIGH and self.ticket.priority != Priority.CRISIS:
            enter_crisis_path(self.ticket, self.actor, Signal(), judged=True)
            self.record["crisis"] = True
        elif assessment.level == risk.RiskLevel.MEDIUM and self.ticket.priority == Priority.NORMAL:
            self.ticket.priority = Priority.URGENT
            self.record["priority"] = Priority.URGENT.value

    def emergency_called(self) -> None:
        """转 110/120 from the crisis panel: the call is the seat's; the event says it happened."""
        self.record["to"] = self.data["to"]

    def moved_to_children_desk(self) -> None:
        self.record["from_desk"] = self.ticket.desk.value
        self.ticket.desk = Desk.CHILDREN

    def consulted(self) -> None:
        """会商记录: who took part, attached to the ticket's timeline."""
        self.record["units"] = [unit.code for unit in self.related.get("units", [])]

    def acknowledged_by_lead(self) -> None:
        self.ticket.acknowledged_at = self.now
        clocks.meet_timer(self.ticket, TimerKind.ACKNOWLEDGE)

    def acknowledged_by_co_unit(self) -> None:
        self.ticket.co_unit_link(self.actor.unit).acknowledged_at = self.now
        self.record["co_unit"] = self.actor.unit.code

    def return_approved(self) -> None:
        self.ticket.return_count += 1
        self._back_to_dispatch()

    def recalled(self) -> None:
        """改派: the units that had it are told; their clocks stop and the dispatch clock starts
        again, as after an approved return (docs/design.md §3)."""
        units = [unit for unit in [self.ticket.lead_unit, *self.ticket.co_units] if unit]
        self.record["previous_co_units"] = [unit.code for unit in self.ticket.co_units]
        for unit in units:
            notices.notify_unit(unit, self.ticket, "recall",
                                f"工单 {self.ticket.number} 已由市中心撤回改派，无需办理："
                                f"{self.data['reason']}",
                                self.actor)
        self._back_to_dispatch()

    def _back_to_dispatch(self) -> None:
        previous = self.ticket.lead_unit
        self.record["previous_unit"] = previous.code if previous else None
        self.ticket.lead_unit = None
        self.ticket.co_unit_links = []
        self.ticket.acknowledged_at = None
        clocks.cancel_timers(self.ticket, TimerKind.ACKNOWLEDGE, TimerKind.RESPOND, TimerKind.HANDLE)
        clocks.start_timer(self.ticket, TimerKind.DISPATCH, self.now)

    def return_denied(self) -> None:
        if self.ticket.acknowledged_at is None:
            self.ticket.acknowledged_at = self.now
            clocks.meet_timer(self.ticket, TimerKind.ACKNOWLEDGE)
            self.record["forced_acknowledge"] = True

    def forwarded(self) -> None:
        target: Unit = self.related["unit"]
        self.record["from_unit"] = self.ticket.lead_unit.code
        self.ticket.lead_unit = target
        self.ticket.acknowledged_at = None
        clocks.start_timer(self.ticket, TimerKind.ACKNOWLEDGE, self.now)

    def contacted(self) -> None:
        if self.ticket.responded_at is None:
            self.ticket.responded_at = self.now
            self.record["first_contact"] = True
        clocks.meet_timer(self.ticket, TimerKind.RESPOND)

    def opinion_submitted(self) -> None:
        link = self.ticket.co_unit_link(self.actor.unit)
        link.opinion, link.opinion_at = self.data["opinion"], self.now
        link.acknowledged_at = link.acknowledged_at or self.now
        self.record["co_unit"] = self.actor.unit.code

    def extension_requested(self) -> None:
        self.ticket.pending_extension_days = self.data["days"]
        self.ticket.pending_extension_reason = self.data["reason"]

    def extension_approved(self) -> None:
        days = self.ticket.pending_extension_days
        for timer in clocks.open_timers(self.ticket, TimerKind.HANDLE):
            clocks.move_due(timer, clocks.deadline(timer.due_at, Duration(days, "wd")))
            self.record["handle_due_at"] = _iso(timer.due_at)
        self.record["days"] = days
        self.ticket.extended_days += days
        self.ticket.pending_extension_days = None
        self.ticket.pending_extension_reason = None

    def extension_denied(self) -> None:
        self.record["days"] = self.ticket.pending_extension_days
        self.ticket.pending_extension_days = None
        self.ticket.pending_extension_reason = None

    def replied(self) -> None:
        self.ticket.reply_result = self.data["result"]
        self.ticket.reply_resolved = self.data["resolved"]
        self.ticket.replied_at = self.now
        self.record["opinions"] = {
            link.unit.code: link.opinion for link in self.ticket.co_unit_links
        }
        clocks.meet_timer(self.ticket, TimerKind.HANDLE)
        if self.ticket.responded_at is None:
            # The reply is the unit's answer to the citizen: it is the first contact too.
            self.ticket.responded_at = self.now
            self.record["first_contact"] = True
            clocks.meet_timer(self.ticket, TimerKind.RESPOND)
        clocks.start_timer(self.ticket, TimerKind.REVIEW, self.now)

    def reply_approved(self) -> None:
        self.ticket.callback_attempts = 0
        clocks.meet_timer(self.ticket, TimerKind.REVIEW)
        clocks.start_timer(self.ticket, TimerKind.CALLBACK, self.now)

    def sent_back(self) -> None:
        clocks.meet_timer(self.ticket, TimerKind.REVIEW)
        clocks.start_timer(self.ticket, TimerKind.HANDLE, self.now)

    def _store_callback(self) -> None:
        self.ticket.callback_rating = self.data.get("rating")
        self.ticket.callback_reached = self.data["reached"]
        self.ticket.callback_resolved = self.data.get("resolved")
        self.ticket.callback_satisfied = self.data.get("satisfied")

    def closed_satisfied(self) -> None:
        self._store_callback()
        clocks.meet_timer(self.ticket, TimerKind.CALLBACK)
        self._close(Resolution.SATISFIED, self.data.get("note"))

    def rework(self) -> None:
        """重办: the caller is not satisfied or the problem is unresolved."""
        self._store_callback()
        self.ticket.rework_count += 1
        self.record["rework_count"] = self.ticket.rework_count
        clocks.meet_timer(self.ticket, TimerKind.CALLBACK)
        clocks.start_timer(self.ticket, TimerKind.HANDLE, self.now)

    def attempt_failed(self) -> None:
        self.ticket.callback_attempts += 1
        self.record["attempt"] = self.ticket.callback_attempts

    def closed_unreachable(self) -> None:
        self.ticket.callback_attempts += 1
        self.ticket.callback_reached = False
        self.record["attempt"] = self.ticket.callback_attempts
        clocks.meet_timer(self.ticket, TimerKind.CALLBACK)
        self._close(Resolution.UNREACHABLE)

    def reopened(self) -> None:
        self._reopen()
        clocks.start_timer(self.ticket, TimerKind.HANDLE, self.now)

    def reopened_for_dispatch(self) -> None:
        self._reopen()
        clocks.start_timer(self.ticket, TimerKind.DISPATCH, self.now)

    def _reopen(self) -> None:
        """重办, whether the unit handles it again or it goes to dispatch for the first time."""
        self.record["previous_resolution"] = self.ticket.resolution.value
        self.ticket.rework_count += 1
        self.ticket.resolution = None
        self.ticket.closed_at = None
        self.ticket.callback_reached = None
        self.ticket.callback_resolved = None
        self.ticket.callback_satisfied = None


def _iso(value: datetime) -> str:
    return value.isoformat()
