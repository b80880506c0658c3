"""The absence rule and the hours ledger as plain functions (blueprints/curriculum/rules.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from blueprints.curriculum import rules

SETTINGS = rules.AbsenceSettings()  # 270 h, 1/5, approved leave counts
DAY = dt.date(2026, 6, 1)


def session(sid: str, hours: Any, *, module: str = "CM01", day: dt.date = DAY) -> dict[str, Any]:
    return {"id": sid, "hours": hours, "module": module, "date": day}


def row(sid: str, status: str, attended: Any = 0, leave: str | None = None) -> dict[str, Any]:
    return {
        "session": sid,
        "trainee": "T1",
        "status": status,
        "hours_attended": attended,
        "leave_status": leave,
    }


def summary(
    sessions: list[dict[str, Any]], rows: list[dict[str, Any]], settings: Any = SETTINGS
) -> rules.AbsenceSummary:
    return rules.trainee_absence("T1", rows, sessions, settings, today=DAY)


def absences(
    hours: list[Any], status: str = rules.ABSENT
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    sessions = [session(f"S{i}", h) for i, h in enumerate(hours)]
    return sessions, [row(s["id"], status) for s in sessions]


def test_allowance_is_one_fifth_of_270_hours() -> None:
    assert SETTINGS.allowance == Decimal(54)


def test_54_hours_of_absence_is_kept() -> None:
    out = summary(*absences([8] * 6 + [6]))
    assert (out.counted, out.candidate) == (Decimal(54), False)


def test_54_and_a_half_hours_of_absence_is_a_candidate() -> None:
    out = summary(*absences([8] * 6 + [6.5]))
    assert (out.counted, out.candidate, out.level) == (Decimal("54.5"), True, rules.CANDIDATE)


def test_partial_attendance_counts_the_hours_not_attended_up_to_the_line() -> None:
    sessions, rows = absences([8] * 6)  # 48 h absent
    sessions.append(session("P", 8))
    rows.append(row("P", rules.PARTIAL, attended=2))  # 6 h missed → 54 h
    assert (summary(sessions, rows).counted, summary(sessions, rows).candidate) == (
        Decimal(54),
        False,
    )


def test_half_an_hour_late_on_top_of_54_hours_makes_a_candidate() -> None:
    sessions, rows = absences([8] * 6 + [6])
    sessions.append(session("L", 3))
    rows.append(row("L", rules.PARTIAL, attended=Decimal("2.5")))
    out = summary(sessions, rows)
    assert (out.partial, out.candidate) == (Decimal("0.5"), True)


def test_approved_leave_counts_by_default_and_is_shown_separately() -> None:
    sessions, rows = absences([8] * 6)  # 48 h unapproved
    sessions.append(session("V", Decimal("6.5")))
    rows.append(row("V", rules.LEAVE, leave=rules.APPROVED))
    out = summary(sessions, rows)
    assert (out.unapproved, out.approved_leave, out.counted, out.candidate) == (
        Decimal(48),
        Decimal("6.5"),
        Decimal("54.5"),
        True,
    )


def test_approved_leave_is_not_counted_when_configured_off() -> None:
    settings = rules.settings_from_config({"ABSENCE_LEAVE_COUNTS": False})
    sessions, rows = absences([8] * 6)
    sessions.append(session("V", Decimal("6.5")))
    rows.append(row("V", rules.LEAVE, leave=rules.APPROVED))
    out = summary(sessions, rows, settings)
    assert (out.approved_leave, out.counted, out.candidate) == (Decimal("6.5"), Decimal(48), False)


def test_refused_leave_is_an_absence_without_approval() -> None:
    out = summary([session("S", 4)], [row("S", rules.LEAVE, leave=rules.REFUSED)])
    assert (out.unapproved, out.unapproved_sessions, out.flagged_unapproved) == (
        Decimal(4),
        ["S"],
        True,
    )


def test_pending_leave_counts_until_decided_but_is_not_flagged() -> None:
    out = summary([session("S", 4)], [row("S", rules.LEAVE, leave=rules.PENDING)])
    assert (out.pending_leave, out.counted, out.flagged_unapproved) == (
        Decimal(4),
        Decimal(4),
        False,
    )


def test_any_unapproved_absence_is_flagged_even_far_from_the_line() -> None:
    out = summary([session("S", 2)], [row("S", rules.ABSENT)])
    assert out.flagged_unapproved and out.level == rules.OK and out.at_risk


@pytest.mark.parametrize(
    ("absent", "level"),
    [
        ("26.5", rules.OK),
        ("27", rules.WARN_50),  # half of 54
        ("40", rules.WARN_50),
        ("40.5", rules.WARN_75),  # three quarters of 54
        ("54", rules.WARN_75),
        ("54.5", rules.CANDIDATE),
    ],
)
def test_projection_warns_at_half_and_three_quarters_of_the_allowance(
    absent: str, level: str
) -> None:
    out = summary([session("S", absent)], [row("S", rules.PARTIAL, attended=0)])
    assert out.level == level


def test_projection_says_how_many_hours_are_left() -> None:
    out = summary([session("S", 27)], [row("S", rules.ABSENT)])
    assert (out.remaining, out.percent_used) == (Decimal(27), 50)


def test_warning_levels_are_configuration() -> None:
    settings = rules.settings_from_config({"ABSENCE_WARN_LEVELS": "1/3,2/3"})
    out = summary([session("S", 18)], [row("S", rules.ABSENT)], settings)  # 18 of 54 = 1/3
    assert out.level == rules.WARN_50


def test_total_and_limit_are_configuration() -> None:
    settings = rules.settings_from_config({"ABSENCE_TOTAL_HOURS": 100, "ABSENCE_LIMIT": "1/4"})
    assert settings.allowance == Decimal(25)


def test_total_falls_back_to_the_curriculum_hours() -> None:
    assert rules.settings_from_config({}, Decimal(300)).allowance == Decimal(60)


def test_a_mistyped_limit_is_refused_with_its_key() -> None:
    with pytest.raises(ValueError, match="ABSENCE_LIMIT"):
        rules.settings_from_config({"ABSENCE_LIMIT": "one fifth"})


def test_sessions_not_yet_held_do_not_count_and_their_leave_is_planned() -> None:
    later = session("F", 6, day=DAY + dt.timedelta(days=3))
    out = summary([later], [row("F", rules.LEAVE, leave=rules.PENDING)])
    assert (out.counted, out.planned_leave) == (Decimal(0), Decimal(6))


def test_present_row_typed_without_hours_attended_the_whole_session() -> None:
    out = summary([session("S", 6)], [row("S", rules.PRESENT, attended=None)])
    assert (out.counted, out.attended) == (Decimal(0), Decimal(6))


def test_a_pair_typed_twice_counts_once() -> None:
    rows = [row("S", rules.ABSENT), row("S", rules.ABSENT)]
    assert summary([session("S", 6)], rows).counted == Decimal(6)


def test_session_hours_mapping_is_accepted() -> None:
    out = rules.summaries_by_trainee([row("S", rules.ABSENT)], {"S": 5}, SETTINGS)
    assert out["T1"].counted == Decimal(5)


def test_ledger_sums_attended_hours_per_module_against_required() -> None:
    modules = [
        {"id": "CM01", "series": "通识素养", "topic": "A", "hours": 20, "sort": 1},
        {"id": "CM02", "series": "管理实务", "topic": "B", "hours": 50, "sort": 2},
    ]
    sessions = [session("S1", 8), session("S2", 6, module="CM02"), session("S3", 4, module="")]
    rows = [row("S1", rules.PRESENT, 8), row("S2", rules.PARTIAL, 4), row("S3", rules.PRESENT, 4)]
    ledger = rules.hours_ledger("T1", modules, sessions, rows, today=DAY)
    done = [(m.module_id, m.done, m.required, m.percent) for m in ledger.modules]
    assert (done, ledger.other_done) == (
        [("CM01", Decimal(8), Decimal(20), 40), ("CM02", Decimal(4), Decimal(50), 8)],
        Decimal(4),
    )


def test_grid_partial_attendance_needs_hours_below_the_session() -> None:
    assert rules.grid_values(rules.PARTIAL, "6", 6)[0] is None
    assert rules.grid_values(rules.PARTIAL, "5.5", 6)[0] == {
        "status": rules.PARTIAL,
        "hours_attended": Decimal("5.5"),
    }


def test_fraction_parsing() -> None:
    assert rules.parse_fraction("1/5") == Fraction(1, 5)
