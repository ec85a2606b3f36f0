"""HTML forms <-> the API's bodies: one validation, the API's marshmallow schemas.

A form posts flat fields named after the API's (`caller_phone` for `caller.phone`);
`intake_body` / `action_body` turn them into the body the API would receive and
validate it with the same schema, so the console and the API can never disagree.
Errors come back keyed by form field, in the viewer's language, translated by code: the
schema's own refusals are made `Problem`s (`coded`), a service's by its error code.
"""

import copy
from dataclasses import dataclass, field
from datetime import date

import marshmallow as ma
from flask import request
from flask_babel import get_locale, gettext
from werkzeug.datastructures import MultiDict

from hotline.console import labels
from hotline.errors import HotlineError, Problem
from hotline.parsing import text_problem
from hotline.tickets.models import Desk
from hotline.tickets.registry import ACTION_BODIES
from hotline.tickets.schemas import TicketIn, TicketRef

# Intake form field -> (part of the body, key)
INTAKE_NESTED = {
    "caller_phone": ("caller", "phone"), "caller_name": ("caller", "name"),
    "caller_is_minor": ("caller", "is_minor"), "caller_age": ("caller", "age"),
    "location_unit": ("location", "unit"), "address": ("location", "address"),
}
INTAKE_FIELDS = ["desk", "channel", "category", "priority", "subject", "content",
                 *INTAKE_NESTED, "call_sid"]   # call_sid: hidden, the call the ticket comes from


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]], message: str | None = None):
        super().__init__(message or "invalid")
        self.errors = errors
        self.message = message


@dataclass
class FormState:
    """What a re-rendered form needs: the typed values, field errors and the message."""

    values: MultiDict = field(default_factory=MultiDict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None

    def value(self, name: str, default=""):
        return self.values.get(name, default)

    def values_of(self, name: str) -> list[str]:
        return self.values.getlist(name)


def locale() -> str:
    current = get_locale()
    return current.language if current else "zh"


def flatten_errors(errors, prefix: str = "", otherwise: str | None = None) -> dict[str, list[str]]:
    """{"caller": {"phone": [...]}} -> {"caller_phone": [...]}, translated: a `Problem` by its
    code; any other text is `otherwise` (the refusing error's own message) when given."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = f"{prefix}_{key}" if prefix else str(key)
            if isinstance(value, dict) and not all(isinstance(k, int) for k in value):
                flat.update(flatten_errors(value, name, otherwise))
            else:
                flat[name] = _messages(value, otherwise)
    elif errors:
        flat["_form"] = _messages(errors, otherwise)
    return flat


def service_errors(error: HotlineError) -> dict[str, list[str]]:
    """A service's field errors in the viewer's language: the fields it names, each with its
    own `Problem` or else the error's message (its code's, never an English fragment)."""
    return flatten_errors(error.errors or {}, otherwise=error.message)


def _messages(value, otherwise: str | None) -> list[str]:
    if isinstance(value, dict):  # list items: {0: ["..."]}
        value = [message for messages in value.values() for message in _messages(messages, otherwise)]
    if not isinstance(value, list | tuple):
        value = [value]
    seen: list[str] = []
    for message in value:
        coded = isinstance(getattr(message, "code", None), str)
        text = labels.field_error(message) if coded or otherwise is None else otherwise
        if text not in seen:
            seen.append(text)
    return seen


# marshmallow's error keys and validators -> the codes of hotline/error_messages.py.
INVALID_CODES = [(ma.fields.Boolean, "field.not_boolean"), (ma.fields.Integer, "field.not_integer"),
                 (ma.fields.String, "field.not_text"), (ma.fields.Date, "field.not_date"),
                 (ma.fields.Enum, "field.choose"), (TicketRef, "field.ticket_ref")]


def coded(schema: ma.Schema) -> ma.Schema:
    """`schema` (a fresh instance) refusing with `Problem`s: the same checks as the API's,
    with errors the console translates by code. A schema instance's fields are shallow copies
    of the class's (they share validators, a list's inner field), so what is changed here is
    copied first: the API's own messages stay as they are."""
    fields = {name: _coded_field(schema_field) for name, schema_field in schema.fields.items()}
    schema.fields = fields
    schema.load_fields = {name: fields[name] for name in schema.load_fields}
    schema.dump_fields = {name: fields[name] for name in schema.dump_fields}
    return schema


def _coded_field(schema_field: ma.fields.Field) -> ma.fields.Field:
    schema_field = copy.copy(schema_field)
    invalid = next((code for kind, code in INVALID_CODES if isinstance(schema_field, kind)), "field.invalid")
    schema_field.error_messages = {   # a field's own Problem (PhoneNumber's "field.phone") stays
        key: message if isinstance(message, Problem)
        else Problem("field.required" if key in ("required", "null") else invalid)
        for key, message in schema_field.error_messages.items()}
    schema_field.validators = [_coded_validator(validator) for validator in schema_field.validators]
    if isinstance(schema_field, ma.fields.Nested):
        schema_field._schema = coded(copy.copy(schema_field.schema))
    elif isinstance(schema_field, ma.fields.List):
        schema_field.inner = _coded_field(schema_field.inner)
    return schema_field


