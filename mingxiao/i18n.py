"""Languages: Chinese (zh_CN) by default, English beside it, through Flask-Babel.

Source strings are Chinese (the msgid *is* the Chinese text); ``translations/en`` holds the
English catalogue. The locale is the person's choice stored in the session (``POST /lang``),
else the browser's Accept-Language, else zh_CN.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from flask import Flask, current_app, request, session
from flask_babel import Babel, format_date, format_datetime, format_decimal, get_locale
from flask_babel import gettext as _

SESSION_KEY = "lang"


def supported() -> tuple[str, ...]:
    """The configured languages, default first."""
    langs: tuple[str, ...] = tuple(current_app.config.get("LANGUAGES", ("zh_CN", "en")))
    return langs


def select_locale() -> str:
    """Session choice → Accept-Language → the default locale."""
    langs = supported()
    chosen = session.get(SESSION_KEY)
    if chosen in langs:
        return str(chosen)
    best = request.accept_languages.best_match(langs) if request else None
    if best:
        return best
    default: str = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    return default


def current_language() -> str:
    """The configured language code in use (``zh_CN`` or ``en``), as listed in LANGUAGES.

    Babel expands ``zh_CN`` to ``zh_Hans_CN``, so compare parsed locales, not strings.
    """
    locale = get_locale()
    for code in supported():
        if locale is not None and Locale.parse(code) == locale:
            return code
    return str(locale) if locale is not None else supported()[0]


def html_lang() -> str:
    """The current language as a BCP 47 tag for ``<html lang>`` (``zh-CN``, ``en``)."""
    return current_language().replace("_", "-")


def language_names() -> dict[str, str]:
    """Each language in its own script, for the language switch (never translated)."""
    names = {"zh_CN": "中文", "en": "English"}
    return {code: names.get(code, code) for code in supported()}


def format_value(value: Any) -> str:
    """A typed sheet value as text for the current locale (dates, yes/no, numbers, empty)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            # Sheet times are wall-clock times of the office's zone (the engine's clock and
            # people typing in Excel); Babel would take a naive time for UTC and shift it.
            zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai"
            value = value.replace(tzinfo=ZoneInfo(zone))
        return str(format_datetime(value, "short"))
    if isinstance(value, dt.date):
        return str(format_date(value, "medium"))
    if isinstance(value, (Decimal, float)):
        return str(format_decimal(value))
    if isinstance(value, (list, tuple, set, frozenset)):
        return "、".join(format_value(v) for v in value)
    return str(value)


def init_app(app: Flask) -> None:
    """Install Flask-Babel with the locale selector and the template helpers."""
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(
        format_date=format_date,
        format_datetime=format_datetime,
        get_locale=get_locale,
        current_language=current_language,
        html_lang=html_lang,
        language_names=language_names,
    )
    app.jinja_env.filters["format_value"] = format_value
