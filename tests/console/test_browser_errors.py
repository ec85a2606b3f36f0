"""A refusal in a real browser: the service's reason in words, beside the field it is about,
in Chinese and, a click away, in English (the console translates by the error's code)."""

from tests.console.test_browser import action, chromium, live_server, person, shot  # noqa: F401  (fixtures)


def test_a_refused_extension_says_why_in_words_in_both_languages(person, api):  # noqa: F811
    ticket = api.in_progress()
    handler = person("handler-gulou")
    handler.goto(f"/console/tickets/{ticket['id']}")
    action(handler, "request_extension", "申请延期", {"days": "11", "reason": "需要协调三个部门"})
    said = "延期累计不得超过 10 个工作日，还可申请 10 个工作日。"
    assert handler.locator("[role=alert]").first.inner_text() == said
    assert handler.locator("#days-error").inner_text() == said
    assert handler.locator("#action-request_extension [name=reason]").input_value() == "需要协调三个部门"
    shot(handler, "errors-01-extension-refused-zh")

    handler.goto(f"/console/tickets/{ticket['id']}")   # the language link returns to the page shown
    handler.get_by_role("link", name="English").click()
    handler.get_by_role("link", name="Inbox").wait_for()
    action(handler, "request_extension", "Request extension", {"days": "11", "reason": "three departments"})
    said = "Extensions add up to at most 10 working days; 10 working days are left."
    assert handler.locator("#days-error").inner_text() == said
    shot(handler, "errors-02-extension-refused-en")
    assert api.ticket(ticket["id"])["state"] == "in_progress"
