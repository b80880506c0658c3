"""Forms of the notification pages: CSRF only (the notification id is in the URL)."""

from __future__ import annotations

from flask_wtf import FlaskForm


class MarkReadForm(FlaskForm):
    """Mark one notification, or all of them, read."""
