"""Forms of the trainee pages: shape only (WTForms + CSRF). The rules are in ``rules.py``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from .rules import REASON_MAX


class FilterForm(FlaskForm):
    """Roster filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    cohort = SelectField(_l("期次"), validators=[Optional()], choices=[])
    status = SelectField(_l("培养状态"), validators=[Optional()], choices=[])
    district = SelectField(_l("区、县（市）"), validators=[Optional()], choices=[])


class StatusForm(FlaskForm):
    """An ordinary status change (淘汰 goes through the elimination workflow)."""

    status = SelectField(_l("新状态"), validators=[InputRequired()], choices=[])
    ground = SelectField(
        _l("淘汰情形"),
        validators=[Optional()],
        choices=[],
        description=_l("预警时可选择所依据的淘汰情形"),
    )
    reason = TextAreaField(
        _l("变更原因"),
        validators=[InputRequired(), Length(max=REASON_MAX)],
        description=_l("用一句话写清依据，会记入学员状态变更记录"),
    )


class ProposeForm(FlaskForm):
    """Propose an elimination: one of the four grounds, the evidence, optionally a file."""

    ground = RadioField(_l("淘汰情形"), validators=[InputRequired()], choices=[])
    evidence = TextAreaField(
        _l("依据"),
        validators=[InputRequired(), Length(max=REASON_MAX)],
        description=_l(
            "写清事实、时间和学时，如“累计缺勤 58 学时，超过 270 学时的五分之一（54 学时）”"
        ),
    )
    evidence_file = FileField(
        _l("依据材料（可选）"),
        description=_l("签到表、请假记录等，PDF、Word、图片或文本文件"),
    )


class DecideForm(FlaskForm):
    """Decide a pending elimination: confirm it, or drop it with a note."""

    decision = RadioField(
        _l("审定结论"),
        validators=[InputRequired()],
        choices=[("confirm", _l("确认淘汰")), ("drop", _l("不予淘汰"))],
    )
    note = TextAreaField(
        _l("审定意见"),
        validators=[Optional(), Length(max=REASON_MAX)],
        description=_l("不予淘汰时必填"),
    )


class ReverseForm(FlaskForm):
    """Reverse a confirmed elimination, with a reason."""

    reason = TextAreaField(_l("撤销原因"), validators=[InputRequired(), Length(max=REASON_MAX)])


class CohortForm(FlaskForm):
    """The cohort settings this plugin owns. The nomination window (deadline, quota, guide
    numbers, open/closed) is edited on the nominations plugin's 推荐设置 page."""

    name = StringField(_l("期次名称"), validators=[InputRequired(), Length(max=30)])
    number = IntegerField(_l("期次序号"), validators=[InputRequired(), NumberRange(min=1, max=3)])
    start_date = DateField(_l("开班日期"), validators=[InputRequired()])
    end_date = DateField(_l("结业日期"), validators=[InputRequired()])
    total_hours = IntegerField(
        _l("总学时"),
        validators=[InputRequired(), NumberRange(min=1)],
        description=_l("默认取课程模块学时之和；累计缺勤超过总学时的五分之一即淘汰"),
    )
    status = SelectField(_l("阶段"), validators=[InputRequired()], choices=[])
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)])


class NewCohortForm(CohortForm):
    """A new cohort also needs the nomination deadline and the quota (required columns); after
    that they are edited on the 推荐设置 page."""

    nomination_deadline = DateField(_l("推荐截止日期"), validators=[InputRequired()])
    quota = IntegerField(
        _l("计划名额"), validators=[InputRequired(), NumberRange(min=1)], default=50
    )
