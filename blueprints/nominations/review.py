"""The city's competitive review (差额审核) of submitted nominations, as plain functions.

The expert group scores every nomination in review on the six selection criteria (choice list
``score_criteria``, 0–100 each). An expert's **weighted total** is the weighted mean of their six
scores, with the weights of the ``score_weights`` sheet normalised to sum to 1; it exists only
once the expert has scored every criterion. A nomination's review score is the **mean of the
experts' weighted totals**; the ranking also shows how far the experts disagree (standard
deviation and max − min) and how many experts scored.

A competitive review needs more candidates than places: the candidates per place (candidates
in review ÷ the cohort's quota) must be above 1, otherwise shortlisting is refused. The
shortlist never exceeds the quota. Choosing anyone ranked below someone left out is an
override and must carry a written reason.

Ties: means are compared rounded to :data:`PRECISION` decimals (what the page shows). Equal
means share a rank (competition ranking: 1, 2, 2, 4); nominations nobody has fully scored rank
after every scored one, all sharing the last rank. Within a rank rows are listed by nomination
id, so the table is the same on every load. Choosing between candidates who share a rank at
the cut-off is not an override: an override is choosing someone ranked strictly below a
candidate left out.

Like ``workflow.py``, checks return ``None`` when fine, else a problem ``(msgid template with
{placeholders}, params)`` the view shows with ``_(template).format(**params)``.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mingxiao.sheetdb.types import N_

from .workflow import DEFAULT_QUOTA, SUBMITTED

Problem = tuple[str, dict[str, Any]]
N = TypeVar("N", bound=Mapping[str, Any])  # a nomination: a Record or a plain mapping

IN_REVIEW = "专家评审"
SHORTLISTED = "拟录取"
# What an expert may score: nominations sent to the city (已报送) and those in review.
SCORABLE = frozenset({SUBMITTED, IN_REVIEW})
# The pool of a cohort's review: in review, and those already put on the shortlist.
POOL = frozenset({IN_REVIEW, SHORTLISTED})
MIN_SCORE, MAX_SCORE = 0.0, 100.0
PRECISION = 2  # decimals of the means shown, compared and written to score_total
OVERRIDE_NEEDS_REASON = N_(
    "名单没有按排名从高到低选取：选了 {names}，未选排名更靠前的 {skipped}（括号内为排名）。如确需调整，请在“调整理由”中写明理由。"
)


# ---------------------------------------------------------------------------------------------
# weights


def _number(value: Any) -> float | None:
    """A finite number from a cell value (int, float, numeric text), else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def weight_problems(rows: Iterable[Mapping[str, Any]], criteria: Sequence[str]) -> list[Problem]:
    """What is wrong with the ``score_weights`` rows: each criterion needs one weight above 0."""
    problems: list[Problem] = []
    seen: dict[str, int] = defaultdict(int)
    for row in rows:
        criterion = str(row.get("criterion") or "").strip()
        if not criterion:
            continue
        seen[criterion] += 1
        if criterion not in criteria:
            problems.append(
                (
                    N_(
                        "“评分权重”表中的评分维度“{criterion}”不在评分维度列表中，请改成六个评分维度之一或删除这一行。"
                    ),
                    {"criterion": criterion},
                )
            )
            continue
        weight = _number(row.get("weight"))
        if weight is None or weight <= 0:
            problems.append(
                (
                    N_("评分维度“{criterion}”的权重是“{weight}”，请填写大于 0 的数字，如 0.2。"),
                    {
                        "criterion": criterion,
                        "weight": "" if row.get("weight") is None else row.get("weight"),
                    },
                )
            )
    for criterion in criteria:
        if seen[criterion] == 0:
            problems.append(
                (
                    N_(
                        "评分维度“{criterion}”没有权重，请在“评分权重”表中为它增加一行并填写大于 0 的权重。"
                    ),
                    {"criterion": criterion},
                )
            )
        elif seen[criterion] > 1:
            problems.append(
                (
                    N_("评分维度“{criterion}”在“评分权重”表中有 {n} 行，请只保留一行。"),
                    {"criterion": criterion, "n": seen[criterion]},
                )
            )
    return problems


def normalised_weights(
    rows: Iterable[Mapping[str, Any]], criteria: Sequence[str]
) -> tuple[dict[str, float], list[Problem]]:
    """``({criterion: weight / sum of weights}, [])``, or ``({}, problems)`` if any is wrong."""
    rows = list(rows)
    problems = weight_problems(rows, criteria)
    if problems:
        return {}, problems
    raw: dict[str, float] = {}
    for row in rows:
        number = _number(row.get("weight"))
        if number is not None:
            raw[str(row["criterion"]).strip()] = number
    total = sum(raw[c] for c in criteria)
    return {c: raw[c] / total for c in criteria}, []


# ---------------------------------------------------------------------------------------------
# scores


