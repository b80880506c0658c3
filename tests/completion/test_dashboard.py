"""The home-page widgets of the completion plugin, per role, over the demo world: the numbers
are recomputed here from the sheets (one checklist per trainee, the plain way) and compared with
the rendered tables. Scope: a district sees only its own trainees, a mentor only theirs."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser

from openpyxl import load_workbook

from blueprints.completion import assessment, dashboard
from mingxiao.i18n import format_value
from tests._demo import DISTRICT, DISTRICT2, ROLE_EMAILS, World

pytest_plugins = ["tests._demo"]

ADMIN = ROLE_EMAILS["admin"]
READINESS = "结业考核准备情况"
DISTRICT_READINESS = "本区学员结业考核准备情况"
FUNDING = "各期经费预算与支出"
MENTOR_READINESS = "我的学员结业准备情况"
TRAINEE_CHECKLIST = "我的结业核对清单"


class Widgets(HTMLParser):
    """The home page's widgets: title → (text, table rows as lists of cell texts, hrefs)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, dict] = {}
        self._current: dict | None = None
        self._title: str | None = None
        self._in_h2 = False
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._depth = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "widget" in (a.get("class") or ""):
            self._current = {"text": "", "rows": [], "hrefs": []}
            self._depth = 1
        elif tag == "section" and self._current is not None:
            self._depth += 1
        if self._current is None:
            return
        if tag == "h2":
            self._in_h2, self._title = True, ""
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a" and a.get("href"):
            self._current["hrefs"].append(a["href"])

    def handle_endtag(self, tag):
        if self._current is None:
            return
        if tag == "h2":
            self._in_h2 = False
            self.found[self._title or ""] = self._current
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._current["rows"].append(self._row)
            self._row = None
        elif tag == "section":
            self._depth -= 1
            if self._depth == 0:
                self._current = None

    def handle_data(self, data):
        if self._current is None:
            return
        if self._in_h2:
            self._title = (self._title or "") + data.strip()
        else:
            self._current["text"] += data
            if self._cell is not None:
                self._cell.append(data)


def widgets(world: World, role: str) -> dict[str, dict]:
    response = world.client(role).get("/")
    assert response.status_code == 200
    return Widgets(response.get_data(as_text=True)).found


def row(widget: dict, header: str) -> list[str]:
    [found] = [r[1:] for r in widget["rows"] if r and r[0] == header]
    return found


def user_row(world: World, role: str):
    [u] = world.db.table("users").where(email=ROLE_EMAILS[role])
    return u


def counted(trainees):
    return [t for t in trainees if t["status"] != "淘汰"]


def plain_checklists(world: World, trainees) -> dict[str, assessment.Checklist]:
    """One checklist per trainee, each on its own (not the dashboard's batch)."""
    with world.app.test_request_context():
        return {t.id: assessment.checklist(world.db, t) for t in trainees}


def district_of(world: World, trainee) -> str:
    if trainee.get("district"):
        return str(trainee["district"])
    nom = world.db.table("nominations").get(str(trainee.get("nomination") or ""))
    return str(nom["district"]) if nom is not None else ""


def cohorts_with(world: World, trainees) -> list:
    ids = {str(t["cohort"]) for t in trainees}
    return sorted(
        (c for c in world.db.table("cohorts").all() if c.id in ids), key=lambda c: c["number"]
    )


def expected_readiness(world: World, trainees) -> tuple[list[str], list[str], list[str]]:
    """(cohort names, 在册学员 cells, 全部达标 cells) recomputed from the sheets."""
    people = counted(trainees)
    checks = plain_checklists(world, people)
    names, sizes, ready = [], [], []
    for c in cohorts_with(world, people):
        mine = [t for t in people if t["cohort"] == c.id]
        names.append(str(c["name"]))
        sizes.append(str(len(mine)))
        ready.append(f"{sum(checks[t.id].complete for t in mine)} / {len(mine)}")
    return names, sizes, ready


# -- admin -----------------------------------------------------------------------------------


