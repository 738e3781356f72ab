"""The fault suite: `make chaos` (about 12 minutes) and `make chaos-short` (about 3).

Starts its own PostgreSQL cluster and RabbitMQ node on other ports, runs the
whole system with `deploy/run_all.py` (plus a second wallet instance), drives
it with retrying tills, injects process kills, broker and database outages and
a paused wallet instance, then checks the money, the ledger, the outboxes, the
events and every idempotency key's answers. Run it as `python -m tests.chaos`.

The modules are not named `test_*.py`: the normal pytest run does not collect
them; this suite takes minutes and stops servers on purpose.
"""
