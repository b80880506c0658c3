"""Forms of the mentors pages: shape only (WTForms + CSRF); the rules are in ``rules.py``.

Fields are built from the sheet schemas, so HTML field names are the schema keys and labels
and help texts are the sheet's own headers and notes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
from wtforms.validators import Length, Optional

from mingxiao.schema_forms import ChoicesFor, options, schema_form

MENTOR_FIELDS = (
    "name", "organisation", "title", "expertise", "phone", "email", "active", "note",
)  # fmt: skip
MENTOR_SELF_FIELDS = ("title", "expertise")  # what a mentor may change on their own row
ASSIGNMENT_FIELDS = ("trainee", "mentor", "role", "start_date", "end_date", "note")
ASSIGNMENT_EDIT_FIELDS = ("role", "start_date", "end_date", "note")
LOG_FIELDS = ("mentor", "date", "form", "hours", "topic", "notes")


def merge_form(
    schema: Any,
    keys: Sequence[str],
    choices: ChoicesFor = None,
    *,
    extra: Mapping[str, Field] | None = None,
    **kwargs: Any,
) -> FlaskForm:
    """The schema form of ``keys`` plus the hidden ``form_base`` (the values the form showed,
    for the engine's three-way merge)."""
    fields = {"form_base": HiddenField(), **(extra or {})}
    return schema_form(schema, keys, choices, extra=fields, **kwargs)


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
