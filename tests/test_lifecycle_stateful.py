"""Random action sequences on one ticket through the API (hypothesis state machine).

Whatever the order, actor and body: no 5xx, a refused action changes nothing, the
ticket's state is always the last event's `to_state`, events are gapless, and only
the transitions of docs/design.md §3 ever happen.
"""

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from hotline.tickets.workflow import TRANSITIONS

ALLOWED = {(str(source), str(t["dest"]) if t["dest"] else str(source), t["trigger"])
           for t in TRANSITIONS
           for source in (t["source"] if isinstance(t["source"], list) else [t["source"]])}

ACTORS = ["seat1", "dispatcher1", "supervisor1", "handler-gulou", "handler-edu", "handler-yunlong",
          "handler-gulou-huanglou"]
BODIES = {
    "answer": {"answer": "已答复"}, "transfer_out": {"to": "110"}, "reject": {"reason": "重复来电"},
    "submit": {}, "dispatch": {"unit": "gulou", "co_units": ["edu"]}, "acknowledge": {},
    "return": {"reason": "非本单位"}, "approve_return": {}, "deny_return": {},
    "forward": {"unit": "gulou-huanglou"}, "contact_caller": {"note": "已联系"},
    "submit_opinion": {"opinion": "同意"}, "request_extension": {"days": 2, "reason": "勘查"},
    "approve_extension": {}, "deny_extension": {}, "reply": {"result": "已办", "resolved": True},
    "approve_reply": {}, "send_back": {"note": "补充"},
    "record_callback": {"reached": True, "resolved": True, "satisfied": True},
    "record_callback_no": {"reached": True, "resolved": False, "satisfied": False},
    "record_callback_unreached": {"reached": False},
    "reopen": {"reason": "再次来电"}, "supervise": {"note": "督办"}, "add_note": {"note": "备注"},
    "consult": {"note": "会商"},
}
NEXT = {
    "intake": [("submit", "seat1"), ("submit", "seat1"), ("answer", "seat1")],
    "pending_dispatch": [("dispatch", "dispatcher1")],
    "dispatched": [("acknowledge", "handler-gulou"), ("acknowledge", "handler-edu"),
                   ("return", "handler-gulou")],
    "in_progress": [("submit_opinion", "handler-edu"), ("reply", "handler-gulou"),
                    ("return", "handler-gulou"), ("request_extension", "handler-gulou")],
    "return_requested": [("approve_return", "dispatcher1"), ("deny_return", "dispatcher1")],
    "replied": [("approve_reply", "dispatcher1"), ("send_back", "dispatcher1")],
    "callback_pending": [("record_callback", "seat1"), ("record_callback_no", "seat1"),
                         ("record_callback_unreached", "seat1")],
    "closed": [("reopen", "seat1")],
}
ACTION_OF = {"record_callback_no": "record_callback", "record_callback_unreached": "record_callback"}
# Who would normally do each action (the lead unit is gulou, its co-unit edu).
PLAYER = {
    "answer": "seat1", "transfer_out": "seat1", "reject": "seat1", "submit": "seat1",
    "dispatch": "dispatcher1", "approve_return": "dispatcher1", "deny_return": "dispatcher1",
    "approve_extension": "dispatcher1", "deny_extension": "dispatcher1",
    "approve_reply": "dispatcher1", "send_back": "dispatcher1", "supervise": "supervisor1",
    "reopen": "seat1", "submit_opinion": "handler-edu", "record_callback": "seat1",
    "record_callback_no": "seat1", "record_callback_unreached": "seat1", "add_note": "seat1",
}


class TicketLife(RuleBasedStateMachine):
    def __init__(self, api):
        super().__init__()
        self.api = api

    @initialize()
    def open_ticket(self):
        self.ticket = self.api.create()
        self.version = self.ticket["version"]

    @rule(choice=st.integers(min_value=0, max_value=3))
    def move_along(self, choice):
        """Take one of the usual next steps from the current state (keeps runs deep)."""
        state = self.api.ticket(self.ticket["id"])["state"]
        options = NEXT.get(state, [("add_note", "seat1")])
        action, actor = options[choice % len(options)]
        self.act(action, actor)

    @rule(action=st.sampled_from(sorted(BODIES)))
    def act_as_the_usual_player(self, action):
        self.act(action, PLAYER.get(action, "handler-gulou"))

    @rule(action=st.sampled_from(sorted(BODIES)), actor=st.sampled_from(ACTORS))
    def act_as_anyone(self, action, actor):
        self.act(action, actor)

    def act(self, action, actor):
        name = ACTION_OF.get(action, action)
        before = self.api.ticket(self.ticket["id"])
        response = self.api.post(f"/api/v1/tickets/{self.ticket['id']}/actions/{name}", actor,
                                 BODIES[action], expect=None)
        assert response.status_code < 500, response.json
        after = self.api.ticket(self.ticket["id"])
        if response.status_code == 200:
            event = self.api.events(self.ticket["id"])[-1]
            assert event["action"] == name
            assert (before["state"], after["state"], name) in ALLOWED, (before["state"], after["state"], name)
        else:
            assert response.json["message"]
            assert (after["state"], after["version"]) == (before["state"], before["version"])

    @invariant()
    def state_follows_the_events(self):
        if not hasattr(self, "ticket"):
            return
        ticket = self.api.ticket(self.ticket["id"])
        events = self.api.events(self.ticket["id"])
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        changes = [e for e in events if e["to_state"]]
        assert changes[-1]["to_state"] == ticket["state"]
        for previous, current in zip(changes, changes[1:], strict=False):
            assert current["from_state"] == previous["to_state"] or current["from_state"] is None


def test_random_action_sequences_keep_the_lifecycle_consistent(api):
    run_state_machine_as_test(
        lambda: TicketLife(api),
        settings=settings(max_examples=15, stateful_step_count=30, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck)),
    )
