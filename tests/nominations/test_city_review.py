"""The city's competitive review (差额审核): weights, ranking, ratio, quota, overrides, scoring.

The rules are tested as plain functions; the pages through the demo world's real workbook and
real requests (experts score, admins start the review, edit weights and save the shortlist).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from blueprints.nominations import review
from tests._demo import ROLE_EMAILS, World, read_row
from tests.nominations._helpers import insert_nomination, post

pytest_plugins = ["tests._demo"]

CRITERIA = (
    "政治素质",
    "办学理念与管理水平",
    "廉洁自律",
    "立德树人与办学方向",
    "师生发展",
    "社会声誉与办学成果",
)
EQUAL = {c: 1 / 6 for c in CRITERIA}
EXPERTS = ("a@example.cn", "b@example.cn", "c@example.cn")


def weight_rows(**overrides: Any) -> list[dict[str, Any]]:
    rows = {c: 1.0 for c in CRITERIA}
    rows.update(overrides)
    return [{"criterion": c, "weight": w} for c, w in rows.items() if w != "missing"]


def score_rows(nomination: str, expert: str, value: float, **per: float) -> list[dict[str, Any]]:
    """One expert's six scores of one nomination: ``value`` each, or ``per`` criterion."""
    return [
        {
            "nomination": nomination,
            "expert_email": expert,
            "criterion": c,
            "score": per.get(c, value),
        }
        for c in CRITERIA
    ]


def nom(rid: str, status: str = "专家评审", **values: Any) -> dict[str, Any]:
    return {"id": rid, "name": f"人选{rid}", "cohort": "C9", "status": status, **values}


def messages(problems: list[review.Problem]) -> str:
    return " ".join(t.format(**p) for t, p in problems)


# -- weights -----------------------------------------------------------------------------------


def test_weights_are_normalised_to_sum_to_one():
    weights, problems = review.normalised_weights(
        weight_rows(**{"政治素质": 2.0, "廉洁自律": 3.0}), CRITERIA
    )
    assert problems == []
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["廉洁自律"] == pytest.approx(3 / 9)
    assert weights["师生发展"] == pytest.approx(1 / 9)


def test_missing_weight_is_a_problem_naming_the_criterion():
    weights, problems = review.normalised_weights(weight_rows(**{"师生发展": "missing"}), CRITERIA)
    assert weights == {}
    assert "“师生发展”没有权重" in messages(problems)


@pytest.mark.parametrize("bad", [0, -1, None, "很高"])
def test_zero_negative_or_empty_weight_is_a_problem(bad: Any):
    weights, problems = review.normalised_weights(weight_rows(**{"廉洁自律": bad}), CRITERIA)
    assert weights == {}
    assert "“廉洁自律”的权重" in messages(problems) and "大于 0" in messages(problems)


def test_a_criterion_typed_twice_is_a_problem():
    rows = [*weight_rows(), {"criterion": "政治素质", "weight": 0.5}]
    assert "有 2 行" in messages(review.weight_problems(rows, CRITERIA))


# -- totals and ranking ------------------------------------------------------------------------


def test_expert_total_is_the_weighted_mean():
    weights, _ = review.normalised_weights(weight_rows(**{"政治素质": 3.0}), CRITERIA)
    scores = {c: 80 for c in CRITERIA} | {"政治素质": 96}
    assert review.expert_total(scores, weights) == pytest.approx((96 * 3 + 80 * 5) / 8)


def test_expert_total_needs_every_criterion_scored():
    scores = {c: 80 for c in CRITERIA[:-1]}
    assert review.expert_total(scores, EQUAL) is None


def test_ranking_shows_mean_spread_and_count_of_complete_experts():
    scores = [
        *score_rows("N1", EXPERTS[0], 90),
        *score_rows("N1", EXPERTS[1], 80),
        *score_rows("N1", EXPERTS[2], 10)[:3],  # half-scored: not counted
        *score_rows("N2", EXPERTS[0], 70),
    ]
    rows = {r.id: r for r in review.rank_rows([nom("N1"), nom("N2")], scores, EQUAL)}
    n1 = rows["N1"]
    assert (n1.mean, n1.count, n1.spread, n1.stdev) == (85.0, 2, 10.0, 5.0)
    assert (n1.rank, rows["N2"].rank) == (1, 2)