def test_admin_sees_readiness_per_cohort_with_the_decisions(world: World):
    db = world.db
    w = widgets(world, "admin")[READINESS]
    names, sizes, ready = expected_readiness(world, db.table("trainees").all())
    assert w["rows"][0][1:] == names
    assert row(w, "在册学员") == sizes
    assert [cell.split(" ")[0:3] for cell in row(w, "全部达标")] == [r.split(" ") for r in ready]
    # one checklist line, counted the plain way: the workshop (名校长工作室)
    people = counted(db.table("trainees").all())
    checks = plain_checklists(world, people)
    workshop = []
    for c in cohorts_with(world, people):
        mine = [t for t in people if t["cohort"] == c.id]
        met = sum(
            1 for t in mine for line in checks[t.id].lines if line.key == "workshop" and line.met
        )
        workshop.append(f"{met} / {len(mine)}")
    assert [" ".join(cell.split(" ")[0:3]) for cell in row(w, "名校长工作室")] == workshop
    # decisions: the latest live row of each counted trainee
    latest: dict[str, tuple[str, str]] = {}
    for a in db.table("assessments").all():
        key = (str(a.get("decided_at") or ""), a.id)
        if a["trainee"] not in latest or key > latest[a["trainee"]]:
            latest[a["trainee"]] = key
    decision_of = {
        a["trainee"]: a["decision"]
        for a in db.table("assessments").all()
        if latest[a["trainee"]][1] == a.id
    }
    for decision in db.choices("assessment_decisions"):
        expected = [
            str(sum(1 for t in people if t["cohort"] == c.id and decision_of.get(t.id) == decision))
            for c in cohorts_with(world, people)
        ]
        assert row(w, f"考核结论为“{decision}”") == expected
    decided = [row(w, f"考核结论为“{d}”") for d in db.choices("assessment_decisions")]
    assert sum(int(n) for cells in decided for n in cells) > 0  # the demo's cohort 1


def test_admin_funding_shows_budget_and_spent_per_cohort(world: World):
    db = world.db
    w = widgets(world, "admin")[FUNDING]
    with world.app.test_request_context():
        for c in db.table("cohorts").all():
            budget = sum(
                (Decimal(str(b["amount"])) for b in db.table("budgets").where(cohort=c.id)),
                Decimal(0),
            )
            spent = sum(
                (Decimal(str(e["amount"])) for e in db.table("expenses").where(cohort=c.id)),
                Decimal(0),
            )
            assert budget > 0 and spent > 0
            assert f"预算 {format_value(budget)} 元，已支出 {format_value(spent)} 元" in w["text"]
    city = [r for r in w["rows"] if r and r[0] == "市专项经费"]
    assert len(city) == len(db.table("cohorts").all())
    assert all(not r[1].endswith("/ 0") for r in city)  # non-zero budgets from the demo


def test_the_checklists_are_computed_once_per_page(world: World, monkeypatch):
    calls: list[int] = []
    real = assessment.checklists

    def counting(db, trainees):
        calls.append(len(trainees))
        return real(db, trainees)

    monkeypatch.setattr(assessment, "checklists", counting)
    widgets(world, "admin")
    assert calls == [len(counted(world.db.table("trainees").all()))]


# -- district ---------------------------------------------------------------------------------


def test_district_sees_only_its_own_trainees(world: World):
    db = world.db
    everyone = counted(db.table("trainees").all())
    for role, district in (("district", DISTRICT), ("district2", DISTRICT2)):
        own = [t for t in everyone if district_of(world, t) == district]
        assert own and len(own) < len(everyone)
        found = widgets(world, role)
        assert READINESS not in found and FUNDING not in found
        w = found[DISTRICT_READINESS]
        names, sizes, ready = expected_readiness(world, own)
        assert w["rows"][0][1:] == names
        assert row(w, "在册学员") == sizes
        assert [" ".join(cell.split(" ")[0:3]) for cell in row(w, "全部达标")] == ready
        assert not [r for r in w["rows"] if r and r[0].startswith("考核结论")]  # admin's only
        assert not [h for h in w["hrefs"] if "/trainees/" in h]  # counts, no people


def test_a_trainee_moved_to_another_district_leaves_the_count(world: World):
    db = world.db
    own = [t for t in counted(db.table("trainees").all()) if district_of(world, t) == DISTRICT]
    before = sum(int(n) for n in row(widgets(world, "district")[DISTRICT_READINESS], "在册学员"))
    db.table("trainees").update(own[0].id, {"district": DISTRICT2}, user=ADMIN)
    after = sum(int(n) for n in row(widgets(world, "district")[DISTRICT_READINESS], "在册学员"))
    assert (before, after) == (len(own), len(own) - 1)


# -- mentor -----------------------------------------------------------------------------------


def assigned(world: World, role: str) -> set[str]:
    mentor = user_row(world, role)["mentor"]
    today = world.db.today()
    out = set()
    for a in world.db.table("mentor_assignments").where(mentor=mentor):
        start, end = a.get("start_date"), a.get("end_date")
        start = start.date() if isinstance(start, dt.datetime) else start
        end = end.date() if isinstance(end, dt.datetime) else end
        if (start is None or start <= today) and (end is None or today <= end):
            out.add(str(a["trainee"]))
    return out


