"""Trainee rules in plain functions (no Flask): status transitions and the elimination workflow.

Status (培养状态, DOMAIN §3 dynamic management)::

    在训 ⇄ 预警 → 淘汰 / 结业 / 未结业

- 在训 → 预警 (a warning) and 预警 → 在训 (the warning lifted);
- 在训 / 预警 → 结业 or 未结业 (the final assessment);
- 在训 / 预警 → 淘汰 only through the elimination workflow (proposed, then decided);
- 淘汰 → the status before it, only by reversing the elimination (with a reason);
- 结业 ⇄ 未结业, and back to 在训, as a correction of the assessment (with a reason).

Every change needs a reason and is appended to 学员状态变更. Problems are ``(msgid, params)``
pairs that the views translate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mingxiao.sheetdb.types import N_

Problem = tuple[str, dict[str, Any]]

IN_TRAINING = "在训"
WARNING = "预警"
ELIMINATED = "淘汰"
COMPLETED = "结业"
NOT_COMPLETED = "未结业"
STATUSES = (IN_TRAINING, WARNING, ELIMINATED, COMPLETED, NOT_COMPLETED)
ACTIVE = frozenset({IN_TRAINING, WARNING})

# from → the statuses a plain (non-elimination) change may go to
MANUAL_TRANSITIONS: dict[str, frozenset[str]] = {
    IN_TRAINING: frozenset({WARNING, COMPLETED, NOT_COMPLETED}),
    WARNING: frozenset({IN_TRAINING, COMPLETED, NOT_COMPLETED}),
    COMPLETED: frozenset({NOT_COMPLETED, IN_TRAINING}),
    NOT_COMPLETED: frozenset({COMPLETED, IN_TRAINING}),
    ELIMINATED: frozenset(),
}

# Elimination cases (淘汰审定)
PENDING = "待审定"
CONFIRMED = "已淘汰"
DROPPED = "不予淘汰"
REVERSED = "已撤销"
CASE_STATUSES = (PENDING, CONFIRMED, DROPPED, REVERSED)
CONFIRM = "confirm"
DROP = "drop"

REASON_MAX = 2000


def _reason_problem(reason: Any) -> Problem | None:
    text = "" if reason is None else str(reason).strip()
    if not text:
        return (N_("请写明变更原因：它会记入学员状态变更记录。"), {})
    if len(text) > REASON_MAX:
        return (N_("原因最多 {max} 个字，请精简。"), {"max": REASON_MAX})
    return None


def allowed_targets(current: Any) -> list[str]:
    """The statuses an ordinary status change may set from ``current`` (淘汰 never: it is the
    elimination workflow's)."""
    targets = MANUAL_TRANSITIONS.get(str(current or ""), frozenset())
    if not current or current not in STATUSES:
        # a status typed wrongly in the sheet: any ordinary status puts it right
        targets = frozenset({IN_TRAINING, WARNING, COMPLETED, NOT_COMPLETED})
    return [s for s in STATUSES if s in targets]


def transition_problem(
    current: Any, target: Any, reason: Any, *, elimination: bool = False, reversal: bool = False
) -> Problem | None:
    """Why ``current`` → ``target`` may not happen (None: it may).

    ``elimination``: the change is the decision of an elimination case (to 淘汰);
    ``reversal``: the change undoes an elimination (from 淘汰 back).
    """
    if target not in STATUSES:
        return (
            N_("“{status}”不是学员状态。请选择：在训、预警、淘汰、结业或未结业。"),
            {"status": target},
        )
    if target == current:
        return (N_("学员现在已经是“{status}”，不需要变更。"), {"status": target})
    problem = _reason_problem(reason)
    if problem is not None:
        return problem
    if elimination:
        if target != ELIMINATED:
            return (N_("淘汰审定只能把学员改为“淘汰”。"), {})
        if current not in ACTIVE:
            return (
                N_("只有“在训”或“预警”的学员可以淘汰；该学员现在是“{status}”。"),
                {"status": current or "—"},
            )
        return None
    if reversal:
        if current != ELIMINATED:
            return (N_("学员现在不是“淘汰”，没有可撤销的淘汰决定。"), {})
        if target not in ACTIVE:
            return (N_("撤销淘汰后学员只能回到“在训”或“预警”。"), {})
        return None
    if target == ELIMINATED:
        return (N_("淘汰须走淘汰审定：先提出淘汰（写明情形和依据），再审定。"), {})
    if current == ELIMINATED:
        return (N_("该学员已被淘汰。如淘汰有误，请在淘汰审定中撤销淘汰决定（须写原因）。"), {})
    if target not in allowed_targets(current):
        return (
            N_("学员状态不能从“{current}”改为“{target}”。"),
            {"current": current or "—", "target": target},
        )
    return None


def history_row(
    trainee_id: str,
    current: Any,
    target: str,
    reason: str,
    changed_by: str,
    changed_at: Any,
    ground: str | None = None,
) -> dict[str, Any]:
    """The 学员状态变更 row of one change."""
    return {
        "trainee": trainee_id,
        "from_status": current if current in STATUSES else None,
        "to_status": target,
        "ground": ground or None,
        "reason": str(reason).strip(),
        "changed_by": changed_by,
        "changed_at": changed_at,
    }


# --------------------------------------------------------------------------- elimination


def proposal_problem(
    trainee_status: Any, ground: Any, evidence: Any, grounds: Iterable[str], open_cases: int
) -> Problem | None:
    """Why an elimination may not be proposed now (None: it may)."""
    if trainee_status not in ACTIVE:
        return (
            N_("只有“在训”或“预警”的学员可以提出淘汰；该学员现在是“{status}”。"),
            {"status": trainee_status or "—"},
        )
    if open_cases:
        return (N_("该学员已有一项待审定的淘汰，请先审定它。"), {})
    if ground not in tuple(grounds):
        return (N_("请选择实施方案规定的四种淘汰情形之一。"), {})
    text = "" if evidence is None else str(evidence).strip()
    if not text:
        return (N_("请写明淘汰的依据（事实、时间、学时等）。"), {})
    if len(text) > REASON_MAX:
        return (N_("原因最多 {max} 个字，请精简。"), {"max": REASON_MAX})
    return None


def decision_problem(
    case_status: Any, decision: Any, note: Any, trainee_status: Any
) -> Problem | None:
    """Why a pending case may not be decided as ``decision`` (None: it may)."""
    if case_status != PENDING:
        return (N_("这项淘汰已经审定（{status}），不能重复审定。"), {"status": case_status or "—"})
    if decision not in (CONFIRM, DROP):
        return (N_("请选择审定结论：确认淘汰或不予淘汰。"), {})
    if decision == CONFIRM and trainee_status not in ACTIVE:
        return (
            N_("只有“在训”或“预警”的学员可以淘汰；该学员现在是“{status}”。"),
            {"status": trainee_status or "—"},
        )
    if decision == DROP:
        text = "" if note is None else str(note).strip()
        if not text:
            return (N_("不予淘汰时请写明审定意见。"), {})
    return None


def reversal_problem(case_status: Any, reason: Any, trainee_status: Any) -> Problem | None:
    """Why a confirmed elimination may not be reversed (None: it may)."""
    if case_status != CONFIRMED:
        return (N_("只有已审定淘汰的决定可以撤销。"), {})
    if trainee_status != ELIMINATED:
        return (
            N_("学员现在是“{status}”而不是“淘汰”，撤销前请先核对学员状态。"),
            {"status": trainee_status or "—"},
        )
    return _reason_problem(reason)


def restored_status(case: Mapping[str, Any]) -> str:
    """The status a reversed elimination gives back: the one before it (在训 if unknown)."""
    previous = case.get("previous_status")
    return previous if previous in ACTIVE else IN_TRAINING


def status_counts(trainees: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Trainees per status, every status present (0 when none), in the order of STATUSES."""
    counts = dict.fromkeys(STATUSES, 0)
    for t in trainees:
        status = t.get("status")
        if status in counts:
            counts[status] += 1
    return counts
