"""The `wallet` service: double-entry stored value, packages, credit, refunds (W-1..W-12)."""
