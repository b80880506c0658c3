"""Forms of the auth pages: shape only (WTForms + CSRF); the password policy is in rules.py."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from . import rules


class PasswordPolicy:
    """WTForms validator for rules.password_problems; the email comes from ``form.account_email``."""

    def __call__(self, form: Any, field: Field) -> None:
        problems = rules.password_problems(field.data or "", getattr(form, "account_email", None))
        if problems:
            raise ValidationError(" ".join(_(msgid, **params) for msgid, params in problems))


class LoginForm(FlaskForm):
    email = StringField(_l("邮箱"), validators=[DataRequired(_l("请填写邮箱。")), Length(max=254)])
    password = PasswordField(
        _l("密码"), validators=[DataRequired(_l("请填写密码。")), Length(max=rules.MAX_LENGTH)]
    )


class LogoutForm(FlaskForm):
    """No fields: only the CSRF token."""


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("当前密码"), validators=[DataRequired(_l("请填写当前密码。"))]
    )
    new_password = PasswordField(
        _l("新密码"),
        validators=[DataRequired(_l("请填写新密码。")), PasswordPolicy()],
        description=_l("至少 10 个字符，不能全是数字，不能与邮箱相同。"),
    )
    confirm = PasswordField(
        _l("再次输入新密码"),
        validators=[
            DataRequired(_l("请再次输入新密码。")),
            EqualTo("new_password", _l("两次输入的新密码不一致。")),
        ],
    )


class ResetRequestForm(FlaskForm):
    email = StringField(_l("邮箱"), validators=[DataRequired(_l("请填写邮箱。")), Length(max=254)])


class ResetForm(FlaskForm):
    new_password = PasswordField(
        _l("新密码"),
        validators=[DataRequired(_l("请填写新密码。")), PasswordPolicy()],
        description=_l("至少 10 个字符，不能全是数字，不能与邮箱相同。"),
    )
    confirm = PasswordField(
        _l("再次输入新密码"),
        validators=[
            DataRequired(_l("请再次输入新密码。")),
            EqualTo("new_password", _l("两次输入的新密码不一致。")),
        ],
    )
