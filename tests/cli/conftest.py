"""Fixtures for the command-line tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.cli.runner import COPIED_DOMAIN, SHARED_DOMAIN

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="session")
def domain() -> Path:
    """The domain fixtures: ../shared/domain when it is there, otherwise the copy kept in tests/."""
    return SHARED_DOMAIN if (SHARED_DOMAIN / "checks").is_dir() else COPIED_DOMAIN
