"""The referral lifecycle (docs/design.md §5): one `transitions` machine definition."""

from transitions import Machine, MachineError

from hotline.errors import Conflict
from referrals.models import Referral
from referrals.models import ReferralState as R

OPEN = [R.SENT, R.ACCEPTED, R.IN_SERVICE, R.ESCALATED]

TRANSITIONS = [
    {"trigger": "accept", "source": [R.SENT, R.ESCALATED], "dest": R.ACCEPTED},
    {"trigger": "decline", "source": [R.SENT, R.ESCALATED], "dest": R.DECLINED},
    {"trigger": "first_contact", "source": R.ACCEPTED, "dest": R.IN_SERVICE},
    {"trigger": "report_outcome", "source": R.IN_SERVICE, "dest": R.COMPLETED},
    {"trigger": "close", "source": R.COMPLETED, "dest": R.CLOSED},
    {"trigger": "escalate", "source": R.SENT, "dest": R.ESCALATED},
    {"trigger": "revoke", "source": OPEN, "dest": R.REVOKED},
    # The seat changes how the partner addresses the child (the alias), while the referral is open.
    {"trigger": "rename_child", "source": OPEN, "dest": None},
]

MACHINE = {"states": R, "transitions": TRANSITIONS, "auto_transitions": False}
ACTIONS = frozenset(t["trigger"] for t in TRANSITIONS)
PARTNER_ACTIONS = frozenset({"accept", "decline", "first_contact", "report_outcome", "close"})
REFERRER_ACTIONS = frozenset({"revoke", "rename_child"})


class ReferralWorkflow:
    """The machine's model for one action on one loaded referral (bound without resetting it)."""

    def __init__(self, referral: Referral):
        self.referral = referral
        Machine(model=self, initial=referral.state, **MACHINE)

    @property
    def state(self) -> R:
        return self.referral.state

    @state.setter
    def state(self, value: R) -> None:
        if self.referral.state != value:
            self.referral.state = value

    def run(self, action: str) -> None:
        try:
            self.trigger(action)
        except MachineError:
            raise Conflict(error="referral.wrong_state",
                           params={"referral_state": self.referral.state,
                                   "referral_action": action}) from None
