"""Domain errors and the one JSON error body of docs/integration.md.

Services raise these with a stable code and its parameters,
`Conflict(error="ticket.wrong_state", params={"state": "dispatched", "action": "dispatch"})`;
what the code says, in Chinese or English, is the catalogue's (hotline/error_messages.py),
so rewording a message never breaks a client or the console, which both go by the code.
`register_error_handlers` turns them (and HTTP errors, lost races and an unreachable
database) into `{"code", "status", "message", "errors", "error"}`.
"""

import logging

from flask import Flask, jsonify
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from hotline import error_messages
from hotline.extensions import db

log = logging.getLogger(__name__)

# Where webargs found the input; it nests field errors under these ({"json": {...}}).
INPUT_LOCATIONS = ("json", "query", "form", "headers", "path", "files", "view_args")

# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
LOST_RACE_SQLSTATES = {"40001", "40P01", "55P03"}


class HotlineError(Exception):
    """A refusal with a stable `error` code (docs/integration.md Additions) and `params`.

    `message` is the catalogue's text of the code in the current language. A bare message
    without a code (`HotlineError("...")`) still works for code written before the codes;
    tests/test_error_codes.py fails on any such raise site in hotline/ and referrals/.
    `errors` names the fields to blame: {"unit": ["unknown unit x"]} (the API's stable
    English fragments, or `Problem`s where a field has its own coded message).
    """

    code = 400
    # The code a subclass always carries (`auth.weak_password`), unless the raise site names one.
    error_code: str | None = None

    def __init__(self, message: str | None = None, errors: dict | None = None, *,
                 error: str | None = None, params: dict | None = None):
        self.error = error or self.error_code
        self.params = params or {}
        self.errors = errors
        self._legacy_message = message
        super().__init__(self.error or message)

    @property
    def message(self) -> str:
        return error_messages.render(self.error, self.params, fallback=self._legacy_message)

    def __str__(self) -> str:
        return self.message


class Problem(str):
    """One field's error with its own code, for `errors` when fields differ in what is wrong.

    It reads as its text (the message in the language of the moment it was made, what the
    API's `errors` show); the console renders it again by `code` in the viewer's language."""

    code: str
    params: dict
    fixed: bool

    def __new__(cls, code: str, params: dict | None = None, text: str | None = None):
        params = params or {}
        problem = super().__new__(cls, error_messages.render(code, params) if text is None else text)
        problem.code, problem.params, problem.fixed = code, params, text is not None
        return problem

    def format(self, *args, **kwargs) -> "Problem":  # type: ignore[override]
        """marshmallow formats its messages (`{max}`): the values become params, the code stays
        (and a text given for the API stays that text)."""
        text = str.format(self, *args, **kwargs) if self.fixed else None
        return Problem(self.code, {**self.params, **kwargs}, text)

    def __reduce__(self):
        return Problem, (self.code, self.params, str(self))


class Invalid(HotlineError):
    """Input that passed the schema but breaks a rule (names the field)."""

    code = 422


class RuleDocumentError(ValueError):
    """A rule document (a shipped TOML file, or an admin's edit) that its builder refuses, with
    a stable code and params like any refusal. Read as `where` (the file or table) and the
    message in English, for the IT officer when a file stops start-up; an edit shows the
    `problem` in the editor's language instead (`refusal`)."""

    def __init__(self, where: str = "", *, error: str, params: dict | None = None):
        self.error, self.params = error, params or {}
        text = error_messages.in_english(error, self.params)
        super().__init__(f"{where}: {text}" if where else text)

    def problem(self) -> Problem:
        return Problem(self.error, self.params)

    def refusal(self, field: str, error: str) -> "Invalid":
        """The 422 for an edit the builder refused: `error` (`routing.invalid`...) saying why."""
        problem = self.problem()
        return Invalid(errors={field: [problem]}, error=error, params={"why": problem})


class FieldProblems(dict):
    """Field -> [Problem], collected over a whole record (an admin form, an import row),
    then refused at once: 422 `error` (default `input.invalid`), whose message is the first."""

    def add(self, field: str, code: str, **params) -> None:
        self.setdefault(field, []).append(Problem(code, params))

    def refuse(self, error: str = "input.invalid") -> None:
        if self:
            raise Invalid(errors=dict(self), error=error, params={"why": next(iter(self.values()))[0]})


