"""Reading pgbench's report and its per-transaction log."""

from bench import pgbench

REPORT = """transaction type: <builtin: TPC-B (sort of)>
scaling factor: 10
query mode: prepared
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 8 s
number of transactions actually processed: 42400
number of failed transactions: 3 (0.007%)
latency average = 1.509 ms
initial connection time = 12.345 ms
tps = 5300.123456 (without initial connection time)
"""


def test_report_figures():
    assert pgbench.parse_output(REPORT) == {"tps": 5300.123456, "processed": 42400, "failed": 3}
    assert pgbench.parse_output("") == {"tps": None, "processed": 0, "failed": 0}


def test_log_latencies_are_the_third_field_in_microseconds():
    lines = ["0 0 1510 0 1700000000 123456", "1 0 980 0 1700000000 124000", ""]
    assert pgbench.parse_log_latencies(lines) == [0.00151, 0.00098]


def test_connection_from_the_superusers_url():
    args, env = pgbench.connection("postgresql+psycopg2://postgres:s3cret@db.local:6543/postgres", "scratch")
    assert args == ["-h", "db.local", "-p", "6543", "-U", "postgres", "scratch"]
    assert env["PGPASSWORD"] == "s3cret"
