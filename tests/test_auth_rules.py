"""Password policy and redirect safety: pure functions."""

from __future__ import annotations

import pytest

from blueprints.auth import rules


def test_good_password_has_no_problems():
    assert rules.password_problems("春江花月夜-2026", "a@b.cn") == []


def test_short_password_is_refused():
    assert [m for m, _ in rules.password_problems("abc12345x")] == [rules.TOO_SHORT]


def test_all_digit_password_is_refused():
    assert [m for m, _ in rules.password_problems("13800138000")] == [rules.ALL_DIGITS]


def test_password_equal_to_email_is_refused():
    assert [m for m, _ in rules.password_problems("Teacher@Example.cn", "teacher@example.cn")] == [
        rules.SAME_AS_EMAIL
    ]


def test_overlong_password_is_refused():
    assert [m for m, _ in rules.password_problems("x" * 257)] == [rules.TOO_LONG]


def test_messages_are_chinese_sentences_with_the_minimum_filled_in():
    assert rules.password_messages("short") == ["密码至少需要 10 个字符。"]


@pytest.mark.parametrize("target", ["/nominations/?page=2", "/auth/password"])
def test_safe_next_keeps_relative_paths(target):
    assert rules.safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "nominations",
        "/ok\r\nSet-Cookie: x=1",
        "",
        None,
    ],
)
def test_safe_next_refuses_other_sites(target):
    assert rules.safe_next(target, "/home") == "/home"
