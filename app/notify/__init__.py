"""Telling people things: in-app notifications (the bell) and email through an outbox."""
