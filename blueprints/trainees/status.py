"""Writing status changes and elimination decisions (no Flask: the caller passes the database).

Each function checks with :mod:`rules` first and raises :class:`StatusError` with the problem;
nothing is written then. A status change writes the trainee's 培养状态 and 状态说明 and appends
one row to 学员状态变更; nothing is ever deleted. Other plugins (the final assessment's batch
“结业”) call :func:`change_status`.
"""

from __future__ import annotations

from typing import Any

from mingxiao.sheetdb import Record

from . import rules

HISTORY = "trainee_status_history"
CASES = "elimination_cases"


class StatusError(ValueError):
    """A refused change; ``problem`` is the ``(msgid, params)`` to show."""

    def __init__(self, problem: rules.Problem) -> None:
        super().__init__(problem[0].format(**problem[1]))
        self.problem = problem


def _write_status(
    db: Any,
    trainee: Record,
    target: str,
    reason: str,
    user: str,
    ground: str | None = None,
) -> Record:
    """Update the trainee and append the history row (checks are the caller's)."""
    current = trainee.get("status")
    db.table("trainees").update(
        trainee.id,
        {"status": target, "status_reason": str(reason).strip()},
        base={"status": current, "status_reason": trainee.get("status_reason")},
        user=user,
    )
    return db.table(HISTORY).insert(
        rules.history_row(trainee.id, current, target, reason, user, db.now(), ground),
        user=user,
    )


def change_status(
    db: Any, trainee: Record, target: str, reason: str, user: str, ground: str | None = None
) -> Record:
    """An ordinary status change (not 淘汰); returns the history row."""
    problem = rules.transition_problem(trainee.get("status"), target, reason)
    if problem is not None:
        raise StatusError(problem)
    return _write_status(db, trainee, target, reason, user, ground)


def open_cases(db: Any, trainee_id: str) -> list[Record]:
    """The trainee's elimination cases still waiting for a decision."""
    return [
        c for c in db.table(CASES).where(trainee=trainee_id) if c.get("status") == rules.PENDING
    ]


def propose(
    db: Any,
    trainee: Record,
    ground: str,
    evidence: str,
    user: str,
    evidence_file: str | None = None,
) -> Record:
    """Open an elimination case (待审定); the trainee's status does not change yet."""
    problem = rules.proposal_problem(
        trainee.get("status"),
        ground,
        evidence,
        db.choices("elimination_grounds"),
        len(open_cases(db, trainee.id)),
    )
    if problem is not None:
        raise StatusError(problem)
    return db.table(CASES).insert(
        {
            "trainee": trainee.id,
            "ground": ground,
            "evidence": str(evidence).strip(),
            "evidence_file": evidence_file or None,
            "status": rules.PENDING,
            "proposed_by": user,
            "proposed_at": db.now(),
        },
        user=user,
    )


def decide(db: Any, case: Record, trainee: Record, decision: str, note: str, user: str) -> str:
    """Confirm (the trainee becomes 淘汰, history written) or drop a pending case.

    Returns the case's new status.
    """
    problem = rules.decision_problem(case.get("status"), decision, note, trainee.get("status"))
    if problem is not None:
        raise StatusError(problem)
    note = (note or "").strip()
    values: dict[str, Any] = {
        "decided_by": user,
        "decided_at": db.now(),
        "decision_note": note or None,
    }
    if decision == rules.DROP:
        values["status"] = rules.DROPPED
        db.table(CASES).update(case.id, values, user=user)
        return rules.DROPPED
    current = trainee.get("status")
    reason = f"{case.get('ground')}：{case.get('evidence')}"
    if note:
        reason += f"（审定意见：{note}）"
    problem = rules.transition_problem(current, rules.ELIMINATED, reason, elimination=True)
    if problem is not None:
        raise StatusError(problem)
    values.update(status=rules.CONFIRMED, previous_status=current)
    db.table(CASES).update(case.id, values, user=user)
    _write_status(db, trainee, rules.ELIMINATED, reason, user, case.get("ground"))
    return rules.CONFIRMED


def reverse(db: Any, case: Record, trainee: Record, reason: str, user: str) -> str:
    """Undo a confirmed elimination: the trainee gets the status before it back; returns it."""
    problem = rules.reversal_problem(case.get("status"), reason, trainee.get("status"))
    if problem is not None:
        raise StatusError(problem)
    target = rules.restored_status(case)
    text = str(reason).strip()
    problem = rules.transition_problem(trainee.get("status"), target, text, reversal=True)
    if problem is not None:
        raise StatusError(problem)
    db.table(CASES).update(
        case.id,
        {
            "status": rules.REVERSED,
            "reversed_by": user,
            "reversed_at": db.now(),
            "reverse_reason": text,
        },
        user=user,
    )
    _write_status(db, trainee, target, f"撤销淘汰决定：{text}", user, case.get("ground"))
    return target
