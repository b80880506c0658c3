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
from flask import Flask, current_app, g, request, session
from flask_babel import (
    Babel,
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
    get_translations,
)
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


def _translations() -> Any:
    """This request's translations, looked up once per request (kept on ``g``).

    Flask-Babel's template ``_()`` looks them up on every call (the request context, the
    domain, the locale): 20 µs each, several milliseconds on a page whose rows each say a few
    words. The locale cannot change during a request here (nothing calls ``force_locale`` or
    ``refresh``; the language switch redirects), so the first answer holds for the request.
    """
    try:
        found = g.get("_mingxiao_translations")
    except RuntimeError:  # no application context
        return get_translations()
    if found is None:
        found = get_translations()
        g._mingxiao_translations = found
    return found


def init_app(app: Flask) -> None:
    """Install Flask-Babel with the locale selector and the template helpers."""
    Babel(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals.update(
        format_date=format_date,
        format_datetime=format_datetime,
        get_locale=get_locale,
        current_language=current_language,
        html_lang=html_lang,
        language_names=language_names,
    )
    app.jinja_env.filters["format_value"] = format_value