def test_expert_emails_are_matched_case_insensitively():
    scores = [*score_rows("N1", "A@Example.cn", 90)[:3], *score_rows("N1", "a@example.cn", 90)[3:]]
    (row,) = review.rank_rows([nom("N1")], scores, EQUAL)
    assert row.count == 1


def test_ties_share_a_rank_listed_by_id_and_unscored_rank_last():
    scores = [
        *score_rows("N3", EXPERTS[0], 88),
        *score_rows("N1", EXPERTS[0], 88),
        *score_rows("N2", EXPERTS[0], 95),
    ]
    rows = review.rank_rows([nom("N4"), nom("N3"), nom("N2"), nom("N1")], scores, EQUAL)
    assert [(r.id, r.rank) for r in rows] == [("N2", 1), ("N1", 2), ("N3", 2), ("N4", 4)]


def test_ties_are_compared_at_the_shown_precision():
    scores = [
        *score_rows("N1", EXPERTS[0], 88.001),
        *score_rows("N2", EXPERTS[0], 88.004),
    ]
    rows = review.rank_rows([nom("N1"), nom("N2")], scores, EQUAL)
    assert [r.rank for r in rows] == [1, 1]


# -- ratio, quota, overrides -------------------------------------------------------------------


def test_candidates_per_place_uses_the_default_quota_without_one():
    assert review.quota_of({"quota": None}) == 50
    assert review.candidates_per_place(75, review.quota_of({})) == 1.5


def test_ratio_of_one_refuses_the_competitive_review():
    assert review.ratio_problem(3, 2) is None
    problem = review.ratio_problem(2, 2)
    assert problem is not None and "参评人数多于计划名额" in messages([problem])


def ranked(*means: float) -> list[review.RankRow]:
    ids = [f"N{i}" for i in range(1, len(means) + 1)]
    scores = [
        row for rid, m in zip(ids, means, strict=True) for row in score_rows(rid, EXPERTS[0], m)
    ]
    return review.rank_rows([nom(rid) for rid in ids], scores, EQUAL)


def test_shortlist_beyond_the_quota_is_refused():
    rows = ranked(90, 80, 70, 60)
    problems = review.shortlist_problems(rows, {"N1", "N2", "N3"}, quota=2, reason="")
    assert "超过本期计划名额 2 名" in messages(problems)


def test_top_of_the_ranking_needs_no_reason():
    assert review.shortlist_problems(ranked(90, 80, 70), {"N1", "N2"}, quota=2, reason="") == []


def test_choosing_below_someone_left_out_needs_a_reason_naming_the_field():
    rows = ranked(90, 80, 70)
    problems = review.shortlist_problems(rows, {"N1", "N3"}, quota=2, reason=" ")
    text = messages(problems)
    assert "调整理由" in text and "人选N3（3）" in text and "人选N2（2）" in text
    assert review.shortlist_problems(rows, {"N1", "N3"}, quota=2, reason="N2 师德问题待核实") == []


def test_leaving_out_the_top_with_fewer_chosen_is_an_override_too():
    assert review.shortlist_problems(ranked(90, 80, 70), {"N2"}, quota=2, reason="") != []


def test_choosing_between_candidates_tied_at_the_cut_off_is_not_an_override():
    rows = ranked(90, 80, 80)
    assert review.shortlist_problems(rows, {"N1", "N3"}, quota=2, reason="") == []


def test_shortlist_is_refused_when_candidates_do_not_exceed_places():
    problems = review.shortlist_problems(ranked(90, 80), {"N1"}, quota=2, reason="")
    assert "参评人数多于计划名额" in messages(problems)


def test_shortlist_changes_record_the_override_reason_on_both_sides():
    rows = ranked(90, 80, 70)
    changes = review.shortlist_changes(rows, {"N1", "N3"}, "N2 材料存疑")
    assert changes["N3"]["status"] == "拟录取" and "N2 材料存疑" in changes["N3"]["decision_note"]
    assert changes["N2"] == {
        "decision_note": "经专家组差额审核，排名第 2 名，调整未入选，理由：N2 材料存疑"
    }
    assert "N2 材料存疑" not in changes["N1"]["decision_note"]


