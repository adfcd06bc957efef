"""`mailtickets secret new`: a strong key for `MAILTICKETS_SECRET` (or `[tickets] secret_env`)."""

from __future__ import annotations

import secrets

import click

#: 256 random bits: as many as the HMAC-SHA256 that signs reply addresses can use.
SECRET_BYTES = 32


@click.group("secret")
def secret_group() -> None:
    """The key that signs reply addresses and Message-IDs."""


@secret_group.command()
def new() -> None:
    """Print a new random key (32 bytes, URL-safe base64), e.g. for secrets.env."""
    click.echo(secrets.token_urlsafe(SECRET_BYTES))


COMMANDS = [secret_group]
