"""Formula injection, round trip, on both backends (a real xlsx file; Google on the in-repo fake
through real gspread) and in the CSV/xlsx exports.

- Text a person types into a form that a spreadsheet would evaluate (``=HYPERLINK(…)``, ``+1+1``,
  ``-2+3``, ``@SUM(A1)``, ``=cmd|' /C calc'!A0``, tab/CR first) is stored as text: an xlsx
  string cell (``data_type == "s"``, no ``<f>``), on Google a string sent with
  ``valueInputOption=RAW``. It reads back, after a restart, and shows on the page exactly as
  typed (the app trims leading/trailing whitespace of every cell, so a leading tab or CR goes).
- The exports neutralise it: CSV cells get a leading ``'``, xlsx cells are strings, never
  formulas.
- A formula a person types into the workbook is read per the README rule (xlsx: the health page
  says “系统只读取公式的结果”; Google: values are read as the text the cell holds) and the app
  never writes a formula back: its own writes of that row, and of that cell, are literal text.
"""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from mingxiao import exports
from mingxiao.database import close_db, get_db
from mingxiao.sheetdb.backend import is_formula_like
from mingxiao.sheetdb.fake_google import FakeGoogle
from tests.conftest import AuthActions, csrf_token, make_config
from tests.security._payloads import FORMULA_PAYLOADS

ADMIN = "admin@example.cn"
PASSWORD = "correct horse 2026"
TITLE = "导师"  # the mentors tab


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGoogle]:
    with FakeGoogle() as server:
        yield server


@dataclass
class Site:
    backend: str
    config: dict[str, Any]
    app: Flask
    client: FlaskClient
    fake: FakeGoogle | None
    key: str | None
    options: list[str]  # valueInputOption of every write the fake received

    @property
    def db(self) -> Any:
        return get_db(self.app)

    def form(self, url: str, data: dict[str, Any]) -> Any:
        page = self.client.get(url)
        assert page.status_code == 200, url
        return self.client.post(url, data={**data, "csrf_token": csrf_token(page.data)})

    def cells(self, record_id: str) -> dict[str, tuple[Any, str]]:
        """The stored cells of a mentor row: header → (value, xlsx data type or 'google')."""
        if self.backend == "xlsx":
            ws = openpyxl.load_workbook(self.config["WORKBOOK"])[TITLE]
            headers = [c.value for c in ws[1]]
            for row in ws.iter_rows(min_row=2):
                if row[headers.index("编号")].value == record_id:
                    return {h: (c.value, c.data_type) for h, c in zip(headers, row, strict=False)}
        else:
            assert self.fake is not None and self.key is not None
            rows = self.fake.ui_rows(self.key, TITLE)
            for row in rows[1:]:
                if record_id in row:
                    return {h: (v, "google") for h, v in zip(rows[0], row, strict=False)}
        raise AssertionError(f"{record_id} is not in the workbook")

    def type_into_cell(
        self, record_id: str, header: str, value: str, cached: str | None = None
    ) -> None:
        """A person types ``value`` into a cell (openpyxl like Excel; the fake's browser UI);
        ``cached``: the result Excel would store with a formula."""
        if self.backend == "xlsx":
            path = Path(self.config["WORKBOOK"])
            wb = openpyxl.load_workbook(path)
            ws = wb[TITLE]
            headers = [c.value for c in ws[1]]
            for row in ws.iter_rows(min_row=2):
                if row[headers.index("编号")].value == record_id:
                    row[headers.index(header)].value = value  # "=…" becomes a formula
            tmp = path.with_name("edited.xlsx.tmp")
            wb.save(tmp)
            if cached is not None:  # Excel saves a formula with its result; openpyxl does not
                _cache_results(tmp, cached)
            tmp.replace(path)
        else:
            assert self.fake is not None and self.key is not None
            rows = self.fake.ui_rows(self.key, TITLE)
            r = next(i for i, row in enumerate(rows) if record_id in row)
            self.fake.ui_set(self.key, TITLE, r + 1, rows[0].index(header) + 1, value)


def _cache_results(path: Path, result: str) -> None:
    """Give every formula of the workbook at ``path`` the cached result ``result``."""
    out = path.with_name(path.name + ".cached")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                data = re.sub(
                    rb"(<f>[^<]*</f>)<v\s*/?>(</v>)?", rb"\1<v>" + result.encode() + rb"</v>", data
                )
            dst.writestr(info, data)
    out.replace(path)


