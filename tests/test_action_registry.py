"""One entry per action: the machine, the rule, the API's route and body, the console's name
all come from it (hotline/tickets/registry.py; referrals/workflow.py for referral and report
steps). The referral and report machines are built once, and refuse a step out of turn with
a stable code."""

import transitions

from hotline.console import labels
from hotline.tickets.registry import ACTION_BODIES, ACTION_RULES, REGISTRY, TRANSITIONS
from hotline.tickets.workflow import TicketWorkflow
from referrals import workflow as referral_workflow
from tests.test_referrals import child_ticket, ract, refer, referral_id


def operations(client) -> set[str]:
    return set(client.get("/api/openapi.json").json["paths"])


def test_every_ticket_action_is_one_entry_everything_else_derives_from(app, client):
    paths = operations(client)
    machine = TicketWorkflow.machine
    assert set(machine.events) == set(REGISTRY)
    assert [t["trigger"] for t in TRANSITIONS] == [a.name for a in REGISTRY.values()
                                                   for _ in a.transitions]
    for name, action in REGISTRY.items():
        route = f"/api/v1/tickets/{{ticket_id}}/actions/{name}"
        with app.test_request_context():
            assert str(labels.ACTIONS[name]) == str(action.label), name
        if action.body is None:          # the survey's own step: no route, no rule to ask
            assert route not in paths and name not in ACTION_RULES and name not in ACTION_BODIES
            continue
        assert route in paths, name
        assert ACTION_RULES[name] is action.rule and ACTION_BODIES[name] is action.body


def test_every_referral_and_report_step_is_one_entry(app, client):
    paths = operations(client)
    steps = {step.name: step for step in referral_workflow.STEPS}
    assert set(referral_workflow.ReferralWorkflow.machine.events) == set(steps)
    for name, step in steps.items():
        assert (f"/api/v1/referrals/{{referral_id}}/actions/{name}" in paths) is (step.body is not None)
        assert (name in referral_workflow.PARTNER_ACTIONS) is (step.side == referral_workflow.PARTNER)
        assert (name in referral_workflow.REFERRER_ACTIONS) is (step.side == referral_workflow.REFERRER)
        with app.test_request_context():
            assert str(labels.REFERRAL_ACTIONS[name]) == str(step.label)
    reports = {step.name: step for step in referral_workflow.REPORT_STEPS}
    assert set(referral_workflow.ReportWorkflow.machine.events) == set(reports)
    for name in reports:
        assert f"/api/v1/mandatory-reports/{{report_id}}/actions/{name}" in paths
        with app.test_request_context():
            assert str(labels.REPORT_ACTIONS[name]) == str(reports[name].label)


def test_the_referral_and_report_machines_are_built_once(api, monkeypatch):
    """A referral's whole road and a mandatory report's two steps build no machine: each step
    binds its row to the one built at import, as the ticket's actions do."""
    built = []
    original = transitions.Machine.__init__

    def counting(self, *args, **kwargs):
        built.append(kwargs.get("states"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(transitions.Machine, "__init__", counting)
    tid = child_ticket(api, content="邻居家的孩子经常被打，身上有伤")["id"]    # opens a report
    rid = referral_id(refer(api, tid), "xz-xinli")
    partner = "partner-xz-xinli"
    ract(api, rid, "accept", partner)
    ract(api, rid, "first_contact", partner, {"note": "已联系"})
    ract(api, rid, "report_outcome", partner, {"outcome": "已完成 6 次咨询", "follow_up": False})
    ract(api, rid, "close", partner)
    [report] = [r for r in api.get("/api/v1/mandatory-reports", "supervisor1").json if r["ticket"] == tid]
    api.post(f"/api/v1/mandatory-reports/{report['id']}/actions/report", "supervisor1", {"to": "公安"})
    api.post(f"/api/v1/mandatory-reports/{report['id']}/actions/record_receipt", "supervisor1",
             {"receipt_number": "GL-1"})
    assert api.get(f"/api/v1/referrals/{rid}", partner).json["state"] == "closed"
    assert built == []


def test_a_step_out_of_turn_is_refused_with_a_stable_code(api):
    tid = child_ticket(api, content="邻居家的孩子经常被打，身上有伤")["id"]
    rid = referral_id(refer(api, tid), "xz-xinli")
    refused = api.post(f"/api/v1/referrals/{rid}/actions/close", "partner-xz-xinli", {}, expect=409).json
    assert refused["error"] == "referral.not_allowed_now" and "关闭转介" in refused["message"]
    [report] = [r for r in api.get("/api/v1/mandatory-reports", "supervisor1").json if r["ticket"] == tid]
    refused = api.post(f"/api/v1/mandatory-reports/{report['id']}/actions/record_receipt", "supervisor1",
                       {"receipt_number": "GL-1"}, expect=409).json
    assert refused["error"] == "mandatory_report.not_allowed_now"
    # ... and the refused step changed nothing.
    assert api.get(f"/api/v1/referrals/{rid}", "supervisor1").json["state"] == "sent"
    assert [r["state"] for r in api.get("/api/v1/mandatory-reports", "supervisor1").json
            if r["id"] == report["id"]] == ["open"]


def test_a_seat_files_a_mandatory_report_but_does_not_get_the_list(api):
    """The one rule both doors apply: the seat who heard the child files the report on the
    ticket; the list of every report (any desk, what the child suffered) and its steps are for
    the supervisors, dispatchers and admins."""
    tid = child_ticket(api)["id"]
    api.act(tid, "mandatory_report", "seat2", {"suspected": "neglect", "what": "长期独自在家"})
    refused = api.get("/api/v1/mandatory-reports", "seat2", expect=403).json
    assert refused["error"] == "mandatory_report.forbidden"
    assert any(r["ticket"] == tid for r in api.get("/api/v1/mandatory-reports", "dispatcher1").json)
