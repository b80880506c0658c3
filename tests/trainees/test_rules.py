"""The status transitions and the elimination checks, as plain functions (no Flask)."""

from __future__ import annotations

import pytest

from blueprints.trainees import rules

GROUNDS = (
    "未经同意不参加培训",
    "累计缺勤超过五分之一",
    "未完成规定学习任务或考核不合格",
    "其他不适宜继续培训的情形",
)


@pytest.mark.parametrize(
    ("current", "target"),
    [("在训", "预警"), ("预警", "在训"), ("在训", "结业"), ("预警", "未结业"), ("未结业", "结业")],
)
def test_ordinary_transitions_are_allowed_with_a_reason(current, target):
    assert rules.transition_problem(current, target, "依据") is None


def test_a_change_without_a_reason_is_refused():
    assert rules.transition_problem("在训", "预警", "  ") is not None


def test_elimination_is_not_an_ordinary_change():
    assert rules.transition_problem("在训", "淘汰", "缺勤") is not None
    assert "淘汰" not in rules.allowed_targets("在训")


def test_an_eliminated_trainee_changes_only_through_reversal():
    assert rules.transition_problem("淘汰", "在训", "复核") is not None
    assert rules.allowed_targets("淘汰") == []
    assert rules.transition_problem("淘汰", "在训", "复核", reversal=True) is None


def test_elimination_decision_needs_an_active_trainee():
    assert rules.transition_problem("预警", "淘汰", "缺勤", elimination=True) is None
    assert rules.transition_problem("结业", "淘汰", "缺勤", elimination=True) is not None


def test_reversal_goes_back_only_to_an_active_status():
    assert rules.transition_problem("淘汰", "结业", "复核", reversal=True) is not None


def test_setting_the_same_status_again_is_refused():
    assert rules.transition_problem("预警", "预警", "再次预警") is not None


def test_a_status_typed_wrongly_in_the_sheet_can_be_put_right():
    assert rules.allowed_targets("在读") == ["在训", "预警", "结业", "未结业"]


def test_proposal_needs_one_of_the_four_grounds_and_evidence():
    assert rules.proposal_problem("在训", "迟到", "依据", GROUNDS, 0) is not None
    assert rules.proposal_problem("在训", GROUNDS[1], " ", GROUNDS, 0) is not None
    assert rules.proposal_problem("在训", GROUNDS[1], "缺勤 58 学时", GROUNDS, 0) is None


def test_a_second_open_proposal_is_refused():
    assert rules.proposal_problem("在训", GROUNDS[0], "依据", GROUNDS, 1) is not None


def test_a_graduated_trainee_cannot_be_proposed():
    assert rules.proposal_problem("结业", GROUNDS[0], "依据", GROUNDS, 0) is not None


def test_dropping_a_proposal_needs_a_note_and_deciding_twice_is_refused():
    assert rules.decision_problem("待审定", "drop", "", "在训") is not None
    assert rules.decision_problem("待审定", "drop", "情况不属实", "在训") is None
    assert rules.decision_problem("已淘汰", "confirm", "", "在训") is not None


def test_only_a_confirmed_elimination_can_be_reversed():
    assert rules.reversal_problem("不予淘汰", "复核", "在训") is not None
    assert rules.reversal_problem("已淘汰", "复核", "淘汰") is None
    assert rules.reversal_problem("已淘汰", "", "淘汰") is not None


def test_reversal_restores_the_status_before_the_elimination():
    assert rules.restored_status({"previous_status": "预警"}) == "预警"
    assert rules.restored_status({"previous_status": None}) == "在训"


def test_status_counts_list_every_status():
    counts = rules.status_counts([{"status": "在训"}, {"status": "在训"}, {"status": "乱填"}])
    assert counts == {"在训": 2, "预警": 0, "淘汰": 0, "结业": 0, "未结业": 0}
