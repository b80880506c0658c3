"""Locust users for ``bench/load.py``: district clerks on the real site, plus a trivial route.

Run by ``bench/load.py`` (one ``locust --headless`` process per phase); it can also be run by
hand against a prepared instance::

    LOAD_WORLD=bench/out/load-world.json locust -f bench/locustfile.py --headless \\
        -u 20 -r 20 -t 60s --host http://127.0.0.1:8000 ClerkUser

``LOAD_WORLD`` names the JSON file ``bench/load.py`` writes next to the instance: the clerk
accounts (one per district), their password and the cohort whose nomination window is open.
``LOAD_SAMPLES`` (optional) names a JSON-lines file that receives every request as
``[kind, start (epoch s), response time (s), ok, status]``: the exact samples behind the
percentiles (locust's own percentiles are rounded into buckets).

User classes, one per phase:

- ``TrivialUser``: ``GET /healthz`` as fast as it can (the throughput yardstick);
- ``ListUser``: a signed-in clerk loading list pages as fast as they can;
- ``ClerkUser``: the workload mix with a short think time: list pages (the nominations list
  with and without filters, every other list a district sees), detail pages, nomination saves
  (new and edited drafts through the real form, CSRF token included) and the 《人选汇总表》
  exports (xlsx and CSV).

Every request is checked: the expected status, never the login page, a save answered with the
redirect to the saved nomination, an export with the right content type. Anything else is a
failure (an error in the report).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time
from typing import Any

import lxml.html
from locust import FastHttpUser, between, events, task

WORLD: dict[str, Any] = {}
if os.environ.get("LOAD_WORLD"):
    with open(os.environ["LOAD_WORLD"], encoding="utf-8") as fh:
        WORLD = json.load(fh)

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
NOMINATION_LINK = re.compile(r'href="/nominations/(N\d{4}-\d{4})"')
TRAINEE_LINK = re.compile(r'href="/trainees/([A-Z]+[\d-]+)"')
WORKSHOP_LINK = re.compile(r'href="/workshops/([A-Z]+[\d-]+)"')
# The list pages a district clerk has in the navigation (besides the nominations list).
OTHER_LISTS = (
    ("list: invitations", "/nominations/invitations"),
    ("list: trainees", "/trainees/"),
    ("list: eliminations", "/trainees/eliminations"),
    ("list: workshops", "/workshops/"),
    ("list: deliverables", "/deliverables/"),
    ("list: sessions", "/curriculum/sessions"),
    ("list: risk", "/curriculum/risk"),
    ("list: notifications", "/notifications/"),
)
STATUSES = ("草稿", "已退回", "已盖章", "已报送", "已录取", "未录取")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# GB 11643: weights of the first 17 digits and the check character for sum mod 11.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "晓明华丽静敏伟芳军洁勇艳杰娟涛超秀英宇浩"

_accounts = itertools.count()
_names = itertools.count(1)
_lock = threading.Lock()
_samples: list[list[Any]] = []


@events.request.add_listener
def _record(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    exception: Any = None,
    context: Any = None,
    start_time: float | None = None,
    response: Any = None,
    **_kw: Any,
) -> None:  # noqa: E501
    status = getattr(response, "status_code", None) if response is not None else None
    _samples.append(
        [name, start_time or time.time(), response_time / 1000.0, exception is None, status]
    )
    if exception is not None and os.environ.get("LOAD_SAMPLES"):
        body = ""
        try:
            body = (response.text or "")[:300] if response is not None else ""
        except Exception:  # noqa: BLE001 - a diagnostic only
            body = ""
        _samples[-1].append(f"{exception} {body}".strip()[:500])


@events.quitting.add_listener
def _dump(environment: Any, **_kw: Any) -> None:
    path = os.environ.get("LOAD_SAMPLES")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as fh:
        for s in _samples:
            fh.write(json.dumps(s, ensure_ascii=False) + "\n")


def csrf_of(html: str) -> str | None:
    m = CSRF_RE.search(html or "")
    return (m.group(1) or m.group(2)) if m else None


def id_number(region: str, birth: str, seq: int) -> str:
    body = f"{region}{birth.replace('-', '')}{seq:03d}"
    total = sum(int(c) * w for c, w in zip(body, ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


class TrivialUser(FastHttpUser):
    """The yardstick: the cheapest route of the same server, no think time."""

    wait_time = between(0, 0)

    @task
    def healthz(self) -> None:
        with self.client.get("/healthz", name="trivial: healthz", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"status {r.status_code}")


class _Clerk(FastHttpUser):
    abstract = True

    def on_start(self) -> None:
        accounts = WORLD["accounts"]
        with _lock:
            self.account = accounts[next(_accounts) % len(accounts)]
        self.rng = random.Random(hash(self.account["email"]) ^ id(self))
        self.nominations: list[str] = []
        self.trainees: list[str] = []
        self.workshops: list[str] = []
        self.drafts: list[str] = []  # drafts this user saved (editable while the window is open)
        self.login()

    # ------------------------------------------------------------------ helpers
    def login(self) -> None:
        r = self.client.get("/auth/login", name="login: form")
        token = csrf_of(r.text)
        form = {
            "email": self.account["email"],
            "password": WORLD["password"],
            "csrf_token": token or "",
        }
        with self.client.post(
            "/auth/login",
            data=form,
            name="login: submit",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            where = r.headers.get("Location") or ""
            if r.status_code != 302 or "/auth/login" in where:
                r.failure(f"login refused: {r.status_code} → {where!r}")

    def page(self, name: str, path: str) -> str:
        """GET a page a clerk may see: 200 (a redirect, e.g. to the login page, is a failure)."""
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{path}: status {r.status_code} → {r.headers.get('Location')!r}")
                return ""
            return r.text or ""

    def nominations_list(self, *, plain: bool = False) -> None:
        """The nominations list, with random filters unless ``plain`` (the district's newest)."""
        params = []
        roll = 0.85 if plain else self.rng.random()
        if roll < 0.5:
            params.append(("cohort", self.rng.choice(WORLD["cohorts"])))
        if 0.3 < roll < 0.8:
            params.append(("status", self.rng.choice(STATUSES)))
        if roll > 0.9:
            params.append(("page", "2"))
        query = "&".join(f"{k}={v}" for k, v in params)
        html = self.page("list: nominations", "/nominations/" + (f"?{query}" if query else ""))
        found = NOMINATION_LINK.findall(html)
        if found:
            self.nominations = list(dict.fromkeys(found + self.nominations))[:60]

    def other_list(self, name: str | None = None) -> None:
        name, path = (
            next((k, p) for k, p in OTHER_LISTS if k == name)
            if name
            else self.rng.choice(OTHER_LISTS)
        )
        html = self.page(name, path)
        if path == "/trainees/":
            self.trainees = list(dict.fromkeys(TRAINEE_LINK.findall(html)))[:60] or self.trainees
        elif path == "/workshops/":
            self.workshops = list(dict.fromkeys(WORKSHOP_LINK.findall(html)))[:60] or self.workshops

    def form_values(self, html: str) -> dict[str, Any] | None:
        doc = lxml.html.fromstring(html)
        for form in doc.forms:
            if (
                form.inputs is not None
                and "csrf_token" in form.inputs.keys()
                and "name" in form.inputs.keys()
            ):  # noqa: SIM118
                values: dict[str, Any] = {}
                for k, v in form.form_values():
                    values.setdefault(k, v)
                return values
        return None

    # ------------------------------------------------------------------ the kinds of work
    def detail(self, kind: float | None = None) -> None:
        """A detail page: nomination 60 %, trainee 25 %, 工作室 15 % (``kind`` picks one)."""
        kind = self.rng.random() if kind is None else kind
        if kind < 0.6 or not (self.trainees or self.workshops):
            if not self.nominations:
                self.nominations_list()
            if self.nominations:
                self.page("detail: nomination", f"/nominations/{self.rng.choice(self.nominations)}")
        elif kind < 0.85 and self.trainees:
            self.page("detail: trainee", f"/trainees/{self.rng.choice(self.trainees)}")
        elif self.workshops:
            self.page("detail: workshop", f"/workshops/{self.rng.choice(self.workshops)}")

    def new_nomination(self) -> None:
        html = self.page("form: new nomination", "/nominations/new")
        values = self.form_values(html) if html else None
        if values is None:
            return
        n = next(_names)
        year = self.rng.randint(1972, 1980)
        birth = f"{year}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"
        values.update(
            cohort=WORLD["open_cohort"],
            recommending_unit=f"{self.account['district']}教育局",
            name=self.rng.choice(SURNAMES) + self.rng.choice(GIVEN) + self.rng.choice(GIVEN),
            birth_date=birth,
            id_number=id_number(self.account["region"], birth, (n * 7 + os.getpid()) % 1000),
            school=f"压测第{n}学校",
            head_since="2015-09-01",
            route="单位推荐",
            gender=self.rng.choice(("男", "女")),
            school_type="小学",
            position="正职校长",
            title="高级教师",
            phone=f"139{self.rng.randint(10**7, 10**8 - 1)}",
            no_safety_accident="y",
            no_irregular_conduct="y",
            no_ideology_issue="y",
            no_opinion_incident="y",
        )
        self.post_nomination("save: new nomination", "/nominations/new", values, new=True)

    def edit_nomination(self) -> None:
        if not self.drafts:
            self.new_nomination()
            return
        nid = self.rng.choice(self.drafts)
        html = self.page("form: edit nomination", f"/nominations/{nid}/edit")
        values = self.form_values(html) if html else None
        if values is None:
            return
        values["school"] = f"压测修改{next(_names)}学校"
        values["phone"] = f"138{self.rng.randint(10**7, 10**8 - 1)}"
        self.post_nomination("save: edit nomination", f"/nominations/{nid}/edit", values, new=False)

    def post_nomination(self, name: str, path: str, values: dict[str, Any], *, new: bool) -> None:
        with self.client.post(
            path, data=values, name=name, allow_redirects=False, catch_response=True
        ) as r:
            where = r.headers.get("Location") or ""
            m = re.search(r"/nominations/(N\d{4}-\d{4})$", where)
            if r.status_code != 302 or not m:
                errors = re.findall(
                    r'class="[^"]*(?:field-error|form-error|error)[^"]*"[^>]*>([^<]{1,200})',
                    r.text or "",
                )
                r.failure(f"save refused: {r.status_code} → {where!r} {errors[:3]}")
                return
            if new:
                self.drafts.append(m.group(1))

    def export(self, fmt: str | None = None) -> None:
        fmt = fmt or self.rng.choice(("xlsx", "csv"))
        cohort = self.rng.choice(WORLD["cohorts"])
        with self.client.get(
            f"/nominations/summary.{fmt}?cohort={cohort}",
            name=f"export: summary {fmt}",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            ctype = r.headers.get("Content-Type") or ""
            want = XLSX_TYPE if fmt == "xlsx" else "text/csv"
            if r.status_code != 200 or want not in ctype:
                r.failure(f"export: status {r.status_code}, type {ctype!r}")


class ListUser(_Clerk):
    """A clerk loading list pages back to back (the list-throughput phase)."""

    wait_time = between(0, 0)

    @task(3)
    def nominations(self) -> None:
        self.nominations_list()

    @task(2)
    def others(self) -> None:
        self.other_list()


class ClerkUser(_Clerk):
    """The workload mix: lists, details, saves and exports with a short think time.

    Each session starts with a tour of every kind of work (every list page, a detail page,
    a new and an edited nomination, both exports), then picks work at random by weight; the
    same think time separates every step. (The tour used to run back to back: 20 users × 18
    requests at once, behind 20 sign-ins, while the server's own times stayed at a few ms —
    the access log showed the tail of the mix was that burst queueing for a worker.)
    """

    # 0.5–1.5 s; LOAD_THINK="min,max" (the suite's smoke run shortens it)
    wait_time = between(*(float(x) for x in os.environ.get("LOAD_THINK", "0.5,1.5").split(",")))
    MIX: tuple[tuple[str, int], ...] = (
        ("nominations_list", 6),
        ("other_list", 4),
        ("detail", 6),
        ("new_nomination", 1),
        ("edit_nomination", 1),
        ("export", 2),
    )

    def on_start(self) -> None:
        super().on_start()
        # The tour: every kind shows in a run, with the think time of any other step.
        self.wait()
        self.nominations_list(plain=True)  # ids for the detail pages, whatever the filters
        steps: list[Any] = [lambda n=name: self.other_list(n) for name, _path in OTHER_LISTS]
        steps += [lambda k=kind: self.detail(k) for kind in (0.0, 0.7, 0.9)]  # every detail kind
        steps += [self.new_nomination, self.edit_nomination, lambda: self.export("xlsx"), lambda: self.export("csv")]
        for step in steps:
            self.wait()
            step()

    @task
    def work(self) -> None:
        names, weights = zip(*self.MIX, strict=True)
        getattr(self, self.rng.choices(names, weights)[0])()
