"""Report files: CSV (UTF-8 with a BOM, so Excel reads the Chinese headers) and Excel `.xlsx`
(typed cells, money as numbers with two decimals, a header row, frozen panes).

Rows come a page at a time from the reporting service and are written as they come: a CSV
is streamed to the client chunk by chunk; a workbook is written by openpyxl's write-only mode
(rows go straight to a temporary file, never all in memory) and then streamed from that file.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {"csv": CSV, "xlsx": XLSX}
CHUNK = 64 * 1024
MONEY_FORMAT = "#,##0.00"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

Columns = tuple[tuple[str, str, str], ...]


@dataclass
class Download:
    """An operation's answer that is a file, not JSON."""

    content_type: str
    filename: str
    chunks: Iterator[bytes]


def yuan(fen: int) -> Decimal:
    """Fen as yuan, exactly (never through a float)."""
    return Decimal(fen).scaleb(-2)


def local_time(value: str, zone: str) -> datetime:
    """A stored instant in the chain's own time, without a zone: Excel has none, and a report
    reads as the receipts were printed."""
    return datetime.fromisoformat(value).astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def _typed(value: object, kind: str, zone: str) -> object:
    if value is None:
        return None
    if kind == "money":
        return yuan(int(value))
    if kind == "time":
        return local_time(str(value), zone)
    return value


def csv_chunks(columns: Columns, rows: Iterable[dict], zone: str) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([header for _, header, _ in columns])
    for row in rows:
        writer.writerow([_csv_cell(_typed(row.get(field), kind, zone)) for field, _, kind in columns])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _csv_cell(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else value


def xlsx_chunks(columns: Columns, rows: Iterable[dict], zone: str, title: str) -> Iterator[bytes]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for _, name, _ in columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = []
        for field, _, kind in columns:
            # money a number cell (exact: a Decimal of yuan), shown with its two decimals
            cell = WriteOnlyCell(sheet, value=_typed(row.get(field), kind, zone))
            if kind == "money":
                cell.number_format = MONEY_FORMAT
            elif kind == "time":
                cell.number_format = TIME_FORMAT
            cells.append(cell)
        sheet.append(cells)
    with tempfile.TemporaryFile() as file:
        book.save(file)
        file.seek(0)
        while chunk := file.read(CHUNK):
            yield chunk
