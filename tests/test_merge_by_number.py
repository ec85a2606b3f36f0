"""Merge takes the target's ticket number, as seats read it out (issue 21)."""



def test_merge_into_a_ticket_given_by_its_number(api):
    target = api.create(content="幸福小区停水")
    repeat = api.create(content="幸福小区还是没水")
    merged = api.act(repeat["id"], "merge", "seat1", {"into": target["number"]})
    assert merged["state"] == "merged" and merged["merged_into"] == target["id"]
    merged_in = [e for e in api.events(target["id"]) if e["action"] == "merged_in"][0]
    assert merged_in["data"]["number"] == repeat["number"]


def test_an_unknown_or_hidden_number_is_refused_naming_the_field(api):
    repeat = api.create(content="咨询")
    unknown = api.try_act(repeat["id"], "merge", "seat1", {"into": "12345-20200101-000001"})
    assert unknown.status_code == 422 and "into" in unknown.json["errors"]
    garbage = api.try_act(repeat["id"], "merge", "seat1", {"into": "昨天那个"})
    assert garbage.status_code == 422 and "into" in garbage.json["errors"]
    # seat2 works on the children's desk only: a general ticket's number finds nothing for it.
    child = api.create(as_user="seat2", desk="children", category="psych_support")
    hidden = api.try_act(child["id"], "merge", "seat2", {"into": repeat["number"]})
    assert hidden.status_code == 422 and "into" in hidden.json["errors"]
