"""The notification centre pages: only the addressee sees or marks a notification."""

from __future__ import annotations

from tests._demo import DISTRICT, World

pytest_plugins = ["tests._demo"]

TITLE = (
    "测试通知：请核对本区县学员名册"  # the one tests/notifications/access_notifications.py prepares
)


def _post(world: World, role: str, url: str, **data: str):
    client = world.client(role)
    return client.post(url, data={**data, "csrf_token": world.token(client)})


def test_only_the_addressed_district_sees_the_notification(world: World):
    assert TITLE in world.client("district").get("/notifications/").get_data(as_text=True)
    for role in ("district2", "admin", "mentor", "trainee", "expert"):
        assert TITLE not in world.client(role).get("/notifications/").get_data(as_text=True), role


def test_nav_shows_the_unread_count_until_it_is_read(world: World):
    nid = world.samples.extra["notification_district"]
    assert "通知（1）" in world.client("district").get("/").get_data(as_text=True)
    assert _post(world, "district", f"/notifications/{nid}/read").status_code == 302
    page = world.client("district").get("/").get_data(as_text=True)
    assert "通知（1）" not in page and "通知" in page


def test_another_user_cannot_mark_it_read(world: World):
    from mingxiao import notifications

    nid = world.samples.extra["notification_district"]
    assert _post(world, "district2", f"/notifications/{nid}/read").status_code == 404
    assert "通知（1）" in world.client("district").get("/").get_data(as_text=True)
    assert notifications.unread_count(world.app, _District()) == 1


def test_open_marks_read_and_follows_the_link(world: World):
    nid = world.samples.extra["notification_district"]
    response = _post(world, "district", f"/notifications/{nid}/read", open="1")
    assert response.status_code == 302 and response.headers["Location"] == "/trainees/"


class _District:
    email = "district.shangcheng@demo.mingxiao.cn"
    role = "district"
    district = DISTRICT
    is_authenticated = True
