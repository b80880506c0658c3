"""The demo data generator: the counts the README promises, and data the engine accepts as is
(valid types, enums within their lists, refs that resolve, unique ids, real ID numbers)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from mingxiao.sheetdb import open_database
from mingxiao.sheetdb.demo import DEMO_LOGINS, generate
from mingxiao.sheetdb.schema import SchemaSet, default_schema_dir, load_schemas
from mingxiao.sheetdb.types import InputError, coerce_input, id_card_checksum_ok, valid_id_card

Data = dict[str, list[dict[str, Any]]]
SCALES = (0.1, 1.0)
ABSENCE_LINE = 270 / 5


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return load_schemas(default_schema_dir())


@pytest.fixture(scope="module")
def datasets(schemas: SchemaSet) -> dict[float, Data]:
    return {scale: generate(schemas, scale=scale) for scale in SCALES}


@pytest.fixture(params=SCALES, ids=lambda s: f"scale{s:g}")
def data(request: pytest.FixtureRequest, datasets: dict[float, Data]) -> Data:
    return datasets[request.param]


@pytest.fixture
def demo(datasets: dict[float, Data]) -> Data:
    """The scale-1 demo."""
    return datasets[1.0]


def by_id(data: Data, key: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in data[key]}


def absence_by_trainee(data: Data) -> dict[str, float]:
    hours = {s["id"]: float(s["hours"]) for s in data["sessions"]}
    absent: dict[str, float] = defaultdict(float)
    for a in data["attendance"]:
        absent[a["trainee"]] += hours[a["session"]] - float(a["hours_attended"])
    return absent


# -- shape --------------------------------------------------------------------------------


def test_every_sheet_gets_rows(data: Data, schemas: SchemaSet) -> None:
    assert set(data) == set(schemas.sheets)
    assert [key for key, rows in data.items() if not rows] == []


def test_scale_one_counts(demo: Data) -> None:
    counts = {key: len(rows) for key, rows in demo.items()}
    assert counts["cohorts"] == 3
    assert counts["nominations"] == 400
    assert counts["trainees"] == 150
    assert counts["mentors"] == 30
    assert counts["curriculum_modules"] == 9
    assert counts["workshops"] == 150
    assert counts["development_plans"] == 150
    assert counts["users"] == len(DEMO_LOGINS) == 8


def test_scale_point_one_is_small_but_complete(datasets: dict[float, Data]) -> None:
    small = datasets[0.1]
    assert len(small["cohorts"]) == 3
    assert len(small["trainees"]) == 15
    assert len(small["nominations"]) == 40
    assert len(small["users"]) == len(DEMO_LOGINS) == 8


def test_rows_grow_with_scale(schemas: SchemaSet, demo: Data) -> None:
    big = generate(schemas, scale=3)
    for key in ("nominations", "trainees", "attendance", "expert_scores", "workshop_members"):
        assert 2.5 * len(demo[key]) <= len(big[key]) <= 3.5 * len(demo[key]), key


def test_fifty_trainees_per_cohort(demo: Data) -> None:
    assert sorted(Counter(t["cohort"] for t in demo["trainees"]).values()) == [50, 50, 50]


def test_nominations_come_from_every_reporting_unit(data: Data, schemas: SchemaSet) -> None:
    assert {n["district"] for n in data["nominations"]} == set(schemas.choice_lists["districts"])


def test_nominations_show_every_workflow_status(data: Data, schemas: SchemaSet) -> None:
    assert {n["status"] for n in data["nominations"]} == set(
        schemas.choice_lists["nomination_statuses"]
    )


def test_demo_district_users_have_nominations_to_review(demo: Data) -> None:
    for district in ("上城区", "西湖区"):
        statuses = {n["status"] for n in demo["nominations"] if n["district"] == district}
        assert len(statuses) >= 4, district


def test_every_trainee_comes_from_an_admitted_nomination_of_the_same_cohort(data: Data) -> None:
    noms = by_id(data, "nominations")
    assert all(noms[t["nomination"]]["status"] == "已录取" for t in data["trainees"])
    assert all(noms[t["nomination"]]["cohort"] == t["cohort"] for t in data["trainees"])
    admitted = [n["id"] for n in data["nominations"] if n["status"] == "已录取"]
    assert sorted(admitted) == sorted(t["nomination"] for t in data["trainees"])


def test_admitted_nominations_meet_the_hard_rules(data: Data) -> None:
    cohorts = by_id(data, "cohorts")
    for n in (n for n in data["nominations"] if n["status"] == "已录取"):
        deadline = cohorts[n["cohort"]]["nomination_deadline"]
        assert n["position"] in ("正职校长", "党组织书记")
        assert n["head_since"] <= deadline.replace(year=deadline.year - 3)
        assert n["title"] in ("高级教师", "正高级教师") or n["contribution"]


def test_returned_nominations_say_why(data: Data) -> None:
    assert all(n["return_reason"] for n in data["nominations"] if n["status"] == "已退回")


def test_score_total_is_the_mean_of_each_experts_weighted_total(
    demo: Data, schemas: SchemaSet
) -> None:
    weights = {r["criterion"]: float(r["weight"]) for r in schemas["score_weights"].seed}
    per_expert: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for s in demo["expert_scores"]:
        per_expert[s["nomination"]][s["expert_email"]] += weights[s["criterion"]] * s["score"]
    scored = [n for n in demo["nominations"] if n["score_total"] is not None]
    assert scored
    total_weight = sum(weights.values())
    for n in scored:
        totals = [t / total_weight for t in per_expert[n["id"]].values()]
        assert n["score_total"] == pytest.approx(sum(totals) / len(totals), abs=0.01)


def test_curriculum_rows_are_the_schema_seed_with_engine_ids(
    data: Data, schemas: SchemaSet
) -> None:
    """The engine seeds the modules itself; sessions must point at the ids it will assign."""
    rows = data["curriculum_modules"]
    assert [r["id"] for r in rows] == [f"CM{i:04d}" for i in range(1, 10)]
    for row, seed in zip(rows, schemas["curriculum_modules"].seed, strict=True):
        assert {k: row[k] for k in seed} == seed


def test_each_cohort_schedules_the_full_270_hours(data: Data) -> None:
    hours: dict[str, float] = defaultdict(float)
    for s in data["sessions"]:
        hours[s["cohort"]] += s["hours"]
    assert sorted(hours.values()) == [270, 270, 270]


def test_attendance_covers_every_trainee_at_every_session_held(data: Data) -> None:
    """Eliminated trainees drop off the roll after elimination; everyone else has every session."""
    recorded = {a["session"] for a in data["attendance"]}
    today = max(s["date"] for s in data["sessions"] if s["id"] in recorded)
    held: dict[str, set[str]] = defaultdict(set)
    for s in data["sessions"]:
        if s["date"] <= today:
            held[s["cohort"]].add(s["id"])
    seen: dict[str, list[str]] = defaultdict(list)
    for a in data["attendance"]:
        seen[a["trainee"]].append(a["session"])
    for t in data["trainees"]:
        sessions = seen[t["id"]]
        assert len(sessions) == len(set(sessions)), t["id"]
        if t["status"] != "淘汰":
            assert set(sessions) == held[t["cohort"]], t["id"]


def test_a_few_trainees_cross_the_absence_line(data: Data) -> None:
    absent = absence_by_trainee(data)
    crossing = [tid for tid, hours in absent.items() if hours > ABSENCE_LINE]
    assert 1 <= len(crossing) <= len(data["trainees"]) // 10 + 3


def test_eliminated_trainees_have_a_recorded_reason(data: Data) -> None:
    history = {(h["trainee"], h["to_status"]) for h in data["trainee_status_history"]}
    eliminated = [t for t in data["trainees"] if t["status"] == "淘汰"]
    assert eliminated
    assert all(t["status_reason"] and (t["id"], "淘汰") in history for t in eliminated)


def test_every_trainee_has_one_lead_mentor(data: Data) -> None:
    leads = Counter(a["trainee"] for a in data["mentor_assignments"] if a["role"] == "主导师")
    assert set(leads) == {t["id"] for t in data["trainees"]}
    assert set(leads.values()) == {1}


def test_certificates_only_for_cohort_one_graduates(data: Data) -> None:
    trainees = by_id(data, "trainees")
    first_cohort = data["cohorts"][0]["id"]
    certified = [trainees[c["trainee"]] for c in data["certificates"]]
    assert certified
    assert all(t["cohort"] == first_cohort and t["status"] == "结业" for t in certified)
    assert all(re.fullmatch(r"MXZ-\d{4}-1-\d{3}", c["number"]) for c in data["certificates"])


# -- the demo logins ------------------------------------------------------------------------


def test_demo_logins_are_the_users_sheet(data: Data) -> None:
    assert [(u["email"], u["role"]) for u in data["users"]] == [(e, r) for e, r, _ in DEMO_LOGINS]


def test_demo_mentor_is_the_first_mentor_with_at_least_three_trainees(data: Data) -> None:
    user = next(u for u in data["users"] if u["email"] == "mentor@demo.mingxiao.cn")
    assert user["mentor"] == data["mentors"][0]["id"]
    mine = {a["trainee"] for a in data["mentor_assignments"] if a["mentor"] == user["mentor"]}
    assert len(mine) >= 3


def test_second_demo_mentor_is_another_mentor(data: Data) -> None:
    user = next(u for u in data["users"] if u["email"] == "mentor2@demo.mingxiao.cn")
    assert user["mentor"] in by_id(data, "mentors")
    assert user["mentor"] != data["mentors"][0]["id"]


def test_demo_trainee_is_the_first_trainee_of_cohort_one(data: Data) -> None:
    user = next(u for u in data["users"] if u["email"] == "trainee@demo.mingxiao.cn")
    first = next(t for t in data["trainees"] if t["cohort"] == data["cohorts"][0]["id"])
    assert user["trainee"] == first["id"]


def test_demo_district_users_have_their_district(data: Data) -> None:
    districts = {u["email"]: u["district"] for u in data["users"] if u["role"] == "district"}
    assert districts == {
        "district.shangcheng@demo.mingxiao.cn": "上城区",
        "district.xihu@demo.mingxiao.cn": "西湖区",
    }


# -- validity against the schemas --------------------------------------------------------------


def test_ids_are_unique_and_in_engine_format(data: Data, schemas: SchemaSet) -> None:
    for schema in schemas:
        pattern = re.compile(
            rf"{schema.id_prefix}2026-\d{{4,}}"
            if schema.id_year
            else rf"{schema.id_prefix}\d{{4,}}"
        )
        ids = [r["id"] for r in data[schema.key]]
        assert len(ids) == len(set(ids)), schema.key
        assert [i for i in ids if not pattern.fullmatch(i)] == [], schema.key


def test_rows_hold_only_declared_columns(data: Data, schemas: SchemaSet) -> None:
    for schema in schemas:
        allowed = {c.key for c in schema.columns} - {"created_at", "updated_at", "voided"}
        extra = {k for row in data[schema.key] for k in row} - allowed
        assert extra == set(), schema.key


def test_refs_resolve(data: Data, schemas: SchemaSet) -> None:
    ids = {key: {r["id"] for r in rows} for key, rows in data.items()}
    dangling = [
        (schema.key, col.key, row[col.key])
        for schema in schemas
        for col in schema.columns
        if col.type == "ref"
        for row in data[schema.key]
        if row.get(col.key) is not None and row[col.key] not in ids[col.ref or ""]
    ]
    assert dangling == []


def test_enum_values_are_in_their_choices(data: Data, schemas: SchemaSet) -> None:
    bad = [
        (schema.key, col.key, row[col.key])
        for schema in schemas
        for col in schema.columns
        if col.type == "enum"
        for row in data[schema.key]
        if row.get(col.key) is not None and row[col.key] not in schemas.choices_for(col)
    ]
    assert bad == []


PY_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "long_text": (str,),
    "enum": (str,),
    "ref": (str,),
    "phone": (str,),
    "email": (str,),
    "id_card": (str,),
    "id": (str,),
    "int": (int,),
    "decimal": (int, float),
    "bool": (bool,),
    "datetime": (dt.datetime,),
    "date": (dt.date,),
}


def test_values_have_the_python_type_of_their_column(data: Data, schemas: SchemaSet) -> None:
    bad = []
    for schema in schemas:
        for col in schema.columns:
            for row in data[schema.key]:
                value = row.get(col.key)
                if value is None:
                    continue
                ok = isinstance(value, PY_TYPES[col.type])
                if col.type == "date":
                    ok = ok and not isinstance(value, dt.datetime)
                if col.type in ("int", "decimal"):
                    ok = ok and not isinstance(value, bool)
                if not ok:
                    bad.append((schema.key, col.key, value))
    assert bad[:5] == []


def test_every_row_passes_the_engine_input_validation(data: Data, schemas: SchemaSet) -> None:
    """What ``Table.insert`` would refuse: missing required values, bad phones, too long text…"""
    errors = []
    for schema in schemas:
        for row in data[schema.key]:
            for col in schema.user_columns:
                try:
                    coerce_input(col, row.get(col.key), schemas.choices_for(col))
                except InputError as exc:
                    errors.append((schema.key, row["id"], col.key, str(exc)))
    assert errors[:5] == []


def test_phones_are_mobile_numbers(data: Data) -> None:
    phones = [
        r["phone"]
        for key in ("nominations", "trainees", "mentors")
        for r in data[key]
        if r.get("phone")
    ]
    assert phones
    assert all(re.fullmatch(r"1[3-9]\d{9}", p) for p in phones)


def test_id_numbers_pass_the_checksum_and_match_birth_date_and_gender(data: Data) -> None:
    for n in data["nominations"]:
        number = n["id_number"]
        assert id_card_checksum_ok(number) and valid_id_card(number), number
        assert number[6:14] == n["birth_date"].strftime("%Y%m%d")
        assert (int(number[16]) % 2 == 1) == (n["gender"] == "男")


def test_id_numbers_are_unique(data: Data) -> None:
    numbers = [n["id_number"] for n in data["nominations"]]
    assert len(numbers) == len(set(numbers))


# -- determinism --------------------------------------------------------------------------------


def test_same_seed_gives_the_same_data(schemas: SchemaSet, datasets: dict[float, Data]) -> None:
    assert generate(schemas, scale=0.1) == datasets[0.1]


def test_another_seed_gives_other_data(schemas: SchemaSet, datasets: dict[float, Data]) -> None:
    other = generate(schemas, scale=0.1, seed=7)
    assert [n["name"] for n in other["nominations"]] != [
        n["name"] for n in datasets[0.1]["nominations"]
    ]


def test_year_moves_ids_and_dates(schemas: SchemaSet) -> None:
    later = generate(schemas, scale=0.1, year=2027)
    assert later["nominations"][0]["id"].startswith("N2027-")
    assert later["cohorts"][0]["start_date"].year == 2024


# -- through the real engine ---------------------------------------------------------------------


def test_demo_workbook_is_written_by_the_engine_without_health_problems(tmp_path: Path) -> None:
    """``sheets init --demo`` path: the engine validates every row, then reads the file back."""
    db = open_database(instance=tmp_path)
    try:
        counts = db.init(demo=True, scale=0.1)
        assert counts["trainees"] == 15
        assert [p.message for p in db.health()] == []
        assert db.table("sessions").all()[0]["module"] in {
            r.id for r in db.table("curriculum_modules").all()
        }
    finally:
        db.close()
