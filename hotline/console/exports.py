"""CSV and XLSX downloads: the KPI table, the ticket list, rankings and the period reports.

Made for a supervisor to sort and pivot: the headers in the reader's language (Chinese by
default), names rather than codes, times in Shanghai time. Each table is described by its
`Column`s (title, width, kind of value).

CSV is streamed row by row (a UTF-8 BOM first, so Excel opens Chinese text right); times are
written "YYYY-MM-DD HH:MM:SS". XLSX is written by openpyxl's write-only workbook into a
temporary file (constant memory whatever the row count) with typed cells (times are real
date-times, rates percentages), the header row frozen, an autofilter and column widths; it is
sent when complete. Meanwhile the page says it is being made and for how long: the link carries
an `export_token` and the answer sets the cookie `export_ready` to it, which the page's script
waits for.
"""

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Response, request, send_file, stream_with_context
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from hotline import kpis
from hotline.console import labels

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


SHANGHAI = ZoneInfo("Asia/Shanghai")
FORMATS_OF = {"datetime": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd", "rate": "0.0%"}


@dataclass(frozen=True)
class Column:
    """One column of an export: its title (a lazy translation), width in characters and kind
    of value: text, int, datetime (a Shanghai wall-clock time), date or rate (a fraction)."""

    title: LazyString | str
    width: int = 14
    kind: str = "text"


@dataclass
class Sheet:
    name: str
    columns: list[Column]
    rows: Iterable[list]


def local(moment: datetime | None) -> datetime | None:
    """A UTC instant as the Shanghai wall-clock time a spreadsheet shows (to the second)."""
    if moment is None:
        return None
    return moment.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)


def yes_no(value: bool | None) -> str:
    return "" if value is None else gettext("是") if value else gettext("否")


def _xlsx_cell(worksheet, value, kind: str = "text"):
    """XLSX has cell types: text is written as a string cell, never as a formula; times, dates
    and rates as numbers with their format."""
    cell = WriteOnlyCell(worksheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    elif value is not None and kind in FORMATS_OF:
        cell.number_format = FORMATS_OF[kind]
    return cell


def _csv_value(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    return neutralise(value)


def _csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
        if buffer.tell() > 16_384:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _write_sheet(book: Workbook, sheet: Sheet) -> None:
    worksheet = book.create_sheet(sheet.name[:31])
    # Before the first row: openpyxl writes a write-only sheet's views and columns up front.
    worksheet.freeze_panes = "A2"
    for index, column in enumerate(sheet.columns, start=1):
        worksheet.column_dimensions[get_column_letter(index)].width = column.width
    header = []
    for column in sheet.columns:
        cell = WriteOnlyCell(worksheet, value=str(column.title))
        cell.font = Font(bold=True)
        header.append(cell)
    worksheet.append(header)
    count = 0
    for row in sheet.rows:
        worksheet.append([_xlsx_cell(worksheet, value, column.kind)
                          for value, column in zip(row, sheet.columns, strict=True)])
        count += 1
    worksheet.auto_filter.ref = f"A1:{get_column_letter(len(sheet.columns))}{count + 1}"


def download(fmt: str, filename: str, columns: list[Column], rows: Iterable[list],
             sheet: str = "Sheet1") -> Response:
    """One table as CSV or XLSX. `rows` is consumed lazily: for CSV while the response streams."""
    if fmt == "csv":
        header = [str(column.title) for column in columns]
        response = Response(stream_with_context(_csv_lines(header, rows)), content_type=CSV_MIME)
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        response.headers["Cache-Control"] = "no-store"
        return _ready(response)
    return workbook([Sheet(sheet, columns, rows)], filename)


def workbook(sheets: list[Sheet], filename: str) -> Response:
    """Several tables as the sheets of one XLSX."""
    book = Workbook(write_only=True)
    for sheet in sheets:
        _write_sheet(book, sheet)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (send_file closes it)
    book.save(spool)
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


# --- KPIs: one row per unit and KPI (long, for a pivot table) ---------------------------------

KPI_COLUMNS = [
    Column(_l("开始日期"), 12, "date"), Column(_l("结束日期"), 12, "date"), Column(_l("单位"), 18),
    Column(_l("专席"), 14), Column(_l("指标"), 14), Column(_l("分子"), 8, "int"),
    Column(_l("分母"), 8, "int"), Column(_l("比率"), 9, "rate"),
]


def kpi_rows(report: kpis.Report, names: dict[str, str]) -> list[list]:
    """The report's KPIs (the scope's row first), then each branch unit's when it has them;
    `names`: unit code -> name."""
    scope = names.get(report.unit, report.unit) if report.unit else gettext("全部")
    desk = labels.label(labels.DESKS, report.desk) if report.desk else gettext("全部")

    def rows(unit: str, values: list[kpis.Kpi]) -> list[list]:
        return [[report.start, report.end, unit, desk, labels.label(labels.KPIS, k.key),
                 k.numerator, k.denominator, k.rate] for k in values]

    table = rows(scope, report.kpis)
    for code, values in report.by_unit.items():
        if code != report.unit:
            table += rows(names.get(code, code), values)
    return table


def kpi_filename(report: kpis.Report) -> str:
    parts = ["kpis", _day(report.start), _day(report.end)]
    if report.unit:
        parts.append(report.unit)
    if report.desk:
        parts.append(report.desk)
    return "_".join(parts)


def _day(value: date) -> str:
    return value.isoformat()
