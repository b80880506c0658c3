"""An ordinary status change of one trainee (admins): 在训 ⇄ 预警, 结业 / 未结业 and corrections.

淘汰 is not offered here: it goes through the elimination workflow (``elimination.py``).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao.database import get_db
from mingxiao.schema_forms import problem_text

from .. import rules
from ..blueprint import bp
from ..forms import StatusForm
from ..queries import trainee_or_404
from ..status import StatusError, change_status


@bp.route("/<trainee_id>/status", methods=["GET", "POST"])
@login_required
def change(trainee_id: str) -> Any:
    trainee = trainee_or_404(trainee_id, "trainees.change_status")
    db = get_db()
    form = StatusForm()
    targets = rules.allowed_targets(trainee.get("status"))
    form.status.choices = [(s, s) for s in targets]
    form.ground.choices = [("", "—"), *((g, g) for g in db.choices("elimination_grounds"))]
    if form.validate_on_submit():
        try:
            change_status(
                db,
                trainee,
                form.status.data,
                form.reason.data,
                current_user.email,
                form.ground.data or None,
            )
        except StatusError as exc:
            form.form_errors.append(problem_text(exc.problem))
        else:
            flash(
                _(
                    "已将 %(name)s 的状态改为“%(status)s”，并记入状态变更记录。",
                    name=trainee.get("name"),
                    status=form.status.data,
                ),
                "success",
            )
            return redirect(url_for("trainees.profile", trainee_id=trainee.id))
    return render_template("trainees/status.html", trainee=trainee, form=form, targets=targets)
