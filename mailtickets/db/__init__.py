"""Persistence: engine and sessions (`base`), typed models (`models`), migrations (`migrate`)."""
