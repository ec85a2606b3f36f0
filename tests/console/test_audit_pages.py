"""Issue 18 in the console: the break-glass reveal form and the supervisor's read-audit page."""

from tests.test_break_glass import CHILD, REASON, crisis_ticket


def test_a_masked_viewer_reveals_with_a_reason_and_the_supervisor_sees_it(browser, api):
    tid = crisis_ticket(api)
    police = browser("handler-police")
    page = police.html(f"/console/tickets/{tid}")
    assert CHILD["phone"] not in page and 'class="reveal"' in page
    response = police.post(f"/console/tickets/{tid}/reveal", {"reason": ""}, expect=422)
    assert "reason" in police.text(response) or "理由" in police.text(response)
    response = police.post(f"/console/tickets/{tid}/reveal", {"reason": REASON}, expect=200)
    shown = police.text(response)
    assert CHILD["phone"] in shown and CHILD["name"] in shown and "母亲手机 13912345678" in shown
    assert response.headers["Cache-Control"] == "no-store"
    # Back on the ticket the contact is masked again.
    assert CHILD["phone"] not in police.html(f"/console/tickets/{tid}")

    supervisor = browser("supervisor1")
    audit = supervisor.html(f"/console/audit?ticket={tid}&kind=reveal")
    assert REASON in audit and "handler-police" in audit
    assert audit.count('class="audit-row') == 1
    everything = supervisor.html(f"/console/audit?ticket={tid}")
    assert everything.count('class="audit-row') > 1
    assert REASON not in supervisor.html("/console/audit?user=seat1&kind=reveal")
    assert "访问审计" in supervisor.html("/console/notices")
    assert REASON in supervisor.html("/console/notices")


def test_the_audit_page_is_for_supervisors_and_admins_only(browser, api):
    crisis_ticket(api)
    for username in ("seat1", "dispatcher1", "handler-gulou", "partner-xz-xinli"):
        browser(username).get("/console/audit", expect=403)
    browser("admin").get("/console/audit?from=2026-11-01&to=2026-11-30")
    browser("supervisor1").get("/console/audit?from=bogus", expect=422)


def test_a_viewer_who_sees_the_contact_gets_no_reveal_button(browser, api):
    tid = crisis_ticket(api)
    assert 'class="reveal"' not in browser("handler-gulou").html(f"/console/tickets/{tid}")


def test_a_downloaded_attachment_is_listed_on_the_audit_page(app, api):
    """A download is audited with its file's details (not an export's): the page lists it."""
    from tests.console.helpers import Browser
    from tests.console.test_authorization_table import ConsoleScenes

    scene = ConsoleScenes(app, api).build("attached")
    seat = Browser(app)
    seat.login("seat1")
    seat.get(f"/console/attachments/{scene['attachment_id']}")
    supervisor = Browser(app)
    supervisor.login("supervisor1")
    page = supervisor.text(supervisor.get("/console/audit"))
    assert f"工单 {scene['ticket_id']}" in page