def _site(backend: str, tmp_path: Path, fake: FakeGoogle | None) -> Site:
    extra: dict[str, Any] = {"DATABASE_OPTIONS": {"autoflush": False}}
    key = None
    options: list[str] = []
    if backend == "gsheets":
        assert fake is not None
        key = fake.create_spreadsheet()
        extra.update(
            BACKEND="gsheets",
            GSHEETS_KEY=key,
            GSHEETS_API_BASE=fake.base_url,
            GSHEETS_CHANGE_TTL=0.0,
            GSHEETS_READS_PER_MINUTE=100_000,
            GSHEETS_WRITES_PER_MINUTE=100_000,
        )
    config = make_config(tmp_path, **extra)
    app = create_app(config)
    get_db(app).init()
    result = app.test_cli_runner().invoke(
        args=["users", "add", ADMIN, "--role", "admin", "--name", "管理员", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert AuthActions(client).login(ADMIN, PASSWORD).status_code == 302
    return Site(backend, config, app, client, fake, key, options)


@pytest.fixture(params=["xlsx", "gsheets"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    fake = request.getfixturevalue("fake") if request.param == "gsheets" else None
    s = _site(request.param, tmp_path, fake)
    if fake is not None:
        original = fake._write

        def recording(book: Any, rng: str, values: Any, option: str, **kw: Any) -> Any:
            s.options.append(option)
            return original(book, rng, values, option, **kw)

        fake._write = recording  # type: ignore[method-assign]
    yield s
    if fake is not None:
        del fake._write
    close_db(s.app)


def page_texts(body: str) -> str:
    """The page's text with tags dropped and entities decoded (what a person reads)."""
    return html.unescape(re.sub(r"<[^>]+>", "\n", body))


def new_mentor(site: Site, **fields: str) -> str:
    data = {"name": "王老师", "organisation": "杭州二中", **fields}
    response = site.form("/mentors/new", data)
    assert response.status_code == 302, page_texts(response.get_data(as_text=True))[-2000:]
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def shown(text: str) -> str:
    return text.strip()  # every cell is trimmed: a leading tab or CR does not survive


def test_formula_like_text_from_a_form_is_stored_as_text_read_back_and_shown_as_typed(
    site: Site,
) -> None:
    ids = {
        new_mentor(site, organisation=value, note=value, expertise=value): value
        for value in FORMULA_PAYLOADS
    }
    site.db.sync()
    for rid, typed in ids.items():
        cells = site.cells(rid)
        for header in ("工作单位", "研究专长", "备注"):
            value, kind = cells[header]
            assert value == shown(typed), (rid, header, value)
            assert kind in ("s", "google"), (rid, header, kind)  # xlsx: a string, not "f"
    if site.backend == "xlsx":
        with zipfile.ZipFile(site.config["WORKBOOK"]) as zf:
            sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
            assert sheets and not any(b"<f>" in zf.read(n) or b"<f " in zf.read(n) for n in sheets)
    else:
        assert site.options and set(site.options) == {"RAW"}, set(site.options)

    # After a restart the app reads the same text back from the workbook.
    close_db(site.app)
    again = create_app(site.config)
    try:
        mentors = get_db(again).table("mentors")
        for rid, typed in ids.items():
            rec = mentors.get(rid)
            assert rec is not None
            assert (rec["organisation"], rec["expertise"], rec["note"]) == (shown(typed),) * 3
    finally:
        close_db(again)

    for rid, typed in ids.items():
        body = site.client.get(f"/mentors/{rid}").get_data(as_text=True)
        assert shown(typed) in page_texts(body), rid
        assert 'href="http://x.example' not in body  # =HYPERLINK(…) is not a link


def test_formula_like_text_is_neutralised_in_csv_and_xlsx_exports(site: Site) -> None:
    rid = new_mentor(site)
    for value in FORMULA_PAYLOADS:  # each edit is an audit row with the new value
        edit = {"name": "王老师", "organisation": "杭州二中", "note": value}
        assert site.form(f"/mentors/{rid}/edit", edit).status_code == 302
        site.db.sync()
    body = site.client.get("/admin/audit?format=csv").get_data()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    cells = [c for row in rows for c in row]
    for value in FORMULA_PAYLOADS:
        assert "'" + shown(value) in cells, value
    assert not [c for c in cells if is_formula_like(c)]

    data = site.client.get("/admin/audit?format=xlsx").get_data()
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    values = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for value in FORMULA_PAYLOADS:
        cell = values[shown(value)]
        assert cell.data_type == "s" and cell.quotePrefix, value
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert not any(b"<f>" in zf.read(n) for n in zf.namelist() if n.endswith(".xml"))


def test_formula_typed_into_the_workbook_is_read_by_the_rule_and_never_written_back(
    site: Site,
) -> None:
    rid = new_mentor(site, note="备注")
    site.db.sync()
    site.type_into_cell(rid, "备注", "=1+1", cached="2")
    site.db.sync()
    rec = site.db.table("mentors").get(rid)
    assert rec is not None
    page = page_texts(site.client.get(f"/mentors/{rid}").get_data(as_text=True))
    if site.backend == "xlsx":
        # README: a formula in a cell is reported, and only its result is read.
        problems = [p for p in site.db.health() if p.code == "formula"]
        assert [p.record_id for p in problems] == [rid]
        assert "系统只读取公式的结果" in problems[0].message
        health = site.client.get("/admin/health").get_data(as_text=True)
        assert "系统只读取公式的结果" in page_texts(health)
        assert rec["note"] == "2" and "2" in page.split() and "=1+1" not in page
    else:
        # README: formulas cannot be flagged on Google; the value is the text the cell holds.
        assert rec["note"] == "=1+1" and "=1+1" in page

    # The app writes the row (another field, the form sending back what it showed): the
    # person's cell is left as it was (xlsx: their formula; Google: the text, sent RAW).
    response = site.form(
        f"/mentors/{rid}/edit",
        {"name": "王老师", "organisation": "杭州十四中", "note": rec["note"] or ""},
    )
    assert response.status_code == 302
    site.db.sync()
    value, kind = site.cells(rid)["备注"]
    if site.backend == "xlsx":
        assert (value, kind) == ("=1+1", "f")
    else:
        assert (value, kind) == ("=1+1", "google") and set(site.options) == {"RAW"}

    response = site.form(
        f"/mentors/{rid}/edit", {"name": "王老师", "organisation": "杭州十四中", "note": "=2+2"}
    )
    assert response.status_code == 302
    site.db.sync()
    assert site.cells(rid)["备注"] == ("=2+2", "s" if site.backend == "xlsx" else "google")
    if site.backend == "xlsx":
        assert not [p for p in site.db.health() if p.code == "formula"]
    assert site.db.table("mentors").get(rid)["note"] == "=2+2"


@pytest.mark.parametrize(
    "name", ["差额评审排名-第*期", "汇总/表?[1]:2", "'引号'", "\\\\", "x" * 40]
)
def test_xlsx_export_named_after_sheet_data_is_a_valid_workbook(name: str) -> None:
    """Regression: export names carry sheet data (a cohort's name); Excel forbids ``* ? : [ ]
    / \\`` in tab titles, and the export used to fail with a 500."""
    frame = exports.frame([{"a": "=1+1"}], [("a", "甲")])
    ws = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(frame, name))).active
    assert ws.title and len(ws.title) <= 31 and not re.search(r"[\\/?*\[\]:]", ws.title)
    assert ws["A2"].value == "=1+1" and ws["A2"].data_type == "s"


def test_backup_snapshot_keeps_formula_like_text_literal(site: Site) -> None:
    """``sheets backup`` (a file copy on xlsx, an xlsx snapshot written from Google's cells):
    text a spreadsheet would evaluate stays a string cell in the backup."""
    ids = {new_mentor(site, note=value): value for value in FORMULA_PAYLOADS}
    site.db.sync()
    result = site.app.test_cli_runner().invoke(args=["sheets", "backup"])
    assert result.exit_code == 0, result.output
    snapshot = Path(result.output.split("已备份到", 1)[1].strip())
    ws = openpyxl.load_workbook(snapshot)[TITLE]
    headers = [c.value for c in ws[1]]
    notes = {
        row[headers.index("编号")].value: row[headers.index("备注")]
        for row in ws.iter_rows(min_row=2)
    }
    for rid, typed in ids.items():
        assert notes[rid].value == shown(typed) and notes[rid].data_type == "s", rid
    with zipfile.ZipFile(snapshot) as zf:
        assert not any(
            b"<f>" in zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/")
        )


def test_google_backup_and_migration_of_a_persons_tab_named_as_excel_forbids(
    tmp_path: Path, fake: FakeGoogle
) -> None:
    """Google allows ``/ : [ ] * ?`` in tab names, Excel does not: the xlsx snapshot and the
    move back to xlsx used to fail outright on such a tab. The tab comes across under a
    cleaned name, its formula-like text literal."""
    site = _site("gsheets", tmp_path, fake)
    try:
        assert site.key is not None
        fake.ui_replace(site.key, "2025/2026 统计[1]", [["年份", "说明"], ["2026", "=SUM(A1)"]])
        runner = site.app.test_cli_runner()
        result = runner.invoke(args=["sheets", "backup"])
        assert result.exit_code == 0, result.output
        snapshot = Path(result.output.split("已备份到", 1)[1].strip())
        ws = openpyxl.load_workbook(snapshot)["2025_2026 统计_1_"]
        assert ws["B2"].value == "=SUM(A1)" and ws["B2"].data_type == "s"

        dest = tmp_path / "back.xlsx"
        result = runner.invoke(args=["sheets", "migrate", "--to", "xlsx", "--workbook", str(dest)])
        assert result.exit_code == 0, result.output
        ws = openpyxl.load_workbook(dest)["2025_2026 统计_1_"]
        assert ws["B2"].value == "=SUM(A1)" and ws["B2"].data_type == "s"
    finally:
        close_db(site.app)
