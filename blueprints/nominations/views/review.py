"""The city's competitive review (差额审核): expert scoring, weights, ranking and shortlist.

Experts (``nominations.score``) see a scoring view only: the nominee's non-personal data and
the six statements, never a phone or ID number (they are not rendered at all). Which records an
expert may score is the policy's decision on the stored record (status, cohort under review,
own-district exclusion); other records are a bare 404. Admins (``nominations.review``) start
a cohort's review, edit the weights, read the ranking and save the shortlist (拟录取). The
rules are ``review.py``'s; this module parses forms, asks the policy, calls the engine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import FloatField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from mingxiao import exports
from mingxiao.database import get_db
from mingxiao.policy import require, scoped
from mingxiao.schema_forms import problem_text
from mingxiao.sheetdb import Record

from .. import review
from ..blueprint import bp
from ..forms import CONDITIONS, DECLARATIONS

# What an expert reads of a nomination: everything but the personal numbers and contacts.
EXPERT_FIELDS: tuple[str, ...] = (
    "cohort", "route", "recommending_unit", "district",
    "name", "gender", "birth_date", "ethnicity", "political_status", "education",
    "school", "school_type", "position", "head_since", "title",
    "honors", "work_resume", "contribution",
)  # fmt: skip
RANKING_COLUMNS = ("district", "school", "position", "title", "status")
EXPORT_COLUMNS = ("id", "name", "district", "school", "position", "title", "status")
COMMENT_MAX = 2000
# The audit note of a doubled weight row voided on save (workbook data: Chinese).
DUPLICATE_WEIGHT_NOTE = "重复的评分维度，以评分权重页面保存的值为准"


def _criteria() -> tuple[str, ...]:
    return get_db().choices("score_criteria")


def _weights() -> tuple[dict[str, float], list[tuple[str, dict[str, Any]]]]:
    db = get_db()
    return review.normalised_weights(db.table("score_weights").all(), _criteria())


def _cohorts() -> list[Record]:
    return sorted(get_db().table("cohorts").all(), key=lambda c: (c.get("number") or 0, c.id))


def _cohort_or_404(cohort_id: str) -> Record:
    cohort = get_db().table("cohorts").get(cohort_id)
    if cohort is None:
        abort(404)
    return cohort


def _mine(rows: Sequence[Record], email: str) -> dict[str, Record]:
    """The signed-in expert's rows of one nomination, by criterion (the last one wins)."""
    email = email.strip().lower()
    return {
        str(r["criterion"]): r
        for r in rows
        if str(r.get("expert_email") or "").strip().lower() == email and r.get("criterion")
    }


def refresh_score_total(nomination_id: str, user: str) -> None:
    """Write the mean of the experts' weighted totals to ``nominations.score_total``.

    Left as it is while the weights are broken (the ranking page says what to fix).
    """
    weights, problems = _weights()
    if problems:
        return
    db = get_db()
    rows = db.table("expert_scores").where(nomination=nomination_id)
    per_expert = review.scores_by_expert(rows).get(nomination_id, {})
    mean = review.mean_total(review.expert_totals(per_expert, weights))
    table = db.table("nominations")
    rec = table.get(nomination_id)
    if rec is not None and rec.get("score_total") != mean:
        table.update(nomination_id, {"score_total": mean}, user=user)


# --------------------------------------------------------------------------- expert scoring


def score_form(criteria: Sequence[str], **kwargs: Any) -> FlaskForm:
    """One score (0–100) and one comment per criterion: ``score_<n>``, ``comment_<n>``."""
    attrs: dict[str, Any] = {"base": StringField()}
    for i in range(len(criteria)):
        attrs[f"score_{i}"] = StringField(
            _l("得分"),
            render_kw={"type": "number", "min": 0, "max": 100, "step": "0.5", "required": True},
        )
        attrs[f"comment_{i}"] = TextAreaField(
            _l("评语"),
            validators=[Optional(), Length(max=COMMENT_MAX)],
            render_kw={"rows": 2},
        )
    cls = type("ScoreForm", (FlaskForm,), attrs)
    return cls(**kwargs)


