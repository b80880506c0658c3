"""Access-matrix rows of the city's 差额审核 (tests/_demo.py merges them into the matrix).

Experts score (a nomination in review: 200; a draft: 404, it is not theirs to know); every
other role is refused the scoring pages (403). The review itself — start, weights, ranking,
export, shortlist — is the city office's (admin) alone. In the demo world the review cohort
has fewer candidates than places, so the admin's shortlist POST is answered with the ranking
page and the 差额 message (200), not saved.
"""

from __future__ import annotations

from typing import Any

from tests._demo import Sample, Samples

LOGIN = "login"


def prepare(app: Any, db: Any, samples: Samples) -> None:
    """Find (not create) a nomination in review, its cohort, and a draft nomination."""
    nominations = db.table("nominations").all()
    in_review = [n for n in nominations if n.get("status") == "专家评审"]
    assert in_review, "the demo data should have nominations in 专家评审"
    drafts = [n for n in nominations if n.get("status") == "草稿"]
    assert drafts, "the demo data should have draft nominations"
    samples.extra["review_nomination"] = in_review[0].id
    samples.extra["review_cohort"] = str(in_review[0]["cohort"])
    samples.extra["draft_nomination"] = drafts[0].id


def _scores(s: Samples) -> dict[str, Any]:
    data: dict[str, Any] = {f"score_{i}": "85" for i in range(6)}
    data["comment_0"] = "材料翔实"
    return data


def _cohort(s: Samples) -> dict[str, Any]:
    return {"cohort_id": s.extra["review_cohort"]}


SAMPLES: dict[str, dict[str, Sample]] = {
    "nominations.score": {
        "": Sample(args=lambda s: {"nomination_id": s.extra["review_nomination"]}, data=_scores),
        "draft": Sample(
            args=lambda s: {"nomination_id": s.extra["draft_nomination"]}, data=_scores
        ),
    },
    "nominations.review_start": {"": Sample(args=_cohort)},
    "nominations.review_ranking": {"": Sample(args=_cohort)},
    "nominations.review_export": {
        "": Sample(args=lambda s: {**_cohort(s), "fmt": "xlsx"}),
        "unknown_format": Sample(args=lambda s: {**_cohort(s), "fmt": "pdf"}),
    },
    "nominations.review_shortlist": {
        "": Sample(args=_cohort, data=lambda s: {"chosen": [s.extra["review_nomination"]]})
    },
    "nominations.review_weights": {
        "": Sample(data=lambda s: {f"weight_{i}": "1" for i in range(6)})
    },
}

# fmt: off
#                                                              anonymous admin district district2 expert mentor mentor2 trainee
MATRIX: dict[tuple[str, str, str], tuple[Any, ...]] = {
    # experts: the scoring list and the scoring page of a nomination in review
    ("nominations.score_list", "GET", ""):                     (LOGIN, 403, 403, 403, 200, 403, 403, 403),
    ("nominations.score", "GET", ""):                          (LOGIN, 403, 403, 403, 200, 403, 403, 403),
    ("nominations.score", "POST", ""):                         (LOGIN, 403, 403, 403, 302, 403, 403, 403),
    # a draft is not in review: the expert is told nothing about it
    ("nominations.score", "GET", "draft"):                     (LOGIN, 403, 403, 403, 404, 403, 403, 403),
    ("nominations.score", "POST", "draft"):                    (LOGIN, 403, 403, 403, 404, 403, 403, 403),
    # the city office runs the review
    ("nominations.review_index", "GET", ""):                   (LOGIN, 200, 403, 403, 403, 403, 403, 403),
    ("nominations.review_start", "POST", ""):                  (LOGIN, 302, 403, 403, 403, 403, 403, 403),
    ("nominations.review_weights", "GET", ""):                 (LOGIN, 200, 403, 403, 403, 403, 403, 403),
    ("nominations.review_weights", "POST", ""):                (LOGIN, 302, 403, 403, 403, 403, 403, 403),
    ("nominations.review_ranking", "GET", ""):                 (LOGIN, 200, 403, 403, 403, 403, 403, 403),
    ("nominations.review_export", "GET", ""):                  (LOGIN, 200, 403, 403, 403, 403, 403, 403),
    ("nominations.review_export", "GET", "unknown_format"):    (LOGIN, 404, 403, 403, 403, 403, 403, 403),
    ("nominations.review_shortlist", "POST", ""):              (LOGIN, 200, 403, 403, 403, 403, 403, 403),
}
# fmt: on
