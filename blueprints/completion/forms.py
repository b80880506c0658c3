"""Forms of the completion pages: shape only (WTForms + CSRF). Field names are the schema keys
where a sheet column is meant; the rules are in ``rules.py``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class IssueForm(FlaskForm):
    """Issue a certificate to one trainee (the number and code are the server's)."""

    trainee = HiddenField(validators=[DataRequired()])
    issued_on = DateField(_l("颁发日期"), validators=[Optional()])
    hours = DecimalField(
        _l("认定学时"),
        places=1,
        validators=[Optional(), NumberRange(min=0, max=1000)],
        description=_l("计入省培管理平台的学时；留空则按考勤记录计算"),
    )


class RevokeForm(FlaskForm):
    revoke_reason = TextAreaField(
        _l("撤销原因"),
        validators=[DataRequired(message=_l("请写明撤销原因。")), Length(min=4, max=500)],
        description=_l("写明撤销的依据，如决定文号。证书不会被删除，编号也不会再用。"),
    )


class VerifyForm(FlaskForm):
    """The public look-up: a code, nothing else."""

    code = StringField(
        _l("核验码"),
        validators=[DataRequired(message=_l("请输入证书上的核验码。")), Length(max=40)],
        description=_l("证书左下角的 10 位核验码，不区分大小写"),
    )


class MentorFeeForm(FlaskForm):
    """Record a proposed 导师指导费 as an expense (the amount is recomputed on the server)."""

    cohort = HiddenField(validators=[DataRequired()])
    mentor = HiddenField(validators=[DataRequired()])
    date = DateField(_l("支出日期"), validators=[Optional()])
    source = SelectField(_l("经费来源"), choices=[], validators=[DataRequired()])
    voucher_no = StringField(_l("凭证号"), validators=[Optional(), Length(max=30)])


class AssessForm(FlaskForm):
    """The admin's decision on one trainee against their plan."""

    trainee = HiddenField(validators=[DataRequired()])
    decision = SelectField(_l("考核结论"), choices=[], validators=[DataRequired()])
    plan_review = TextAreaField(_l("方案完成情况"), validators=[Optional(), Length(max=2000)])
    note = TextAreaField(_l("评定意见"), validators=[Optional(), Length(max=2000)])


class GraduateForm(FlaskForm):
    """Batch: every trainee of the cohort whose latest decision passes becomes 结业."""

    cohort = HiddenField(validators=[DataRequired()])