def _shown(mine: dict[str, Record], criteria: Sequence[str]) -> dict[str, Any]:
    """What the form shows of the expert's rows (empty ones too), by form field name: the
    base of the three-way merge (flat, so the hidden field holds no nested JSON)."""
    out: dict[str, Any] = {}
    for i, criterion in enumerate(criteria):
        row = mine.get(criterion)
        out[f"score_{i}"] = row.get("score") if row else None
        out[f"comment_{i}"] = row.get("comment") if row else None
    return out


def _json_object(text: str | None) -> dict[str, Any]:
    """The hidden ``base`` field: a JSON object, or {} when missing or tampered with."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _score_text(value: Any) -> str:
    if value is None:
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() else str(number)


@bp.get("/review/score")
@login_required
def score_list() -> Any:
    require("nominations.score")
    db = get_db()
    candidates = [n for n in db.table("nominations").all() if n.get("status") in review.SCORABLE]
    nominations = scoped(current_user, "nominations.score", candidates)
    nominations.sort(key=lambda n: (str(n.get("cohort") or ""), n.id))
    criteria = _criteria()
    weights, problems = _weights()
    ids = {n.id for n in nominations}
    rows = [r for r in db.table("expert_scores").all() if r.get("nomination") in ids]
    mine = review.scores_by_expert(
        r
        for r in rows
        if str(r.get("expert_email") or "").strip().lower() == current_user.email.lower()
    )
    progress = {}
    for n in nominations:
        scores = mine.get(n.id, {}).get(current_user.email.lower(), {})
        done = sum(1 for c in criteria if scores.get(c) is not None)
        progress[n.id] = {
            "done": done,
            "total": review.expert_total(scores, weights) if not problems else None,
        }
    cohorts = {c.id: c.get("name") or c.id for c in _cohorts()}
    return render_template(
        "nominations/review_score_list.html",
        nominations=nominations,
        progress=progress,
        n_criteria=len(criteria),
        cohorts=cohorts,
        schema=db.schemas["nominations"],
    )


@bp.route("/review/score/<nomination_id>", methods=["GET", "POST"])
@login_required
def score(nomination_id: str) -> Any:
    require("nominations.score")  # other roles: 403
    db = get_db()
    rec = db.table("nominations").get(nomination_id)
    if rec is None:
        abort(404)
    require("nominations.score", rec, status=404)  # not scorable, or own district: 404
    criteria = _criteria()
    scores = db.table("expert_scores")
    mine = _mine(scores.where(nomination=rec.id), current_user.email)
    shown = _shown(mine, criteria)
    data: dict[str, Any] = {"base": json.dumps(shown, ensure_ascii=False)}
    for i, criterion in enumerate(criteria):
        row = mine.get(criterion)
        data[f"score_{i}"] = _score_text(row.get("score")) if row else ""
        data[f"comment_{i}"] = row.get("comment") if row else ""
    form = score_form(criteria, data=data)
    if form.validate_on_submit() and _scores_ok(form, criteria):
        parked = _save_scores(rec, form, criteria, mine, _json_object(form.base.data))
        refresh_score_total(rec.id, current_user.email)
        if parked:
            flash(
                _(
                    "有人在您评分期间改了同一项评分，这部分修改已暂存为冲突，尚未生效。请打开冲突页面选择保留哪一方的值。"
                ),
                "warning",
            )
            return redirect(url_for("admin.conflict", seq=parked[0]))
        flash(_("已保存对 %(name)s 的评分。", name=rec.get("name") or rec.id), "success")
        return redirect(url_for("nominations.score_list"))
    weights, problems = _weights()
    return render_template(
        "nominations/review_score.html",
        nomination=rec,
        schema=db.schemas["nominations"],
        cohort=db.table("cohorts").get(str(rec.get("cohort") or "")),
        fields=EXPERT_FIELDS,
        conditions=CONDITIONS,
        declarations=DECLARATIONS,
        form=form,
        criteria=list(enumerate(criteria)),
        weights=weights,
        weight_problems=[problem_text(p) for p in problems],
    )


def _scores_ok(form: Any, criteria: Sequence[str]) -> bool:
    """Every criterion has a score from 0 to 100; problems are shown at their fields."""
    ok = True
    for i, criterion in enumerate(criteria):
        problem = review.score_problem((form[f"score_{i}"].data or "").strip(), criterion)
        if problem is not None:
            form[f"score_{i}"].errors = [*form[f"score_{i}"].errors, problem_text(problem)]
            ok = False
    return ok


def _save_scores(
    rec: Record,
    form: Any,
    criteria: Sequence[str],
    mine: dict[str, Record],
    base: dict[str, Any],
) -> list[int]:
    """Insert or update one row per criterion; returns the seqs of parked updates."""
    table = get_db().table("expert_scores")
    now = get_db().now()
    email = current_user.email
    parked: list[int] = []
    for i, criterion in enumerate(criteria):
        value = float(form[f"score_{i}"].data.strip())
        comment = (form[f"comment_{i}"].data or "").strip() or None
        row = mine.get(criterion)
        if row is None:
            table.insert(
                {
                    "nomination": rec.id,
                    "expert_email": email,
                    "expert_name": current_user.name,
                    "criterion": criterion,
                    "score": value,
                    "comment": comment,
                    "scored_at": now,
                },
                user=email,
            )
            continue
        # what the form showed; without a (valid) base, the row as it is now
        if f"score_{i}" in base:
            before = {"score": base[f"score_{i}"], "comment": base.get(f"comment_{i}")}
        else:
            before = {"score": row.get("score"), "comment": row.get("comment")}
        if _same(before.get("score"), value) and (before.get("comment") or None) == comment:
            continue  # this criterion was not changed in the form
        result = table.update(
            row.id,
            {"score": value, "comment": comment, "scored_at": now},
            base={"score": before.get("score"), "comment": before.get("comment")},
            user=email,
        )
        if result.status == "parked" and result.op is not None:
            parked.append(result.op.seq)
    return parked


def _same(a: Any, b: Any) -> bool:
    try:
        return a is not None and b is not None and float(a) == float(b)
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- admin: overview


class StartForm(FlaskForm):
    """Start a cohort's review (CSRF only: the cohort is in the URL)."""


