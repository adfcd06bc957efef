"""Edges that take mail in: the intake every source shares, SMTP/LMTP, the pipe, IMAP."""
