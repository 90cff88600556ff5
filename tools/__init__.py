"""Operators\x27 scripts run from the Makefile (`make stack`); importable so the tests reuse them."""