def test_taking_someone_off_the_shortlist_puts_them_back_in_review():
    rows = review.rank_rows(
        [nom("N1"), nom("N2", status="拟录取", decision_note="旧")],
        [*score_rows("N1", EXPERTS[0], 90), *score_rows("N2", EXPERTS[0], 80)],
        EQUAL,
    )
    assert review.shortlist_changes(rows, {"N1"}, "")["N2"] == {
        "status": "专家评审",
        "decision_note": None,
    }


# -- the pages: expert scoring -----------------------------------------------------------------


def in_review(world: World) -> Any:
    rec = world.db.table("nominations").get(world.samples.extra["review_nomination"])
    assert rec is not None and rec["status"] == "专家评审"
    return rec


def set_expert_district(world: World, district: str | None) -> None:
    users = world.db.table("users")
    (row,) = users.where(email=ROLE_EMAILS["expert"])
    users.update(row.id, {"district": district})


def score_form(value: str = "86", **extra: str) -> dict[str, str]:
    return {**{f"score_{i}": value for i in range(len(CRITERIA))}, **extra}


def expert_rows(world: World, rid: str) -> list[Any]:
    return [
        r
        for r in world.db.table("expert_scores").where(nomination=rid)
        if r["expert_email"] == ROLE_EMAILS["expert"]
    ]


def test_expert_scoring_page_shows_the_statements_but_never_phone_or_id(world: World):
    rec = in_review(world)
    html = world.client("expert").get(f"/nominations/review/score/{rec.id}").get_data(as_text=True)
    assert rec["cond_political"][:20] in html
    assert rec["phone"] not in html and rec["id_number"] not in html
    assert rec["phone"][-4:] + "<" not in html  # not even a masked number


def test_expert_saves_one_row_per_criterion_and_the_mean_goes_to_score_total(world: World):
    rec = in_review(world)
    for row in expert_rows(world, rec.id):  # start from an expert who has not scored
        world.db.table("expert_scores").void(row.id)
    response = post(world, "expert", f"/nominations/review/score/{rec.id}", score_form("86"))
    assert response.status_code == 302
    rows = expert_rows(world, rec.id)
    assert sorted(r["criterion"] for r in rows) == sorted(CRITERIA)
    assert {r["score"] for r in rows} == {86.0}
    weights, _ = review.normalised_weights(world.db.table("score_weights").all(), CRITERIA)
    grouped = review.scores_by_expert(world.db.table("expert_scores").where(nomination=rec.id))
    expected = review.mean_total(review.expert_totals(grouped[rec.id], weights))
    assert world.db.table("nominations").get(rec.id)["score_total"] == expected


def test_rescoring_updates_the_experts_rows_instead_of_adding_rows(world: World):
    rec = in_review(world)
    url = f"/nominations/review/score/{rec.id}"
    post(world, "expert", url, score_form("70"))
    post(world, "expert", url, score_form("75"))
    rows = expert_rows(world, rec.id)
    assert len(rows) == len(CRITERIA) and {r["score"] for r in rows} == {75.0}


def test_a_score_changed_in_the_sheet_meanwhile_is_parked_not_overwritten(world: World):
    rec = in_review(world)
    url = f"/nominations/review/score/{rec.id}"
    post(world, "expert", url, score_form("70"))
    page = world.client("expert").get(url).get_data(as_text=True)
    base = _hidden(page, "base")
    (row,) = [r for r in expert_rows(world, rec.id) if r["criterion"] == CRITERIA[0]]
    world.db.table("expert_scores").update(row.id, {"score": 50})  # someone in Excel
    response = post(world, "expert", url, score_form("90", base=base))
    assert "/admin/conflicts/" in response.headers["Location"]
    assert world.db.table("expert_scores").get(row.id)["score"] == 50.0
    assert world.db.conflicts()


def _hidden(html: str, name: str) -> str:
    import html as html_lib
    import re

    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    assert match, name
    return html_lib.unescape(match.group(1))


def test_score_out_of_range_is_refused_at_its_field(world: World):
    rec = in_review(world)
    before = len(expert_rows(world, rec.id))
    response = post(
        world, "expert", f"/nominations/review/score/{rec.id}", score_form("86", score_2="120")
    )
    assert response.status_code == 200
    assert "“廉洁自律”的得分是 120" in response.get_data(as_text=True)
    assert len(expert_rows(world, rec.id)) == before


