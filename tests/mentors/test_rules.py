"""Mentor-team rules as plain functions: assignments, logs, guidance hours, load."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from blueprints.mentors import rules

D = dt.date
TODAY = D(2026, 6, 15)
JAN1 = D(2026, 1, 1)


def assignment(
    id_: str,
    trainee: str = "T1",
    mentor: str = "M1",
    role: str = rules.LEAD,
    start: dt.date | None = JAN1,
    end: dt.date | None = None,
    **extra: object,
) -> dict[str, object]:
    return {
        "id": id_,
        "trainee": trainee,
        "mentor": mentor,
        "role": role,
        "start_date": start,
        "end_date": end,
        **extra,
    }


def new(**kwargs: object) -> dict[str, object]:
    values = {"trainee": "T1", "mentor": "M2", "role": rules.LEAD, "start_date": D(2026, 3, 1)}
    values.update(kwargs)
    return values


# -- one lead at a time ---------------------------------------------------------------------


def test_second_lead_in_the_same_period_is_refused_at_the_role_field():
    problems = rules.validate_assignment(new(), [assignment("MA1")])
    template, params = problems["role"]
    assert "主导师" in template and params["id"] == "MA1"


def test_new_lead_may_start_the_day_after_the_old_lead_ends():
    old = assignment("MA1", end=D(2026, 2, 28))
    assert rules.validate_assignment(new(start_date=D(2026, 3, 1)), [old]) == {}


def test_new_lead_starting_on_the_old_leads_last_day_overlaps():
    old = assignment("MA1", end=D(2026, 3, 1))
    assert "role" in rules.validate_assignment(new(start_date=D(2026, 3, 1)), [old])


def test_lead_of_another_trainee_does_not_count():
    assert rules.validate_assignment(new(), [assignment("MA1", trainee="T2")]) == {}


def test_voided_lead_does_not_count():
    assert rules.validate_assignment(new(), [assignment("MA1", voided=True)]) == {}


def test_a_lead_ending_before_an_existing_leads_start_fits():
    later = assignment("MA1", start=D(2026, 9, 1))
    values = new(start_date=D(2026, 1, 1), end_date=D(2026, 8, 31))
    assert rules.validate_assignment(values, [later]) == {}


def test_an_open_ended_lead_before_an_existing_later_lead_overlaps_it():
    later = assignment("MA1", start=D(2026, 9, 1))
    assert "role" in rules.validate_assignment(new(start_date=D(2026, 1, 1)), [later])


def test_editing_an_assignment_does_not_collide_with_itself():
    row = assignment("MA1")
    values = {**row, "end_date": D(2026, 12, 31)}
    assert rules.validate_assignment(values, [row], exclude_id="MA1") == {}


def test_co_mentors_next_to_a_lead_are_fine():
    values = new(role=rules.CO)
    assert rules.validate_assignment(values, [assignment("MA1")]) == {}


def test_a_third_co_mentor_is_refused():
    rows = [
        assignment("MA1"),
        assignment("MA2", mentor="M3", role=rules.CO),
        assignment("MA3", mentor="M4", role=rules.CO),
    ]
    problems = rules.validate_assignment(new(role=rules.CO), rows)
    assert problems["role"][1] == {"n": 2, "max": 2}


def test_the_co_mentor_limit_is_a_setting():
    rows = [assignment("MA2", mentor="M3", role=rules.CO)]
    assert "role" in rules.validate_assignment(new(role=rules.CO), rows, max_co=1)


# -- dates and pairs ------------------------------------------------------------------------


def test_end_before_start_is_refused_at_the_end_date_field():
    problems = rules.validate_assignment(new(start_date=D(2026, 3, 1), end_date=D(2026, 2, 28)), [])
    template, params = problems["end_date"]
    assert "结束日期" in template and "开始日期" in template
    assert params == {"end": "2026-02-28", "start": "2026-03-01"}


def test_end_on_the_start_day_is_a_one_day_assignment():
    assert rules.validate_assignment(new(end_date=D(2026, 3, 1)), []) == {}


def test_same_mentor_twice_on_the_same_trainee_is_refused_at_the_mentor_field():
    rows = [assignment("MA1", mentor="M2", role=rules.CO)]
    problems = rules.validate_assignment(new(role=rules.CO), rows)
    assert problems["mentor"][1]["id"] == "MA1"


def test_same_pair_again_after_the_first_assignment_ended_is_fine():
    rows = [assignment("MA1", mentor="M2", role=rules.CO, end=D(2026, 2, 1))]
    assert rules.validate_assignment(new(role=rules.CO), rows) == {}


def test_mentor_no_longer_active_cannot_be_assigned():
    mentors = {"M2": {"name": "李老师", "active": False}}
    problems = rules.validate_assignment(new(), [], mentors=mentors)
    assert problems["mentor"][1]["name"] == "李老师"


def test_unknown_trainee_and_mentor_are_named():
    problems = rules.validate_assignment(new(), [], mentors={}, trainees={})
    assert set(problems) == {"trainee", "mentor"}


# -- handover, ending ----------------------------------------------------------------------


def test_lead_to_replace_is_the_running_lead_on_the_new_start_day():
    old = assignment("MA1")
    assert rules.lead_to_replace(new(), [old]) is old
    assert rules.lead_to_replace(new(role=rules.CO), [old]) is None


def test_handover_ends_the_old_lead_the_day_before():
    assert rules.handover_end(D(2026, 3, 1)) == D(2026, 2, 28)


def test_handover_needs_the_old_lead_to_have_started_earlier():
    old = assignment("MA1", start=D(2026, 3, 1))
    assert rules.handover_problem(old, D(2026, 3, 1)) is not None
    assert rules.handover_problem(old, D(2026, 3, 2)) is None


def test_ending_before_the_start_is_refused():
    assert rules.end_problem(assignment("MA1"), D(2025, 12, 31)) is not None
    assert rules.end_problem(assignment("MA1"), D(2026, 1, 1)) is None


def test_ending_needs_a_date():
    assert rules.end_problem(assignment("MA1"), None) is not None


# -- what the sheet breaks -----------------------------------------------------------------


TRAINEES = {"T1": {"status": "在训"}, "T2": {"status": "在训"}, "T3": {"status": "结业"}}


def test_two_leads_typed_into_the_sheet_are_reported():
    rows = [assignment("MA1"), assignment("MA2", mentor="M2")]
    found = rules.assignment_problems(rows, {"T1": TRAINEES["T1"]}, TODAY)
    assert [(tid, params["n"]) for tid, (_t, params) in found if "n" in params] == [("T1", 2)]


def test_trainee_in_training_without_a_lead_is_reported_but_a_graduate_is_not():
    assert rules.trainees_without_lead([assignment("MA1")], TRAINEES, TODAY) == ["T2"]


def test_end_before_start_typed_into_the_sheet_is_reported():
    rows = [assignment("MA1", start=D(2026, 5, 1), end=D(2026, 4, 1))]
    found = rules.assignment_problems(rows, {}, TODAY)
    assert found and found[0][1][1]["id"] == "MA1"


def test_team_lists_the_lead_first():
    rows = [
        assignment("MA2", mentor="M2", role=rules.CO, start=D(2025, 1, 1)),
        assignment("MA1"),
        assignment("MA3", mentor="M3", end=D(2025, 12, 31)),
    ]
    team = rules.team_of("T1", rows, TODAY)
    assert [(m.mentor, m.role) for m in team] == [("M1", rules.LEAD), ("M2", rules.CO)]


def test_load_counts_current_trainees_per_mentor_as_lead_and_co():
    rows = [
        assignment("MA1", trainee="T1", mentor="M1"),
        assignment("MA2", trainee="T2", mentor="M1"),
        assignment("MA3", trainee="T1", mentor="M2", role=rules.CO),
        assignment("MA4", trainee="T3", mentor="M2", end=D(2026, 1, 31)),
    ]
    loads = {x.mentor: x for x in rules.mentor_load(["M1", "M2", "M3"], rows, TODAY)}
    assert (loads["M1"].lead, loads["M1"].co) == (["T1", "T2"], [])
    assert (loads["M2"].lead, loads["M2"].co, loads["M2"].total) == ([], ["T1"], 1)
    assert loads["M3"].total == 0


# -- mentoring logs and guidance hours -----------------------------------------------------


PAIR = [assignment("MA1", start=D(2026, 1, 1), end=D(2026, 6, 30))]


def log_values(**kwargs: object) -> dict[str, object]:
    values = {"mentor": "M1", "trainee": "T1", "date": D(2026, 3, 18), "hours": Decimal("1.5")}
    values.update(kwargs)
    return values


def test_log_within_the_assignment_is_fine():
    assert rules.validate_log(log_values(), PAIR, TODAY) == {}


def test_log_dated_after_today_is_refused_at_the_date():
    assert "date" in rules.validate_log(log_values(date=D(2026, 6, 16)), PAIR, TODAY)


def test_log_outside_the_assignment_period_is_refused_at_the_date():
    problems = rules.validate_log(log_values(date=D(2025, 12, 31)), PAIR, TODAY)
    assert "2026-01-01–2026-06-30" in problems["date"][1]["periods"]


def test_log_for_a_pair_never_assigned_is_refused():
    assert "trainee" in rules.validate_log(log_values(mentor="M9"), PAIR, TODAY)


def test_log_of_zero_hours_is_refused():
    assert "hours" in rules.validate_log(log_values(hours=Decimal(0)), PAIR, TODAY)


LOGS = [
    {"mentor": "M1", "date": D(2026, 1, 5), "hours": 1.5},
    {"mentor": "M1", "date": D(2026, 1, 20), "hours": "2"},
    {"mentor": "M1", "date": D(2026, 4, 1), "hours": 3},
    {"mentor": "M2", "date": D(2026, 1, 9), "hours": 1},
    {"mentor": "M2", "date": D(2026, 2, 9), "hours": 1, "voided": True},
    {"mentor": "M2", "date": "2026年2月", "hours": 5},  # unreadable date typed by hand
    {"mentor": "", "date": D(2026, 1, 9), "hours": 9},
]


def test_guidance_hours_sum_per_mentor_per_month():
    assert rules.guidance_hours(LOGS, period="month") == {
        ("M1", "2026-01"): Decimal("3.5"),
        ("M1", "2026-04"): Decimal("3"),
        ("M2", "2026-01"): Decimal("1"),
    }


def test_guidance_hours_sum_per_quarter_and_year():
    assert rules.guidance_hours(LOGS, period="quarter")[("M1", "2026-Q1")] == Decimal("3.5")
    assert rules.guidance_hours(LOGS, period="year")[("M1", "2026")] == Decimal("6.5")


def test_guidance_hours_within_a_date_range_include_both_ends():
    totals = rules.hours_by_mentor(LOGS, start=D(2026, 1, 5), end=D(2026, 1, 20))
    assert totals == {"M1": Decimal("3.5"), "M2": Decimal("1")}


def test_guidance_hours_are_exact_decimals():
    logs = [{"mentor": "M1", "date": D(2026, 1, d), "hours": 0.1} for d in range(1, 4)]
    assert rules.hours_by_mentor(logs) == {"M1": Decimal("0.3")}


def test_unknown_period_is_an_error():
    with pytest.raises(ValueError):
        rules.period_key(TODAY, "week")
