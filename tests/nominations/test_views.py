"""Nomination entry: the window, validation at the field, district confinement, masking."""

from __future__ import annotations

from tests._demo import DISTRICT, World
from tests.nominations._helpers import form_data, insert_nomination, post, set_window

pytest_plugins = ["tests._demo"]


def count(world: World) -> int:
    return len(world.db.table("nominations").all())


def test_entry_is_refused_while_the_window_is_closed(world: World):
    set_window(world, open_=False)
    before = count(world)
    response = post(world, "district", "/nominations/new", form_data(world))
    assert response.status_code == 200
    assert "推荐通道未开放" in response.get_data(as_text=True)
    assert count(world) == before


def test_entry_is_refused_after_the_deadline(world: World):
    set_window(world, days_left=-1)
    before = count(world)
    response = post(world, "district", "/nominations/new", form_data(world))
    assert "截止" in response.get_data(as_text=True) and count(world) == before


def test_district_entry_lands_in_the_users_own_district_as_a_draft(world: World):
    set_window(world)
    response = post(world, "district", "/nominations/new", form_data(world, district="西湖区"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    rid = response.headers["Location"].rsplit("/", 1)[-1]
    rec = world.db.table("nominations").get(rid)
    assert (rec["district"], rec["status"], rec["name"]) == (DISTRICT, "草稿", "钱学敏")


def test_ineligible_position_is_shown_at_the_position_field(world: World):
    set_window(world)
    before = count(world)
    response = post(world, "district", "/nominations/new", form_data(world, position="副校长"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and count(world) == before
    start = html.index('id="position-error"')
    assert "正职校长" in html[start : html.index("</p>", start)]


def test_missing_required_field_is_shown_at_that_field(world: World):
    set_window(world)
    html = post(world, "district", "/nominations/new", form_data(world, school="")).get_data(
        as_text=True
    )
    start = html.index('id="school-error"')
    assert "必填" in html[start : html.index("</p>", start)]


def test_district_staff_cannot_open_other_district_nomination(world: World):
    rid = insert_nomination(world)
    rec = world.db.table("nominations").get(rid)
    response = world.client("district2").get(f"/nominations/{rid}")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert rec["name"] not in body and rec["phone"] not in body and rec["id_number"] not in body


def test_district_staff_cannot_post_to_other_district_nomination(world: World):
    set_window(world)
    rid = insert_nomination(world)
    for url, data in (
        (f"/nominations/{rid}/edit", form_data(world, school="别区改的")),
        (f"/nominations/{rid}/stamp", {}),
        (f"/nominations/{rid}/return", {"return_reason": "x"}),
    ):
        response = post(world, "district2", url, data)
        assert response.status_code == 404, url
        assert "钱学敏" not in response.get_data(as_text=True)
    rec = world.db.table("nominations").get(rid)
    assert (rec["school"], rec["status"]) == ("杭州市测试实验小学", "草稿")


def test_own_district_sees_the_full_phone_number(world: World):
    rid = insert_nomination(world)
    assert "13957100001" in world.client("district").get(f"/nominations/{rid}").get_data(
        as_text=True
    )


def test_list_shows_only_the_users_district(world: World):
    insert_nomination(world, district="西湖区", name="西湖某校长")
    html = world.client("district").get("/nominations/?status=草稿").get_data(as_text=True)
    assert "西湖某校长" not in html


def test_edit_with_a_stale_form_parks_a_conflict(world: World):
    set_window(world)
    rid = insert_nomination(world)
    world.db.table("nominations").update(rid, {"school": "表格里改的学校"})
    base = '{"school": "杭州市测试实验小学"}'
    response = post(
        world,
        "district",
        f"/nominations/{rid}/edit",
        {**form_data(world, school="表单里改的学校"), "_base": base},
    )
    assert response.status_code == 302
    assert "/admin/conflicts/" in response.headers["Location"]
    assert world.db.table("nominations").get(rid)["school"] == "表格里改的学校"


def test_admin_opens_a_window_with_guide_numbers(world: World):
    cid = world.samples.records["cohorts"]["admin"]
    data = {
        "nomination_deadline": "2099-05-31",
        "quota": "50",
        "nomination_open": "y",
        "guide_0": "4",
    }
    assert post(world, "admin", f"/nominations/windows/{cid}", data).status_code == 302
    cohort = world.db.table("cohorts").get(cid)
    assert cohort["nomination_open"] is True and str(cohort["nomination_deadline"]) == "2099-05-31"
    first = world.db.choices("districts")[0]
    quotas = world.db.table("nomination_quotas").where(cohort=cid, district=first)
    assert [q["guide_number"] for q in quotas] == [4]


def test_the_cached_list_is_per_district_and_follows_every_save(world: World):
    """The list's table is rendered once per state of the sheets, scope, query and language
    (views/entry.py): another district never gets it, and a save shows at once."""
    first = insert_nomination(world, name="上城某校长")
    world.db.sync()
    url = "/nominations/?status=草稿"
    own = world.client("district").get(url).get_data(as_text=True)
    assert "上城某校长" in own
    other = world.client("district2").get(url).get_data(as_text=True)
    assert "上城某校长" not in other and first not in other
    insert_nomination(world, name="新来的校长")  # pending: the list is rendered afresh
    pending = world.client("district").get(url).get_data(as_text=True)
    assert "新来的校长" in pending and "badge--syncing" in pending
    world.db.sync()
    synced = world.client("district").get(url).get_data(as_text=True)
    assert "新来的校长" in synced and "badge--syncing" not in synced
    world.db.table("nominations").update(first, {"name": "改了名的校长"})
    world.db.sync()
    again = world.client("district").get(url).get_data(as_text=True)
    assert "改了名的校长" in again and "上城某校长" not in again
    assert "共 " in again  # the count line, in Chinese
    client = world.client("district")
    client.post("/lang", data={"lang": "en", "csrf_token": world.token(client)})
    english = client.get(url).get_data(as_text=True)  # same scope, query and data: not the Chinese copy
    assert "改了名的校长" in english and "共 " not in english and " records" in english
