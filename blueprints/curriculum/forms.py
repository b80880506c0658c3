"""Forms of the curriculum pages: shape only (WTForms + CSRF). Field names are schema keys.

The engine validates the values again against the ``sessions`` / ``attendance`` schemas; the
absence arithmetic is in ``rules.py``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional


class SessionForm(FlaskForm):
    """One session of the timetable (培训安排)."""

    cohort = SelectField(_l("期次"), choices=[], validators=[InputRequired(_l("请选择期次。"))])
    module = SelectField(
        _l("课程模块"),
        choices=[],
        validators=[Optional()],
        description=_l("开班式等不计入模块的活动可留空。"),
    )
    title = StringField(
        _l("活动名称"), validators=[InputRequired(_l("请填写活动名称。")), Length(max=100)]
    )
    date = DateField(_l("日期"), validators=[InputRequired(_l("请填写日期，如 2026-09-01。"))])
    start_time = StringField(
        _l("开始时间"),
        validators=[Optional(), Length(max=10)],
        description=_l("24 小时制，如 09:00"),
    )
    hours = DecimalField(
        _l("学时"),
        places=None,
        validators=[
            InputRequired(_l("请填写学时。")),
            NumberRange(min=0, max=24, message=_l("学时应在 0 到 24 之间。")),
        ],
        description=_l("本次培训计入的学时；考勤按此计算缺勤学时。"),
    )
    location = StringField(_l("地点"), validators=[Optional(), Length(max=100)])
    type = SelectField(
        _l("培训类型"), choices=[], validators=[InputRequired(_l("请选择培训类型。"))]
    )
    lecturer = StringField(_l("主讲或负责人"), validators=[Optional(), Length(max=60)])
    note = TextAreaField(_l("备注"), validators=[Optional()])


class LeaveRequestForm(FlaskForm):
    """A trainee's leave request for a coming session."""

    leave_reason = TextAreaField(
        _l("请假事由"),
        validators=[
            InputRequired(_l("请填写请假事由。")),
            Length(max=500, message=_l("请假事由请控制在 500 字以内。")),
        ],
        description=_l("请说明不能参加的原因；培训中心审批后会在本页显示结果。"),
    )


class PostForm(FlaskForm):
    """A form with nothing but its CSRF token (grid save, decisions, confirm)."""


class SignInImportForm(FlaskForm):
    """The sign-in sheet (签到表) of one session, as an xlsx file."""

    file = FileField(
        _l("签到表文件"),
        description=_l(
            "Excel 工作簿（.xlsx）。表头行写“学员编号”或“姓名”，以及“出勤情况”，可选“实到学时”“请假事由”“请假审批”“备注”；上方可以有标题行。"
        ),
        validators=[FileRequired(_l("请选择要导入的 .xlsx 文件。"))],
        render_kw={
            "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        },
    )