def test_mentor_sees_one_row_per_own_trainee_and_none_of_mentor2s(world: World):
    db = world.db
    mine = {t for t in assigned(world, "mentor") if db.table("trainees").get(t)["status"] != "淘汰"}
    theirs = assigned(world, "mentor2") - mine
    assert mine and theirs
    w = widgets(world, "mentor")[MENTOR_READINESS]
    linked = {m.group(1) for h in w["hrefs"] if (m := re.fullmatch(r"/trainees/([^/?#]+)", h))}
    assert linked == mine and not linked & theirs
    checks = plain_checklists(world, [db.table("trainees").get(t) for t in mine])
    shown = {r[0]: r[2].split(" ")[0:3] for r in w["rows"][1:]}
    for tid in mine:
        t = db.table("trainees").get(tid)
        c = checks[tid]
        assert shown[str(t["name"])] == [str(c.met), "/", str(len(c.lines))]


# -- trainee ----------------------------------------------------------------------------------


def test_trainee_sees_their_checklist_and_what_is_missing(world: World):
    db = world.db
    trainee = db.table("trainees").get(str(user_row(world, "trainee")["trainee"]))
    for talk in db.table("presentations").where(trainee=trainee.id):
        db.table("presentations").void(talk.id, user=ADMIN, reason="测试")
    [c] = plain_checklists(world, [trainee]).values()
    missing = [line for line in c.lines if line.met is not True]
    assert [line.key for line in missing if line.key == "presentations"] == ["presentations"]
    found = widgets(world, "trainee")
    assert READINESS not in found and MENTOR_READINESS not in found
    w = found[TRAINEE_CHECKLIST]
    assert f"结业核对清单已达标 {c.met} 项，共 {len(c.lines)} 项。" in w["text"]
    for line in missing:
        assert f"{line.label}：" in w["text"]


def test_expert_gets_no_completion_widget(world: World):
    titles = set(widgets(world, "expert"))
    assert not titles & {
        READINESS,
        DISTRICT_READINESS,
        FUNDING,
        MENTOR_READINESS,
        TRAINEE_CHECKLIST,
    }


# -- demo budgets -----------------------------------------------------------------------------


def test_the_demo_workbook_has_budgets_for_every_cohort_category_and_source(world: World):
    db = world.db
    ws = load_workbook(world.workbook, read_only=True)["经费预算"]
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    col = {h: header.index(h) for h in ("期次", "支出类别", "经费来源", "预算金额（元）")}
    cells = {
        (r[col["期次"]], r[col["支出类别"]], r[col["经费来源"]]): r[col["预算金额（元）"]]
        for r in rows[1:]
        if r[col["期次"]]
    }
    categories, sources = db.choices("expense_categories"), db.choices("fund_sources")
    assert len(categories) == 8 and len(sources) == 2
    for c in db.table("cohorts").all():
        assert {(cat, src) for (cid, cat, src) in cells if cid == c.id} == {
            (cat, src) for cat in categories for src in sources
        }
        assert sum(float(v) for (cid, _c, _s), v in cells.items() if cid == c.id) > 0
    with world.app.test_request_context():
        assert all(f.budget > 0 for f in dashboard.funding_rows(db))


def test_demo_budget_rows_pass_the_engine_input_validation():
    """The generator's 经费预算 rows, as ``Table.insert`` would check them (plugin sheet loaded)."""
    from pathlib import Path

    from mingxiao.sheetdb.demo import generate
    from mingxiao.sheetdb.schema import SchemaSet, default_schema_dir, load_schemas, load_sheet
    from mingxiao.sheetdb.types import InputError, coerce_input

    core = load_schemas(default_schema_dir())
    budgets = load_sheet(
        Path(dashboard.__file__).with_name("sheets") / "budgets.toml", core.choice_lists
    )
    schemas = SchemaSet({**core.sheets, budgets.key: budgets}, core.choice_lists)
    rows = generate(schemas, scale=0.1)["budgets"]
    assert len(rows) == 3 * 8 * 2
    errors = []
    for r in rows:
        for col in budgets.user_columns:
            try:
                coerce_input(col, r.get(col.key), schemas.choices_for(col))
            except InputError as exc:
                errors.append((r["id"], col.key, str(exc)))
    assert errors == []