@bp.get("/review/")
@login_required
def review_index() -> Any:
    require("nominations.review")
    db = get_db()
    nominations = db.table("nominations").all()
    _weights_ok, problems = _weights()
    overview = []
    for cohort in _cohorts():
        pool = review.in_pool(nominations, cohort.id)
        quota = review.quota_of(cohort)
        overview.append(
            {
                "cohort": cohort,
                "submitted": len(review.startable(nominations, cohort.id)),
                "pool": len(pool),
                "shortlisted": sum(1 for n in pool if n.get("status") == review.SHORTLISTED),
                "quota": quota,
                "ratio": review.candidates_per_place(len(pool), quota),
                "under_review": review.under_review(nominations, cohort.id),
            }
        )
    return render_template(
        "nominations/review_index.html",
        overview=overview,
        weight_problems=[problem_text(p) for p in problems],
        start_form=StartForm(),
    )


@bp.post("/review/<cohort_id>/start")
@login_required
def review_start(cohort_id: str) -> Any:
    require("nominations.review")
    cohort = _cohort_or_404(cohort_id)
    db = get_db()
    table = db.table("nominations")
    batch = review.startable(table.where(cohort=cohort.id), cohort.id)
    name = cohort.get("name") or cohort.id
    if not batch:
        flash(
            _("“%(cohort)s”没有已报送的推荐，没有可以进入专家评审的人选。", cohort=name), "warning"
        )
        return redirect(url_for("nominations.review_index"))
    parked = 0
    for rec in batch:
        result = table.update(
            str(rec["id"]),
            {"status": review.IN_REVIEW},
            base={"status": rec.get("status")},
            user=current_user.email,
        )
        parked += result.status == "parked"
    flash(
        _("“%(cohort)s”的 %(n)d 份推荐已进入专家评审。", cohort=name, n=len(batch) - parked),
        "success",
    )
    if parked:
        flash(
            _("%(n)d 份推荐刚被别人改过，操作已暂存为冲突，请在“同步与冲突”页面处理。", n=parked),
            "warning",
        )
    return redirect(url_for("nominations.review_ranking", cohort_id=cohort.id))


# --------------------------------------------------------------------------- admin: weights


def weights_form(criteria: Sequence[str], **kwargs: Any) -> FlaskForm:
    """One weight per criterion: ``weight_<n>`` (any positive numbers; they are normalised)."""
    attrs: dict[str, Any] = {"base": StringField()}
    for i, criterion in enumerate(criteria):
        attrs[f"weight_{i}"] = FloatField(
            criterion,
            validators=[InputRequired(_l("请填写权重（大于 0 的数字，如 0.2）。"))],
            render_kw={"step": "any", "min": 0},
        )
    cls = type("WeightsForm", (FlaskForm,), attrs)
    return cls(**kwargs)


