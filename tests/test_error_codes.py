"""Every refusal has a stable code, and every code says something in Chinese and in English.

Read from the source (no request needed): each place in hotline/ and referrals/ that makes a
domain error names its code (`error="..."`, or its class carries `error_code`) and no
message of its own; each code a raise site, a `Problem` or a field check names is in the
catalogue (hotline/error_messages.py, Chinese) with an English translation that keeps its
placeholders. Then what a user reads: the words, not the codes, in both languages.
"""

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from hotline import error_messages
from hotline.clocks.durations import Duration
from hotline.errors import Conflict, Problem
from tests.console.helpers import Browser
from tests.helpers import DEFAULT_TICKET

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*ROOT.joinpath("hotline").rglob("*.py"), *ROOT.joinpath("referrals").rglob("*.py")])
CATALOGUES = [ROOT / "hotline/translations/en/LC_MESSAGES/messages.po",
              ROOT / "hotline/console/translations/en/LC_MESSAGES/messages.po"]
CODE = re.compile(r"^[a-z_]+\.[a-z_]+$")
BASES = {"HotlineError", "Invalid", "Unauthorized", "Forbidden", "NotFound", "Conflict",
         # The rule builders' refusals reach the admin who edited the rules, in their language.
         "RoutingError", "CrisisKeywordsError", "TimeLimitsError"}
# Calls whose argument at this position is a code: Problem("x"), errors.add("field", "x").
CODE_ARGUMENTS = {"Problem": 0, "add": 1, "fail": 1, "render": 0, "coded_body": 1, "refuse": 0}


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def _trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in SOURCES}


def _error_classes(trees) -> dict[str, str | None]:
    """Every HotlineError class of the tree -> the `error_code` it carries (None: none)."""
    classes: dict[str, str | None] = dict.fromkeys(BASES)
    grew = True
    while grew:
        grew = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in classes and \
                        any(_name(base) in classes for base in node.bases):
                    inherited = next((classes[_name(b)] for b in node.bases if _name(b) in classes), None)
                    own = next((stmt.value.value for stmt in node.body
                                if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant)
                                and any(_name(t) == "error_code" for t in stmt.targets)), None)
                    classes[node.name] = own or inherited
                    grew = True
    return classes


def _raise_sites(trees, classes):
    for path, tree in trees.items():
        if path.name == "errors.py" and path.parent.name == "hotline":
            continue    # the machinery: FieldProblems.refuse passes on its caller's code
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in classes:
                yield f"{path.relative_to(ROOT)}:{node.lineno}", _name(node.func), node


def _named_codes(trees):
    """Every code the tree names: raise sites' `error=`, Problems, field checks, renders."""
    for path, tree in trees.items():
        if path.name == "error_messages.py":
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            values = [k.value for k in node.keywords if k.arg in ("error", "error_code")]
            position = CODE_ARGUMENTS.get(_name(node.func) or "")
            if position is not None and len(node.args) > position:
                values.append(node.args[position])
            for value in values:
                if isinstance(value, ast.Constant) and CODE.match(str(value.value)):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", value.value
        for node in ast.walk(tree):   # class attributes: error_code = "auth.weak_password"
            if isinstance(node, ast.Assign) and any(_name(t) == "error_code" for t in node.targets) \
                    and isinstance(node.value, ast.Constant) and node.value.value:
                yield f"{path.relative_to(ROOT)}:{node.lineno}", node.value.value


def test_every_raise_site_names_a_code_and_no_message_of_its_own():
    trees = _trees()
    classes = _error_classes(trees)
    uncoded, worded = [], []
    for where, cls, call in _raise_sites(trees, classes):
        error = next((k.value for k in call.keywords if k.arg == "error"), None)
        if not (isinstance(error, ast.Constant) and CODE.match(str(error.value))) and classes[cls] is None:
            uncoded.append(f"{where} {cls}")
        if call.args and isinstance(call.args[0], ast.Constant | ast.JoinedStr):
            worded.append(f"{where} {cls}")
    assert len(classes) > len(BASES)      # the subclasses (WeakPassword, TooManyAttempts...) were found
    assert not uncoded, "raise sites without an error code:\n" + "\n".join(uncoded)
    assert not worded, "messages belong in hotline/error_messages.py, not at:\n" + "\n".join(worded)


