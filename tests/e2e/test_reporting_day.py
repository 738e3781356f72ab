"""Issue 15's done-when, through HTTP with the real processes (`deploy/run_all.py`): a day of
recharges, consumes and refunds at two stores, then the reports checked against the script's
own sums, the wallet's liability, the files, a store manager's scope, and a rebuild run as its
own process."""

import csv
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from openpyxl import load_workbook

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.e2e.test_make_run import running_system  # noqa: F401 - the fixture
from tests.helpers import Api, error, ok, process_environment, wait_for
from tests.reporting_helpers import PAD
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


class Answer:
    """What the tests read of an answer, as from Falcon's test client."""

    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        self.content = response.content
        self.text = response.text

    @property
    def json(self):
        return json.loads(self.text) if self.text else None


class Http:
    """Falcon's test-client calls, sent over the network to the real gateway."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def _call(self, method: str, path: str, **kwargs) -> Answer:
        return Answer(self.session.request(method, f"{self.base}{path}", timeout=30, **kwargs))

    def simulate_get(self, path, params=None, headers=None):
        return self._call("GET", path, params=params, headers=headers)

    def simulate_post(self, path, json=None, headers=None):
        return self._call("POST", path, json=json, headers=headers)

    def simulate_put(self, path, json=None, headers=None):
        return self._call("PUT", path, json=json, headers=headers)

    def simulate_patch(self, path, json=None, headers=None):
        return self._call("PATCH", path, json=json, headers=headers)


SUMMED = ("gross", "discount", "amount_due")
PAID = ("cash", "bonus", "credit", "external")


def test_a_day_at_two_stores_through_http(provisioned, running_system):  # noqa: F811 - the fixture
    base, _ = running_system
    admin = Api.sign_in(Http(base), ADMIN_USERNAME, ADMIN_PASSWORD)
    w = wallet_world(admin)
    stores = {"A": w.store_a, "B": w.store_b}
    tills = {"A": w.cashier_a, "B": w.cashier_b}
    expected = {s: dict.fromkeys(("count", *SUMMED, *PAID, "refunds", "refunded", "recharged"), 0) for s in stores}
    # X keeps cash taken in at A and spends it at B; Y stays at B. Under 500 yuan: no bonus.
    x, y = w.card()["card_no"], w.card()["card_no"]
    for card, store, amount in ((x, "A", 30000), (x, "A", 12345), (y, "B", 40000)):
        ok(w.recharge(card, amount, api=tills[store], store=stores[store]), 201)
        expected[store]["recharged"] += amount
    sales = []
    for card, store, lines in ((x, "B", [WASH, PAD]), (x, "B", [WASH]), (y, "B", [PAD]), (y, "B", [WASH])):
        sale = ok(w.consume(card, lines, api=tills[store], store=stores[store]), 201)
        sales.append((card, store, sale))
        figures = expected[store]
        figures["count"] += 1
        for field in SUMMED:
            figures[field] += sale[field]
        for source in PAID:
            figures[source] += sale["paid"][source]
    refund = {"transaction_id": sales[0][2]["transaction_id"], "store_id": w.store_b, "reason": "returned"}
    back = ok(w.cashier_b.post(w.path("/refunds"), {**refund, "lines": [{"line_no": 2, "quantity": 1}]}), 201)
    expected["B"]["refunds"] += 1
    expected["B"]["refunded"] += back["amount"]
    # what B owes A: X's cash (taken in at A) spent at B, less the cash given back there
    owed = sum(s["paid"]["cash"] for card, store, s in sales if card == x) - back["refunded"]["cash"]
    assert owed > 0

    hq = w.hq
    day = {"since": _today(hq, w), "until": _today(hq, w)}
    reports = w.world.path("/reports")

    def summary():
        answer = ok(hq.get(f"{reports}/store-summary", day))
        return {s: r for r in answer["rows"] for s, sid in stores.items() if r["store_id"] == sid}

    rows = wait_for(lambda: (r := summary()) and r.get("B", {}).get("refund_count") == 1 and r, timeout=60)
    for store, figures in expected.items():
        row = rows[store]
        assert (row["consume_count"], row["gross"], row["discount"], row["actual"]) == tuple(
            figures[k] for k in ("count", *SUMMED)
        )
        assert [row[f"paid_{source}"] for source in PAID] == [figures[source] for source in PAID]
        assert (row["refund_count"], row["refunded"], row["recharged"]) == (
            figures["refunds"],
            figures["refunded"],
            figures["recharged"],
        )
        assert row["net"] == figures["amount_due"] - figures["refunded"]

    ours = ok(hq.get(f"{reports}/liability"))
    wallet = ok(hq.get(w.path("/liability")))
    assert ours["chain"] == wallet["chain"]
    assert [(s["store_id"], s["cash"], s["bonus"]) for s in ours["stores"]] == [
        (s["store_id"], s["cash"], s["bonus"]) for s in wallet["stores"]
    ]
    settlement = ok(hq.get(f"{reports}/settlement", day))["rows"]
    assert [(r["debtor_store_id"], r["creditor_store_id"], r["amount"]) for r in settlement] == [
        (w.store_b, w.store_a, owed)
    ]

    # the files hold the JSON's numbers
    csv_answer = hq.get(f"{reports}/store-summary/export", {**day, "format": "csv"})
    table = list(csv.reader(io.StringIO(csv_answer.content.decode("utf-8-sig"))))
    assert table[0][:3] == ["期间", "门店", "消费笔数"] and csv_answer.content[:3] == b"\xef\xbb\xbf"
    by_name = {r["store_name"]: r for r in rows.values()}
    for line in table[1:]:
        assert Decimal(line[5]) * 100 == by_name[line[1]]["actual"]
    book = load_workbook(io.BytesIO(hq.get(f"{reports}/store-summary/export", {**day, "format": "xlsx"}).content))
    for cells in book.active.iter_rows(min_row=2, values_only=True):
        assert (cells[2], round(cells[5] * 100), round(cells[12] * 100)) == (
            by_name[cells[1]]["consume_count"],
            by_name[cells[1]]["actual"],
            by_name[cells[1]]["net"],
        )

    # a store manager asking for another store's report gets no data
    error(w.manager_a.get(f"{reports}/store-summary", {**day, "store_id": w.store_b}), 404)
    error(w.manager_a.get(f"{reports}/consumptions/export", {**day, "store_id": w.store_b, "format": "xlsx"}), 404)

    # a rebuild, run as its own process against the running services, gives the same figures
    before = ok(hq.get(f"{reports}/store-summary", day))
    rebuilt = subprocess.run(
        [sys.executable, "-m", "services.reporting.rebuild"],
        cwd=ROOT,
        env=process_environment(provisioned),
        timeout=180,
        capture_output=True,
        text=True,
    )
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    after = ok(hq.get(f"{reports}/store-summary", day))
    assert (after["rows"], after["totals"]) == (before["rows"], before["totals"])
    assert ok(hq.get(f"{reports}/liability"))["chain"] == wallet["chain"]


def _today(hq, w) -> str:
    return ok(hq.get(w.path("/liability")))["as_of"]
