"""The completion rules as plain functions: certificate numbers (hand-typed rows included),
codes, who may get a certificate, hours → credits, funding sums and mentor fees."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from blueprints.completion import rules

# -- numbers ----------------------------------------------------------------------------------


def test_first_certificate_of_a_series_is_number_001():
    assert rules.next_number([], 2026, 1) == "MXZ-2026-1-001"


def test_next_number_continues_after_the_highest_of_the_same_year_and_cohort():
    existing = ["MXZ-2026-1-001", "MXZ-2026-1-002", "MXZ-2026-2-009", "MXZ-2025-1-040"]
    assert rules.next_number(existing, 2026, 1) == "MXZ-2026-1-003"


def test_hand_typed_numbers_with_full_width_dashes_spaces_and_lower_case_count():
    typed = ["mxz－2026－1－004", " MXZ-2026-1-005 ", "MXZ—2026—1—006"]
    assert rules.next_number(typed, 2026, 1) == "MXZ-2026-1-007"


def test_hand_typed_number_without_leading_zeros_counts():
    assert rules.next_number(["MXZ-2026-3-12"], 2026, 3) == "MXZ-2026-3-013"


def test_text_that_is_not_a_certificate_number_is_ignored():
    junk = ["待定", "", None, "MXZ-26-1-050", "ABC-2026-1-090", 12]
    assert rules.next_number(junk, 2026, 1) == "MXZ-2026-1-001"


def test_a_revoked_or_voided_number_is_not_reused_because_it_stays_in_the_sheet():
    # The caller passes every row's number, revoked and voided rows included.
    assert rules.next_number(["MXZ-2026-1-001", "MXZ-2026-1-002"], 2026, 1) == "MXZ-2026-1-003"


def test_sequence_beyond_999_keeps_counting():
    assert rules.next_number(["MXZ-2026-1-999"], 2026, 1) == "MXZ-2026-1-1000"


def test_gaps_left_by_a_number_typed_out_of_turn_are_reported():
    assert rules.sequence_gaps(["MXZ-2026-1-001", "MXZ-2026-1-004"]) == [
        "MXZ-2026-1-002",
        "MXZ-2026-1-003",
    ]


def test_consecutive_numbers_have_no_gaps():
    assert rules.sequence_gaps([f"MXZ-2026-2-{n:03d}" for n in range(1, 8)]) == []


def test_duplicate_numbers_typed_in_two_forms_are_reported():
    assert rules.duplicate_numbers(["MXZ-2026-1-001", "mxz-2026-1-001", "MXZ-2026-1-002"]) == [
        "MXZ-2026-1-001"
    ]


# -- codes -------------------------------------------------------------------------------------


def test_verification_codes_use_the_unambiguous_alphabet_and_avoid_taken_codes():
    codes = {rules.new_verify_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(
        len(c) == rules.VERIFY_LENGTH and set(c) <= set(rules.VERIFY_ALPHABET) for c in codes
    )


def test_codes_are_compared_without_spaces_dashes_or_case():
    assert rules.normalize_code(" abcd-efgh 23 ") == "ABCDEFGH23"


@pytest.mark.parametrize(
    ("row", "state"),
    [
        (None, rules.UNKNOWN),
        ({"revoked": False}, rules.VALID),
        ({"revoked": True}, rules.REVOKED),
        ({"revoked": False, "voided": True}, rules.UNKNOWN),
    ],
)
def test_certificate_state(row, state):
    assert rules.certificate_state(row) == state


# -- who may get one ---------------------------------------------------------------------------


def test_a_trainee_with_status_completed_may_get_a_certificate():
    assert rules.issue_problem({"status": "结业"}, [], []) is None


def test_a_trainee_in_training_without_a_passing_assessment_may_not():
    problem = rules.issue_problem(
        {"status": "在训"}, [{"decision": "不合格", "decided_at": "1"}], []
    )
    assert problem is not None and "在训" in problem[1]["status"]


def test_the_latest_assessment_decides():
    rows = [
        {"id": "AS1", "decision": "不合格", "decided_at": dt.datetime(2026, 1, 1)},
        {"id": "AS2", "decision": "合格", "decided_at": dt.datetime(2026, 3, 1)},
    ]
    assert rules.issue_problem({"status": "在训"}, rows, []) is None


def test_one_valid_certificate_per_trainee():
    held = [{"number": "MXZ-2026-1-001", "revoked": False}]
    problem = rules.issue_problem({"status": "结业"}, [], held)
    assert problem is not None and problem[1]["number"] == "MXZ-2026-1-001"


def test_after_revocation_a_new_certificate_may_be_issued():
    held = [{"number": "MXZ-2026-1-001", "revoked": True}]
    assert rules.issue_problem({"status": "结业"}, [], held) is None


def test_revocation_needs_a_reason():
    assert rules.revoke_problem({"revoked": False}, "  ") is not None
    assert rules.revoke_problem({"revoked": False}, "学籍材料不实，依据市教育局决定") is None
    assert rules.revoke_problem({"revoked": True}, "学籍材料不实") is not None


# -- credits -----------------------------------------------------------------------------------


def test_ten_hours_make_one_credit_by_default():
    rate = rules.positive_setting({}, "CREDITS_HOURS_PER_CREDIT")
    assert rules.credits_for(270, rate) == Decimal("27.0")


def test_credits_follow_the_configured_rate_and_round_half_up():
    assert rules.credits_for(270, 20) == Decimal("13.5")
    assert rules.credits_for(25, 10, decimals=0) == Decimal("3")


@pytest.mark.parametrize("bad", [0, -5, "ten", ""])
def test_a_rate_that_is_not_a_positive_number_stops_the_start(bad):
    with pytest.raises(rules.ConfigProblem, match="CREDITS_HOURS_PER_CREDIT"):
        rules.check_config({"CREDITS_HOURS_PER_CREDIT": bad})


# -- funding -----------------------------------------------------------------------------------


def test_expense_totals_by_category_and_source_skip_voided_rows():
    rows = [
        {"category": "资料费", "source": "市专项经费", "amount": 100},
        {"category": "资料费", "source": "学校培训经费", "amount": 50.5},
        {"category": "住宿费", "source": "市专项经费", "amount": 999, "voided": True},
    ]
    totals = rules.expense_totals(rows, ["资料费", "住宿费"], ["市专项经费", "学校培训经费"])
    assert totals.by_category == {"资料费": Decimal("150.5"), "住宿费": Decimal(0)}
    assert totals.by_source["学校培训经费"] == Decimal("50.5")
    assert totals.total == Decimal("150.5") and totals.count == 2


def test_mentor_fees_are_guidance_hours_of_the_cohort_times_the_rate():
    logs = [
        {"mentor": "M1", "trainee": "T1", "hours": 1.5},
        {"mentor": "M1", "trainee": "T2", "hours": 2},
        {"mentor": "M1", "trainee": "T9", "hours": 8},  # another cohort's trainee
        {"mentor": "M2", "trainee": "T1", "hours": 1, "voided": True},
    ]
    fees = rules.mentor_fees(logs, {"T1", "T2"}, {"M1": "王导师"}, 300, {"王导师": Decimal(450)})
    assert [(f.mentor_name, f.hours, f.amount, f.outstanding) for f in fees] == [
        ("王导师", Decimal("3.5"), Decimal("1050.00"), Decimal("600.00"))
    ]


# -- hours as text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (270.0, "270"),
        (Decimal("270.0"), "270"),
        (100, "100"),  # not 1E+2
        (Decimal("7.50"), "7.5"),
        (7.5, "7.5"),
        ("12.25", "12.25"),
        (0.0, "0"),
        (None, "0"),
    ],
)
def test_hours_read_as_written_without_a_trailing_point_zero(value, text):
    assert rules.hours_text(value) == text
