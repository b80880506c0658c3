"""The nomination rules: hard eligibility boundaries, formats, plausible dates and duplicates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.nominations.rules import (
    Problem,
    anniversary,
    check_dates,
    check_id_number,
    check_mobile,
    check_position,
    check_tenure,
    check_title_or_contribution,
    eligibility,
    find_duplicates,
    full_years_in_post,
    latest_start_for,
    validate_nomination,
)

D = dt.date
DEADLINE = D(2026, 3, 31)
TODAY = D(2026, 3, 20)
LONG_ENOUGH = "牵头推进集团化办学改革，三年内带动两所薄弱校整体提升"  # ≥ 20 characters


def say(problem: Problem | None) -> str:
    """The sentence a clerk reads (also proves the params fill every placeholder)."""
    assert problem is not None
    template, params = problem
    return template.format(**params)


def id_with_check_digit(first17: str) -> str:
    """Append the GB 11643 check digit, computed from the standard's own formula (2^(i-1) mod 11)."""
    total = sum(int(d) * pow(2, 17 - k, 11) for k, d in enumerate(first17))
    check = (12 - total % 11) % 11
    return first17 + ("X" if check == 10 else str(check))


def make_id(birth: dt.date, region: str = "330106", seq: int = 123) -> str:
    return id_with_check_digit(f"{region}{birth:%Y%m%d}{seq:03d}")


valid_ids = st.builds(
    make_id,
    st.dates(min_value=D(1940, 1, 1), max_value=D(2010, 12, 31)),
    st.text("0123456789", min_size=6, max_size=6),
    st.integers(0, 999),
)


# --- tenure: ≥ 3 full years in the head post at the deadline ---------------------------------


def test_exactly_three_years_on_the_deadline_passes() -> None:
    assert check_tenure(D(2023, 3, 31), DEADLINE) is None


def test_two_years_364_days_fails_and_says_one_day_is_missing() -> None:
    problem = check_tenure(D(2023, 4, 1), DEADLINE)
    assert problem is not None
    assert (problem[1]["years"], problem[1]["days"], problem[1]["missing"]) == (2, 364, 1)
    assert "还差 1 天" in say(problem)


def test_full_years_counts_the_anniversary_day_itself() -> None:
    assert full_years_in_post(D(2023, 3, 31), DEADLINE) == 3
    assert full_years_in_post(D(2023, 4, 1), DEADLINE) == 2


def test_post_starting_on_the_deadline_has_zero_years_and_fails() -> None:
    problem = check_tenure(DEADLINE, DEADLINE)
    assert problem is not None and problem[1]["years"] == 0


def test_post_starting_after_the_deadline_fails_with_the_latest_start_date() -> None:
    assert "2023-03-31" in say(check_tenure(D(2026, 4, 1), DEADLINE))


def test_missing_head_since_fails() -> None:
    assert check_tenure(None, DEADLINE) is not None


def test_leap_day_start_completes_its_years_on_1_march_not_28_february() -> None:
    assert full_years_in_post(D(2020, 2, 29), D(2023, 2, 28)) == 2
    assert check_tenure(D(2020, 2, 29), D(2023, 2, 28)) is not None
    assert check_tenure(D(2020, 2, 29), D(2023, 3, 1)) is None


def test_leap_day_start_counts_29_february_in_a_leap_year() -> None:
    assert full_years_in_post(D(2020, 2, 29), D(2024, 2, 29)) == 4


def test_leap_day_deadline_needs_a_start_by_28_february() -> None:
    assert latest_start_for(D(2024, 2, 29)) == D(2021, 2, 28)
    assert check_tenure(D(2021, 2, 28), D(2024, 2, 29)) is None
    assert check_tenure(D(2021, 3, 1), D(2024, 2, 29)) is not None


@given(
    st.dates(min_value=D(1990, 1, 1), max_value=D(2030, 12, 31)),
    st.dates(min_value=D(1995, 1, 1), max_value=D(2030, 12, 31)),
)
def test_three_full_years_exactly_when_started_by_the_latest_start_date(
    start: dt.date, deadline: dt.date
) -> None:
    assert (check_tenure(start, deadline) is None) == (start <= latest_start_for(deadline))


