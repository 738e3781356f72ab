from bench.scans import Counters, read_in_full


def test_tables_read_in_full_are_ranked_by_rows_read_per_money_request():
    before = {
        "wallet.lot_moves": Counters(scans=10, rows_read=1_000, live_rows=500),
        "wallet.accounts": Counters(scans=100, rows_read=20_000, live_rows=240),
        "points.lots": Counters(scans=0, rows_read=0, live_rows=0),
    }
    after = {
        # 200 requests: 200 more scans of a table grown to 5,700 rows, 3,000,000 rows read
        "wallet.lot_moves": Counters(scans=210, rows_read=3_001_000, live_rows=5_700),
        "wallet.accounts": Counters(scans=500, rows_read=116_000, live_rows=240),
        "points.lots": Counters(scans=0, rows_read=0, live_rows=5_000),  # never scanned: not shown
        "reporting.freshness": Counters(scans=4, rows_read=4, live_rows=1),  # new since the first snapshot
    }
    found = read_in_full(before, after, requests=200)
    assert found == [
        {"table": "wallet.lot_moves", "scans_per_1000": 1000.0, "rows_per_request": 15000.0, "live_rows": 5700},
        {"table": "wallet.accounts", "scans_per_1000": 2000.0, "rows_per_request": 480.0, "live_rows": 240},
        {"table": "reporting.freshness", "scans_per_1000": 20.0, "rows_per_request": 0.0, "live_rows": 1},
    ]
    assert read_in_full(before, after, requests=0) == []