def _coded_validator(validator):
    validator = copy.copy(validator)
    if isinstance(validator, ma.validate.Length):
        validator.message_min = Problem("field.required" if validator.min == 1 else "field.too_short")
        validator.message_max = Problem("field.too_long")
        validator.message_all = validator.message_equal = Problem("field.length_between")
        validator.error = None
    elif isinstance(validator, ma.validate.Range):
        validator.message_min = Problem("field.at_least")
        validator.message_max = Problem("field.at_most")
        validator.message_all = Problem("field.range")
        validator.error = None
    elif hasattr(validator, "error") and not isinstance(validator.error, Problem):   # coded already
        choose = isinstance(validator, ma.validate.OneOf)
        validator.error = Problem("field.choose" if choose else "field.invalid")
    return validator


def _text(form: MultiDict, name: str) -> str | None:
    value = form.get(name, "")
    value = value.strip() if isinstance(value, str) else value
    _refuse_bad_text(name, value)
    return value or None


def _refuse_bad_text(name: str, *values) -> None:
    """The API's rule for every text field (hotline.parsing): no NUL, no lone surrogate."""
    for value in values:
        problem = text_problem(value) if isinstance(value, str) else None
        if problem:
            raise FormInvalid({name: [labels.field_error(Problem(problem))]})


def _boolean(form: MultiDict, name: str):
    value = form.get(name)
    if value in (None, ""):
        return None
    return {"true": True, "on": True, "1": True, "false": False, "0": False}.get(value, value)


def _integer(form: MultiDict, name: str):
    value = _text(form, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return value  # the schema says "not a valid integer"


def _convert(form: MultiDict, name: str, schema_field: ma.fields.Field):
    if isinstance(schema_field, ma.fields.Boolean):
        return _boolean(form, name)
    if isinstance(schema_field, ma.fields.Integer):
        return _integer(form, name)
    if isinstance(schema_field, ma.fields.List):
        _refuse_bad_text(name, *form.getlist(name))
        return [value.strip() for value in form.getlist(name) if value.strip()]
    return _text(form, name)


def load(schema: ma.Schema, body: dict) -> dict:
    """`body` as `schema` loads it, or FormInvalid with the schema's refusals by field."""
    try:
        return coded(schema).load(body)
    except ma.ValidationError as error:
        raise FormInvalid(flatten_errors(error.messages)) from None


def intake_body(form: MultiDict) -> dict:
    """The intake form as `POST /api/v1/tickets` would receive it, validated."""
    schema = TicketIn()
    body: dict = {}
    for name in ("desk", "channel", "category", "priority", "subject", "content", "call_sid"):
        value = _text(form, name)
        if value is not None:
            body[name] = value
    caller_fields = schema.fields["caller"].schema.fields
    location_fields = schema.fields["location"].schema.fields
    caller, location = {}, {}
    for name, (part, key) in INTAKE_NESTED.items():
        schema_field = (caller_fields if part == "caller" else location_fields)[key]
        value = _convert(form, name, schema_field)
        if key == "is_minor":
            value = bool(value)
        if value is not None:
            (caller if part == "caller" else location)[key] = value
    body["caller"], body["location"] = caller, location
    # Contact safety (`contact_safe_to_text` true/false, empty: the defaults).
    contact = {key: value for key in ("safe_to_text", "safe_times", "note")
               if (value := _text(form, f"contact_{key}")) is not None}
    if contact:
        body["contact"] = contact
    return load(schema, body)


def action_fields(action: str) -> dict[str, ma.fields.Field]:
    return dict(ACTION_BODIES[action]().fields)


def action_body(action: str, form: MultiDict) -> dict:
    """An action form as `POST .../actions/{action}` would receive it, validated."""
    return schema_body(ACTION_BODIES[action](), form)


def schema_body(schema: ma.Schema, form: MultiDict) -> dict:
    """A form as the API would receive it with body `schema`, validated by that schema."""
    body = {}
    for name, schema_field in schema.fields.items():
        if isinstance(schema_field, ma.fields.Nested):  # flat form fields `consent_by`...
            part = {key: value for key, sub_field in schema_field.schema.fields.items()
                    if (value := _convert(form, f"{name}_{key}", sub_field)) is not None}
            if part:
                body[name] = part
            continue
        value = _convert(form, name, schema_field)
        if value is not None:
            body[name] = value
    return load(schema, body)


def error_state(form: MultiDict, error) -> FormState:
    """A FormState from a FormInvalid or a service HotlineError (message + field errors)."""
    return FormState(values=form, errors=field_errors(error), message=error.message)


def field_errors(error: FormInvalid | HotlineError) -> dict[str, list[str]]:
    """The fields a form's or a service's refusal names, each with why, in the viewer's language."""
    return error.errors if isinstance(error, FormInvalid) else service_errors(error)


# --- query arguments of the report pages ------------------------------------------------

def date_arg(name: str) -> date | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FormInvalid({name: [gettext("日期格式应为 YYYY-MM-DD")]}) from None


def desk_arg() -> str | None:
    desk = request.args.get("desk") or None
    if desk and desk not in {d.value for d in Desk}:
        raise FormInvalid({"desk": [gettext("请从列表中选择")]})
    return desk
