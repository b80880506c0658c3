"""The shipped ``sheets_schema/*.toml`` files: they load, say what DOMAIN.md needs, and a typo in
any of them stops the loader with a message naming the file and the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mingxiao.sheetdb.schema import SchemaError, SchemaSet, default_schema_dir, load_schemas

EXPECTED_SHEETS = {
    "nominations",
    "nomination_quotas",
    "nomination_invitations",
    "score_weights",
    "publicity_objections",
    "expert_scores",
    "cohorts",
    "trainees",
    "trainee_status_history",
    "mentors",
    "mentor_assignments",
    "mentoring_logs",
    "workshops",
    "workshop_members",
    "workshop_activities",
    "curriculum_modules",
    "sessions",
    "attendance",
    "deliverables",
    "research_projects",
    "presentations",
    "pairings",
    "development_plans",
    "assessments",
    "certificates",
    "expenses",
    "users",
    "choices",
}
DISTRICTS = (
    "上城区",
    "拱墅区",
    "西湖区",
    "滨江区",
    "萧山区",
    "余杭区",
    "临平区",
    "钱塘区",
    "富阳区",
    "临安区",
    "桐庐县",
    "淳安县",
    "建德市",
    "市直属学校",
)
SECRET_WORDS = ("password", "passwd", "hash", "secret", "token", "salt", "密码", "口令", "密钥")


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return load_schemas(default_schema_dir())


def test_every_required_sheet_is_declared(schemas: SchemaSet) -> None:
    assert set(schemas.sheets) == EXPECTED_SHEETS


def test_reporting_units_are_the_fourteen_of_the_plan(schemas: SchemaSet) -> None:
    assert schemas.choice_lists["districts"] == DISTRICTS


def test_curriculum_seed_is_the_nine_modules_of_270_hours(schemas: SchemaSet) -> None:
    seed = schemas["curriculum_modules"].seed
    assert [row["hours"] for row in seed] == [20, 20, 50, 40, 50, 30, 20, 20, 20]
    assert sum(row["hours"] for row in seed) == 270


def test_curriculum_seed_rows_use_the_three_series(schemas: SchemaSet) -> None:
    series = [row["series"] for row in schemas["curriculum_modules"].seed]
    assert series == ["通识素养"] * 2 + ["管理实务"] * 4 + ["研究展示"] * 3


def test_curriculum_seed_has_no_tracked_change_residue(schemas: SchemaSet) -> None:
    text = "".join(row["path"] + row["topic"] for row in schemas["curriculum_modules"].seed)
    assert "培训人选培养人选" not in text


def test_users_sheet_has_no_password_like_column(schemas: SchemaSet) -> None:
    users = schemas["users"]
    names = [c.key.lower() for c in users.columns] + [c.header for c in users.columns]
    assert not [n for n in names if any(word in n for word in SECRET_WORDS)]


def test_every_ref_column_points_to_a_declared_sheet(schemas: SchemaSet) -> None:
    refs = [(s.key, c.key, c.ref) for s in schemas for c in s.columns if c.type == "ref"]
    assert refs
    assert [r for r in refs if r[2] not in schemas.sheets] == []


def test_every_enum_column_has_choices(schemas: SchemaSet) -> None:
    empty = [
        (s.key, c.key)
        for s in schemas
        for c in s.columns
        if c.type == "enum" and not schemas.choices_for(c)
    ]
    assert empty == []


def test_every_user_column_has_a_chinese_help_note(schemas: SchemaSet) -> None:
    missing = [(s.key, c.key) for s in schemas for c in s.user_columns if not c.help.strip()]
    assert missing == []


def test_every_sheet_has_a_description(schemas: SchemaSet) -> None:
    assert [s.key for s in schemas if not s.description.strip()] == []


@pytest.mark.parametrize("key", ["mentors", "users", "cohorts", "curriculum_modules", "choices"])
def test_master_data_ids_carry_no_year(schemas: SchemaSet, key: str) -> None:
    assert schemas[key].id_year is False


def test_choices_sheet_has_the_columns_the_engine_reads(schemas: SchemaSet) -> None:
    assert {"list_name", "value", "sort"} <= set(schemas["choices"].keys)


def test_nomination_records_every_eligibility_fact(schemas: SchemaSet) -> None:
    keys = set(schemas["nominations"].keys)
    assert {
        "position",
        "head_since",
        "title",
        "contribution",
        "cohort",
        "district",
        "route",
    } <= keys
    assert {
        f"cond_{k}"
        for k in ("political", "management", "integrity", "moral", "development", "reputation")
    } <= keys
    declarations = {
        "no_safety_accident",
        "no_irregular_conduct",
        "no_ideology_issue",
        "no_opinion_incident",
    }
    assert {schemas["nominations"].column(k).type for k in declarations} == {"bool"}


def test_position_choices_include_posts_the_rule_must_reject(schemas: SchemaSet) -> None:
    positions = schemas.choice_lists["positions"]
    assert {"正职校长", "党组织书记"} <= set(positions)
    assert "副校长" in positions


# -- broken files -----------------------------------------------------------------------


def _copy_schemas(tmp_path: Path) -> Path:
    target = tmp_path / "sheets_schema"
    shutil.copytree(default_schema_dir(), target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


BROKEN = [
    # (file, text to replace, replacement, words the error must contain)
    ("nominations.toml", 'type = "id_card"', 'type = "idcard"', ["id_number", "type"]),
    ("trainees.toml", 'key = "school"\n', 'key = "school"\nwidth = 20\n', ["columns", "width"]),
    (
        "mentors.toml",
        'header = "研究专长"',
        'header = "职称职务"',
        ["expertise", "header", "职称职务"],
    ),
    (
        "workshops.toml",
        'choices = "districts"',
        'choices = "district_list"',
        ["district", "choices", "district_list"],
    ),
    ("cohorts.toml", 'title = "期次"', 'title = "期次"\ncolour = "red"', ["colour"]),
    ("deliverables.toml", 'ref = "trainees"', 'ref = "trainee"', ["trainee", "ref"]),
    ("expenses.toml", 'title = "经费"', 'title = "经费', ["TOML"]),
]


@pytest.mark.parametrize(
    ("filename", "old", "new", "words"), BROKEN, ids=[b[0] + ":" + b[3][-1] for b in BROKEN]
)
def test_broken_schema_file_is_refused_naming_file_and_key(
    tmp_path: Path, filename: str, old: str, new: str, words: list[str]
) -> None:
    directory = _copy_schemas(tmp_path)
    _edit(directory / filename, old, new)
    with pytest.raises(SchemaError) as excinfo:
        load_schemas(directory)
    message = str(excinfo.value)
    assert filename in message
    for word in words:
        assert word in message


def test_unbroken_copy_loads(tmp_path: Path) -> None:
    """Guards the test above: the copied directory is valid until a test breaks it."""
    assert set(load_schemas(_copy_schemas(tmp_path)).sheets) == EXPECTED_SHEETS
