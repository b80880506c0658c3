"""Plain domain rules of the completion plugin (no Flask): certificate numbers and codes,
who may get a certificate, hours → credits, and the funding ledger's sums.

Certificate numbers are ``MXZ-<year>-<cohort number>-<seq>`` (seq at least 3 digits). The
sequence runs per (year, cohort). :func:`next_number` continues after the highest number of
that series already in the sheet — revoked, voided and hand-typed rows included — so a number
is never issued twice and a revoked number is never reused. Numbers missing below the highest
one (a person typed a number out of turn) are reported by :func:`sequence_gaps`; the app never
fills them in behind the sheet's back.

Messages are :data:`Problem` tuples (a Chinese msgid marked with ``N_`` and its parameters),
as in the other plugins' rules.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from mingxiao.sheetdb.types import N_

Problem = tuple[str, dict[str, Any]]

PREFIX = "MXZ"
SEQ_DIGITS = 3
NUMBER_RE = re.compile(r"^MXZ-(\d{4})-(\d{1,2})-(\d{1,6})$")
# What people type instead of an ASCII hyphen (full-width, dashes) and stray spaces.
_DASHES = str.maketrans({"－": "-", "—": "-", "–": "-", "‐": "-", "_": "-", "　": "", " ": ""})

VERIFY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud, typed again
VERIFY_LENGTH = 10

COMPLETED_STATUS = "结业"
PASSING_DECISIONS = ("合格", "优秀")

VALID, REVOKED, UNKNOWN = "valid", "revoked", "unknown"

CONFIG_DEFAULTS: dict[str, Any] = {
    # 省培管理平台: hours of training that make one credit (10 h = 1 学分 by default).
    "CREDITS_HOURS_PER_CREDIT": 10,
    # Decimal places of an exported credit figure.
    "CREDITS_DECIMALS": 1,
    # 导师指导费: yuan per hour of recorded guidance (mentoring_logs), a proposal only.
    "MENTOR_FEE_PER_HOUR": 300,
    # Public verification page: at most this many look-ups per address per window (seconds).
    "VERIFY_RATE_LIMIT": 20,
    "VERIFY_RATE_WINDOW": 600,
}


class ConfigProblem(ValueError):
    """A completion setting that is not a positive number; the message names the key."""


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def dec(value: Any) -> Decimal:
    """A Decimal from a cell or setting; 0 for blanks and junk (cells are untrusted)."""
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        out = Decimal(str(value).strip() or "0")
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return out if out.is_finite() else Decimal(0)


def hours_text(value: Any) -> str:
    """Hours as a person writes them: ``270`` not ``270.0``, ``7.5`` stays ``7.5``."""
    text = format(dec(value).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def positive_setting(config: Mapping[str, Any], key: str) -> Decimal:
    """``config[key]`` (default from :data:`CONFIG_DEFAULTS`) as a positive Decimal."""
    raw = config.get(key, CONFIG_DEFAULTS[key])
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        raise ConfigProblem(
            f"配置项 {key} 应为正数，实际为 {raw!r}。 / Setting {key} must be a positive number, got {raw!r}."
        )
    return value


def check_config(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigProblem` for a mistyped setting (called at start-up)."""
    for key in CONFIG_DEFAULTS:
        if key != "CREDITS_DECIMALS":
            positive_setting(config, key)
    decimals_setting(config)


def decimals_setting(config: Mapping[str, Any]) -> int:
    """``CREDITS_DECIMALS`` as an int from 0 to 4."""
    raw = config.get("CREDITS_DECIMALS", CONFIG_DEFAULTS["CREDITS_DECIMALS"])
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = -1
    if not 0 <= value <= 4:
        raise ConfigProblem(
            f"配置项 CREDITS_DECIMALS 应为 0–4 的整数，实际为 {raw!r}。 / Setting CREDITS_DECIMALS must be an integer 0–4, got {raw!r}."
        )
    return value


# --------------------------------------------------------------------------- numbers


def normalize_number(value: Any) -> str:
    """A certificate number as typed (full-width dashes, spaces, lower case) in canonical form."""
    return _text(value).translate(_DASHES).upper()


def parse_number(value: Any) -> tuple[int, int, int] | None:
    """``(year, cohort, seq)`` of a certificate number, or None if it is not one."""
    m = NUMBER_RE.match(normalize_number(value))
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def format_number(year: int, cohort: int, seq: int) -> str:
    return f"{PREFIX}-{year}-{cohort}-{seq:0{SEQ_DIGITS}d}"


