"""The workshop rules as plain functions: one workshop per trainee, leave ≥ join, outcomes."""

from __future__ import annotations

import datetime as dt

from blueprints.workshops import rules

D = dt.date
KINDS = ["暂无", "提任校长", "提任副校长", "获评名校长", "获奖", "其他"]


def test_a_second_workshop_for_the_same_trainee_is_refused_with_a_chinese_message():
    existing = [{"id": "W2026-0001", "trainee": "T1", "name": "张明名校长工作室"}]
    problem = rules.second_workshop_problem("T1", existing)
    assert problem is not None
    template, params = problem
    message = template.format(**params)
    assert "每位学员只领衔一个名校长工作室" in message and "张明名校长工作室" in message


def test_a_first_workshop_is_allowed():
    assert rules.second_workshop_problem("T2", [{"id": "W1", "trainee": "T1"}]) is None


def test_editing_the_only_workshop_is_not_a_second_one():
    rows = [{"id": "W1", "trainee": "T1"}]
    assert rules.second_workshop_problem("T1", rows, exclude_id="W1") is None


def test_a_voided_workshop_does_not_block_a_new_one():
    rows = [{"id": "W1", "trainee": "T1", "voided": True}]
    assert rules.second_workshop_problem("T1", rows) is None


def test_duplicate_workshops_lists_only_trainees_with_more_than_one():
    rows = [
        {"id": "W3", "trainee": "T1"},
        {"id": "W1", "trainee": "T1"},
        {"id": "W2", "trainee": "T2"},
        {"id": "W4", "trainee": "T2", "voided": True},
    ]
    found = rules.duplicate_workshops(rows)
    assert {t: [w["id"] for w in ws] for t, ws in found.items()} == {"T1": ["W1", "W3"]}


def test_leaving_before_joining_is_refused():
    problem = rules.member_dates_problem(D(2025, 3, 1), D(2025, 2, 28))
    assert problem is not None
    assert (
        problem[0].format(**problem[1]) == "退出日期（2025-02-28）不能早于加入日期（2025-03-01）。"
    )


def test_leaving_on_the_day_of_joining_is_allowed():
    assert rules.member_dates_problem(D(2025, 3, 1), D(2025, 3, 1)) is None


def test_a_member_still_in_the_workshop_has_no_leave_date_problem():
    assert rules.member_dates_problem(D(2025, 3, 1), None) is None


def test_bad_member_dates_finds_rows_typed_with_leave_before_join():
    rows = [
        {"id": "M1", "joined_on": D(2025, 3, 1), "left_on": D(2024, 3, 1)},
        {"id": "M2", "joined_on": D(2025, 3, 1), "left_on": D(2026, 3, 1)},
        {"id": "M3", "joined_on": "not a date", "left_on": D(2024, 3, 1)},
    ]
    assert [m["id"] for m in rules.bad_member_dates(rows)] == ["M1"]


def test_a_member_counts_as_current_until_their_leave_day():
    member = {"joined_on": D(2025, 1, 1), "left_on": D(2025, 6, 30)}
    assert rules.is_current_member(member, D(2025, 6, 30))
    assert not rules.is_current_member(member, D(2025, 7, 1))
    assert not rules.is_current_member(member, D(2024, 12, 31))


def test_outcome_counts_follow_the_choice_list_and_skip_members_without_an_outcome():
    members = [
        {"outcome": "提任校长"},
        {"outcome": "获奖"},
        {"outcome": "提任校长"},
        {"outcome": "暂无"},
        {"outcome": None},
        {"outcome": "提任校长", "voided": True},
    ]
    counts = rules.outcome_counts(members, KINDS)
    assert counts == {"提任校长": 2, "提任副校长": 0, "获评名校长": 0, "获奖": 1, "其他": 0}
    assert list(counts) == KINDS[1:]


def test_an_outcome_typed_outside_the_list_is_still_counted():
    assert rules.outcome_counts([{"outcome": "挂职"}], KINDS)["挂职"] == 1


def test_principals_brought_on_are_the_promoted_and_the_recognised():
    counts = {"提任校长": 2, "获评名校长": 1, "提任副校长": 4, "获奖": 3}
    assert rules.principals_brought_on(counts) == 3


def test_activity_totals_sum_hours_and_participants_and_ignore_blanks():
    rows = [
        {"hours": 3.0, "participants": 12},
        {"hours": 2.5, "participants": None},
        {"hours": None, "participants": 8},
        {"hours": 100, "participants": 100, "voided": True},
    ]
    totals = rules.activity_totals(rows)
    assert (totals.count, float(totals.hours), totals.participants) == (3, 5.5, 20)
