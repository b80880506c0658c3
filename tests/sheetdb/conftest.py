"""Fixtures for the engine tests: a fresh small-schema database per test, on real files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mingxiao.sheetdb import Database
from tests.sheetdb.helpers import open_small


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """The small schema (导师, 人选推荐) on ``tmp_path/w.xlsx``, initialised, autoflush off."""
    database = open_small(tmp_path)
    yield database
    database.close()


@pytest.fixture
def workbook(tmp_path: Path, db: Database) -> Path:
    return tmp_path / "w.xlsx"
