"""Fixtures of the fault suite: each test's figures, printed and optionally saved."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.figures import FIGURES_ENV, Figures, save


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    """Counts the test fills in; printed at its end, saved when $MAILTICKETS_FAULTS_FIGURES."""
    recorded = Figures(request.node.nodeid.split("::", 1)[-1])
    yield recorded
    print("\n" + recorded.render())
    target = os.environ.get(FIGURES_ENV)
    if target:
        save(recorded, Path(target))
