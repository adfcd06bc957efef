"""Logging to stderr, one line per event; journald adds its own timestamps."""

from __future__ import annotations

import logging
import os
import sys


def configure_logging(level: str) -> None:
    under_journald = bool(os.environ.get("JOURNAL_STREAM"))
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not under_journald:
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=level.upper(), format=fmt, stream=sys.stderr, force=True)
    quiet = max(logging.WARNING, logging.getLogger().level)
    # Alembic narrates every connection at INFO; the db commands print what matters.
    logging.getLogger("alembic").setLevel(quiet)
    # aiosmtpd and imapclient log every command at INFO and message bodies at DEBUG: bodies
    # never go to logs. httpx logs every webhook URL, which may hold the receiver's token.
    for chatty in ("mail.log", "imapclient", "httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(quiet)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_SchedulerAtDebug())


class _SchedulerAtDebug(logging.Filter):
    """APScheduler's INFO lines ("Adding job tentatively", "Added job", every run of every
    job) as DEBUG: they narrate its bookkeeping, while our duties log what they did. Its
    warnings (a missed run, a run skipped) keep their level."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not record.name.startswith("apscheduler"):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger().isEnabledFor(logging.DEBUG)
