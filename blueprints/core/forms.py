"""Forms of the shell."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField


class LanguageForm(FlaskForm):
    """The language switch in the page header (``POST /lang``)."""

    lang = SelectField(choices=[])
    next = HiddenField()
