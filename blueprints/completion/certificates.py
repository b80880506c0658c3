"""Issuing and revoking certificates against the database (no Flask).

Two gunicorn workers may issue at the same moment. Numbers are therefore allocated under a
cross-process ``filelock`` on ``<instance>/certificates.lock``: inside it the sheet is read
afresh (the engine overlays every process's pending operations from the shared journal), the
next number is computed from every number already there — hand-typed, revoked and voided rows
included — and the row is inserted before the lock is released. The insert is durable in the
journal when it returns, so the next holder of the lock sees it. If the insert fails, nothing
was allocated: no gap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from filelock import FileLock

from mingxiao.sheetdb import Record

from . import rules

SHEET = "certificates"
LOCK_NAME = "certificates.lock"
LOCK_TIMEOUT = 60.0


class IssueError(ValueError):
    """A refused issue or revocation; ``problem`` is the ``(msgid, params)`` to show."""

    def __init__(self, problem: rules.Problem) -> None:
        super().__init__(problem[0].format(**problem[1]))
        self.problem = problem


@dataclass(frozen=True)
class Issued:
    record: Record
    number: str


def lock_for(instance_path: str | Path) -> FileLock:
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder / LOCK_NAME), timeout=LOCK_TIMEOUT)


def certificates_of(db: Any, trainee_id: str) -> list[Record]:
    return list(db.table(SHEET).where(trainee=trainee_id))


def cohort_number(db: Any, trainee: Record) -> int:
    """The 期次序号 of the trainee's cohort (1 when the cohort row is missing its number)."""
    cohort = db.table("cohorts").get(str(trainee.get("cohort") or ""))
    try:
        return int(cohort.get("number")) if cohort is not None else 1
    except (TypeError, ValueError):
        return 1


def issue(
    db: Any,
    trainee: Record,
    *,
    user: str,
    instance_path: str | Path,
    issued_on: dt.date | None = None,
    hours: Decimal | float | None = None,
) -> Issued:
    """Issue the next certificate to ``trainee``; raises :class:`IssueError` when refused."""
    day = issued_on or db.today()
    with lock_for(instance_path):
        table = db.table(SHEET)
        every = table.all(include_voided=True)
        mine = [c for c in every if str(c.get("trainee") or "") == trainee.id]
        assessments = db.table("assessments").where(trainee=trainee.id)
        problem = rules.issue_problem(trainee, assessments, mine)
        if problem is not None:
            raise IssueError(problem)
        number = rules.next_number(
            (c.get("number") for c in every), day.year, cohort_number(db, trainee)
        )
        code = rules.new_verify_code(c.get("verify_code") for c in every)
        values: dict[str, Any] = {
            "trainee": trainee.id,
            "number": number,
            "verify_code": code,
            "issued_on": day,
            "revoked": False,
        }
        if hours is not None:
            values["hours"] = hours
        record = table.insert(values, user=user)
    return Issued(record=record, number=number)


def revoke(db: Any, cert: Record, reason: str, *, user: str) -> None:
    """Mark ``cert`` revoked with ``reason`` (the row stays; its number is never reused)."""
    problem = rules.revoke_problem(cert, reason)
    if problem is not None:
        raise IssueError(problem)
    db.table(SHEET).update(
        cert.id,
        {"revoked": True, "revoke_reason": reason.strip()},
        base={"revoked": cert.get("revoked"), "revoke_reason": cert.get("revoke_reason")},
        user=user,
    )


def find_by_code(db: Any, code: str) -> Record | None:
    """The certificate with verification code ``code`` (normalized), or None.

    Every row is compared, match or not, so the time taken does not say how close a guess was.
    """
    import hmac

    wanted = rules.normalize_code(code).encode()
    found = None
    for cert in db.table(SHEET).all():
        stored = rules.normalize_code(cert.get("verify_code")).encode()
        if stored and hmac.compare_digest(stored, wanted) and found is None:
            found = cert
    return found
