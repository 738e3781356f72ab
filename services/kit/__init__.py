"""The platform kit: what every service needs, written once.

config, database sessions, the transactional outbox and its relay, inbox
de-duplication for event handlers, idempotency records for mutating RPCs,
structured logs with a correlation id, and the process runner.
"""