def _series(existing: Iterable[Any], year: int, cohort: int) -> list[int]:
    out = []
    for value in existing:
        parsed = parse_number(value)
        if parsed is not None and parsed[:2] == (year, cohort):
            out.append(parsed[2])
    return out


def next_number(existing: Iterable[Any], year: int, cohort: int) -> str:
    """The number after the highest of the (year, cohort) series among ``existing``."""
    return format_number(year, cohort, max(_series(existing, year, cohort), default=0) + 1)


def sequence_gaps(existing: Iterable[Any]) -> list[str]:
    """Numbers missing below the highest of each series (typed out of turn in the sheet)."""
    by_series: dict[tuple[int, int], set[int]] = {}
    for value in existing:
        parsed = parse_number(value)
        if parsed is not None:
            by_series.setdefault(parsed[:2], set()).add(parsed[2])
    gaps = []
    for (year, cohort), seqs in sorted(by_series.items()):
        gaps += [format_number(year, cohort, n) for n in range(1, max(seqs)) if n not in seqs]
    return gaps


def duplicate_numbers(existing: Iterable[Any]) -> list[str]:
    """Numbers that appear more than once (only a hand edit can do that)."""
    counts = Counter(normalize_number(v) for v in existing if _text(v))
    return sorted(n for n, c in counts.items() if c > 1)


# --------------------------------------------------------------------------- codes


def normalize_code(value: Any) -> str:
    """A verification code as typed: spaces and dashes dropped, upper case."""
    return re.sub(r"[\s\-－—_]", "", _text(value)).upper()


def new_verify_code(taken: Iterable[Any] = (), length: int = VERIFY_LENGTH) -> str:
    """A random code (``secrets``) not among ``taken``."""
    used = {normalize_code(c) for c in taken}
    while True:
        code = "".join(secrets.choice(VERIFY_ALPHABET) for _ in range(length))
        if code not in used:
            return code


def certificate_state(cert: Mapping[str, Any] | None) -> str:
    """valid, revoked or unknown (no row, or a voided one)."""
    if cert is None or cert.get("voided"):
        return UNKNOWN
    return REVOKED if cert.get("revoked") else VALID


# --------------------------------------------------------------------------- eligibility


