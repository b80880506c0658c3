"""Roster and profile scoping: each role sees only its own trainees; others get a bare 404."""

from __future__ import annotations

from tests._demo import ROLE_EMAILS, World

pytest_plugins = ["tests._demo"]


def _ids(world: World, role: str, query: str = "") -> str:
    return world.client(role).get(f"/trainees/{query}").get_data(as_text=True)


def test_district_sees_its_trainee_and_the_other_district_does_not(world: World):
    tid = world.samples.extra["trainees_district"]
    assert tid in _ids(world, "district")
    assert tid not in _ids(world, "district2")


def test_district_roster_lists_only_its_own_district(world: World):
    own = {t.id for t in world.db.table("trainees").where(district="上城区")}
    others = {t.id for t in world.db.table("trainees").all()} - own
    page = _ids(world, "district")
    assert all(t in page for t in own)
    assert not [t for t in others if f">{t}<" in page]


def test_mentor_sees_their_trainee_and_the_second_mentor_does_not(world: World):
    tid = world.samples.extra["trainees_district"]
    assert tid in _ids(world, "mentor")
    assert tid not in _ids(world, "mentor2")


def test_roster_filters_by_status(world: World):
    tid = world.samples.extra["trainees_district"]
    assert tid in _ids(world, "admin", "?status=在训")
    assert tid not in _ids(world, "admin", "?status=结业")


def test_trainee_is_sent_to_their_own_page(world: World):
    response = world.client("trainee").get("/trainees/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(world.samples.records["trainees"]["trainee"])


def test_profile_refused_with_no_personal_data_in_the_body(world: World):
    tid = world.samples.extra["trainees_district"]
    trainee = world.db.table("trainees").get(tid)
    for role in ("district2", "mentor2", "trainee", "expert"):
        response = world.client(role).get(f"/trainees/{tid}")
        body = response.get_data(as_text=True)
        assert response.status_code == 404, role
        for value in (trainee["name"], trainee["phone"], trainee["school"]):
            assert value not in body, (role, value)


def test_phone_is_full_for_the_district_and_masked_for_the_mentor(world: World):
    tid = world.samples.extra["trainees_district"]
    phone = world.db.table("trainees").get(tid)["phone"]
    assert phone in world.client("district").get(f"/trainees/{tid}").get_data(as_text=True)
    mentor_page = world.client("mentor").get(f"/trainees/{tid}").get_data(as_text=True)
    assert phone not in mentor_page and phone[-4:] in mentor_page


def test_profile_shows_the_status_history_and_links_the_nomination_for_its_district(world: World):
    tid = world.samples.extra["trainees_district"]
    trainee = world.db.table("trainees").get(tid)
    page = world.client("district").get(f"/trainees/{tid}").get_data(as_text=True)
    assert "录取为培养人选。" in page
    assert f'/nominations/{trainee["nomination"]}"' in page
    mentor_page = world.client("mentor").get(f"/trainees/{tid}").get_data(as_text=True)
    assert f'/nominations/{trainee["nomination"]}"' not in mentor_page


def test_profile_includes_the_sections_of_other_plugins(world: World):
    """Whatever ``trainee_sections`` gives the admin for this trainee is on the admin's page."""
    from mingxiao import plugins
    from mingxiao.auth import load_user

    tid = world.samples.extra["trainees_district"]
    with world.app.test_request_context():
        user = load_user(ROLE_EMAILS["admin"])
        assert user is not None
        titles = [
            str(w.title)
            for w in plugins.trainee_sections(world.db.table("trainees").get(tid), user)
        ]
    page = world.client("admin").get(f"/trainees/{tid}").get_data(as_text=True)
    assert all(title in page for title in titles), titles


def test_district_dashboard_counts_its_trainees_by_status(world: World):
    page = world.client("district").get("/").get_data(as_text=True)
    assert "本区县学员" in page
    assert "上城区 共有学员" in page
    assert "本区县学员" not in world.client("mentor").get("/").get_data(as_text=True)