def test_every_code_is_in_the_catalogue_in_chinese_and_english():
    named = list(_named_codes(_trees()))
    assert len({code for _, code in named}) > 100
    missing = [f"{where} {code}" for where, code in named if code not in error_messages.MESSAGES]
    assert not missing, "codes without a message in hotline/error_messages.py:\n" + "\n".join(missing)
    english = {}
    for path in CATALOGUES:
        with path.open("rb") as file:
            english.update({m.id: m.string for m in read_po(file) if m.id and m.string and not m.fuzzy})
    placeholders = re.compile(r"%\((\w+)\)s")
    for code, message in error_messages.MESSAGES.items():
        chinese = message._args[0]
        assert chinese in english, f"{code}: no English for {chinese!r}"
        assert set(placeholders.findall(english[chinese])) == set(placeholders.findall(chinese)), code


def test_every_catalogue_entry_is_used():
    used = {code for _, code in _named_codes(_trees())}
    source = "\n".join(path.read_text(encoding="utf-8") for path in SOURCES
                       if path.name != "error_messages.py")
    unused = [code for code in error_messages.MESSAGES if code not in used and f'"{code}"' not in source]
    assert not unused, unused


@pytest.mark.parametrize(("language", "expected"), [
    ("zh", "工单当前为“待签收”，不能派单。"),
    ("en", "The ticket is at “To acknowledge”: Dispatch is not possible now."),
])
def test_a_refusal_names_the_state_and_action_in_words(app, language, expected):
    with app.test_request_context(), force_locale(language):
        refusal = Conflict(error="ticket.wrong_state", params={"state": "dispatched", "action": "dispatch"})
        assert refusal.message == expected


@pytest.mark.parametrize(("language", "expected"), [
    ("zh", "已超过退单时限（派单后 2 个工作日），请联系派单员。"),
    ("en", "The time to return it (2 working days after dispatch) has passed; contact the dispatcher."),
])
def test_durations_and_nested_problems_are_spelt_out(app, language, expected):
    with app.test_request_context(), force_locale(language):
        assert Conflict(error="ticket.return_window_passed", params={"window": Duration(2, "wd")}).message \
            == expected
        weak = Problem("auth.weak_password", {"why": Problem("password.too_short", {"min": 10})})
        assert "10" in str(weak) and "%(" not in str(weak)


def test_every_message_renders_in_both_languages(app):
    """No placeholder left over and no template error, whatever the parameters."""
    for language in ("zh", "en"):
        with app.test_request_context(), force_locale(language):
            for code, message in error_messages.MESSAGES.items():
                names = re.findall(r"%\((\w+)\)s", message._args[0])
                text = error_messages.render(code, dict.fromkeys(names, "x"))
                assert text and "%(" not in text, (language, code, text)


@pytest.mark.parametrize(("accept", "expected"), [
    (None, "工单 999 不存在。"),
    ("en-GB,en;q=0.9", "Ticket 999 does not exist."),
    ("zh-CN,en;q=0.5", "工单 999 不存在。"),
])
def test_the_api_answers_in_the_clients_language_with_the_same_code(api, accept, expected):
    headers = {**api.headers("seat1"), **({"Accept-Language": accept} if accept else {})}
    body = api.client.get("/api/v1/tickets/999", headers=headers).json
    assert (body["code"], body["error"], body["message"]) == (404, "ticket.not_found", expected)


def test_the_consoles_coded_refusals_never_leak_into_the_api(app, api):
    """The console codes a copy of the API's schemas; the API's own words stay English."""
    seat = Browser(app)
    seat.login("seat1")
    long = "长" * 101
    assert "不得超过 100 字" in seat.text(seat.get(f"/console/tickets?sort=sideways&q={long}"))
    response = api.get(f"/api/v1/tickets?sort=sideways&q={long}", "seat1", expect=422)
    assert "priority" in response.json["errors"]["sort"][0]
    assert response.json["errors"]["q"] == ["Longer than maximum length 100."]
    response = seat.post("/console/tickets/new", {"desk": "general", "caller_phone": "abc"}, expect=422)
    assert "不是有效的电话号码" in seat.text(response)
    refused = api.post("/api/v1/tickets", "seat1", {**DEFAULT_TICKET, "caller": {"phone": "abc"}}, expect=422)
    assert refused.json["errors"]["caller"]["phone"] == ["not a phone number"]
