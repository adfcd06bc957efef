"""The inbound pipeline: small steps that turn one intake row into ticket changes and mail."""
