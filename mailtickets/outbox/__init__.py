"""Queueing outgoing mail: the rows services write in the transaction that causes them.

`enqueue` writes an `outbound_message` row, `context` builds what every template is given,
`notices` decides which agents hear of a ticket and on which signed address they answer,
`attachments` which files a mail carries (by id) and how it names the others.
Nothing here renders or sends: that is `mailtickets.outbound`, which sits above services.
"""
