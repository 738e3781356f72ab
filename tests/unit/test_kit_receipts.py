"""The kit's receipt page (S-3): both papers, money in yuan, local times, masked cards, escaping,
the signature line and the chain's footer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.kit.receipts import SIGNATURE, Receipt, Section, local_time, mask_card, percent_off, render, yuan


def test_money_is_yuan_with_two_decimals_worked_in_integers():
    assert yuan(0) == "0.00"
    assert yuan(5) == "0.05"
    assert yuan(12000) == "120.00"
    assert yuan(123456) == "1234.56"
    assert yuan(-1200) == "-12.00"
    assert yuan(-5) == "-0.05"
    # a sum no float carries exactly: 0.1 + 0.2 yuan is 30 fen
    assert yuan(10 + 20) == "0.30"


def test_discounts_print_as_percentages():
    assert percent_off(1000) == "10%"
    assert percent_off(1250) == "12.5%"
    assert percent_off(505) == "5.05%"
    assert percent_off(0) == "0%"


def test_times_print_in_the_chain_zone_from_strings_or_datetimes():
    assert local_time("2026-05-01T16:30:00+00:00", "Asia/Shanghai") == "2026-05-02 00:30:00"
    assert local_time(datetime(2026, 1, 1, 5, 0, tzinfo=UTC), "America/New_York") == "2026-01-01 00:00:00"
    assert local_time(None, "Asia/Shanghai") == ""


def test_a_card_number_shows_only_its_last_four_digits():
    assert mask_card("620000000017") == "********0017"
    assert mask_card("") == "" and mask_card(None) == ""


def _receipt() -> Receipt:
    return Receipt(
        title="测试 <Test>",
        chain_name="洗车 & Co",
        store_name="Store <A>",
        sections=[
            Section([("单号 No.", "t-1")]),
            Section([("<b>Wash</b>", yuan(12000))], heading="商品 Items"),
        ],
        footer="谢谢惠顾\nThank you",
    )


def test_the_page_escapes_everything_and_ends_with_signature_line_and_footer():
    page = render(_receipt(), "80mm")
    assert page.startswith("<!doctype html>")
    assert "<h1>洗车 &amp; Co</h1><h2>Store &lt;A&gt; · 测试 &lt;Test&gt;</h2>" in page
    assert "<title>测试 &lt;Test&gt;</title>" in page
    assert (
        "<tr><th colspan='2'>商品 Items</th></tr><tr><td>&lt;b&gt;Wash&lt;/b&gt;</td><td class='v'>120.00</td></tr>"
        in page
    )
    assert "<b>" not in page
    # the signature line comes after the figures, the footer last (its line break kept by pre-wrap)
    assert page.index("</table>") < page.index(SIGNATURE) < page.index("谢谢惠顾\nThank you")
    assert page.endswith("<div class='foot'>谢谢惠顾\nThank you</div></body></html>")


def test_each_paper_has_its_page_size_and_width():
    narrow, a4 = render(_receipt(), "80mm"), render(_receipt(), "a4")
    assert "size:80mm auto" in narrow and "width:72mm" in narrow and "size:A4" not in narrow
    assert "size:A4" in a4 and "max-width:170mm" in a4 and "80mm" not in a4
    # the same receipt on either paper: only the page style differs
    assert narrow.split("</style>")[1] == a4.split("</style>")[1]


def test_a_long_value_goes_under_its_label_so_the_narrow_column_keeps_its_labels_on_one_line():
    uuid = "5bb58c9f-b93d-4dd0-8c00-91d34f7ebe3b"
    page = render(Receipt("T", "C", "S", [Section([("单号 No.", uuid), ("时间 Time", "2026-05-01 23:59:59")])]), "80mm")
    assert f"<tr><td colspan='2'>单号 No.</td></tr><tr><td colspan='2' class='v'>{uuid}</td></tr>" in page
    # a time is short enough to stay beside its label
    assert "<tr><td>时间 Time</td><td class='v'>2026-05-01 23:59:59</td></tr>" in page


def test_a_section_without_heading_prints_bare_rows_and_an_unknown_paper_is_a_bug():
    page = render(Receipt("T", "C", "S", [Section([("a", "1")])]), "a4")
    assert "<table><tr><td>a</td><td class='v'>1</td></tr></table>" in page and "<th" not in page
    with pytest.raises(ValueError, match="paper"):
        render(_receipt(), "letter")