def test_expert_list_shows_which_nominations_they_scored(world: World):
    rec = in_review(world)
    post(world, "expert", f"/nominations/review/score/{rec.id}", score_form("86"))
    html = world.client("expert").get("/nominations/review/score").get_data(as_text=True)
    row = html[html.index(f">{rec.id}</a>") :].split("</tr>")[0]
    assert "已评分" in row


def test_expert_of_the_nominees_district_is_refused_with_404(world: World):
    rec = in_review(world)
    set_expert_district(world, rec["district"])
    assert world.client("expert").get(f"/nominations/review/score/{rec.id}").status_code == 404
    listing = world.client("expert").get("/nominations/review/score").get_data(as_text=True)
    assert f">{rec.id}</a>" not in listing


def test_own_district_experts_may_score_when_the_setting_is_off(world: World):
    rec = in_review(world)
    set_expert_district(world, rec["district"])
    world.app.config["NOMINATIONS_EXCLUDE_OWN_DISTRICT_EXPERTS"] = False
    assert world.client("expert").get(f"/nominations/review/score/{rec.id}").status_code == 200


def test_expert_of_another_district_still_scores(world: World):
    rec = in_review(world)
    set_expert_district(world, "淳安县" if rec["district"] != "淳安县" else "建德市")
    assert world.client("expert").get(f"/nominations/review/score/{rec.id}").status_code == 200


def test_expert_cannot_reach_the_district_pages(world: World):
    client = world.client("expert")
    rid = world.samples.records["nominations"]["district"]
    assert client.get("/nominations/").status_code == 403
    assert client.get("/nominations/new").status_code == 403
    assert client.get(f"/nominations/{rid}").status_code == 404


def test_nominations_of_a_cohort_not_under_review_cannot_be_scored(world: World):
    cohort = make_cohort(world, quota=2)
    rid = insert_nomination(world, status="已报送", cohort=cohort)
    assert world.client("expert").get(f"/nominations/review/score/{rid}").status_code == 404


# -- the pages: the admin's review -------------------------------------------------------------


def make_cohort(world: World, quota: int) -> str:
    today = world.db.today()
    return (
        world.db.table("cohorts")
        .insert(
            {
                "name": "测试期",
                "number": 3,
                "start_date": today,
                "end_date": today + dt.timedelta(days=540),
                "nomination_deadline": today,
                "quota": quota,
                "total_hours": 270,
                "status": "遴选中",
            }
        )
        .id
    )


def review_world(
    world: World, quota: int, means: tuple[float, ...] = (90, 80, 70)
) -> tuple[str, list[str]]:
    """A cohort in review whose nominees' means are ``means`` (two experts each, ±4)."""
    cohort = make_cohort(world, quota)
    ids = []
    for i, mean in enumerate(means):
        rid = insert_nomination(world, status="专家评审", cohort=cohort, name=f"候选{i + 1}")
        ids.append(rid)
        rows = [*score_rows(rid, EXPERTS[0], mean + 4), *score_rows(rid, EXPERTS[1], mean - 4)]
        world.db.table("expert_scores").insert_many(
            [{**r, "scored_at": world.db.now()} for r in rows]
        )
    return cohort, ids


def shortlist(world: World, cohort: str, chosen: list[str], reason: str = "") -> Any:
    return post(
        world,
        "admin",
        f"/nominations/review/{cohort}/shortlist",
        {"chosen": chosen, "override_reason": reason},
    )


def statuses(world: World, ids: list[str]) -> list[str]:
    return [world.db.table("nominations").get(rid)["status"] for rid in ids]


def test_ranking_page_shows_mean_spread_count_and_candidates_per_place(world: World):
    cohort, ids = review_world(world, quota=2)
    html = world.client("admin").get(f"/nominations/review/{cohort}").get_data(as_text=True)
    first = html[html.index(f">{ids[0]}</a>") :].split("</tr>")[0]
    assert "90.00" in first and "8.00" in first and "4.00" in first  # mean, spread, stdev
    assert "1.50" in html  # 3 candidates for 2 places


def workbook_status(world: World, rid: str) -> Any:
    row = read_row(world.workbook, "人选推荐", rid)
    assert row is not None, rid
    return row["状态"]


