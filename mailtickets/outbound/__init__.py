"""Sending outgoing mail: render (templates), compose (MIME), transport (SMTP), sender (loop).

Queueing lives below services in `mailtickets.outbox`; this package sits above them, because
the sender records delivery results on tickets and contacts.
"""
