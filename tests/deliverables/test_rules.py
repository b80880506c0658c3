"""Completion rules as plain functions: each threshold boundary, versions, research, talks, plan."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from blueprints.deliverables import rules
from mingxiao.sheetdb import load_schemas
from mingxiao.sheetdb.schema import default_schema_dir

SCHEMAS = load_schemas(default_schema_dir())
REQS = rules.load_requirements(
    kinds=SCHEMAS.choice_lists["deliverable_kinds"], levels=SCHEMAS.choice_lists["levels"]
)


def item(kind: str, n: int = 1, *, chars: int = 3000, status: str = rules.PASSED, **kw: Any):
    return {
        "id": kw.pop("id", f"D{n:04d}"),
        "trainee": kw.pop("trainee", "T1"),
        "kind": kind,
        "title": kw.pop("title", f"{kind}{n}"),
        "char_count": chars,
        "version": kw.pop("version", 1),
        "review_status": status,
        "submitted_at": kw.pop("submitted_at", dt.datetime(2025, 1, 1)),
        **kw,
    }


def line(kind: str, rows: list[dict[str, Any]]) -> rules.Requirement:
    rule = REQS.rule(kind)
    assert rule is not None
    return rules.kind_requirement(rule, rows)


def test_thresholds_are_read_from_the_toml_file():
    assert [(r.kind, r.min_count, r.min_chars) for r in REQS.kinds] == [
        ("学习考察日志", 10, None),
        ("课题结题报告", 1, 10000),
        ("研修报告", 1, 2000),
        ("交流报告", 3, None),
        ("论文专著", 1, None),
    ]


def test_a_threshold_file_naming_an_unknown_kind_is_refused(tmp_path: Path):
    bad = tmp_path / "req.toml"
    bad.write_text('[[kinds]]\nkind = "读书笔记"\nmin_count = 2\n', encoding="utf-8")
    with pytest.raises(rules.RequirementsError, match="读书笔记"):
        rules.load_requirements(bad, kinds=SCHEMAS.choice_lists["deliverable_kinds"])


@pytest.mark.parametrize(("count", "met"), [(9, False), (10, True)])
def test_logs_need_ten_passed(count: int, met: bool):
    assert line("学习考察日志", [item("学习考察日志", i) for i in range(count)]).met is met


@pytest.mark.parametrize(("count", "met"), [(2, False), (3, True)])
def test_exchange_reports_need_three_passed(count: int, met: bool):
    assert line("交流报告", [item("交流报告", i) for i in range(count)]).met is met


@pytest.mark.parametrize(("chars", "met"), [(9999, False), (10000, True)])
def test_research_report_needs_ten_thousand_characters(chars: int, met: bool):
    assert line("课题结题报告", [item("课题结题报告", chars=chars)]).met is met


@pytest.mark.parametrize(("chars", "met"), [(1999, False), (2000, True)])
def test_study_report_needs_two_thousand_characters(chars: int, met: bool):
    assert line("研修报告", [item("研修报告", chars=chars)]).met is met


def test_a_short_report_says_how_short_it_is():
    result = line("课题结题报告", [item("课题结题报告", chars=9999)])
    template, params = result.reason
    assert template.format(**params) == "已通过的课题结题报告字数为 9,999，少于 10,000 字的要求。"


def test_one_paper_or_monograph_is_enough():
    assert line("论文专著", [item("论文专著", chars=0)]).met


def test_pending_and_returned_deliverables_do_not_count_yet():
    rows = [item("交流报告", 1), item("交流报告", 2), item("交流报告", 3, status=rules.PENDING)]
    result = line("交流报告", rows)
    assert not result.met and result.pending == 1
    assert "待导师审阅" in result.reason[0]


def test_nothing_submitted_says_so():
    result = line("研修报告", [])
    assert not result.met and result.reason[0].startswith("尚未提交")


def test_only_the_latest_version_of_a_deliverable_counts():
    returned = item("研修报告", 1, version=1, status=rules.RETURNED, chars=1500, id="D1")
    passed = item("研修报告", 1, version=2, status=rules.PASSED, chars=2400, id="D2")
    assert line("研修报告", [returned, passed]).met
    reopened = item("研修报告", 1, version=3, status=rules.PENDING, chars=2500, id="D3")
    assert not line("研修报告", [returned, passed, reopened]).met


def test_voided_rows_do_not_count():
    class Voided(dict):
        voided = True

    assert not line("论文专著", [Voided(item("论文专著"))]).met


def test_versions_are_listed_newest_first_and_the_next_version_follows_the_highest():
    rows = [item("研修报告", 1, version=v, id=f"D{v}") for v in (1, 3, 2)]
    assert [r["version"] for r in rules.versions_of(rows, rows[0])] == [3, 2, 1]
    assert rules.next_version(rows, rows[0]) == 4
    assert rules.is_latest(rows, rows[1]) and not rules.is_latest(rows, rows[0])


def test_only_a_returned_latest_version_can_be_resubmitted():
    returned = item("研修报告", 1, status=rules.RETURNED)
    assert rules.resubmit_problem([returned], returned) is None
    passed = item("研修报告", 1, status=rules.PASSED)
    assert rules.resubmit_problem([passed], passed) is not None


def test_returning_needs_a_comment_and_passing_does_not():
    pending = item("研修报告", 1, status=rules.PENDING)
    assert rules.review_problem([pending], pending, rules.RETURNED, "  ") is not None
    assert rules.review_problem([pending], pending, rules.RETURNED, "请补充数据") is None
    assert rules.review_problem([pending], pending, rules.PASSED, "") is None


def test_a_reviewed_deliverable_cannot_be_reviewed_again():
    passed = item("研修报告", 1, status=rules.PASSED)
    assert rules.review_problem([passed], passed, rules.RETURNED, "改") is not None


def test_a_file_without_text_needs_a_typed_count():
    assert rules.manual_count_problem(False, None, "") is not None
    assert rules.manual_count_problem(True, None, "") is None


def test_a_typed_count_needs_a_reason():
    assert rules.manual_count_problem(False, 12000, "") is not None
    assert rules.manual_count_problem(False, 12000, "扫描件，按原稿统计") is None


def test_the_same_title_twice_is_refused_for_a_new_deliverable():
    rows = [item("交流报告", 1, title="办学思想")]
    assert rules.duplicate_title_problem(rows, "T1", "交流报告", "办学思想") is not None
    assert rules.duplicate_title_problem(rows, "T1", "交流报告", "课程改革") is None


@pytest.mark.parametrize(
    ("level", "ok"),
    [
        ("区县级", False),
        ("市级", True),
        ("省级", True),
        ("国家级", True),
        ("国际", True),
        (None, False),
    ],
)
def test_city_level_or_above(level: str | None, ok: bool):
    assert rules.is_city_or_above(level) is ok


def project(**kw: Any) -> dict[str, Any]:
    return {
        "level": "市级",
        "status": "已结题",
        "outcome_type": "获奖",
        "outcome_level": "市级",
        **kw,
    }


def test_research_met_with_a_city_project_and_a_city_award():
    assert rules.research_requirement(REQS, [project()]).met


def test_research_published_outcome_counts_at_any_level():
    assert rules.research_requirement(REQS, [project(outcome_type="发表", outcome_level=None)]).met


@pytest.mark.parametrize(
    "changes",
    [
        {"level": "区县级"},
        {"status": "申报中"},
        {"status": "已终止"},
        {"outcome_level": "区县级"},
        {"outcome_type": "无"},
    ],
)
def test_research_not_met(changes: dict[str, Any]):
    assert not rules.research_requirement(REQS, [project(**changes)]).met


@pytest.mark.parametrize(("city", "met"), [(2, False), (3, True)])
def test_presentations_need_three_at_city_level_or_above(city: int, met: bool):
    talks = [{"level": "市级"}] * city + [{"level": "区县级"}] * 4
    result = rules.presentation_requirement(REQS, talks)
    assert result.met is met and result.count == city


def test_plan_needs_sign_off_and_self_assessment():
    assert not rules.plan_requirement(None).met
    assert not rules.plan_requirement({"goals": "g", "mentor_signoff": False}).met
    assert not rules.plan_requirement({"goals": "g", "mentor_signoff": True}).met
    plan = {"goals": "g", "mentor_signoff": True, "self_assessment": "基本达成"}
    assert rules.plan_requirement(plan).met


def test_changing_goals_of_a_signed_plan_needs_a_new_sign_off():
    signed = {"goals": "目标", "milestones": "安排", "mentor_signoff": True}
    assert rules.plan_changes_need_signoff(signed, {"goals": "新目标", "milestones": "安排"})
    assert not rules.plan_changes_need_signoff(signed, {"goals": "目标", "progress_notes": "新"})
    assert not rules.plan_changes_need_signoff({**signed, "mentor_signoff": False}, {"goals": "x"})
