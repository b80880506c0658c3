"""Fixtures for the engine tests: a fresh small-schema database per test, on both backends.

Every test in a ``test_engine_*.py`` module runs twice: ``[xlsx]`` on a real workbook file and
``[gsheets]`` on the Google Sheets backend talking to the in-repo fake of the Sheets/Drive API
(real gspread over HTTP on 127.0.0.1). A test about something only a file has (owner lock
files, a file replaced or truncated, openpyxl details) carries
``@pytest.mark.xlsx_only("reason")`` and is skipped on the fake with that reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mingxiao.sheetdb import Database
from mingxiao.sheetdb.fake_google import FakeGoogle
from tests.sheetdb import google_helpers
from tests.sheetdb.helpers import open_small

BACKENDS = ("xlsx", "gsheets")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "xlsx_only(reason): engine test about the xlsx file itself; skipped on the Google fake")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__.rsplit(".", 1)[-1].startswith("test_engine_") and "sheet_backend" in metafunc.fixturenames:
        metafunc.parametrize("sheet_backend", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def fake_google() -> Iterator[FakeGoogle]:
    """One fake Google API server for the session; each test gets its own spreadsheet."""
    with FakeGoogle() as fake:
        google_helpers.register_fake(fake)
        yield fake


@pytest.fixture(autouse=True)
def sheet_backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """``xlsx`` or ``gsheets``; for gsheets ``tmp_path/gsheets.json`` points the helpers at a
    fresh spreadsheet on the fake (``open_small`` then builds the Google backend)."""
    kind: str = getattr(request, "param", "xlsx")
    if kind == "gsheets":
        marker = request.node.get_closest_marker("xlsx_only")
        if marker is not None:
            pytest.skip("xlsx only: " + (marker.args[0] if marker.args else "about the workbook file"))
        fake: FakeGoogle = request.getfixturevalue("fake_google")
        fake.rates = {}
        key = fake.create_spreadsheet()
        (tmp_path / google_helpers.MARKER).write_text(
            json.dumps({"base_url": fake.base_url, "key": key}), encoding="utf-8"
        )
    return kind


@pytest.fixture
def db(tmp_path: Path, sheet_backend: str) -> Iterator[Database]:
    """The small schema (导师, 人选推荐) on ``tmp_path/w.xlsx`` (or the fake), initialised, autoflush off."""
    database = open_small(tmp_path)
    yield database
    database.close()


@pytest.fixture
def workbook(tmp_path: Path, db: Database) -> Path:
    return tmp_path / "w.xlsx"
