"""The console's merge form takes the target's ticket number (issue 21)."""


def test_the_console_merge_form_takes_a_number(browser, api):
    target = api.create(content="幸福小区停水")
    repeat = api.create(content="幸福小区还是没水")
    seat = browser("seat1")
    assert 'name="into"' in seat.html(f"/console/tickets/{repeat['id']}")
    seat.action(repeat["id"], "merge", {"into": target["number"]})
    assert api.ticket(repeat["id"])["merged_into"] == target["id"]
