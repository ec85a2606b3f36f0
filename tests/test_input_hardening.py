"""Issue 18 rows 6, 7, 11: request bodies that crashed or stored unstorable text, and the
HTTP details of the API (content types, Allow, strict booleans, documented formats)."""

import pytest

from tests.console.helpers import Browser
from tests.helpers import DEFAULT_TICKET

TICKETS = "/api/v1/tickets"


def raw_post(client, api, path: str, body: str, as_user: str = "seat1"):
    return client.post(path, data=body.encode("utf-8", "surrogatepass"), content_type="application/json",
                       headers=api.headers(as_user))


# --- row 6: lone surrogates and deep nesting ---------------------------------------------------


@pytest.mark.parametrize("field", ["content", "subject"])
def test_a_lone_surrogate_in_a_json_string_is_a_named_422(api, client, field):
    body = api.client.application.json.dumps({**DEFAULT_TICKET, field: "路灯\\ud800坏了"})
    response = raw_post(client, api, TICKETS, body.replace("\\\\ud800", "\\ud800"))
    error = api.assert_error(response, 422, field)
    assert "surrogate" in error["message"] or "surrogate" in str(error["errors"])
    assert api.ticket_count() == 0


def test_a_lone_surrogate_in_a_nested_field_or_a_key_is_refused(api, client):
    response = raw_post(client, api, TICKETS, '{"caller": {"name": "\\udc00"}, "desk": "general"}')
    api.assert_error(response, 422, "caller.name")
    response = raw_post(client, api, TICKETS, '{"\\ud83d": 1}')
    assert response.status_code == 422


@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 50_000, "[" * 100_000 + "]" * 100_000])
def test_deeply_nested_json_is_a_400_not_a_500(api, client, body):
    for path in (TICKETS, "/api/v1/auth/token"):
        error = api.assert_error(raw_post(client, api, path, body), 400)
        assert "嵌套" in error["message"] or "JSON" in error["message"]
    assert api.ticket_count() == 0


def test_malformed_json_says_what_is_wrong(api, client):
    error = api.assert_error(raw_post(client, api, TICKETS, '{"desk": '), 400)
    assert "JSON 格式错误" in error["message"] and "Expecting value" in error["message"]


# --- row 7: NUL characters ----------------------------------------------------------------------


def test_a_nul_in_a_note_is_refused_and_not_stored(api, client):
    ticket = api.create()
    before = api.events(ticket["id"])
    response = client.post(f"{TICKETS}/{ticket['id']}/actions/add_note", json={"note": "查询\x00结果"},
                           headers=api.headers("seat1"))
    error = api.assert_error(response, 422, "note")
    assert "NUL" in error["message"] or "NUL" in str(error["errors"])
    assert api.events(ticket["id"]) == before


@pytest.mark.parametrize("field", ["content", "subject", "caller.name", "location.address"])
def test_a_nul_in_any_ticket_field_is_refused(api, client, field):
    body = {key: dict(value) if isinstance(value, dict) else value for key, value in DEFAULT_TICKET.items()}
    *parent, name = field.split(".")
    (body[parent[0]] if parent else body)[name] = "前\x00后"
    api.assert_error(client.post(TICKETS, json=body, headers=api.headers("seat1")), 422, field)
    assert api.ticket_count() == 0


def test_a_nul_in_a_console_form_is_refused_and_not_stored(app, api):
    ticket = api.create()
    before = api.events(ticket["id"])
    seat = Browser(app)
    seat.login("seat1")
    response = seat.post(f"/console/tickets/{ticket['id']}/actions/add_note", {"note": "备注\x00"},
                         expect=422)
    assert "NUL" in seat.text(response)
    assert api.events(ticket["id"]) == before


# --- row 11: HTTP details -----------------------------------------------------------------------


def test_the_kpi_csv_says_its_charset_once(api):
    response = api.get("/api/v1/reports/kpis?format=csv", "supervisor1")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_the_openapi_document_describes_the_kpi_downloads(client):
    operation = client.get("/api/openapi.json").json["paths"]["/api/v1/reports/kpis"]["get"]
    content = operation["responses"]["200"]["content"]
    assert {"application/json", "text/csv",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} <= set(content)


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("delete", TICKETS, {"GET", "POST"}),
    ("put", "/api/v1/auth/token", {"POST"}),
    ("get", "/api/v1/tickets/1/actions/answer", {"POST"}),
])
def test_a_405_names_the_allowed_methods(api, client, method, path, allowed):
    response = getattr(client, method)(path, headers=api.headers("seat1"))
    api.assert_error(response, 405)
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_business_rules_the_schema_cannot_express_are_described_in_it(client):
    spec = client.get("/api/openapi.json").json
    text = str(spec)
    parameters = spec["paths"]["/api/v1/reports/kpis"]["get"]["parameters"]
    kpis = {p["name"]: p.get("description", "") for p in parameters}
    assert "366" in kpis["from"] and "unknown" in kpis["unit"].lower()
    schemas = spec["components"]["schemas"]
    assert "subtree" in schemas["ForwardIn"]["properties"]["unit"]["description"]
    assert "unknown" in schemas["DispatchIn"]["properties"]["unit"]["description"].lower()
    callback = schemas["CallbackIn"]
    assert "reached" in callback["properties"]["resolved"]["description"] and "reached" in text


@pytest.mark.parametrize("value", [0, 1, "true", "yes", "0"])
def test_a_boolean_must_be_true_or_false(api, client, value):
    ticket = api.callback_pending()
    before = api.snapshot(ticket["id"])
    response = client.post(f"{TICKETS}/{ticket['id']}/actions/record_callback",
                           json={"reached": True, "resolved": value, "satisfied": True, "rating": 1},
                           headers=api.headers("seat1"))
    api.assert_error(response, 422, "resolved")
    assert api.snapshot(ticket["id"]) == before
    response = client.post(TICKETS, json={**DEFAULT_TICKET, "caller": {"phone": "+8613800000001",
                                                                      "is_minor": value}},
                           headers=api.headers("seat1"))
    api.assert_error(response, 422, "caller.is_minor")
