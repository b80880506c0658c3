"""Forms of the admin pages (all POSTs carry CSRF through Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SubmitField


class ConfirmForm(FlaskForm):
    """A bare POST with CSRF: sync now, re-apply, dismiss."""

    submit = SubmitField(_l("确定"))


class RestoreForm(FlaskForm):
    """Restoring a backup replaces the workbook: the admin must tick the box."""

    name = HiddenField()
    confirm = BooleanField(_l("我确认用这个备份替换当前工作簿（当前工作簿会先自动备份）"))
    submit = SubmitField(_l("恢复"))
