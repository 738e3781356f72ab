"""Org service: chains, stores, staff, sign-in, chain settings, dictionaries."""
