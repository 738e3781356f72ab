"""Report files: CSV with a BOM and Chinese headers, workbooks with typed cells; both written
as rows come, never holding the whole report."""

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

from gateway.exports import csv_chunks, local_time, xlsx_chunks, yuan

COLUMNS = (("when", "时间", "time"), ("store", "门店", "text"), ("count", "笔数", "int"), ("paid", "实收金额", "money"))
ZONE = "Asia/Shanghai"


def rows(n: int, taken: list):
    for i in range(n):
        taken.append(i)
        yield {"when": "2026-11-24T16:30:00+00:00", "store": f"门店{i}", "count": i, "paid": 12345 + i}


def test_money_is_exact_yuan_and_times_are_the_chains_own():
    assert yuan(12345) == Decimal("123.45") and yuan(5) == Decimal("0.05")
    assert local_time("2026-11-24T16:30:00+00:00", ZONE).isoformat() == "2026-11-25T00:30:00"


def test_csv_streams_with_a_bom_and_chinese_headers():
    taken: list = []
    chunks = csv_chunks(COLUMNS, rows(20000, taken), ZONE)
    first = next(chunks)
    assert first.startswith("\ufeff时间,门店,笔数,实收金额\r\n".encode())
    assert 0 < len(taken) < 20000  # a chunk went out before every row was read
    table = list(csv.reader(io.StringIO((first + b"".join(chunks)).decode("utf-8-sig"))))
    assert table[1] == ["2026-11-25 00:30:00", "门店0", "0", "123.45"]
    assert len(table) == 20001


def test_xlsx_has_typed_cells_money_with_two_decimals_and_a_frozen_header():
    taken: list = []
    data = b"".join(xlsx_chunks(COLUMNS, rows(3, taken), ZONE, "store-summary"))
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "store-summary" and sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == ["时间", "门店", "笔数", "实收金额"]
    when, store, count, paid = sheet[2]
    assert (when.value.isoformat(), store.value, count.value, paid.value) == ("2026-11-25T00:30:00", "门店0", 0, 123.45)
    assert paid.number_format == "#,##0.00" and when.is_date
    assert sheet[1][0].font.bold
