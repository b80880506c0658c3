"""WTForms forms built from sheet schemas: one field per column, shared by every feature.

HTML field names are the schema keys, and labels and help texts are the sheet's own headers
and notes, so a form and its sheet always say the same thing. The field of a column follows
its type:

========================  ==========================================================
``bool``                  check box
``enum`` / ``ref``        drop-down of the choices given (values, or ``(value, label)``)
``date``                  ``<input type=date>``
``int``                   whole number within the column's ``min``/``max``
``decimal``               a number such as 1.5 within the column's bounds (data: Decimal)
``long_text``             text area
anything else             one-line text, at most ``max_length`` characters
========================  ==========================================================

Required columns say “{header}”是必填项, the engine's own message. A feature replaces the field
of a column it handles differently (``overrides``) or adds fields of its own (``extra``)::

    form = schema_form(db.schemas["workshops"], ("name", "founded_on"), choices_for, data=row)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

Choice = str | tuple[str, Any]
ChoicesFor = Callable[[Any], Iterable[Choice]] | Mapping[str, Iterable[Choice]] | None


def options(pairs: Iterable[Choice]) -> list[SelectChoice]:
    """Choices as WTForms select options: a plain value is its own label."""
    out = []
    for choice in pairs:
        value, label = (choice, choice) if isinstance(choice, str) else choice
        out.append(SelectChoice(value, label))
    return out


class Required:
    """InputRequired with the engine's message: “{header}”是必填项."""

    field_flags = {"required": True}

    def __init__(self, header: str) -> None:
        self.header = header

    def __call__(self, form: Any, field: Field) -> None:
        data = field.data
        if data is None or (isinstance(data, str) and not data.strip()):
            field.errors[:] = []
            raise ValidationError(_("“{header}”是必填项").format(header=self.header))


