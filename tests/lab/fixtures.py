"""Pytest fixtures for the network lab. Register from tests/conftest.py with either of::

pytest_plugins = ["tests.lab.fixtures"]
from tests.lab.fixtures import lab  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .netlab import DEFAULT_HOSTS, Lab, lab_skip_reason


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """A running lab of DEFAULT_HOSTS, shared by the whole session and torn down at its end."""
    reason = lab_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    with Lab(DEFAULT_HOSTS) as running:
        yield running