def latest_assessment(rows: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The most recent decision among a trainee's assessment rows (voided ones ignored)."""
    live = [r for r in rows if not r.get("voided")]
    if not live:
        return None

    def when(r: Mapping[str, Any]) -> tuple[str, str]:
        return (_text(r.get("decided_at")), _text(r.get("id")))

    return max(live, key=when)


def valid_certificates(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if certificate_state(r) == VALID]


def issue_problem(
    trainee: Mapping[str, Any],
    assessments: Iterable[Mapping[str, Any]],
    certificates: Iterable[Mapping[str, Any]],
) -> Problem | None:
    """Why ``trainee`` may not get a certificate now; None when they may.

    A trainee qualifies with status 结业, or with a latest assessment of 合格/优秀; and only
    while they hold no valid certificate (one per trainee).
    """
    if trainee.get("voided"):
        return (N_("该学员记录已作废，不能颁发证书。"), {})
    held = valid_certificates(certificates)
    if held:
        return (
            N_("该学员已持有有效证书 {number}；如需重新颁发，请先撤销原证书。"),
            {"number": _text(held[0].get("number"))},
        )
    if _text(trainee.get("status")) == COMPLETED_STATUS:
        return None
    latest = latest_assessment(assessments)
    if latest is not None and _text(latest.get("decision")) in PASSING_DECISIONS:
        return None
    return (
        N_("只有状态为“结业”或结业考核结论为“合格/优秀”的学员才能获得证书（当前状态：{status}）。"),
        {"status": _text(trainee.get("status")) or "—"},
    )


def revoke_problem(cert: Mapping[str, Any], reason: Any) -> Problem | None:
    if certificate_state(cert) != VALID:
        return (N_("这张证书已撤销或无效，不能再次撤销。"), {})
    if len(_text(reason)) < 4:
        return (N_("请写明撤销原因（至少 4 个字），例如依据的文件或决定。"), {})
    return None


# --------------------------------------------------------------------------- credits


def credits_for(hours: Any, hours_per_credit: Any, decimals: int = 1) -> Decimal:
    """Credits for ``hours`` at ``hours_per_credit`` hours a credit, rounded half up."""
    rate = dec(hours_per_credit)
    if rate <= 0:
        raise ConfigProblem("hours_per_credit must be positive")
    quantum = Decimal(1).scaleb(-int(decimals))
    return (dec(hours) / rate).quantize(quantum, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CreditRow:
    """One line of the 省培管理平台 export."""

    trainee_id: str
    name: str
    cohort: str
    district: str
    school: str
    status: str
    certificate: str
    hours: Decimal
    hours_source: str  # "certificate" | "attendance"
    credits: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {
            "trainee": self.trainee_id,
            "name": self.name,
            "cohort": self.cohort,
            "district": self.district,
            "school": self.school,
            "status": self.status,
            "certificate": self.certificate,
            "hours": float(self.hours),
            "hours_source": self.hours_source,
            "credits": float(self.credits),
        }


# --------------------------------------------------------------------------- funding


@dataclass
class Totals:
    """Sums of expenses by category and by source."""

    by_category: dict[str, Decimal] = field(default_factory=dict)
    by_source: dict[str, Decimal] = field(default_factory=dict)
    total: Decimal = Decimal(0)
    count: int = 0


def expense_totals(
    rows: Iterable[Mapping[str, Any]], categories: Sequence[str], sources: Sequence[str]
) -> Totals:
    """Totals of the live expense rows; every category and source appears (0 when none)."""
    out = Totals(
        by_category={c: Decimal(0) for c in categories},
        by_source={s: Decimal(0) for s in sources},
    )
    for r in rows:
        if r.get("voided"):
            continue
        amount = dec(r.get("amount"))
        cat, src = _text(r.get("category")), _text(r.get("source"))
        out.by_category[cat] = out.by_category.get(cat, Decimal(0)) + amount
        out.by_source[src] = out.by_source.get(src, Decimal(0)) + amount
        out.total += amount
        out.count += 1
    return out


def budget_totals(rows: Iterable[Mapping[str, Any]], by: str = "category") -> dict[str, Decimal]:
    """Budget per ``by`` (``category``, or ``source``: "" for rows without one) from the budget
    rows of one cohort (voided ignored)."""
    out: dict[str, Decimal] = {}
    for r in rows:
        if r.get("voided"):
            continue
        key = _text(r.get(by))
        out[key] = out.get(key, Decimal(0)) + dec(r.get("amount"))
    return out


def percent(part: Decimal, whole: Decimal) -> int:
    """Part of whole in whole percent for a bar (0 when there is no whole; capped at 100)."""
    if whole <= 0:
        return 0
    return min(int(part * 100 / whole), 100)


@dataclass(frozen=True)
class MentorFee:
    """The proposed 导师指导费 of one mentor in one cohort (hours × rate)."""

    mentor_id: str
    mentor_name: str
    hours: Decimal
    sessions: int
    amount: Decimal
    recorded: Decimal  # 导师指导费 already recorded for this mentor (payee = the mentor's name)

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount - self.recorded, Decimal(0))


def mentor_fees(
    logs: Iterable[Mapping[str, Any]],
    trainee_ids: set[str],
    mentor_names: Mapping[str, str],
    rate: Any,
    recorded_by_payee: Mapping[str, Decimal] | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> list[MentorFee]:
    """Guidance hours per mentor over the logs of ``trainee_ids`` (one cohort) × ``rate``."""
    hours: dict[str, Decimal] = {}
    count: dict[str, int] = {}
    for log in logs:
        if log.get("voided") or _text(log.get("trainee")) not in trainee_ids:
            continue
        day = log.get("date")
        if isinstance(day, dt.date) and (
            (since is not None and day < since) or (until is not None and day > until)
        ):
            continue
        mid = _text(log.get("mentor"))
        hours[mid] = hours.get(mid, Decimal(0)) + dec(log.get("hours"))
        count[mid] = count.get(mid, 0) + 1
    recorded = recorded_by_payee or {}
    out = []
    for mid in sorted(hours):
        name = mentor_names.get(mid, mid)
        out.append(
            MentorFee(
                mentor_id=mid,
                mentor_name=name,
                hours=hours[mid],
                sessions=count[mid],
                amount=(hours[mid] * dec(rate)).quantize(Decimal("0.01")),
                recorded=recorded.get(name, Decimal(0)),
            )
        )
    return out
