"""Pure SLA time arithmetic: business calendars and due times from a ticket's history."""
