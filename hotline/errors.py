"""Domain errors and the one JSON error body of docs/integration.md.

Services raise these; `register_error_handlers` turns them (and HTTP errors,
lost races and an unreachable database) into `{"code", "status", "message", "errors"}`.
"""

import logging

from flask import Flask, jsonify
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from hotline.extensions import db

log = logging.getLogger(__name__)

# Where webargs found the input; it nests field errors under these ({"json": {...}}).
INPUT_LOCATIONS = ("json", "query", "form", "headers", "path", "files", "view_args")

# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
LOST_RACE_SQLSTATES = {"40001", "40P01", "55P03"}


class HotlineError(Exception):
    code = 400
    # The stable `error` code of the body (docs/integration.md Additions) that a subclass always carries.
    error_code: str | None = None

    def __init__(self, message: str, errors: dict | None = None, *, error: str | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors
        # The stable code of docs/integration.md's Additions ("ticket.already_crisis"), given or the class's.
        self.error = error or self.error_code


class Invalid(HotlineError):
    """Input that passed the schema but breaks a rule (names the field)."""

    code = 422


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
        return error_body(409, "工单已被他人同时修改，请刷新后重试 (the ticket was changed concurrently)")

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def _out_of_range(error):
        _rollback()
        return error_body(422, "数值超出范围 (a value is out of range)")

    @app.errorhandler(IntegrityError)
    def _integrity(error):
        _rollback()
        log.info("integrity error mapped to 409: %s", error.orig)
        return error_body(409, "与并发的操作冲突，请刷新后重试 (conflicting concurrent change)")

    @app.errorhandler(OperationalError)
    def _database_down(error):
        _rollback()
        if getattr(error.orig, "sqlstate", None) in LOST_RACE_SQLSTATES:
            return error_body(409, "与并发的操作冲突，请刷新后重试 (lost a concurrent race)")
        log.error("database unavailable: %s", error.orig)
        return error_body(503, "数据库暂不可用，请稍后重试 (database unavailable)")

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
        return error_body(500, "服务器内部错误 (internal error); the request was not applied")


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
            return "输入有误 (invalid input): " + ", ".join(fields)
        # Not one field but the body as a whole, e.g. {"json": ["Invalid JSON body."]}.
        problems = [str(item) for value in errors.values()
                    for item in (value if isinstance(value, list) else [value])]
        return "输入有误 (invalid input): " + " ".join(problems)
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
