"""Masking of phone and ID-card numbers for people who may see a record but not the number.

Masks keep the length of the value, so a masked column still lines up and a person can tell a
mobile number from a landline. Whether a user may see the full value is a policy decision made
by the caller (``reveal=True``); these helpers only hide.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

MASK = "*"


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _keep(text: str, head: int, tail: int) -> str:
    hidden = len(text) - head - tail
    return text[:head] + MASK * hidden + (text[-tail:] if tail else "")


def mask_phone(value: Any, reveal: bool = False) -> str:
    """``"13812345678"`` → ``"138****5678"``; landlines keep the area code's first 3 and last 4."""
    text = _text(value)
    if reveal:
        return text
    n = len(text)
    if n >= 11:
        return _keep(text, 3, 4)
    if n >= 8:
        return _keep(text, 0, 4)
    if n >= 4:
        return _keep(text, 0, 2)
    return MASK * n


def mask_id_card(value: Any, reveal: bool = False) -> str:
    """``"33010619900101123X"`` → ``"3301**********123X"``: the birth date is always hidden."""
    text = _text(value).upper()
    if reveal:
        return text
    n = len(text)
    if n >= 12:
        return _keep(text, 4, 4)
    if n >= 4:
        return _keep(text, 0, 2)
    return MASK * n


def init_app(app: Flask) -> None:
    """Register the Jinja filters ``mask_phone`` and ``mask_id``."""
    app.jinja_env.filters["mask_phone"] = mask_phone
    app.jinja_env.filters["mask_id"] = mask_id_card
