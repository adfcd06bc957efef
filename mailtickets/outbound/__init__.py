"""Outgoing mail: enqueue (outbox), render (templates), deliver (sender)."""
