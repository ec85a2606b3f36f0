"""CSV and XLSX downloads: the KPI table and the ticket list.

CSV is streamed row by row (a UTF-8 BOM first, so Excel opens Chinese text right).
XLSX is written by openpyxl's write-only workbook into a temporary file (constant
memory whatever the row count) and sent when complete.
"""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date

from flask import Response, send_file, stream_with_context
from openpyxl import Workbook

from hotline import kpis

CSV_MIME = "text/csv; charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


def _csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 16_384:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def download(fmt: str, filename: str, header: list[str], rows: Iterable[list],
             sheet: str = "Sheet1") -> Response:
    """`rows` is consumed lazily: for CSV while the response streams."""
    if fmt == "csv":
        response = Response(stream_with_context(_csv_lines(header, rows)), mimetype=CSV_MIME)
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        response.headers["Cache-Control"] = "no-store"
        return response
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])
    worksheet.append(header)
    for row in rows:
        worksheet.append(row)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (send_file closes it)
    workbook.save(spool)
    spool.seek(0)
    response = send_file(spool, mimetype=XLSX_MIME, as_attachment=True,
                         download_name=f"{filename}.xlsx")
    response.headers["Cache-Control"] = "no-store"
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
