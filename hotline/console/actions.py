"""Which actions the console offers a viewer on a ticket: derived, never restated.

Who may act and where the page offers an action come from its entry in the registry
(`hotline/tickets/registry.py`); what the state allows comes from the machine's TRANSITIONS,
their conditions and their `before` checks, run read-only on the loaded ticket. A check that
needs the form's input (the dispatch target, the merge target...) cannot be judged yet and lets
the form show; the service decides when it is sent. A check that refuses outright (no pending
extension, co-unit opinions missing...) hides the form and its reason is shown instead.
"""

from dataclasses import dataclass, field

from hotline.errors import Conflict, HotlineError
from hotline.tickets.models import Ticket
from hotline.tickets.registry import FORM, PANEL, REGISTRY, TRANSITIONS
from hotline.tickets.workflow import TicketWorkflow
from hotline.users import User

# Refusals that mean "does not apply to this ticket" (标记危机 on a crisis ticket, 转介 on an
# adult's ticket): the action is simply not shown, rather than shown with a reason.
NOT_APPLICABLE = frozenset({"ticket.already_crisis", "ticket.not_child_case",
                            "ticket.not_minor_on_general_desk"})


@dataclass
class Offer:
    allowed: list[str] = field(default_factory=list)
    # action -> why it cannot be done now (a refusal the workflow gave in advance)
    blocked: dict[str, str] = field(default_factory=dict)
    # allowed actions offered in the page's own panels (registry: offered PANEL)
    panels: list[str] = field(default_factory=list)


def _sources(transition: dict) -> list:
    source = transition["source"]
    return source if isinstance(source, list | tuple) else [source]


def _names(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _holds(workflow: TicketWorkflow, name: str) -> bool:
    """A condition of the machine; one that needs the form's input counts as holding."""
    try:
        return bool(getattr(workflow, name)())
    except (KeyError, TypeError, AttributeError):
        return True


def _refusal(workflow: TicketWorkflow, name: str) -> str | None:
    try:
        getattr(workflow, name)()
    except Conflict as refusal:
        return "" if refusal.error in NOT_APPLICABLE else refusal.message
    except (HotlineError, KeyError, TypeError, AttributeError):
        return None  # depends on the input: the service judges it on submit
    return None


def offered_actions(viewer: User, ticket: Ticket) -> Offer:
    offer = Offer()
    workflow = None
    for action, entry in REGISTRY.items():
        if entry.offered not in (FORM, PANEL) or entry.body is None \
                or not entry.rule.allows(viewer, ticket):
            continue
        candidates = [t for t in TRANSITIONS
                      if t["trigger"] == action and ticket.state in _sources(t)]
        if not candidates:
            continue
        if workflow is None:
            workflow = TicketWorkflow(ticket, viewer, {})
        refusal = None
        for transition in candidates:
            if not all(_holds(workflow, name) for name in _names(transition.get("conditions"))):
                continue
            refusal = next((reason for reason in (_refusal(workflow, name)
                                                  for name in _names(transition.get("before")))
                            if reason is not None), None)
            if refusal is None:
                (offer.panels if entry.offered == PANEL else offer.allowed).append(action)
                break
        else:
            if refusal:
                offer.blocked[action] = refusal
    return offer
