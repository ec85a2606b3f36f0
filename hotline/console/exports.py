"""CSV and XLSX downloads: the KPI table and the ticket list.

CSV is streamed row by row (a UTF-8 BOM first, so Excel opens Chinese text right).
XLSX is written by openpyxl's write-only workbook into a temporary file (constant
memory whatever the row count) and sent when complete; meanwhile the page says it is being
made and for how long: the link carries an `export_token` and the answer sets the cookie
`export_ready` to it, which the page's script waits for.
"""

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date

from flask import Response, request, send_file, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from hotline import kpis

CSV_MIME = "text/csv; charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
READY_COOKIE = "export_ready"
TOKEN = re.compile(r"[A-Za-z0-9]{8,40}")

# Spreadsheet formula injection (OWASP "CSV Injection"): a cell starting with one of these is
# read as a formula by Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ...except a phone number, masked or not: digits (and * - space) after a +, which no
# spreadsheet can turn into a call or a reference.
HARMLESS = re.compile(r"\+[0-9][0-9* \-]*")


def neutralise(value):
    """CSV: a text cell that would start a formula gets a leading single quote (OWASP)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not HARMLESS.fullmatch(value):
        return "'" + value
    return value


def _xlsx_cell(worksheet, value):
    """XLSX has cell types: text is written as a string cell, never as a formula."""
    cell = WriteOnlyCell(worksheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(value) for value in row])
        if buffer.tell() > 16_384:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def download(fmt: str, filename: str, header: list[str], rows: Iterable[list],
             sheet: str = "Sheet1") -> Response:
    """`rows` is consumed lazily: for CSV while the response streams."""
    if fmt == "csv":
        response = Response(stream_with_context(_csv_lines(header, rows)), content_type=CSV_MIME)
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        response.headers["Cache-Control"] = "no-store"
        return _ready(response)
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])
    worksheet.append(header)
    for row in rows:
        worksheet.append([_xlsx_cell(worksheet, value) for value in row])
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (send_file closes it)
    workbook.save(spool)
    spool.seek(0)
    response = send_file(spool, mimetype=XLSX_MIME, as_attachment=True,
                         download_name=f"{filename}.xlsx")
    response.headers["Cache-Control"] = "no-store"
    return _ready(response)


def _ready(response: Response) -> Response:
    """Tell the page that asked (its `export_token`) that the download has begun."""
    token = request.args.get("export_token", "")
    if TOKEN.fullmatch(token):
        # Read by the page's script, so not HttpOnly; it carries nothing but the page's own token.
        response.set_cookie(READY_COOKIE, token, max_age=120, samesite="Lax",
                            secure=request.is_secure, httponly=False)
    return response


KPI_HEADER = ["key", "name", "numerator", "denominator", "rate"]


def kpi_rows(report: kpis.Report) -> list[list]:
    return [[k.key, k.name, k.numerator, k.denominator,
             None if k.rate is None else round(k.rate, 4)] for k in report.kpis]


def kpi_filename(report: kpis.Report) -> str:
    parts = ["kpis", _day(report.start), _day(report.end)]
    if report.unit:
        parts.append(report.unit)
    if report.desk:
        parts.append(report.desk)
    return "_".join(parts)


def _day(value: date) -> str:
    return value.isoformat()