class Unauthorized(HotlineError):
    code = 401


class Forbidden(HotlineError):
    code = 403


class NotFound(HotlineError):
    code = 404


class Conflict(HotlineError):
    """Not allowed in the current state, or lost a concurrent race."""

    code = 409


def _rollback() -> None:
    """Roll back the failed request's work, even when the database went away meanwhile.

    A rollback on a connection the server has dropped raises; the server discarded the
    transaction already and the failure invalidated the connection, so the second one
    succeeds. Without this, a 404 or 409 decided before the database went away became a 500.
    """
    try:
        db.session.rollback()
    except DBAPIError as error:
        log.warning("database connection lost before the rollback: %s", error.orig)
        db.session.rollback()


def error_body(code: int, message: str, errors: dict | None = None, error: str | None = None):
    """The one error body: always all four keys, `errors` empty when no field is to blame;
    `error` (the stable code) when the refusal has one."""
    body = {"code": code, "status": HTTP_STATUS_CODES.get(code, "Error"), "message": message,
            "errors": errors or {}}
    if error:
        body["error"] = error
    return jsonify(body), code


def coded_body(code: int, error: str):
    """The body of a refusal that is no domain error but has a code all the same."""
    return error_body(code, error_messages.render(error, {}), error=error)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HotlineError)
    def _domain(error: HotlineError):
        _rollback()
        response, code = error_body(error.code, error.message, error.errors, error.error)
        if getattr(error, "retry_after", None):
            response.headers["Retry-After"] = str(error.retry_after)
        return response, code

    @app.errorhandler(StaleDataError)
    def _stale(error):
        _rollback()
        return coded_body(409, "request.changed_concurrently")

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def _out_of_range(error):
        _rollback()
        return coded_body(422, "request.out_of_range")

    @app.errorhandler(IntegrityError)
    def _integrity(error):
        _rollback()
        log.info("integrity error mapped to 409: %s", error.orig)
        return coded_body(409, "request.concurrent_conflict")

    @app.errorhandler(OperationalError)
    def _database_down(error):
        _rollback()
        if getattr(error.orig, "sqlstate", None) in LOST_RACE_SQLSTATES:
            return coded_body(409, "request.concurrent_conflict")
        log.error("database unavailable: %s", error.orig)
        return coded_body(503, "request.database_unavailable")

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        message = data.get("message") or _message_for(error, errors)
        response, code = error_body(error.code or 500, message, _by_field(errors))
        for key, value in (data.get("headers") or {}).items():
            response.headers[key] = value
        if getattr(error, "valid_methods", None):  # 405: say which methods the path takes
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response, code

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        _rollback()
        log.exception("unhandled error")
        return coded_body(500, "request.internal_error")


def _by_field(errors):
    """Field errors keyed by field, as the services name them: {"desk": [...]}, not {"json": {...}}."""
    if isinstance(errors, dict) and len(errors) == 1:
        ((location, fields),) = errors.items()
        if location in INPUT_LOCATIONS and isinstance(fields, dict):
            return fields
    return errors


def _message_for(error: HTTPException, errors) -> str:
    if errors:
        fields = sorted(_field_names(errors))
        if fields:
            return error_messages.render("request.invalid_input", {"fields": ", ".join(fields)})
        # Not one field but the body as a whole, e.g. {"json": ["Invalid JSON body."]}.
        problems = [str(item) for value in errors.values()
                    for item in (value if isinstance(value, list) else [value])]
        return error_messages.render("request.invalid_input", {"fields": " ".join(problems)})
    return error.description or error.name


def _field_names(errors, prefix: str = ""):
    if not isinstance(errors, dict):
        return
    for key, value in errors.items():
        if key in INPUT_LOCATIONS and not prefix:
            yield from _field_names(value)
        elif isinstance(value, dict):
            nested = list(_field_names(value, f"{prefix}{key}."))
            yield from (nested or [f"{prefix}{key}"])
        else:
            yield f"{prefix}{key}"
