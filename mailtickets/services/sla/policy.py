"""Which SLA applies to a ticket: its queue's policy, with its priority's budgets."""

from __future__ import annotations

from dataclasses import dataclass

from mailtickets.config import Settings
from mailtickets.config.settings import AgentSettings, QueueSettings, RotaSettings, SlaSettings
from mailtickets.db.models import Ticket
from mailtickets.sla.calendar import ALWAYS_OPEN, Calendar
from mailtickets.sla.deadlines import Policy


@dataclass(frozen=True)
class SlaConfig:
    """What SLAs need from the settings, with calendars built."""

    subject_prefix: str
    secret: bytes
    queues: tuple[QueueSettings, ...]
    agents: tuple[AgentSettings, ...]
    slas: tuple[SlaSettings, ...]
    calendars: dict[str, Calendar]
    #: On-call rotas (`services.oncall`), which follow the same calendars.
    rotas: tuple[RotaSettings, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings, secret: bytes) -> SlaConfig:
        return cls(
            settings.tickets.subject_prefix,
            secret,
            settings.queues,
            settings.agents,
            settings.slas,
            {c.name: c.calendar for c in settings.calendars},
            settings.rotas,
        )

    def policy(self, ticket: Ticket) -> Policy | None:
        """The policy of the ticket's queue, with its priority's budgets; None: untracked.

        A ticket imported as history is untracked: its clocks would have run out years ago,
        and breaches for the past would only be noise.
        """
        if ticket.imported_at is not None:
            return None
        queue = next((q for q in self.queues if q.address.lower() == ticket.queue.address), None)
        sla = next((p for p in self.slas if queue and p.name == queue.sla), None)
        if sla is None:
            return None
        times = sla.priorities.get(ticket.priority.value, sla.times)
        return Policy(
            sla.name,
            self.calendars.get(sla.calendar, ALWAYS_OPEN),
            times.first_response,
            times.next_response,
            times.resolution,
            sla.warn_at,
        )
