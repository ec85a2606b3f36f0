"""Rows of a CSV or XLSX file the centre already keeps, as dicts keyed by the header row.

CSV through the standard library (UTF-8, with or without BOM, or GB18030 as Excel in China
saves it); XLSX through openpyxl (the first sheet). Export writes the same two formats.
"""

import csv
import io

from openpyxl import Workbook, load_workbook

from hotline.errors import Invalid, Problem

MAX_ROWS = 5000


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid(errors={"file": ["unknown encoding"]}, error="import.bad_file",
                  params={"why": Problem("import.unknown_encoding")})


def read_rows(filename: str, data: bytes) -> list[dict[str, str]]:
    """The data rows (header row excluded, blank rows skipped), keys lower-cased."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        except Exception as error:  # openpyxl raises many kinds for a file that is not XLSX
            raise Invalid(errors={"file": [str(error)[:200]]}, error="import.bad_file",
                          params={"why": Problem("import.unreadable_xlsx")}) from None
        table = [[_cell(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    elif name.endswith(".csv"):
        table = [[_cell(value) for value in row] for row in csv.reader(io.StringIO(_decode(data)))]
    else:
        raise Invalid(errors={"file": ["CSV or XLSX only"]}, error="import.bad_file",
                      params={"why": Problem("import.wrong_type")})
    table = [row for row in table if any(row)]
    if not table:
        raise Invalid(errors={"file": ["empty"]}, error="import.bad_file",
                      params={"why": Problem("import.empty")})
    if len(table) - 1 > MAX_ROWS:
        raise Invalid(errors={"file": ["too many rows"]}, error="import.bad_file",
                      params={"why": Problem("import.too_many_rows", {"max": MAX_ROWS})})
    header = [name.strip().lower() for name in table[0]]
    return [dict(zip(header, row + [""] * (len(header) - len(row)), strict=False)) for row in table[1:]]


def write_rows(columns: list[str], rows: list[dict], fmt: str) -> tuple[bytes, str]:
    """The rows as a CSV (UTF-8 with BOM, which Excel opens) or XLSX file; (bytes, mimetype)."""
    if fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        sheet.append(columns)
        for row in rows:
            sheet.append([row.get(column, "") for column in columns])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + text.getvalue()).encode("utf-8"), "text/csv"
