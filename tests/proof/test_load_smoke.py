"""The load test's smoke run: ``bench/load.py`` with ``bench/locustfile.py``, small and short.

The same code as the full bench (gunicorn with ``deploy/gunicorn.conf.py`` on 127.0.0.1, one
signed-in district clerk per locust user, CSRF tokens from the real forms, headless locust in
its own process), at demo scale 0.1 with 4 users and three 5-second phases per backend: the
xlsx workbook, and Google on the in-repo fake with its 60-per-minute quota.

It asserts what must hold at any speed: no request failed (every page answered as a clerk
expects, every save was accepted and redirected to the saved nomination, every export had the
right type), and every kind of request the bench reports was made. It never asserts times:
the figures are the bench's business (``bench/README.md``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import load

pytestmark = pytest.mark.slow

# Every kind the bench's tables report (the list pages are the district's navigation, as in
# bench/locustfile.py's OTHER_LISTS; that file is not imported here: locust patches the
# standard library with gevent on import). Trainee and workshop details need trainees in the
# clerk's district, which demo scale 0.1 does not always give, so they are not required here).
REQUIRED_KINDS = {
    "trivial": {"trivial: healthz"},
    "lists": {"login: form", "login: submit", "list: nominations"},
    "mix": {
        "login: form",
        "login: submit",
        "list: nominations",
        "list: invitations",
        "list: trainees",
        "list: eliminations",
        "list: workshops",
        "list: deliverables",
        "list: sessions",
        "list: risk",
        "list: notifications",
        "detail: nomination",
        "form: new nomination",
        "save: new nomination",
        "form: edit nomination",
        "save: edit nomination",
        "export: summary xlsx",
        "export: summary csv",
    },
}


def test_locust_clerks_on_both_backends_make_every_kind_of_request_without_errors(
    tmp_path: Path,
) -> None:
    data = load.run(
        ["xlsx", "google"], scale=0.1, users=4, seconds=5, workers=2, cache=tmp_path / "cache",
        think=(0.02, 0.05), spawn=4,  # a short run: every kind within 5 s
    )
    assert [r["backend"] for r in data["results"]] == ["xlsx", "google"]
    assert (
        len(data["world"]["accounts"])
        == len(set(a["district"] for a in data["world"]["accounts"]))
        >= 13
    )
    for res in data["results"]:
        assert res["warmup"]["errors"] == [], res["warmup"]
        for phase, kinds in REQUIRED_KINDS.items():
            seen = res["phases"][phase]["kinds"]
            missing = kinds - {k for k, v in seen.items() if v["n"] > 0}
            assert not missing, f"{res['backend']} {phase}: never requested {sorted(missing)}"
            failed = {k: v["errors"] for k, v in seen.items() if v["errors"]}
            assert not failed, (
                f"{res['backend']} {phase}: {failed} {res['phases'][phase]['failures']}"
            )
        assert res["targets"]["errors"]["value"] == 0
    google = data["results"][1]
    assert google["quota_per_minute"] == {"read": 60, "write": 60}
    assert google["google_calls_total"]["read"] > 0  # the site really read the fake spreadsheet
