"""Huiyuan's nameko services, one package each, and the kit they share."""
