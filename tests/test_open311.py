"""Open311 GeoReport v2 (issue 23): the general desk's public requests, nothing personal."""

from tests.helpers import DEFAULT_TICKET

CHILD = {"phone": "+8613900000013", "name": "李小雨", "is_minor": True, "age": 12}


def public(client, path: str, status: int = 200):
    response = client.get(path)
    assert response.status_code == status, (path, response.get_data(as_text=True))
    return response.json


def test_services_are_the_general_desks_public_kinds(client):
    codes = [s["service_code"] for s in public(client, "/open311/v2/services.json")]
    assert codes == ["consultation", "help", "complaint", "suggestion"]


def test_requests_show_no_personal_data_and_never_a_childs_ticket(api, client):
    street = api.dispatched(unit="gulou", subject="路灯不亮 请回电 13912345678")
    child = api.dispatched(unit="gulou", desk="children", category="psych_support", caller=CHILD)
    minor = api.dispatched(unit="gulou", caller=CHILD)                 # a child on the general desk
    report = api.dispatched(unit="gulou", category="report")           # 举报: never published
    listed = public(client, "/open311/v2/requests.json")
    assert [r["service_request_id"] for r in listed] == [street["number"]]
    (shown,) = listed
    text = str(listed)
    for private in ("13912345678", "13800000001", "张三", DEFAULT_TICKET["content"],
                    DEFAULT_TICKET["location"]["address"]):
        assert private not in text
    assert shown["status"] == "open" and shown["agency_responsible"] == "鼓楼区"
    assert shown["description"] == "路灯不亮 请回电 ***" and shown["service_code"] == "help"
    assert shown["expected_datetime"] is not None
    for hidden in (child, minor, report):
        body = public(client, f"/open311/v2/requests/{hidden['number']}.json", 404)
        assert body[0]["code"] == 404
    assert public(client, f"/open311/v2/requests/{street['number']}.json") == listed


def test_status_follows_the_ticket_and_filters_apply(api, client):
    ticket = api.create(subject="咨询公积金")
    api.act(ticket["id"], "answer", "seat1", {"answer": "请到政务中心办理"})
    open_one = api.dispatched(unit="gulou", category="complaint")
    closed = public(client, "/open311/v2/requests.json?status=closed")
    assert [r["service_request_id"] for r in closed] == [ticket["number"]]
    assert public(client, "/open311/v2/requests.json?service_code=complaint")[0][
        "service_request_id"] == open_one["number"]
    assert public(client, "/open311/v2/requests.json?start_date=2030-01-01T00:00:00Z") == []
    assert public(client, "/open311/v2/requests.json?start_date=yesterday", 400)[0]["code"] == 400
