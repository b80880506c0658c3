"""Reading the curriculum sheets for the pages: settings, sessions, ledgers, risk lists.

Thin glue between the engine (``get_db()``) and the plain functions of ``rules.py``; every
figure is computed from the sheets as they are now, so rows typed straight into the workbook
count exactly like rows written by the web forms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from mingxiao.database import get_db
from mingxiao.sheetdb import Record

from . import rules

ELIMINATED = "淘汰"


def modules() -> list[Record]:
    """The curriculum modules in their 排序 order."""
    return sorted(get_db().table("curriculum_modules").all(), key=rules._module_sort)


def cohorts() -> list[Record]:
    """The cohorts, first to last."""
    return sorted(
        get_db().table("cohorts").all(), key=lambda c: (int(rules.dec(c.get("number"))), c.id)
    )


def current_cohort(cohort_id: str | None = None) -> Record | None:
    """The cohort asked for, else the one in training (培训中), else the latest."""
    items = cohorts()
    if cohort_id:
        return next((c for c in items if c.id == cohort_id), None)
    training = [c for c in items if c.get("status") == "培训中"]
    if training:
        return training[-1]
    return items[-1] if items else None


def sessions_of(cohort_id: str) -> list[Record]:
    """A cohort's sessions by date (undated rows last)."""
    rows = get_db().table("sessions").where(cohort=cohort_id)
    return sorted(
        rows,
        key=lambda s: (
            rules.as_date(s.get("date")) or dt.date.max,
            s.get("start_time") or "",
            s.id,
        ),
    )


def trainees_of(cohort_id: str) -> list[Record]:
    """A cohort's trainees in roster order."""
    return sorted(get_db().table("trainees").where(cohort=cohort_id), key=lambda t: t.id)


def attendance_of_sessions(session_ids: Iterable[str]) -> list[Record]:
    """Attendance rows of these sessions (all trainees)."""
    wanted = set(session_ids)
    table = get_db().table("attendance")
    return [r for r in table.all() if str(r.get("session") or "") in wanted]


def attendance_of_trainees(trainee_ids: Iterable[str], session_ids: Iterable[str]) -> list[Record]:
    """Attendance rows of these trainees at these sessions, each trainee's rows in sheet order."""
    wanted = set(session_ids)
    table = get_db().table("attendance")
    return [
        r
        for tid in trainee_ids
        for r in table.where(trainee=tid)
        if str(r.get("session") or "") in wanted
    ]


def programme_hours(cohort: Record | None) -> Any:
    """The programme total from the data: the cohort's 总学时, else the curriculum's sum."""
    if cohort is not None and rules.dec(cohort.get("total_hours")) > 0:
        return cohort.get("total_hours")
    return rules.curriculum_total(modules())


def settings_for(cohort: Record | None) -> rules.AbsenceSettings:
    """The absence rule's settings for a cohort (configuration over data)."""
    return rules.settings_from_config(current_app.config, programme_hours(cohort))


def today() -> dt.date:
    return get_db().today()


@dataclass
class TraineeHours:
    """Everything the ledger shows about one trainee."""

    trainee: Record
    cohort: Record | None
    ledger: rules.HoursLedger
    absence: rules.AbsenceSummary
    sessions: list[Record]
    rows: dict[str, Record]  # session id → the trainee's attendance row


def trainee_hours(trainee: Record) -> TraineeHours:
    """The hours ledger and absence summary of ``trainee`` (a trainees Record)."""
    cohort_id = str(trainee.get("cohort") or "")
    cohort = get_db().table("cohorts").get(cohort_id) if cohort_id else None
    sessions = sessions_of(cohort_id) if cohort_id else []
    attendance = get_db().table("attendance").where(trainee=trainee.id)
    day = today()
    ledger = rules.hours_ledger(trainee.id, modules(), sessions, attendance, day)
    absence = rules.trainee_absence(trainee.id, attendance, sessions, settings_for(cohort), day)
    latest = rules.latest_rows(attendance)
    rows = {sid: rec for (sid, _tid), rec in latest.items() if isinstance(rec, Record)}
    return TraineeHours(trainee, cohort, ledger, absence, sessions, rows)


@dataclass
class RiskRow:
    """One trainee on the attendance risk list."""

    trainee: Record
    cohort: Record
    summary: rules.AbsenceSummary


# What an absence summary is computed from (Database.cached reuses it while none changed).
SUMMARY_SHEETS = ("cohorts", "curriculum_modules", "sessions", "trainees", "attendance")


def cohort_summaries(
    cohort: Record, trainee_ids: Iterable[str] | None = None
) -> dict[str, rules.AbsenceSummary]:
    """Absence summaries of every trainee of ``cohort`` (trainee id → summary).

    ``trainee_ids``: only these trainees of the cohort (a district's, the rows on a page). Their
    attendance is then read through the sheet's index on 学员 instead of scanning every
    attendance row of the programme, which kept a district's pages slow on a big workbook.

    The result is computed once per state of the sheets it reads and shared (read it, never
    change it): the risk list and the rosters asked for it on every page view.
    """
    ids = None if trainee_ids is None else tuple(trainee_ids)
    return get_db().cached(
        ("curriculum.cohort_summaries", cohort.id, ids, today()),
        SUMMARY_SHEETS,
        lambda: _cohort_summaries(cohort, ids),
    )


def _cohort_summaries(
    cohort: Record, trainee_ids: Iterable[str] | None
) -> dict[str, rules.AbsenceSummary]:
    sessions = sessions_of(cohort.id)
    ids = [t.id for t in trainees_of(cohort.id)]
    if trainee_ids is None:
        attendance = attendance_of_sessions(s.id for s in sessions)
    else:
        wanted = set(trainee_ids)
        ids = [t for t in ids if t in wanted]
        attendance = attendance_of_trainees(ids, (s.id for s in sessions))
    return rules.summaries_by_trainee(attendance, sessions, settings_for(cohort), ids, today())


def risk_rows(
    cohort: Record | None = None, *, district: str | None = None, include_eliminated: bool = False
) -> list[RiskRow]:
    """Trainees at risk (a warning level or an absence without approval), worst first.

    ``cohort`` None: every cohort. ``district``: only that district's trainees. Trainees
    already eliminated are left out unless ``include_eliminated``.
    """
    out: list[RiskRow] = []
    for c in [cohort] if cohort is not None else cohorts():
        roster = [
            t
            for t in trainees_of(c.id)
            if not (district and t.get("district") != district)
            and (include_eliminated or t.get("status") != ELIMINATED)
        ]
        if not roster:
            continue
        summaries = cohort_summaries(c, [t.id for t in roster] if district else None)
        for t in roster:
            summary = summaries.get(t.id)
            if summary is not None and summary.at_risk:
                out.append(RiskRow(t, c, summary))
    out.sort(key=lambda r: (-rules.LEVEL_ORDER[r.summary.level], -r.summary.counted, r.trainee.id))
    return out
