import re
import pytest
from tests._demo import ROLES, World
from tests.test_pages_render import Page, pages_of, prepare_admin_world
pytest_plugins = ["tests._demo"]

@pytest.mark.parametrize("role", ["admin", "district", "mentor", "anonymous"])
def test_dump(world: World, role):
    if role == "admin":
        prepare_admin_world(world)
    c = world.client(role)
    if role != "anonymous":
        c.post("/lang", data={"lang": "en", "next": "/", "csrf_token": world.token(c)})
    found = {}
    for e, v in pages_of(role):
        url = world.url(e, v)
        r = c.get(url, headers={"Accept-Language": "en"})
        if r.mimetype != "text/html": continue
        p = Page(r.get_data(as_text=True))
        cjk = sorted({t for t in p.read_texts() if re.search(r"[\u4e00-\u9fff]", t)})
        found[url] = cjk
    for k, v in found.items():
        print(role, k, v[:40])
