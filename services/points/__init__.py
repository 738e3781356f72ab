"""The `points` service: earning rules, a points ledger in lots, expiry, referral, redemption (P-1..P-7)."""
