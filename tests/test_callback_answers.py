"""Issue 22: a callback's answers cannot contradict each other. Satisfaction is one question, the
rating (1 满意, 2 基本满意, 3 不满意); `satisfied` follows from it, and a body that says both
and disagrees is refused."""

import pytest


@pytest.mark.parametrize(("rating", "satisfied"), [(1, False), (2, False), (3, True)])
def test_a_rating_that_contradicts_satisfied_is_refused_naming_both(api, rating, satisfied):
    tid = api.callback_pending()["id"]
    before = api.snapshot(tid)
    response = api.try_act(tid, "record_callback", "seat1",
                           {"reached": True, "resolved": True, "rating": rating, "satisfied": satisfied})
    body = api.assert_error(response, 422, "rating", "satisfied")
    assert "矛盾" in body["errors"]["satisfied"][0]
    assert api.snapshot(tid) == before


@pytest.mark.parametrize(("rating", "state", "satisfied"), [
    (1, "closed", True), (2, "closed", True), (3, "in_progress", False)])
def test_the_rating_alone_decides_satisfied(api, rating, state, satisfied):
    tid = api.callback_pending()["id"]
    after = api.act(tid, "record_callback", "seat1", {"reached": True, "resolved": True, "rating": rating})
    assert (after["state"], after["callback"]["satisfied"], after["callback"]["rating"]) == \
        (state, satisfied, rating)


def test_satisfied_alone_still_works_as_the_contract_says(api):
    tid = api.callback_pending()["id"]
    after = api.act(tid, "record_callback", "seat1", {"reached": True, "resolved": True, "satisfied": True})
    assert (after["state"], after["callback"]["rating"]) == ("closed", None)