@given(
    st.dates(min_value=D(1990, 1, 1), max_value=D(2025, 12, 31)),
    st.dates(min_value=D(1990, 1, 1), max_value=D(2030, 12, 31)),
)
def test_full_years_lie_between_two_anniversaries(start: dt.date, deadline: dt.date) -> None:
    n = full_years_in_post(start, deadline)
    if deadline >= start:
        assert anniversary(start, n) <= deadline < anniversary(start, n + 1)
    else:
        assert n == 0


# --- position ---------------------------------------------------------------------------------


@pytest.mark.parametrize("position", ["正职校长", "党组织书记", " 正职校长 "])
def test_head_positions_pass(position: str) -> None:
    assert check_position(position) is None


@pytest.mark.parametrize("position", ["副校长", "党组织副书记", "校长助理", "其他", "校长"])
def test_other_positions_fail_and_name_the_position(position: str) -> None:
    assert position in say(check_position(position))


@pytest.mark.parametrize("position", [None, "", "  "])
def test_missing_position_fails(position: str | None) -> None:
    assert check_position(position) is not None


# --- title or contribution --------------------------------------------------------------------


@pytest.mark.parametrize("title", ["高级教师", "正高级教师"])
def test_senior_titles_pass_without_a_contribution(title: str) -> None:
    assert check_title_or_contribution(title, None) is None


def test_first_grade_teacher_without_contribution_fails() -> None:
    assert "学校管理突出贡献" in say(check_title_or_contribution("一级教师", None))


def test_first_grade_teacher_with_a_contribution_passes() -> None:
    assert check_title_or_contribution("一级教师", LONG_ENOUGH) is None


@pytest.mark.parametrize("blank", ["", "   ", "\n\t\u3000 "])
def test_whitespace_only_contribution_fails(blank: str) -> None:
    assert check_title_or_contribution("一级教师", blank) is not None


def test_contribution_one_character_short_fails_even_when_padded_with_spaces() -> None:
    short = "突" * 19
    assert "19 字" in say(check_title_or_contribution("一级教师", short + "      "))
    assert check_title_or_contribution("一级教师", short + "出") is None


def test_eligibility_keys_each_failed_hard_rule_by_its_field() -> None:
    values = {
        "position": "副校长",
        "head_since": D(2024, 9, 1),
        "title": "一级教师",
        "contribution": "",
    }
    assert set(eligibility(values, deadline=DEADLINE)) == {"position", "head_since", "contribution"}


def test_eligibility_points_at_the_title_when_none_was_chosen() -> None:
    values = {"position": "正职校长", "head_since": D(2020, 9, 1), "title": None}
    assert set(eligibility(values, deadline=DEADLINE)) == {"title"}


def test_eligible_nominee_has_no_eligibility_problems() -> None:
    values = {"position": "党组织书记", "head_since": D(2023, 3, 31), "title": "高级教师"}
    assert eligibility(values, deadline=DEADLINE) == {}


# --- mobile -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone", ["13812345678", "19912345678", "138 1234 5678", "138-1234-5678", None, ""]
)
def test_mainland_mobiles_pass(phone: str | None) -> None:
    assert check_mobile(phone) is None


@pytest.mark.parametrize(
    "phone", ["12812345678", "1381234567", "138123456789", "0571-88888888", "1381234567a"]
)
def test_other_numbers_fail(phone: str) -> None:
    assert check_mobile(phone) is not None


# --- ID number (GB 11643) ---------------------------------------------------------------------


def test_published_sample_id_passes() -> None:
    assert check_id_number("11010519491231002X", D(1949, 12, 31)) is None


@given(valid_ids)
def test_ids_with_a_computed_check_digit_pass(id_number: str) -> None:
    assert check_id_number(id_number) is None
    assert check_id_number(id_number.lower()) is None


