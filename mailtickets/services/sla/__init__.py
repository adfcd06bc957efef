"""Response-time SLAs on tickets: the policy of each queue, its clocks, the sweep, the report.

`policy` says which budgets apply to a ticket. `clocks.refresh` recomputes a ticket's due times
from its history after every change and stores the next moment it needs attention in
`sla_check_at`. `sweep` reads only tickets whose moment has come (an index range, whatever the
number of open tickets) and sends each warning and breach once. `report` measures how the
queues kept their promises.
"""
