"""Import articles from the spreadsheets centres already keep (CSV or XLSX), with a dry run.

Columns by their Chinese or English header: 问题/question, 答案/answer, 类别/category,
单位/unit (codes, separated by 、 , or ;), 有效期起/valid_from, 有效期止/valid_to, and optionally
标题/title, 关键词/keywords, 来源/source. Every row becomes a draft; nothing is written when a
row is wrong (the answer lists the rows and what is wrong), nor on a dry run.
"""

import csv
import io
import re
from datetime import date, datetime

from marshmallow import ValidationError
from openpyxl import load_workbook
from werkzeug.datastructures import FileStorage

from hotline import permissions
from hotline.errors import HotlineError, Invalid, Problem
from hotline.knowledge import service
from hotline.knowledge.schemas import ArticleIn
from hotline.users import User

HEADERS = {
    "问题": "questions", "question": "questions", "questions": "questions",
    "答案": "answer", "答复": "answer", "answer": "answer",
    "类别": "category", "分类": "category", "category": "category",
    "单位": "units", "unit": "units", "units": "units",
    "有效期起": "valid_from", "valid_from": "valid_from",
    "有效期止": "valid_to", "valid_to": "valid_to",
    "标题": "title", "title": "title",
    "关键词": "keywords", "keywords": "keywords",
    "来源": "source", "政策依据": "source", "source": "source",
}
_LIST = re.compile(r"[、,，;；\s]+")
MAX_ROWS = 5000


def read_rows(filename: str, content: bytes) -> list[dict]:
    """The rows as {field: text}, headers mapped (unknown columns dropped)."""
    if filename.lower().endswith(".xlsx"):
        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        table = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    else:
        text = content.decode("utf-8-sig", errors="replace")
        table = list(csv.reader(io.StringIO(text)))
    if not table:
        return []
    fields = [HEADERS.get(str(h or "").strip().lower(), HEADERS.get(str(h or "").strip())) for h in table[0]]
    if "answer" not in fields or "questions" not in fields:
        raise Invalid(errors={"file": ["header needs question and answer"]}, error="knowledge.bad_import",
                      params={"why": Problem("knowledge.import_header")})
    return [{f: v for f, v in zip(fields, row, strict=False) if f and v not in (None, "")}
            for row in table[1:] if any(v not in (None, "") for v in row)][:MAX_ROWS]


def _body(row: dict) -> dict:
    body = {key: (value.isoformat() if isinstance(value, datetime | date) else str(value).strip())
            for key, value in row.items()}
    for key in ("valid_from", "valid_to"):
        if key in body:
            body[key] = body[key][:10].replace("/", "-")
    for key in ("units", "keywords"):
        if key in body:
            body[key] = [part for part in _LIST.split(body[key]) if part]
    body.setdefault("title", body.get("questions", "").splitlines()[0][:200] if body.get("questions") else "")
    return body


def import_file(actor: User, upload: FileStorage | None, *, dry_run: bool) -> dict:
    """Check every row (schema and unit codes); unless `dry_run` and when all are right, write
    them as drafts."""
    permissions.check_knowledge_author(actor)
    if upload is None:
        raise Invalid(errors={"file": ["required"]}, error="knowledge.bad_import",
                      params={"why": Problem("import.no_file")})
    rows = read_rows(upload.filename or "", upload.read())
    loaded, errors = [], []
    for number, row in enumerate(rows, start=2):       # row 1 is the header
        try:
            body = ArticleIn().load(_body(row))
            service.check_units(body)
            loaded.append(body)
        except ValidationError as error:
            errors.append({"row": number, "errors": error.messages})
        except HotlineError as error:
            errors.append({"row": number, "errors": error.errors or {"row": [error.message]}})
    report = {"dry_run": dry_run, "rows": len(rows), "valid": len(loaded), "errors": errors,
              "titles": [body["title"] for body in loaded][:50], "created": []}
    if errors and not dry_run:
        raise Invalid(errors={"rows": errors}, error="knowledge.bad_import",
                      params={"why": Problem("knowledge.import_rows", {"count": len(errors)})})
    if not dry_run:
        report["created"] = [service.create_article(actor, body).id for body in loaded]
    return report
