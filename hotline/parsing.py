"""The API's request bodies: JSON that the database and the pages can hold, or a clear 4xx.

Every flask-smorest blueprint parses its arguments with `STRICT_PARSER` (set once in
hotline.extensions, so blueprints added later get it too). On top of webargs' own checks it
refuses, before any schema or service sees the body:

- nesting deeper than MAX_DEPTH (100,000 `[` made the decoder recurse until a 500): 400;
- a string or key holding a NUL character or a lone UTF-16 surrogate (`"\\ud800"` decodes to a
  str that no database or page can encode, and NUL is cut or refused by the database and
  corrupts pages): 422 naming the field, whatever the endpoint.

Console forms get the same text rule (`text_problem`) in the console's own request hook.
"""

import json
import re

from marshmallow import fields
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request

MAX_DEPTH = 32
BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
NUL_MESSAGE = "不能包含 NUL 控制字符 (must not contain NUL characters)"
SURROGATE_MESSAGE = "包含无效的 Unicode 字符（孤立代理项）(contains an invalid lone surrogate)"
DEPTH_MESSAGE = f"JSON 嵌套超过 {MAX_DEPTH} 层 (JSON nested deeper than {MAX_DEPTH} levels)"


# The code of each problem (hotline/error_messages.py) -> what the API's field error says.
TEXT_PROBLEMS = {"text.nul": NUL_MESSAGE, "text.surrogate": SURROGATE_MESSAGE}


def text_problem(value: str) -> str | None:
    """The code of why this text cannot be stored (`text.nul`, `text.surrogate`), or None."""
    match = BAD_TEXT.search(value)
    if match is None:
        return None
    return "text.nul" if match.group() == "\x00" else "text.surrogate"


def _path_dict(path: list, message: str) -> dict:
    """["caller", "name"] -> {"caller": {"name": [message]}} (the API's field error shape)."""
    errors: dict | list = [message]
    for key in reversed(path or ["_body"]):
        errors = {str(key): errors}
    return errors


def check_body(value) -> None:
    """Walk the decoded body (iteratively: it may be deep); abort at the first problem."""
    stack = [(value, [], 0)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            abort(400, messages={"json": [DEPTH_MESSAGE]})
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                abort(422, messages={"json": _path_dict(path, TEXT_PROBLEMS[problem])})
        elif isinstance(node, dict):
            for key, child in node.items():
                problem = text_problem(key)
                if problem:
                    abort(422, messages={"json": _path_dict(path, TEXT_PROBLEMS[problem])})
                stack.append((child, [*path, key], depth + 1))
        elif isinstance(node, list):
            stack.extend((child, [*path, index], depth + 1) for index, child in enumerate(node))


class StrictJSONParser(FlaskParser):
    """webargs' Flask parser, with `check_body` on every JSON body it decodes."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        try:
            data = core.parse_json(req.get_data(cache=True))
        except RecursionError:
            abort(400, messages={"json": [DEPTH_MESSAGE]})
        check_body(data)
        return data

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        abort(400, exc=error, messages={"json": [f"JSON 格式错误 (invalid JSON body): {reason}"]})


STRICT_PARSER = StrictJSONParser()


class StrictBoolean(fields.Boolean):
    """A JSON body's boolean: `true` or `false` only. marshmallow's own also takes 0, 1, "yes",
    "on"... (`resolved: 0` passed as false); query strings keep the lenient field."""

    default_error_messages = {"invalid": "必须是 true 或 false (must be true or false)"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value
