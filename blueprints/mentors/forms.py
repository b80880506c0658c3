"""Forms of the mentors pages: shape only (WTForms + CSRF); the rules are in ``rules.py``.

Fields are built from the sheet schemas, so HTML field names are the schema keys and labels
and help texts are the sheet's own headers and notes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

MENTOR_FIELDS = (
    "name", "organisation", "title", "expertise", "phone", "email", "active", "note",
)  # fmt: skip
MENTOR_SELF_FIELDS = ("title", "expertise")  # what a mentor may change on their own row
ASSIGNMENT_FIELDS = ("trainee", "mentor", "role", "start_date", "end_date", "note")
ASSIGNMENT_EDIT_FIELDS = ("role", "start_date", "end_date", "note")
LOG_FIELDS = ("mentor", "date", "form", "hours", "topic", "notes")


def options(pairs: Sequence[tuple[str, Any]]) -> list[SelectChoice]:
    """``(value, label)`` pairs as WTForms select options."""
    return [SelectChoice(value, label) for value, label in pairs]


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


class Hours:
    """A number of hours such as 1.5, within the column's bounds; the field's data becomes a
    Decimal."""

    def __init__(self, header: str, low: float | None, high: float | None) -> None:
        self.header, self.low, self.high = header, low, high

    def __call__(self, form: Any, field: Field) -> None:
        text = (field.data or "").strip() if isinstance(field.data, str) else field.data
        if text in (None, ""):
            field.data = None
            return
        try:
            value = Decimal(str(text))
        except (InvalidOperation, ValueError):
            raise ValidationError(
                _("“{header}”应填数字，如 1.5").format(header=self.header)
            ) from None
        if (
            not value.is_finite()
            or (self.low is not None and value < Decimal(str(self.low)))
            or (self.high is not None and value > Decimal(str(self.high)))
        ):
            raise ValidationError(
                _("“{header}”应在 {low} 到 {high} 之间").format(
                    header=self.header, low=self.low or 0, high=self.high or "∞"
                )
            )
        field.data = value


def _field(col: Any, choices: Sequence[tuple[str, str]]) -> Field:
    """The WTForms field of one schema column."""
    validators: list[Any] = [Required(col.header)] if col.required else [Optional()]
    kwargs = {"label": col.header, "description": col.help or ""}
    if col.type == "bool":
        return BooleanField(**kwargs)
    if col.type in ("enum", "ref"):
        return SelectField(
            choices=options([("", _l("请选择")), *choices]), validators=validators, **kwargs
        )
    if col.type == "date":
        return DateField(validators=validators, render_kw={"type": "date"}, **kwargs)
    if col.type == "decimal":
        validators.append(Hours(col.header, col.min, col.max))
        return StringField(validators=validators, render_kw={"inputmode": "decimal"}, **kwargs)
    if col.max_length:
        validators.append(Length(max=col.max_length))
    if col.type == "long_text":
        return TextAreaField(validators=validators, render_kw={"rows": 4}, **kwargs)
    return StringField(validators=validators, **kwargs)


def schema_form(
    schema: Any,
    keys: Sequence[str],
    choices: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    *,
    extra: dict[str, Field] | None = None,
    **kwargs: Any,
) -> FlaskForm:
    """A form with one field per schema column in ``keys`` (plus ``extra`` fields) and the
    hidden ``_base`` (the values the form showed, for the engine's three-way merge)."""
    attrs: dict[str, Any] = {
        key: _field(schema.column(key), (choices or {}).get(key, ())) for key in keys
    }
    attrs["form_base"] = HiddenField()
    attrs.update(extra or {})
    cls = type("SchemaForm", (FlaskForm,), attrs)
    if isinstance(kwargs.get("data"), Mapping):
        kwargs["data"] = _clean(schema, keys, kwargs["data"])
    return cls(**kwargs)


def _clean(schema: Any, keys: Sequence[str], data: Mapping[str, Any]) -> dict[str, Any]:
    """The stored values a form can show: text typed into a date column by hand (a health
    problem of the sheet) shows as an empty date for the person to fill in again."""
    out = dict(data)
    for key in keys:
        value = out.get(key)
        if schema.column(key).type == "date" and not isinstance(value, (dt.date, type(None))):
            out[key] = None
    return out


def replace_lead_field() -> BooleanField:
    return BooleanField(
        _l("更换主导师"),
        description=_l(
            "勾选后，这名学员原来的主导师分配在新分配开始日期的前一天自动结束；不勾选时，已有主导师的学员不能再分配主导师。"
        ),
    )


class EndForm(FlaskForm):
    """End an assignment: the last day of guidance and why."""

    end_date = DateField(
        _l("结束日期"),
        validators=[Optional()],
        render_kw={"type": "date"},
        description=_l("最后一天指导的日期（含当天）"),
    )
    note = TextAreaField(
        _l("结束原因"),
        validators=[Optional(), Length(max=500)],
        render_kw={"rows": 2},
        description=_l("如 更换导师、学员结业"),
    )


class VoidForm(FlaskForm):
    """Withdraw a mentoring log entered by mistake (nothing is deleted)."""

    reason = StringField(_l("作废原因"), validators=[Optional(), Length(max=200)])


class LogFilterForm(FlaskForm):
    """GET filters of the log list (no CSRF: they change nothing)."""

    class Meta:
        csrf = False

    mentor = SelectField(_l("导师"), choices=[], validators=[Optional()])
    trainee = SelectField(_l("学员"), choices=[], validators=[Optional()])


class HoursFilterForm(FlaskForm):
    """GET filters of the guidance-hours report."""

    class Meta:
        csrf = False

    start = DateField(_l("起始日期"), validators=[Optional()], render_kw={"type": "date"})
    end = DateField(_l("截止日期"), validators=[Optional()], render_kw={"type": "date"})
    period = SelectField(
        _l("汇总周期"),
        choices=options(
            [
                ("month", _l("按月")),
                ("quarter", _l("按季度")),
                ("year", _l("按年")),
                ("all", _l("合计")),
            ]
        ),
        default="month",
        validators=[Optional()],
    )