def _weight_rows() -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {}
    for row in get_db().table("score_weights").all():
        out.setdefault(str(row.get("criterion") or ""), []).append(row)
    return out


@bp.route("/review/weights", methods=["GET", "POST"])
@login_required
def review_weights() -> Any:
    require("nominations.review")
    criteria = _criteria()
    rows = _weight_rows()
    shown = {c: rows[c][0].get("weight") if rows.get(c) else None for c in criteria}
    data: dict[str, Any] = {"base": json.dumps(shown, ensure_ascii=False)}
    data.update({f"weight_{i}": shown[c] for i, c in enumerate(criteria)})
    form = weights_form(criteria, data=data)
    if form.validate_on_submit():
        typed = [
            {"criterion": c, "weight": form[f"weight_{i}"].data} for i, c in enumerate(criteria)
        ]
        problems = review.weight_problems(typed, criteria)
        for template, params in problems:
            i = criteria.index(params["criterion"])
            form[f"weight_{i}"].errors = [*form[f"weight_{i}"].errors, _(template).format(**params)]
        if not problems:
            return _save_weights(form, criteria, rows)
    _weights_now, problems_now = _weights()
    notes = {c: rows[c][0].get("note") if rows.get(c) else None for c in criteria}
    return render_template(
        "nominations/review_weights.html",
        form=form,
        criteria=list(enumerate(criteria)),
        notes=notes,
        stored_problems=[problem_text(p) for p in problems_now],
    )


def _save_weights(form: Any, criteria: Sequence[str], rows: dict[str, list[Record]]) -> Any:
    db = get_db()
    table = db.table("score_weights")
    user = current_user.email
    base = _json_object(form.base.data)
    parked: list[int] = []
    for i, criterion in enumerate(criteria):
        weight = float(form[f"weight_{i}"].data)
        existing = rows.get(criterion) or []
        if not existing:
            table.insert({"criterion": criterion, "weight": weight}, user=user)
            continue
        result = table.update(
            existing[0].id,
            {"weight": weight},
            base={"weight": base.get(criterion, existing[0].get("weight"))},
            user=user,
        )
        if result.status == "parked" and result.op is not None:
            parked.append(result.op.seq)
        for extra in existing[1:]:  # a criterion typed twice: the form's value is the one
            table.void(extra.id, user=user, reason=DUPLICATE_WEIGHT_NOTE)
    _refresh_pool_totals(user)
    if parked:
        flash(
            _(
                "有人在您编辑期间改了同一项权重，这部分修改已暂存为冲突。请打开冲突页面选择保留哪一方的值。"
            ),
            "warning",
        )
        return redirect(url_for("admin.conflict", seq=parked[0]))
    flash(_("已保存评分权重，各人选的评审均分已按新权重重新计算。"), "success")
    return redirect(url_for("nominations.review_index"))


def _refresh_pool_totals(user: str) -> None:
    """Recompute ``score_total`` of every nomination in a review pool (the weights moved)."""
    for nomination in get_db().table("nominations").all():
        if nomination.get("status") in review.POOL | review.SCORABLE:
            refresh_score_total(nomination.id, user)


# --------------------------------------------------------------------------- admin: ranking


class ShortlistForm(FlaskForm):
    """The shortlist of a cohort: the chosen nomination ids and, for an override, the reason."""

    chosen = SelectMultipleField(_l("拟录取"), choices=[], validate_choice=False)
    override_reason = TextAreaField(
        _l("调整理由"),
        validators=[Optional(), Length(max=COMMENT_MAX)],
        description=_l("没有按排名从高到低选取时必填：写明调整的理由，将记入“审定意见”。"),
        render_kw={"rows": 3},
    )


def _ranking(cohort: Record) -> tuple[list[review.RankRow], list[str]]:
    """The cohort's ranking, or ``([], problems)`` while the weights are broken."""
    db = get_db()
    weights, problems = _weights()
    if problems:
        return [], [problem_text(p) for p in problems]
    pool = review.in_pool(db.table("nominations").where(cohort=cohort.id), cohort.id)
    ids = {n.id for n in pool}
    rows = [r for r in db.table("expert_scores").all() if r.get("nomination") in ids]
    return review.rank_rows(pool, rows, weights), []


