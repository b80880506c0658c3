"""Translations: every msgid has English, compiled catalogues are current, the locale is chosen right."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from mingxiao.i18n import format_value
from tests.conftest import post_form

REPO = Path(__file__).resolve().parents[1]
TRANSLATIONS = REPO / "translations"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}  # as scripts/i18n.sh passes -k


def source_msgids() -> dict[str, str]:
    """Every msgid in the sources, as ``pybabel extract -F babel.cfg`` finds them → first location."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(REPO), method_map, options_map, keywords=KEYWORDS
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def catalogues() -> list[Path]:
    return sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def test_english_catalogue_exists():
    assert TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po" in catalogues()


@pytest.mark.parametrize("po_path", catalogues(), ids=lambda p: p.parts[-3])
def test_every_source_msgid_is_translated(po_path):
    with po_path.open("rb") as fh:
        catalog = read_po(fh)
    missing = [
        f"{where}: {msgid!r}"
        for msgid, where in sorted(source_msgids().items(), key=lambda item: item[1])
        if (msg := catalog.get(msgid)) is None
        or not msg.string
        or msg.fuzzy
        or (isinstance(msg.string, tuple) and not all(msg.string))
    ]
    assert not missing, "untranslated (run scripts/i18n.sh, translate, compile):\n" + "\n".join(
        missing
    )


@pytest.mark.parametrize("po_path", catalogues(), ids=lambda p: p.parts[-3])
def test_compiled_catalogue_matches_its_po(po_path):
    """The committed .mo says what the .po says: compiled after the last edit (content, not mtimes,
    because a git checkout gives files arbitrary mtimes)."""
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing: run scripts/i18n.sh compile"
    with po_path.open("rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id and m.string and not m.fuzzy}
    with mo_path.open("rb") as fh:
        mo = {m.id: m.string for m in read_mo(fh) if m.id}
    assert po == mo, f"{mo_path} is older than {po_path.name}: run scripts/i18n.sh compile"


def test_chinese_is_the_default(client):
    assert '<html lang="zh-CN">' in client.get("/auth/login").get_data(as_text=True)


def test_browser_language_is_followed(client):
    html = client.get("/auth/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(
        as_text=True
    )
    assert '<html lang="en">' in html


def test_unsupported_browser_language_falls_back_to_chinese(client):
    html = client.get("/auth/login", headers={"Accept-Language": "fr-FR"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in html


def test_chosen_language_beats_the_browser(client):
    post_form(client, "/lang", {"lang": "en", "next": "/auth/login"}, page="/auth/login")
    html = client.get("/auth/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in html and "Skip to main content" in html


def test_unknown_language_choice_is_ignored(client):
    post_form(client, "/lang", {"lang": "xx", "next": "/auth/login"}, page="/auth/login")
    assert '<html lang="zh-CN">' in client.get("/auth/login").get_data(as_text=True)


@pytest.mark.parametrize(("lang", "expected"), [("zh-CN", "2026年3月1日"), ("en", "Mar 1, 2026")])
def test_dates_follow_the_locale(app, lang, expected):
    with app.test_request_context(headers={"Accept-Language": lang}):
        assert format_value(dt.date(2026, 3, 1)) == expected


@pytest.mark.parametrize(("lang", "expected"), [("zh-CN", "是"), ("en", "Yes")])
def test_yes_no_values_follow_the_locale(app, lang, expected):
    with app.test_request_context(headers={"Accept-Language": lang}):
        assert format_value(True) == expected


def test_sheet_times_are_shown_as_typed_not_shifted_from_utc(app):
    # A time in the sheet is Beijing wall-clock time (the engine's clock, or a person in
    # Excel); 09:30 must read 09:30, not 17:30.
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert "09:30" in format_value(dt.datetime(2026, 3, 1, 9, 30))
