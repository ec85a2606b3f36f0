"""Issue 18 in a real browser: the break-glass form and the read-audit page, wide and at 375 px."""

from tests.console.test_browser import chromium, live_server, person, shot  # noqa: F401,F811 (fixtures)
from tests.test_break_glass import CHILD, REASON, crisis_ticket


def test_reveal_with_a_reason_then_the_supervisor_reads_the_audit(person, api):  # noqa: F811
    tid = crisis_ticket(api)
    police = person("handler-police")
    police.goto(f"/console/tickets/{tid}")
    assert CHILD["phone"] not in police.content()
    police.locator("details.reveal summary").click()
    police.fill("details.reveal textarea[name=reason]", REASON)
    shot(police, "h7-01-police-reveal-form")
    police.locator("details.reveal button[type=submit]").click()
    police.wait_for_selector("section.revealed")
    assert CHILD["phone"] in police.locator("section.revealed").inner_text()
    shot(police, "h7-02-police-revealed")
    police.set_viewport_size({"width": 375, "height": 800})
    shot(police, "h7-03-police-revealed-375")

    supervisor = person("supervisor1")
    supervisor.goto(f"/console/audit?ticket={tid}")
    assert REASON in supervisor.locator("table.audit").inner_text()
    shot(supervisor, "h7-04-supervisor-audit")
    supervisor.set_viewport_size({"width": 375, "height": 800})
    shot(supervisor, "h7-05-supervisor-audit-375")
