"""Where the packaged templates and migrations are, installed or in a source checkout.

A wheel carries them inside the package (`mailtickets/_data/`, see pyproject.toml); a source
checkout or an editable install finds them at the top of the tree.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The directory `templates` or `migrations`, wherever this mailtickets was installed."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"mailtickets is installed without its {name}/ directory")
