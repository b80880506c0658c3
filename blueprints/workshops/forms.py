"""Forms of the workshop pages: shape only (WTForms + CSRF), built from the sheet schemas so
the HTML field names are the schema keys and the labels and help texts are the sheet's own.
The rules (one workshop per trainee, leave ≥ join) are in ``rules.py``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    Field,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError

# The fields each form shows, in order. The workshop's trainee and district come from the
# server (the signed-in trainee's own record), never from the form.
WORKSHOP_FIELDS: tuple[str, ...] = ("name", "founded_on", "focus", "base_school", "note")
MEMBER_FIELDS: tuple[str, ...] = (
    "name", "school", "district", "position", "role", "joined_on", "left_on",
    "outcome", "outcome_note",
)  # fmt: skip
ACTIVITY_FIELDS: tuple[str, ...] = (
    "date", "topic", "activity_type", "participants", "hours", "location", "note",
)  # fmt: skip


class Required:
    """“{header}”是必填项, the engine's own message."""

    field_flags = {"required": True}

    def __init__(self, header: str) -> None:
        self.header = header

    def __call__(self, form: Any, field: Field) -> None:
        data = field.data
        if data is None or (isinstance(data, str) and not data.strip()):
            field.errors[:] = []
            raise ValidationError(_("“{header}”是必填项").format(header=self.header))


def _field(col: Any, choices: Sequence[str]) -> Field:
    """The WTForms field of one schema column."""
    validators: list[Any] = [Required(col.header)] if col.required else [Optional()]
    kwargs: dict[str, Any] = {"label": col.header, "description": col.help or ""}
    if col.type == "enum":
        opts = [SelectChoice("", _l("请选择")), *(SelectChoice(c, c) for c in choices)]
        return SelectField(choices=opts, validators=validators, **kwargs)
    if col.type == "date":
        return DateField(validators=validators, render_kw={"type": "date"}, **kwargs)
    low = getattr(col, "min", None)
    high = getattr(col, "max", None)
    if col.type in ("int", "decimal"):
        if low is not None or high is not None:
            validators.append(NumberRange(min=low, max=high))
        cls = IntegerField if col.type == "int" else DecimalField
        return cls(validators=validators, render_kw={"inputmode": "decimal"}, **kwargs)
    if col.max_length:
        validators.append(Length(max=col.max_length))
    if col.type == "long_text":
        return TextAreaField(validators=validators, render_kw={"rows": 3}, **kwargs)
    return StringField(validators=validators, **kwargs)


def schema_form(
    schema: Any,
    fields: Sequence[str],
    choices_for: Callable[[Any], Sequence[str]],
    **kwargs: Any,
) -> FlaskForm:
    """A form with one field per key of ``fields`` of ``schema``."""
    attrs = {key: _field(schema.column(key), choices_for(schema.column(key))) for key in fields}
    cls = type(f"{schema.key.title().replace('_', '')}Form", (FlaskForm,), attrs)
    return cls(**kwargs)
