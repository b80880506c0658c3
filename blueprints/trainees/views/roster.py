"""The trainee roster (学员名册) and the profile page of one trainee.

The roster lists only what the user may see: admins every trainee, district staff their own
区县's, a mentor their assigned trainees, a trainee themself. Phones are masked unless the
policy grants ``trainees.personal_data``. The profile page gathers the core facts, the status
history and every plugin's section (``trainee_sections``).
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from mingxiao import plugins
from mingxiao.database import get_db
from mingxiao.policy import authorize, is_role, require, scoped
from mingxiao.sheetdb import Page

from .. import rules
from ..blueprint import bp
from ..forms import FilterForm
from ..queries import cohort_names, cohorts, trainee_or_404

# trainees per page of the roster
PER_PAGE = 50


def _nomination_links(trainees: list[Any]) -> dict[str, str]:
    """trainee id → nomination id, for the nominations the user may open."""
    table = get_db().table("nominations")
    out = {}
    for t in trainees:
        nid = t.get("nomination")
        if not nid:
            continue
        nomination = table.get(str(nid))
        if nomination is not None and authorize(current_user, "nominations.view", nomination):
            out[t.id] = nomination.id
    return out


@bp.get("/")
@login_required
def index() -> Any:
    require("trainees.view")
    if is_role(current_user, "trainee"):  # a trainee's roster is their own page
        return redirect(url_for("trainees.profile", trainee_id=current_user.trainee_id))
    db = get_db()
    table = db.table("trainees")
    if is_role(current_user, "district") and current_user.district:
        # their own 区县's trainees, read through the district index (the rule still checks each)
        candidates = table.where(district=current_user.district)
    else:
        candidates = table.all()
    everyone = scoped(current_user, "trainees.view", candidates)
    all_districts = authorize(current_user, "trainees.all_districts")
    form = FilterForm(request.args)
    names = cohort_names()
    form.cohort.choices = [("", "—"), *names.items()]
    form.status.choices = [("", "—"), *((s, s) for s in rules.STATUSES)]
    districts = list(db.choices("districts")) if all_districts else []
    form.district.choices = [("", "—"), *((d, d) for d in districts)]
    chosen = {
        "cohort": request.args.get("cohort") or "",
        "status": request.args.get("status") or "",
        "district": (request.args.get("district") or "") if all_districts else "",
    }
    shown = [
        t for t in everyone if all(not v or str(t.get(k) or "") == v for k, v in chosen.items())
    ]
    order = {c.id: i for i, c in enumerate(cohorts())}
    shown.sort(key=lambda t: (order.get(str(t.get("cohort")), 99), t.id))
    number = max(1, request.args.get("page", 1, type=int) or 1)
    start = (number - 1) * PER_PAGE
    # the counts are of every trainee shown; masks and links only for this page's rows
    page = Page(
        items=shown[start : start + PER_PAGE], total=len(shown), page=number, per_page=PER_PAGE
    )
    reveal = {t.id for t in page.items if authorize(current_user, "trainees.personal_data", t)}
    return render_template(
        "trainees/roster.html",
        page=page,
        filters={k: v for k, v in chosen.items() if v},
        total=len(everyone),
        counts=rules.status_counts(shown),
        form=form,
        cohort_names=names,
        all_districts=all_districts,
        reveal=reveal,
        nominations=_nomination_links(page.items),
        can_manage=authorize(current_user, "trainees.cohorts"),
    )


def render_sections(trainee: Any) -> list[tuple[Any, Markup]]:
    """Every plugin's section of this trainee's page, rendered for the current user."""
    out = []
    for widget in plugins.trainee_sections(trainee, current_user):
        out.append((widget, plugins.render_widget(widget, trainee=trainee)))
    return out


@bp.get("/<trainee_id>")
@login_required
def profile(trainee_id: str) -> Any:
    trainee = trainee_or_404(trainee_id)
    db = get_db()
    history = sorted(
        db.table("trainee_status_history").where(trainee=trainee.id),
        key=lambda h: (str(h.get("changed_at") or ""), h.id),
    )
    cases = []
    if authorize(current_user, "trainees.eliminations", None):
        cases = sorted(
            db.table("elimination_cases").where(trainee=trainee.id),
            key=lambda c: (str(c.get("proposed_at") or ""), c.id),
            reverse=True,
        )
    cohort = db.table("cohorts").get(str(trainee.get("cohort") or ""))
    return render_template(
        "trainees/profile.html",
        trainee=trainee,
        cohort=cohort,
        history=history,
        cases=cases,
        sections=render_sections(trainee),
        reveal=authorize(current_user, "trainees.personal_data", trainee),
        nomination=_nomination_links([trainee]).get(trainee.id),
        can_change=authorize(current_user, "trainees.change_status"),
        can_eliminate=authorize(current_user, "trainees.eliminate"),
        open_case=any(c.get("status") == rules.PENDING for c in cases),
        active=trainee.get("status") in rules.ACTIVE,
    )
