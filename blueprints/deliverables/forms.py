"""Forms of the deliverables pages: shape only (WTForms + CSRF). Checks are in ``rules.py``.

HTML field names are the schema keys (``kind``, ``title``, ``char_count``…); the file input is
``file_ref``. Forms of whole records (plan, research, talk, pairing) are built from the sheet's
schema (mingxiao.schema_forms), so labels and help texts are the sheet's own headers and notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Field,
    FileField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from mingxiao.schema_forms import Required

from .rules import MAX_MANUAL_CHARS, PASSED, RETURNED

ACCEPT = ".docx,.pdf,.txt"
UPLOAD_KINDS = ("docx", "pdf", "txt")

PLAN_FIELDS = ("goals", "milestones", "progress_notes", "self_assessment")
SHEET_FIELDS: dict[str, tuple[str, ...]] = {
    "research_projects": (
        "title", "level", "approval_number", "approved_on", "status", "concluded_on",
        "outcome_type", "outcome_level", "outcome_note",
    ),
    "presentations": ("date", "forum", "organiser", "level", "form", "topic"),
    "pairings": ("partner_school", "region", "start_date", "end_date", "activities", "hours"),
}  # fmt: skip


def _manual_fields() -> dict[str, Field]:
    return {
        "char_count": IntegerField(
            _l("人工统计字数"),
            description=_l(
                "一般不用填：系统会自动统计。扫描件、图片版 PDF 或纸质专著无法自动统计时，请填写字数。"
            ),
            validators=[
                Optional(),
                NumberRange(min=0, max=MAX_MANUAL_CHARS, message=_l("字数应为 0 或正整数。")),
            ],
        ),
        "manual_count_reason": TextAreaField(
            _l("人工统计的原因"),
            description=_l("填写了人工统计字数时必填，如：扫描件，按原稿统计。"),
            validators=[Optional(), Length(max=500)],
            render_kw={"rows": 2},
        ),
    }


def _file_field() -> FileField:
    return FileField(
        _l("文件"),
        description=_l("Word（.docx）、PDF 或纯文本（.txt）文件。"),
        render_kw={"accept": ACCEPT},
    )


def upload_form(kinds: Sequence[str], **kwargs: Any) -> FlaskForm:
    """A new deliverable: kind, title, file and an optional typed 字数."""
    attrs: dict[str, Any] = {
        "kind": SelectField(
            _l("作业类型"),
            choices=[SelectChoice("", _l("请选择")), *(SelectChoice(k, k) for k in kinds)],
            validators=[Required(str(_l("作业类型")))],
        ),
        "title": StringField(_l("标题"), validators=[Required(str(_l("标题"))), Length(max=100)]),
        "file_ref": _file_field(),
        **_manual_fields(),
    }
    return type("UploadForm", (FlaskForm,), attrs)(**kwargs)


def resubmit_form(**kwargs: Any) -> FlaskForm:
    """A new version of a returned deliverable: the file and an optional typed 字数."""
    attrs: dict[str, Any] = {"file_ref": _file_field(), **_manual_fields()}
    return type("ResubmitForm", (FlaskForm,), attrs)(**kwargs)


class ReviewForm(FlaskForm):
    """The mentor's decision: pass, or return with comments."""

    review_status = RadioField(
        _l("审阅结果"),
        choices=[SelectChoice(PASSED, _l("通过")), SelectChoice(RETURNED, _l("退回修改"))],
        validators=[Optional()],
    )
    review_comment = TextAreaField(
        _l("审阅意见"),
        description=_l("退回时必填：写明需要修改的地方。"),
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 4},
    )


class SignoffForm(FlaskForm):
    """The mentor confirms a plan (CSRF only)."""