class Number:
    """A number such as 1.5 within ``low``..``high`` (either may be None); the field's data
    becomes a Decimal, or None when left empty."""

    def __init__(self, header: str, low: float | None, high: float | None) -> None:
        self.header, self.low, self.high = header, low, high

    def __call__(self, form: Any, field: Field) -> None:
        text = field.data.strip() if isinstance(field.data, str) else field.data
        if text in (None, ""):
            field.data = None
            return
        try:
            value = Decimal(str(text))
        except (InvalidOperation, ValueError):
            raise ValidationError(
                _("“{header}”应填数字，如 1.5").format(header=self.header)
            ) from None
        low = None if self.low is None else Decimal(str(self.low))
        high = None if self.high is None else Decimal(str(self.high))
        if (
            not value.is_finite()
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            if high is None:
                message = _("“{header}”不能小于 {low}").format(header=self.header, low=self.low)
            elif low is None:
                message = _("“{header}”不能大于 {high}").format(header=self.header, high=self.high)
            else:
                message = _("“{header}”应在 {low} 到 {high} 之间").format(
                    header=self.header, low=self.low, high=self.high
                )
            raise ValidationError(message)
        field.data = value


class WholeNumber(Number):
    """:class:`Number` without decimals; the field's data becomes an int."""

    def __call__(self, form: Any, field: Field) -> None:
        super().__call__(form, field)
        if field.data is None:
            return
        if field.data != field.data.to_integral_value():
            raise ValidationError(_("“{header}”应填整数").format(header=self.header))
        field.data = int(field.data)


def schema_field(col: Any, choices: Iterable[Choice] = ()) -> Field:
    """The WTForms field of one schema column (see the table at the top)."""
    validators: list[Any] = [Required(col.header)] if col.required else [Optional()]
    kwargs: dict[str, Any] = {"label": col.header, "description": col.help or ""}
    if col.type == "bool":
        return BooleanField(**kwargs)
    if col.type in ("enum", "ref"):
        select = options([("", _l("请选择")), *choices])
        return SelectField(choices=select, validators=validators, **kwargs)
    if col.type == "date":
        return DateField(validators=validators, render_kw={"type": "date"}, **kwargs)
    if col.type in ("int", "decimal"):
        low, high = getattr(col, "min", None), getattr(col, "max", None)
        number = WholeNumber if col.type == "int" else Number
        validators.append(number(col.header, low, high))
        mode = "numeric" if col.type == "int" else "decimal"
        # text, not IntegerField: the validator gives the Chinese message naming the column
        return StringField(validators=validators, render_kw={"inputmode": mode}, **kwargs)
    if col.max_length:
        validators.append(Length(max=col.max_length))
    if col.type == "long_text":
        return TextAreaField(validators=validators, render_kw={"rows": 4}, **kwargs)
    return StringField(validators=validators, **kwargs)


def _choices_of(choices_for: ChoicesFor, col: Any) -> Iterable[Choice]:
    if choices_for is None:
        return ()
    if callable(choices_for):
        return choices_for(col)
    return choices_for.get(col.key, ())


def form_data(schema: Any, keys: Sequence[str], data: Mapping[str, Any]) -> dict[str, Any]:
    """The stored values a form can show: text typed into a date column by hand (a health
    problem of the sheet) shows as an empty date for the person to fill in again."""
    out = dict(data)
    for key in keys:
        value = out.get(key)
        if schema.column(key).type == "date" and not isinstance(value, (dt.date, type(None))):
            out[key] = None
    return out


def schema_form(
    schema: Any,
    keys: Sequence[str],
    choices_for: ChoicesFor = None,
    *,
    overrides: Mapping[str, Field] | None = None,
    extra: Mapping[str, Field] | None = None,
    **kwargs: Any,
) -> FlaskForm:
    """A form with one field per schema column in ``keys``, in that order.

    ``choices_for`` gives the choices of enum/ref columns: a function of the column, or a
    mapping of column keys. ``overrides`` replaces the field of some keys, ``extra`` adds
    fields after them. ``data=`` (a mapping of stored values) is cleaned by :func:`form_data`.
    """
    attrs: dict[str, Any] = {}
    for key in keys:
        if overrides and key in overrides:
            attrs[key] = overrides[key]
        else:
            col = schema.column(key)
            attrs[key] = schema_field(col, _choices_of(choices_for, col))
    attrs.update(extra or {})
    name = "".join(part.title() for part in str(schema.key).split("_")) + "Form"
    if isinstance(kwargs.get("data"), Mapping):
        kwargs["data"] = form_data(schema, keys, kwargs["data"])
    return type(name, (FlaskForm,), attrs)(**kwargs)


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def merge_base(rec: Mapping[str, Any], keys: Iterable[str]) -> str:
    """The values an edit form showed, as JSON for a hidden field: on save the engine merges
    the person's changes three-way against them, so a change made meanwhile (in the sheet or
    by someone else) to another field is kept, and one to the same field is parked."""
    return json.dumps({key: _json_value(rec.get(key)) for key in keys}, ensure_ascii=False)


def parse_merge_base(text: str | None) -> dict[str, Any] | None:
    """The values of :func:`merge_base` posted back; None when missing or tampered with (the
    engine then compares with the stored row as it is)."""
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# -- errors at their fields ------------------------------------------------------------------

Problem = tuple[str, Mapping[str, Any]]  # (Chinese msgid template, its parameters), as rules give


def problem_text(problem: Problem) -> str:
    """A rule's or the engine's problem in the page's language."""
    template, params = problem
    return _(template).format(**params)


def show_error(form: Any, key: str, message: str) -> None:
    """Show ``message`` at the field ``key``, or above the form when it has no such field."""
    if key in form:
        errors = form[key].errors
        if isinstance(errors, tuple):  # WTForms leaves a tuple on fields it did not validate
            form[key].errors = errors = list(errors)
        if message not in errors:
            errors.append(message)
    else:
        form.form_errors.append(message)


def show_problems(form: Any, problems: Mapping[str, Problem]) -> None:
    """Each problem at its field (e.g. the ``details`` of the engine's ValidationError)."""
    for key, problem in problems.items():
        show_error(form, key, problem_text(problem))


def form_values(form: Any, keys: Iterable[str]) -> dict[str, Any]:
    """The form's data for those of ``keys`` it has; blank text becomes None."""
    out: dict[str, Any] = {}
    for key in keys:
        if key in form:
            data = form[key].data
            if isinstance(data, str):
                data = data.strip() or None
            out[key] = data
    return out
