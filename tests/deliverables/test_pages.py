"""Every deliverables page renders for every visitor allowed to see it, in both languages: the
checks of tests/test_pages_render.py (status, <html lang>, no untranslated text or English
title in Chinese, no template residue, no unmasked phone or ID numbers), limited to this
plugin so they run without the other features' pages."""

from __future__ import annotations

import pytest

from tests._demo import ROLES, World
from tests.test_pages_render import LANGS, check_page, pages_of

pytest_plugins = ["tests._demo"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_every_deliverables_page_renders(world: World, role: str, lang: str):
    pages = [(e, v) for e, v in pages_of(role) if e.startswith("deliverables.")]
    if role != "expert":
        assert pages, f"{role} sees no deliverables page"
    client = world.client(role)
    chosen = client.post(
        "/lang", data={"lang": lang, "next": "/", "csrf_token": world.token(client)}
    )
    assert chosen.status_code == 302
    for endpoint, variant in pages:
        url = world.url(endpoint, variant)
        check_page(world, role, lang, url, client.get(url))