@given(valid_ids, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_character_change_fails(id_number: str, position: int, new: str) -> None:
    if position < 17 and new == "X":
        new = "0"
    if id_number[position] == new:
        return
    changed = id_number[:position] + new + id_number[position + 1 :]
    assert check_id_number(changed) is not None


def test_valid_checksum_with_an_impossible_birth_date_fails() -> None:
    id_number = id_with_check_digit("33010619990230123")
    assert "19990230" in say(check_id_number(id_number))


def test_birth_date_differing_from_the_id_fails() -> None:
    problem = check_id_number(make_id(D(1978, 6, 18)), D(1978, 6, 19))
    assert "1978-06-18" in say(problem)


def test_birth_date_matching_the_id_passes() -> None:
    assert check_id_number(make_id(D(1978, 6, 18)), D(1978, 6, 18)) is None


@pytest.mark.parametrize("id_number", ["330106780618123", "3301061978061812", "33010619780618123Y"])
def test_wrong_length_or_characters_fail(id_number: str) -> None:
    assert check_id_number(id_number) is not None


def test_missing_id_number_is_left_to_the_schema() -> None:
    assert check_id_number(None) is None


# --- plausible dates --------------------------------------------------------------------------


@pytest.mark.parametrize("born", [D(2001, 3, 31), D(1960, 4, 1)])
def test_ages_25_and_65_at_the_deadline_pass(born: dt.date) -> None:
    assert check_dates({"birth_date": born}, DEADLINE, TODAY) == {}


@pytest.mark.parametrize("born", [D(2001, 4, 1), D(1960, 3, 31)])
def test_ages_24_and_66_at_the_deadline_fail(born: dt.date) -> None:
    assert set(check_dates({"birth_date": born}, DEADLINE, TODAY)) == {"birth_date"}


def test_birth_date_in_the_future_fails() -> None:
    assert set(check_dates({"birth_date": D(2027, 1, 1)}, DEADLINE, TODAY)) == {"birth_date"}


def test_head_post_before_the_20th_birthday_fails_and_on_it_passes() -> None:
    born = D(1980, 5, 10)
    assert "head_since" in check_dates(
        {"birth_date": born, "head_since": D(2000, 5, 9)}, DEADLINE, TODAY
    )
    assert check_dates({"birth_date": born, "head_since": D(2000, 5, 10)}, DEADLINE, TODAY) == {}


def test_head_post_after_today_fails() -> None:
    assert set(check_dates({"head_since": D(2026, 3, 21)}, DEADLINE, TODAY)) == {"head_since"}


def test_head_post_after_the_deadline_fails_even_if_before_today() -> None:
    assert set(check_dates({"head_since": D(2026, 4, 2)}, DEADLINE, D(2026, 4, 10))) == {
        "head_since"
    }


def test_declaration_signed_tomorrow_fails_and_today_passes() -> None:
    assert set(check_dates({"declared_on": TODAY + dt.timedelta(days=1)}, DEADLINE, TODAY)) == {
        "declared_on"
    }
    assert check_dates({"declared_on": TODAY}, DEADLINE, TODAY) == {}


def test_values_that_are_not_dates_are_left_to_the_type_check() -> None:
    assert check_dates({"birth_date": "去年", "head_since": None}, DEADLINE, TODAY) == {}


# --- duplicates -------------------------------------------------------------------------------

ID_A = make_id(D(1978, 6, 18))
ID_B = make_id(D(1978, 6, 18), seq=456)


def person(**extra: Any) -> dict[str, Any]:
    return {"name": "王丽", "birth_date": D(1978, 6, 18), "school": "杭州市文一街小学", **extra}


def nomination(nid: str, cohort: str = "C2", **extra: Any) -> dict[str, Any]:
    return {
        "id": nid,
        "cohort": cohort,
        "district": "西湖区",
        "status": "已盖章",
        "voided": False,
        **person(**extra),
    }


def test_same_id_number_in_the_same_cohort_is_a_duplicate() -> None:
    found = find_duplicates(
        person(id_number=ID_A, name="王莉"), [nomination("N1", id_number=ID_A)], [], cohort="C2"
    )
    assert len(found) == 1 and "N1" in say(found[0])


def test_same_name_and_birth_date_without_id_is_a_duplicate() -> None:
    assert len(find_duplicates(person(), [nomination("N1", id_number=ID_A)], [], cohort="C2")) == 1


def test_different_id_numbers_are_different_people_despite_same_name_and_birth() -> None:
    assert (
        find_duplicates(person(id_number=ID_B), [nomination("N1", id_number=ID_A)], [], cohort="C2")
        == []
    )


def test_same_name_and_birth_at_different_schools_are_different_people() -> None:
    assert (
        find_duplicates(person(school="杭州市学军小学"), [nomination("N1")], [], cohort="C2") == []
    )


def test_nomination_in_another_cohort_is_not_a_duplicate() -> None:
    assert find_duplicates(person(), [nomination("N1", cohort="C1")], [], cohort="C2") == []


def test_voided_nomination_is_not_a_duplicate() -> None:
    assert find_duplicates(person(), [nomination("N1", voided=True)], [], cohort="C2") == []


def test_a_nomination_is_not_its_own_duplicate() -> None:
    assert find_duplicates(person(), [nomination("N1")], [], cohort="C2", exclude_id="N1") == []


def test_returned_nomination_still_counts_as_a_duplicate() -> None:
    assert len(find_duplicates(person(), [nomination("N1", status="已退回")], [], cohort="C2")) == 1


def test_trainee_of_an_earlier_cohort_is_found_through_their_nomination() -> None:
    old = nomination("N0", cohort="C1", id_number=ID_A)
    trainee = {"id": "T1", "nomination": "N0", "cohort": "C1", "name": "王丽"}
    found = find_duplicates(person(id_number=ID_A), [old], [trainee], cohort="C2")
    assert len(found) == 1 and "C1" in say(found[0]) and "T1" in say(found[0])


def test_trainee_with_a_different_id_number_is_someone_else() -> None:
    old = nomination("N0", cohort="C1", id_number=ID_A)
    trainee = {"id": "T1", "nomination": "N0", "cohort": "C1", "name": "王丽"}
    assert find_duplicates(person(id_number=ID_B), [old], [trainee], cohort="C2") == []


def test_trainee_of_this_cohort_is_not_reported_twice() -> None:
    nom = nomination("N1")
    trainee = {"id": "T1", "nomination": "N1", "cohort": "C2", "name": "王丽"}
    assert len(find_duplicates(person(), [nom], [trainee], cohort="C2")) == 1


def test_trainee_known_only_by_name_is_not_enough_for_a_duplicate() -> None:
    trainee = {"id": "T1", "nomination": "N-missing", "cohort": "C1", "name": "王丽"}
    assert find_duplicates(person(), [], [trainee], cohort="C2") == []


# --- everything together ----------------------------------------------------------------------


def good_values(**extra: Any) -> dict[str, Any]:
    return {
        "name": "王丽",
        "birth_date": D(1978, 6, 18),
        "id_number": ID_A,
        "phone": "13812345678",
        "school": "杭州市文一街小学",
        "position": "正职校长",
        "head_since": D(2019, 9, 1),
        "title": "高级教师",
        "declared_on": D(2026, 3, 1),
        **extra,
    }


def validate(
    values: dict[str, Any], nominations: list[dict[str, Any]] | None = None, **kw: Any
) -> dict[str, Problem]:
    return validate_nomination(
        values,
        deadline=DEADLINE,
        today=TODAY,
        nominations=nominations or [],
        trainees=[],
        cohort="C2",
        **kw,
    )


def test_a_sound_nomination_has_no_problems() -> None:
    assert validate(good_values()) == {}


def test_every_problem_is_keyed_by_the_field_to_fix() -> None:
    values = good_values(
        phone="12345", id_number=ID_B, birth_date=D(1978, 6, 19), position="副校长"
    )
    assert set(validate(values)) == {"phone", "id_number", "position"}


def test_duplicate_is_reported_under_its_own_key_but_not_against_itself() -> None:
    others = [nomination("N1", id_number=ID_A)]
    assert set(validate(good_values(), others)) == {"_duplicate"}
    assert validate(good_values(), others, exclude_id="N1") == {}


def test_implausible_head_since_is_reported_instead_of_the_tenure_rule() -> None:
    problems = validate(good_values(head_since=D(2026, 3, 25)))
    assert "今天之后" in say(problems["head_since"])
