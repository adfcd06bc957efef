"""What the helpdesk holds about one person: hand it all over (export), or remove it (erase).

A person is an address: a contact, or only a sender of mail held before it became one. What
is theirs: the tickets they opened or joined,
the messages they wrote, the raw mail they sent (intake rows, including mail held in
quarantine), the mail we sent them (outbox rows, and files in the outbox maildir) and the
events that name them.

Erasure keeps what reports count — tickets with their queue, status, priority and times;
messages with their kind, direction and dates — and removes everything that says who they
are or what they wrote: address and name, subjects, texts, attachments and raw mail. The
contact row stays under a placeholder address so the tickets still count.

`person` finds what is theirs; `export` hands it over; `erase` removes it.
"""