def _render_ranking(cohort: Record, form: Any, errors: Sequence[str] = ()) -> str:
    rows, weight_problems = _ranking(cohort)
    quota = review.quota_of(cohort)
    ratio = review.ratio_problem(len(rows), quota)
    schema = get_db().schemas["nominations"]
    return render_template(
        "nominations/review_ranking.html",
        cohort=cohort,
        rows=rows,
        quota=quota,
        ratio=review.candidates_per_place(len(rows), quota),
        ratio_problem=problem_text(ratio) if ratio else None,
        weight_problems=weight_problems,
        columns=[(k, schema.column(k).header) for k in RANKING_COLUMNS],
        form=form,
        chosen=set(form.chosen.data or []),
        errors=errors,
    )


@bp.get("/review/<cohort_id>")
@login_required
def review_ranking(cohort_id: str) -> Any:
    require("nominations.review")
    cohort = _cohort_or_404(cohort_id)
    rows, _problems = _ranking(cohort)
    current = [r.id for r in rows if r.nomination.get("status") == review.SHORTLISTED]
    if not current:  # a first shortlist: propose the top of the ranking, within the quota
        current = [r.id for r in rows[: review.quota_of(cohort)] if r.mean is not None]
    form = ShortlistForm(data={"chosen": current})
    return _render_ranking(cohort, form)


@bp.get("/review/<cohort_id>/ranking.<fmt>")
@login_required
def review_export(cohort_id: str, fmt: str) -> Any:
    require("nominations.review")
    cohort = _cohort_or_404(cohort_id)
    if fmt not in exports.FORMATS:
        abort(404)
    rows, problems = _ranking(cohort)
    if problems:
        for problem in problems:
            flash(problem, "error")
        return redirect(url_for("nominations.review_ranking", cohort_id=cohort.id))
    schema = get_db().schemas["nominations"]
    columns = [
        ("rank", _("排名")),
        *((k, _("编号") if k == "id" else schema.column(k).header) for k in EXPORT_COLUMNS),
        ("mean", _("评审均分")),
        ("stdev", _("标准差")),
        ("spread", _("极差（最高−最低）")),
        ("count", _("评分专家数")),
    ]
    name = _("差额评审排名-%(cohort)s", cohort=cohort.get("name") or cohort.id)
    return exports.export_response([r.as_dict() for r in rows], columns, fmt, name)


@bp.post("/review/<cohort_id>/shortlist")
@login_required
def review_shortlist(cohort_id: str) -> Any:
    require("nominations.review")
    cohort = _cohort_or_404(cohort_id)
    form = ShortlistForm()
    if not form.validate_on_submit():
        return _render_ranking(cohort, form)
    rows, weight_problems = _ranking(cohort)
    if weight_problems:
        return _render_ranking(cohort, form, weight_problems)
    chosen = set(form.chosen.data or [])
    reason = form.override_reason.data or ""
    problems = review.shortlist_problems(rows, chosen, review.quota_of(cohort), reason)
    if problems:
        messages = [problem_text(p) for p in problems]
        form.override_reason.errors = [
            problem_text(p) for p in problems if p[0] == review.OVERRIDE_NEEDS_REASON
        ]
        return _render_ranking(cohort, form, messages)
    table = get_db().table("nominations")
    parked = 0
    for rid, changes in review.shortlist_changes(rows, chosen, reason).items():
        current = table.get(rid)
        base = {k: current.get(k) for k in changes} if current is not None else None
        result = table.update(rid, changes, base=base, user=current_user.email)
        parked += result.status == "parked"
    flash(
        _(
            "已确定“%(cohort)s”的拟录取名单：%(n)d 人（计划名额 %(quota)d 名）。",
            cohort=cohort.get("name") or cohort.id,
            n=len(chosen),
            quota=review.quota_of(cohort),
        ),
        "success",
    )
    if parked:
        flash(
            _("%(n)d 份推荐刚被别人改过，操作已暂存为冲突，请在“同步与冲突”页面处理。", n=parked),
            "warning",
        )
    return redirect(url_for("nominations.review_ranking", cohort_id=cohort.id))
