"""Access-matrix rows of the notification centre (tests/_demo.py merges them into the matrix).

Every signed-in user reads their own notifications. Marking one read is for its addressees
only: :func:`prepare` addresses one to the 上城区 district staff, which the second district,
admins and everyone else get a 404 for.
"""

from __future__ import annotations

from typing import Any

from tests._demo import DISTRICT, Sample, Samples

LOGIN = "login"

SAMPLES: dict[str, dict[str, Sample]] = {
    "notifications.mark_read": {
        "district": Sample(args=lambda s: {"notification_id": s.extra["notification_district"]})
    },
}

# fmt: off
#                                                       anonymous admin district district2 expert mentor mentor2 trainee
MATRIX: dict[tuple[str, str, str], tuple[Any, ...]] = {
    ("notifications.index", "GET", ""):                 (LOGIN,   200,  200,     200,      200,   200,   200,    200),
    ("notifications.mark_all_read", "POST", ""):        (LOGIN,   302,  302,     302,      302,   302,   302,    302),
    ("notifications.mark_read", "POST", "district"):    (LOGIN,   404,  302,     404,      404,   404,   404,    404),
}
# fmt: on


def prepare(app: Any, db: Any, samples: Samples) -> None:
    """One notification for the 上城区 district staff, in the template's store."""
    from mingxiao import notifications

    samples.extra["notification_district"] = notifications.notify(
        app,
        role="district",
        district=DISTRICT,
        title="测试通知：请核对本区县学员名册",
        body="这是一条发给上城区教育局的通知。",
        link="/trainees/",
    )