def test_shortlist_sets_the_chosen_to_shortlisted_in_the_workbook(world: World):
    cohort, ids = review_world(world, quota=2)
    assert shortlist(world, cohort, ids[:2]).status_code == 302
    world.db.sync()
    assert [workbook_status(world, rid) for rid in ids] == [
        "拟录取",
        "拟录取",
        "专家评审",
    ]


def test_shortlist_beyond_the_quota_is_refused_on_the_page(world: World):
    cohort, ids = review_world(world, quota=2, means=(90, 80, 70, 60))
    response = shortlist(world, cohort, ids[:3])
    assert response.status_code == 200 and "超过本期计划名额 2 名" in response.get_data(
        as_text=True
    )
    assert statuses(world, ids) == ["专家评审"] * 4


def test_shortlist_is_refused_without_more_candidates_than_places(world: World):
    cohort, ids = review_world(world, quota=3)
    response = shortlist(world, cohort, ids[:2])
    assert "参评人数多于计划名额" in response.get_data(as_text=True)
    assert statuses(world, ids) == ["专家评审"] * 3


def test_override_without_reason_is_refused_and_with_reason_stored(world: World):
    cohort, ids = review_world(world, quota=2)
    refused = shortlist(world, cohort, [ids[0], ids[2]])
    assert "调整理由" in refused.get_data(as_text=True)
    assert statuses(world, ids) == ["专家评审"] * 3
    shortlist(world, cohort, [ids[0], ids[2]], reason="候选2 材料存疑，待核实")
    assert statuses(world, ids) == ["拟录取", "专家评审", "拟录取"]
    assert "候选2 材料存疑" in world.db.table("nominations").get(ids[2])["decision_note"]


def test_start_moves_the_cohorts_submitted_nominations_into_review(world: World):
    cohort = make_cohort(world, quota=2)
    mine = insert_nomination(world, status="已报送", cohort=cohort)
    draft = insert_nomination(world, status="草稿", cohort=cohort, name="草稿人")
    other = next(n.id for n in world.db.table("nominations").all() if n.get("status") == "已报送")
    assert post(world, "admin", f"/nominations/review/{cohort}/start").status_code == 302
    assert statuses(world, [mine, draft, other]) == ["专家评审", "草稿", "已报送"]


def test_zero_weight_is_refused_on_the_weights_page(world: World):
    data = {f"weight_{i}": "0.2" for i in range(len(CRITERIA))} | {"weight_3": "0"}
    before = sorted((r["criterion"], r["weight"]) for r in world.db.table("score_weights").all())
    response = post(world, "admin", "/nominations/review/weights", data)
    assert response.status_code == 200
    assert "“立德树人与办学方向”的权重是“0.0”" in response.get_data(as_text=True)
    after = sorted((r["criterion"], r["weight"]) for r in world.db.table("score_weights").all())
    assert after == before


def test_new_weights_are_saved_and_rescore_the_nominations(world: World):
    cohort, ids = review_world(world, quota=2)
    nominations = world.db.table("nominations")
    scores = world.db.table("expert_scores")
    (row,) = [
        r
        for r in scores.where(nomination=ids[0])
        if r["expert_email"] == EXPERTS[0] and r["criterion"] == CRITERIA[0]
    ]
    scores.update(row.id, {"score": 44})  # one criterion far lower: weights now matter
    data = {f"weight_{i}": "1" for i in range(len(CRITERIA))} | {"weight_0": "4"}
    assert post(world, "admin", "/nominations/review/weights", data).status_code == 302
    weights = {r["criterion"]: r["weight"] for r in world.db.table("score_weights").all()}
    assert weights[CRITERIA[0]] == 4.0 and weights[CRITERIA[1]] == 1.0
    expert_a = (44 * 4 + 94 * 5) / 9
    assert nominations.get(ids[0])["score_total"] == round((expert_a + 86) / 2, 2)


def test_ranking_export_is_an_xlsx_of_the_ranking(world: World):
    cohort, ids = review_world(world, quota=2)
    response = world.client("admin").get(f"/nominations/review/{cohort}/ranking.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("排名", "编号")
    assert [(r[0], r[1]) for r in rows[1:]] == [(1, ids[0]), (2, ids[1]), (3, ids[2])]
