"""The crisis path: priority crisis, the supervisor alerted, clocks on the crisis rule.

Depends on: crisis words, alerts, the clocks, the ticket event log and `hotline.signals`.
Entered at intake (`tickets.service`) and by the machine's effects (a note with crisis words,
the seat's judgement, a high risk assessment); what other domains add (a 强制报告 for a
minor's abuse words) they do as receivers of `signals.crisis_flagged`.
"""

from hotline import alerts, crisis, signals
from hotline.clocks.service import open_timers
from hotline.tickets import recompute
from hotline.tickets.events import record_event
from hotline.tickets.models import Priority, Ticket
from hotline.users import User


def enter_crisis_path(ticket: Ticket, actor: User | None, signal: crisis.Signal,
                      *, judged: bool = False) -> None:
    """Crisis words or the seat's judgement: priority crisis and the supervisor alerted now.

    The seat is offered the 110 transfer and a crisis-intervention partner (on the ticket's
    `crisis` field). Clocks already running are recomputed from their start on the crisis rule.
    """
    was_crisis = ticket.priority == Priority.CRISIS
    already = was_crisis and ticket.event_seq > 1      # flagged before, not at intake
    ticket.priority = Priority.CRISIS
    record_event(ticket, actor, "crisis_flagged", ticket.state, ticket.state, {
        "kinds": signal.kinds, "words": signal.words,
        "by": "seat" if judged and not signal else "keywords",
    })
    if not was_crisis:
        recompute.recompute(ticket, open_timers(ticket), reason=recompute.CRISIS, actor=actor)
    if not already:
        alerts.raise_crisis(ticket,
                            f"危机工单 {ticket.number}：{'、'.join(signal.words) or '坐席判断'}，请立即关注")
    signals.crisis_flagged.send(ticket, actor=actor, signal=signal)
