"""smtplib's client with DATA written in pieces: a large message is never copied whole.

smtplib's `data` dot-stuffs the whole message with one regular expression and then appends
the terminator, two more copies of it: for a mail carrying a 25 MB file, over 70 MB on top
of the message itself. Here the message is written a MiB at a time, each piece cut after a
line end so that dot-stuffing a piece is dot-stuffing the message; the bytes on the wire are
the same. A message with files (`compose.Composed`) is written as its files are encoded,
each of its pieces starting a line.
"""

from __future__ import annotations

import re
import smtplib
import socket
from collections.abc import Iterator

from mailtickets.outbound.compose import Composed

_PIECE = 1024 * 1024
_LEADING_DOT = re.compile(rb"(?m)^\.")


def pieces(message: bytes | bytearray) -> Iterator[bytes]:
    """`message` dot-stuffed, in pieces of about a MiB that each start a line."""
    at = 0
    while at < len(message):
        cut = message.find(b"\n", at + _PIECE) + 1 or len(message)
        yield _LEADING_DOT.sub(b"..", message[at:cut])
        at = cut


class StreamedData(smtplib.SMTP):
    """DATA sent in pieces, on a socket that sends each piece at once; everything else as
    smtplib does it."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        connected: socket.socket = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        # The terminating dot is written after the message's last piece and then waited
        # for: with Nagle's algorithm on, it would wait for the relay's delayed ACK of that
        # piece first, 40 ms on Linux for every message sent.
        connected.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connected

    def data(self, msg: bytes | bytearray | Composed | str) -> tuple[int, bytes]:  # type: ignore[override]
        if isinstance(msg, str):
            return super().data(msg)
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        for segment in msg.pieces() if isinstance(msg, Composed) else (msg,):
            for piece in pieces(segment):
                self.send(piece)
        self.send(b".\r\n" if msg.endswith(b"\r\n") else b"\r\n.\r\n")
        return self.getreply()


class Smtp(StreamedData):
    """A plain or STARTTLS connection."""


class SmtpSsl(StreamedData, smtplib.SMTP_SSL):
    """An implicit-TLS connection."""
