"""Forms of the nominations pages: shape only (WTForms + CSRF). The eligibility and the
workflow are in ``rules.py`` and ``workflow.py``.

The 推荐表 form is built from the ``nominations`` schema, so its HTML field names are the
schema keys and its labels and help texts are the sheet's own headers and notes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    IntegerField,
    MultipleFileField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from mingxiao.schema_forms import options, schema_form

# The fields of the official 推荐表, in the order of the paper form.
ENTRY_FIELDS: tuple[str, ...] = (
    "cohort", "route", "recommending_unit", "district",
    "name", "gender", "birth_date", "id_number", "ethnicity", "political_status", "education",
    "phone", "email",
    "school", "school_type", "position", "head_since", "title",
    "honors", "work_resume", "contribution",
    "cond_political", "cond_management", "cond_integrity", "cond_moral", "cond_development",
    "cond_reputation",
    "no_safety_accident", "no_irregular_conduct", "no_ideology_issue", "no_opinion_incident",
    "declared_on", "attachments",
)  # fmt: skip
# Sections of the form page: (title msgid, first field of the section).
DECLARATIONS = (
    "no_safety_accident",
    "no_irregular_conduct",
    "no_ideology_issue",
    "no_opinion_incident",
)
CONDITIONS = (
    "cond_political", "cond_management", "cond_integrity", "cond_moral", "cond_development",
    "cond_reputation",
)  # fmt: skip


def _attachments_field(header: str) -> Field:
    """Files, stored through mingxiao.uploads (views/entry.py)."""
    return MultipleFileField(
        label=header,
        description=_l(
            "可选择多个文件（PDF、Word .docx、JPG、PNG）：推荐表盖章扫描件、职称证书、荣誉证明等。"
        ),
        render_kw={"accept": ".pdf,.docx,.jpg,.jpeg,.png"},
    )


def nomination_form(
    schema: Any,
    choices_for: Callable[[Any], Sequence[tuple[str, str]]],
    *,
    with_district: bool,
    **kwargs: Any,
) -> FlaskForm:
    """The 推荐表 form; ``with_district`` only for admins (district staff enter their own)."""
    keys = [key for key in ENTRY_FIELDS if with_district or key != "district"]
    attachments = _attachments_field(schema.column("attachments").header)
    return schema_form(schema, keys, choices_for, overrides={"attachments": attachments}, **kwargs)


class FilterForm(FlaskForm):
    """The GET filters of the list (no CSRF: they change nothing)."""

    class Meta:
        csrf = False

    cohort = SelectField(_l("期次"), choices=[], validators=[Optional()])
    status = SelectField(_l("状态"), choices=[], validators=[Optional()])
    district = SelectField(_l("区、县（市）"), choices=[], validators=[Optional()])


class ReasonForm(FlaskForm):
    """Return a nomination: the reason is required."""

    return_reason = TextAreaField(
        _l("退回原因"),
        validators=[InputRequired(_l("请填写退回原因，写明哪一项需要补正。")), Length(max=2000)],
    )


class ReopenForm(FlaskForm):
    """An admin reopens a submitted nomination to stamped or returned, with a reason."""

    status = SelectField(
        _l("重新打开后的状态"),
        choices=options([("已盖章", _l("已盖章")), ("已退回", _l("已退回"))]),
    )
    reason = TextAreaField(
        _l("原因"), validators=[InputRequired(_l("请填写重新打开的原因。")), Length(max=2000)]
    )


class SubmitBatchForm(FlaskForm):
    """报送市教育局: the cohort (and, for admins, the district) of the batch."""

    cohort = SelectField(_l("期次"), choices=[], validators=[InputRequired(_l("请选择期次。"))])
    district = SelectField(_l("区、县（市）"), choices=[], validators=[Optional()])


def window_form(districts: Sequence[str], **kwargs: Any) -> FlaskForm:
    """The window of one cohort: deadline, quota, open flag, one guide number per district.

    Guide-number fields are ``guide_<n>`` in the order of the districts list.
    """
    attrs: dict[str, Any] = {
        "nomination_deadline": DateField(
            _l("推荐截止日期"),
            validators=[InputRequired(_l("请填写推荐截止日期。"))],
            render_kw={"type": "date"},
        ),
        "quota": IntegerField(
            _l("计划名额"),
            default=50,
            validators=[
                InputRequired(_l("请填写计划名额。")),
                NumberRange(min=1, message=_l("计划名额至少为 1。")),
            ],
        ),
        "nomination_open": BooleanField(_l("开放推荐（区县可在截止日期前填报）")),
    }
    for i, district in enumerate(districts):
        attrs[f"guide_{i}"] = IntegerField(
            district,
            validators=[Optional(), NumberRange(min=0, message=_l("指导名额不能为负数。"))],
        )
    cls = type("WindowForm", (FlaskForm,), attrs)
    return cls(**kwargs)