def score_problem(value: Any, criterion: str) -> Problem | None:
    """A criterion's score must be a number from 0 to 100."""
    number = _number(value)
    if number is None:
        return N_("请为“{criterion}”打分（0–100 的数字）。"), {"criterion": criterion}
    if not MIN_SCORE <= number <= MAX_SCORE:
        return (
            N_("“{criterion}”的得分是 {value}，请填写 0 到 100 之间的分数。"),
            {"criterion": criterion, "value": value},
        )
    return None


def expert_total(scores: Mapping[str, Any], weights: Mapping[str, float]) -> float | None:
    """An expert's weighted total for one nomination; None unless every criterion is scored."""
    if not weights:
        return None
    total = 0.0
    for criterion, weight in weights.items():
        number = _number(scores.get(criterion))
        if number is None:
            return None
        total += weight * number
    return total


def scores_by_expert(
    score_rows: Iterable[Mapping[str, Any]],
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{nomination: {expert email: {criterion: score}}}`` from ``expert_scores`` rows.

    Emails are compared case-insensitively. When a row is doubled (typed twice by hand) the
    later row wins, as it does in the sheet for a person reading top to bottom.
    """
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
    for row in score_rows:
        nomination = str(row.get("nomination") or "")
        expert = str(row.get("expert_email") or "").strip().lower()
        criterion = str(row.get("criterion") or "")
        if nomination and expert and criterion:
            out[nomination][expert][criterion] = row.get("score")
    return out


def expert_totals(
    per_expert: Mapping[str, Mapping[str, Any]], weights: Mapping[str, float]
) -> list[float]:
    """The weighted totals of the experts who scored every criterion, by expert email."""
    totals = [expert_total(scores, weights) for _email, scores in sorted(per_expert.items())]
    return [t for t in totals if t is not None]


def mean_total(totals: Sequence[float]) -> float | None:
    """The review score written to ``nominations.score_total``: the mean, rounded; None if none."""
    return round(statistics.fmean(totals), PRECISION) if totals else None


# ---------------------------------------------------------------------------------------------
# ranking


@dataclass
class RankRow:
    """One nomination of a cohort's review, as the ranking table shows it."""

    nomination: Mapping[str, Any]
    totals: list[float] = field(default_factory=list)
    rank: int = 0

    @property
    def id(self) -> str:
        return str(self.nomination.get("id") or "")

    @property
    def count(self) -> int:
        """Experts who scored every criterion."""
        return len(self.totals)

    @property
    def mean(self) -> float | None:
        return mean_total(self.totals)

    @property
    def stdev(self) -> float | None:
        """Population standard deviation of the experts' totals (0 for a single expert)."""
        if not self.totals:
            return None
        return round(statistics.pstdev(self.totals), PRECISION)

    @property
    def spread(self) -> float | None:
        """Highest minus lowest expert total."""
        if not self.totals:
            return None
        return round(max(self.totals) - min(self.totals), PRECISION)

    def as_dict(self) -> dict[str, Any]:
        """The row for an export: the nomination's fields plus the review figures."""
        return {
            **self.nomination,
            "id": self.id,
            "rank": self.rank,
            "mean": self.mean,
            "stdev": self.stdev,
            "spread": self.spread,
            "count": self.count,
        }


def rank_rows(
    nominations: Iterable[Mapping[str, Any]],
    score_rows: Iterable[Mapping[str, Any]],
    weights: Mapping[str, float],
) -> list[RankRow]:
    """The ranking of ``nominations`` (one cohort's pool), best first; see the module's ties."""
    grouped = scores_by_expert(score_rows)
    rows = [
        RankRow(n, expert_totals(grouped.get(str(n.get("id") or ""), {}), weights))
        for n in nominations
    ]
    rows.sort(key=lambda r: (r.mean is None, -(r.mean or 0.0), r.id))
    previous: tuple[bool, float | None] | None = None
    for position, row in enumerate(rows, start=1):
        key = (row.mean is None, row.mean)
        if key != previous:
            row.rank, previous = position, key
        else:
            row.rank = rows[position - 2].rank
    return rows


def in_pool(nominations: Iterable[N], cohort: str) -> list[N]:
    """A cohort's review pool: its nominations in review or already shortlisted."""
    return [n for n in nominations if n.get("cohort") == cohort and n.get("status") in POOL]


def under_review(nominations: Iterable[Mapping[str, Any]], cohort: str) -> bool:
    """A cohort is under review once the city started it: some nomination is 专家评审."""
    return any(n.get("cohort") == cohort and n.get("status") == IN_REVIEW for n in nominations)


def quota_of(cohort: Mapping[str, Any] | None) -> int:
    """The cohort's planned places (计划名额), 50 when the cell is empty or not a positive number."""
    number = _number((cohort or {}).get("quota"))
    return int(number) if number is not None and number >= 1 else DEFAULT_QUOTA


def candidates_per_place(candidates: int, quota: int) -> float:
    """Candidates in review ÷ places (0 places counts as the default quota)."""
    return candidates / (quota if quota > 0 else DEFAULT_QUOTA)


def ratio_problem(candidates: int, quota: int) -> Problem | None:
    """差额审核 needs more candidates than places; otherwise shortlisting is refused."""
    if candidates_per_place(candidates, quota) > 1:
        return None
    return (
        N_(
            "差额审核要求参评人数多于计划名额：本期参评 {candidates} 人、计划名额 {quota} 名，每个名额仅 {ratio} 人，不能确定拟录取名单。请先请区县补充推荐，或调整本期计划名额。"
        ),
        {
            "candidates": candidates,
            "quota": quota,
            "ratio": f"{candidates_per_place(candidates, quota):.2f}",
        },
    )


def overrides(
    rows: Sequence[RankRow], chosen: Collection[str]
) -> tuple[list[RankRow], list[RankRow]]:
    """``(chosen out of order, left out out of order)``.

    A chosen row is out of order if some row left out ranks strictly better; a left-out row is
    out of order if some chosen row ranks strictly worse. Both empty: the top by rank.
    """
    picked = [r for r in rows if r.id in chosen]
    left = [r for r in rows if r.id not in chosen]
    best_left = min((r.rank for r in left), default=None)
    worst_picked = max((r.rank for r in picked), default=None)
    raised = [r for r in picked if best_left is not None and r.rank > best_left]
    passed = [r for r in left if worst_picked is not None and r.rank < worst_picked]
    return raised, passed


def shortlist_problems(
    rows: Sequence[RankRow], chosen: Collection[str], quota: int, reason: str
) -> list[Problem]:
    """Why this shortlist cannot be saved (empty list: it can)."""
    known = {r.id for r in rows}
    unknown = sorted(set(chosen) - known)
    if unknown:
        return [
            (
                N_("{ids} 不在本期的差额评审名单中，请刷新页面后重新选择。"),
                {"ids": "、".join(unknown)},
            )
        ]
    ratio = ratio_problem(len(rows), quota)
    if ratio is not None:
        return [ratio]
    problems: list[Problem] = []
    if not chosen:
        problems.append((N_("请至少勾选一名拟录取人选。"), {}))
    if len(chosen) > quota:
        problems.append(
            (
                N_("勾选了 {n} 人，超过本期计划名额 {quota} 名，请减少到 {quota} 人以内。"),
                {"n": len(chosen), "quota": quota},
            )
        )
    raised, passed = overrides(rows, chosen)
    if (raised or passed) and not reason.strip():
        problems.append(
            (OVERRIDE_NEEDS_REASON, {"names": _names(raised), "skipped": _names(passed)})
        )
    return problems


def _names(rows: Sequence[RankRow]) -> str:
    return "、".join(f"{r.nomination.get('name') or r.id}（{r.rank}）" for r in rows) or "—"


# ---------------------------------------------------------------------------------------------
# starting the review and saving the shortlist

# The notes written to ``nominations.decision_note``: workbook data, so always in the sheet's
# language (Chinese), whatever language the admin's interface is in.
NOTE_CHOSEN = "经专家组差额审核，拟录取（排名第 {rank} 名，评审均分 {mean}）。"
NOTE_RAISED = "调整入选，理由：{reason}"
NOTE_PASSED = "经专家组差额审核，排名第 {rank} 名，调整未入选，理由：{reason}"


def startable(nominations: Iterable[N], cohort: str) -> list[N]:
    """The nominations that starting a cohort's review moves to 专家评审: its 已报送 ones."""
    return [n for n in nominations if n.get("cohort") == cohort and n.get("status") == SUBMITTED]


def _mean_text(mean: float | None) -> str:
    return "—" if mean is None else f"{mean:.{PRECISION}f}"


def shortlist_changes(
    rows: Sequence[RankRow], chosen: Collection[str], reason: str
) -> dict[str, dict[str, Any]]:
    """``{nomination id: changes}`` that make ``chosen`` the cohort's shortlist.

    Chosen → 拟录取 with a note of rank and mean (plus the reason if chosen out of order); a
    candidate passed over out of order keeps 专家评审 with the reason in its note; one taken
    off an earlier shortlist goes back to 专家评审. Values already in place are left out.
    """
    raised, passed = overrides(rows, chosen)
    raised_ids, passed_ids = {r.id for r in raised}, {r.id for r in passed}
    reason = reason.strip()
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.id in chosen:
            note = NOTE_CHOSEN.format(rank=row.rank, mean=_mean_text(row.mean))
            if row.id in raised_ids:
                note += NOTE_RAISED.format(reason=reason)
            want: dict[str, Any] = {"status": SHORTLISTED, "decision_note": note}
        elif row.id in passed_ids:
            note = NOTE_PASSED.format(rank=row.rank, reason=reason)
            want = {"status": IN_REVIEW, "decision_note": note}
        elif row.nomination.get("status") == SHORTLISTED:
            want = {"status": IN_REVIEW, "decision_note": None}
        else:
            continue
        changes = {k: v for k, v in want.items() if row.nomination.get(k) != v}
        if changes:
            out[row.id] = changes
    return out
