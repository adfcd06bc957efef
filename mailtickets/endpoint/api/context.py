"""What the API's handlers work with, handed down from the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from mailtickets.clock import Clock
from mailtickets.config.settings import ApiToken
from mailtickets.pipeline.context import PipelineConfig


@dataclass(frozen=True)
class ApiContext:
    sessions: sessionmaker[Session]
    clock: Clock
    #: The settings an agent's mailed reply is applied with: the API's replies use them too.
    pipeline: PipelineConfig
    tokens: tuple[ApiToken, ...]
    #: Called once a change has queued mail, so that the outbox sender sends it now.
    mail_queued: Callable[[], None] = lambda: None
