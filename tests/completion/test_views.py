"""The completion pages over the demo world: issuing and revoking, the certificate PDF, the
public verification page, the credits export and the funding ledger."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from blueprints.completion import rules
from tests._demo import ROLE_EMAILS, World
from tests.conftest import post_form
from tests.test_pdf import pdf_text

pytest_plugins = ["tests._demo"]

ADMIN = ROLE_EMAILS["admin"]


def own_certificate(world: World):
    return world.db.table("certificates").get(world.samples.extra["completion"]["certificate"])


def uncertified(world: World, n: int = 0) -> str:
    """The id of a trainee of the cohort in training, who holds no certificate."""
    db = world.db
    held = {str(c["trainee"]) for c in db.table("certificates").all(include_voided=True)}
    last = max(db.table("cohorts").all(), key=lambda c: c["number"])
    return [t.id for t in db.table("trainees").where(cohort=last.id) if t.id not in held][n]


def make_completed(world: World, trainee_id: str) -> None:
    world.db.table("trainees").update(trainee_id, {"status": "结业"}, user=ADMIN)


def issue(world: World, trainee_id: str, **data: str):
    client = world.client("admin")
    return post_form(
        client,
        "/completion/certificates/issue",
        {"trainee": trainee_id, **data},
        page="/completion/",
    )


def certificates_of(world: World, trainee_id: str):
    return world.db.table("certificates").where(trainee=trainee_id)


# -- issuing -------------------------------------------------------------------------------------


def test_admin_issues_the_next_number_of_the_cohort_series(world: World):
    tid = uncertified(world)
    make_completed(world, tid)
    trainee = world.db.table("trainees").get(tid)
    cohort_no = int(world.db.table("cohorts").get(trainee["cohort"])["number"])
    year = world.db.today().year
    before = [c["number"] for c in world.db.table("certificates").all(include_voided=True)]
    response = issue(world, tid, issued_on=f"{year}-06-01", hours="260")
    assert response.status_code == 302
    [cert] = certificates_of(world, tid)
    assert cert["number"] == rules.next_number(before, year, cohort_no)
    assert len(str(cert["verify_code"])) == rules.VERIFY_LENGTH and cert["hours"] == 260


def test_a_trainee_in_training_gets_no_certificate(world: World):
    tid = uncertified(world)
    world.db.table("trainees").update(tid, {"status": "在训"}, user=ADMIN)
    issue(world, tid)
    assert certificates_of(world, tid) == []


def test_a_trainee_with_a_valid_certificate_gets_no_second_one(world: World):
    cert = own_certificate(world)
    make_completed(world, cert["trainee"])  # the test world puts the demo trainee back to 在训
    issue(world, cert["trainee"])
    assert len(certificates_of(world, cert["trainee"])) == 1


def test_a_number_typed_into_the_sheet_by_hand_is_not_issued_again(world: World):
    tid = uncertified(world)
    make_completed(world, tid)
    trainee = world.db.table("trainees").get(tid)
    cohort_no = int(world.db.table("cohorts").get(trainee["cohort"])["number"])
    # a clerk typed the next number for someone else straight into the sheet
    other = uncertified(world, 1)
    typed = rules.format_number(2031, cohort_no, 1)
    world.db.table("certificates").insert(
        {"trainee": other, "number": typed, "verify_code": "HANDTYPED2", "issued_on": "2031-01-05"},
        user=ADMIN,
    )
    issue(world, tid, issued_on="2031-02-01")
    [cert] = certificates_of(world, tid)
    assert cert["number"] == rules.format_number(2031, cohort_no, 2)


def test_revocation_keeps_the_row_and_a_new_certificate_gets_a_new_number(world: World):
    cert = own_certificate(world)
    client = world.client("admin")
    url = f"/completion/certificates/{cert.id}"
    post_form(
        client, f"{url}/revoke", {"revoke_reason": "学籍材料不实，依据市教育局决定"}, page=url
    )
    revoked = world.db.table("certificates").get(cert.id)
    assert revoked["revoked"] is True and "学籍材料不实" in revoked["revoke_reason"]
    issue(world, cert["trainee"])
    numbers = [c["number"] for c in certificates_of(world, cert["trainee"])]
    assert len(numbers) == 2 and len(set(numbers)) == 2


# -- the certificate and its PDF ---------------------------------------------------------------


def test_trainee_sees_their_own_certificate_with_name_and_number(world: World):
    cert = own_certificate(world)
    name = world.db.table("trainees").get(cert["trainee"])["name"]
    html = world.client("trainee").get(f"/completion/certificates/{cert.id}").get_data(as_text=True)
    assert name in html and cert["number"] in html and "结业证书" in html


def test_certificate_pdf_contains_the_name_and_the_number(world: World):
    cert = own_certificate(world)
    name = world.db.table("trainees").get(cert["trainee"])["name"]
    response = world.client("trainee").get(f"/completion/certificates/{cert.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert name in text and cert["number"] in text and "结业证书" in text


def test_mentor_cannot_open_a_certificate(world: World):
    cert = own_certificate(world)
    response = world.client("mentor").get(f"/completion/certificates/{cert.id}")
    assert response.status_code == 404 and cert["number"].encode() not in response.data


# -- public verification -----------------------------------------------------------------------


def _verify(world: World, code: str, client=None):
    client = client or world.client("anonymous")
    return post_form(client, "/completion/verify", {"code": code})


def test_verification_shows_name_cohort_and_validity_only(world: World):
    cert = own_certificate(world)
    trainee = world.db.table("trainees").get(cert["trainee"])
    cohort = world.db.table("cohorts").get(trainee["cohort"])
    html = _verify(world, cert["verify_code"].lower()).get_data(as_text=True)
    assert trainee["name"] in html and cohort["name"] in html and "证书有效" in html
    for secret in (
        trainee["school"],
        trainee["district"],
        trainee["phone"],
        trainee.id,
        cert["number"],
        cert.id,
    ):
        assert str(secret) not in html, secret


def test_unknown_code_shows_a_neutral_not_found(world: World):
    html = _verify(world, "ZZZZZZZZZZ").get_data(as_text=True)
    assert "未找到" in html and "证书有效" not in html and "已撤销" not in html


def test_verification_by_link_works_without_signing_in(world: World):
    cert = own_certificate(world)
    response = world.client("anonymous").get(f"/completion/verify?code={cert['verify_code']}")
    assert response.status_code == 200 and "证书有效" in response.get_data(as_text=True)


def test_a_revoked_certificate_verifies_as_revoked(world: World):
    cert = own_certificate(world)
    world.db.table("certificates").update(
        cert.id, {"revoked": True, "revoke_reason": "测试"}, user=ADMIN
    )
    html = _verify(world, cert["verify_code"]).get_data(as_text=True)
    assert "证书已撤销" in html and "证书有效" not in html


def test_verification_page_does_not_echo_the_code(world: World):
    cert = own_certificate(world)
    html = _verify(world, cert["verify_code"]).get_data(as_text=True)
    assert cert["verify_code"] not in html


def test_the_verification_help_points_where_the_certificate_prints_the_code(world: World):
    """The help text once said 证书右下角 while the certificate prints the code bottom-left:
    the code is the last line of the sheet and completion.css aligns that line left."""
    import re
    from pathlib import Path

    cert = own_certificate(world)
    page = world.client("trainee").get(f"/completion/certificates/{cert.id}")
    sheet = page.get_data(as_text=True).split('<article class="cert-sheet', 1)[1]
    sheet = sheet.split("</article>", 1)[0]
    lines = re.findall(r'<p class="cert-sheet__(\w+)"', sheet)
    assert lines[-1] == "verify" and cert["verify_code"] in sheet  # the bottom line
    css = (Path(world.app.static_folder) / "css" / "completion.css").read_text("utf-8")
    [rule] = re.findall(r"\.cert-sheet__verify\s*\{([^}]*)\}", css)
    side = {"left": "左", "right": "右"}[re.search(r"text-align:\s*(\w+)", rule).group(1)]
    help_text = world.client("anonymous").get("/completion/verify").get_data(as_text=True)
    assert f"证书{side}下角" in help_text
    assert f"证书{ {'左': '右', '右': '左'}[side] }下角" not in help_text


def test_too_many_lookups_from_one_address_are_refused_without_an_answer(world: World):
    world.app.config["VERIFY_RATE_LIMIT"] = 3
    cert = own_certificate(world)
    client = world.login("anonymous")
    for _ in range(3):
        assert client.get("/completion/verify?code=WRONGCODE1").status_code == 200
    response = client.get(f"/completion/verify?code={cert['verify_code']}")
    html = response.get_data(as_text=True)
    assert response.status_code == 429 and "证书有效" not in html


# -- credits ---------------------------------------------------------------------------------


def _csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_credits_csv_neutralises_a_formula_in_a_trainee_name(world: World):
    cert = own_certificate(world)
    evil = '=HYPERLINK("http://x.cn","点")'
    world.db.table("trainees").update(cert["trainee"], {"name": evil}, user=ADMIN)
    rows = _csv_rows(world.client("admin").get("/completion/credits.csv").data)
    names = [r[1] for r in rows[1:]]
    assert "'" + evil in names and evil not in names


def test_credits_xlsx_stores_a_formula_like_name_as_text(world: World):
    cert = own_certificate(world)
    evil = "=1+1"
    world.db.table("trainees").update(cert["trainee"], {"name": evil}, user=ADMIN)
    body = world.client("admin").get("/completion/credits.xlsx").data
    ws = load_workbook(io.BytesIO(body)).active
    cells = [c for row in ws.iter_rows(min_row=2) for c in row if c.value == evil]
    assert cells and all(c.data_type == "s" for c in cells)


def test_credits_follow_the_configured_hours_per_credit(world: World):
    cert = own_certificate(world)
    world.app.config["CREDITS_HOURS_PER_CREDIT"] = 20
    rows = _csv_rows(world.client("admin").get("/completion/credits.csv").data)
    header = rows[0]
    row = next(r for r in rows[1:] if r[0] == cert["trainee"])
    hours = Decimal(row[header.index("培训学时")])
    assert hours == Decimal(str(cert["hours"]))
    assert Decimal(row[header.index("学分")]) == (hours / 20).quantize(Decimal("0.1"))


def test_credits_export_lists_only_certified_trainees_by_default(world: World):
    certified = {
        str(c["trainee"]) for c in world.db.table("certificates").all() if not c.get("revoked")
    }
    rows = _csv_rows(world.client("admin").get("/completion/credits.csv").data)
    assert {r[0] for r in rows[1:]} == certified


# -- funding ---------------------------------------------------------------------------------


def test_funding_page_shows_every_category_and_the_total(world: World):
    cohort = world.samples.extra["completion"]["cohort"]
    html = world.client("admin").get(f"/completion/funding?cohort={cohort}").get_data(as_text=True)
    for category in world.db.choices("expense_categories"):
        assert category in html
    assert "<svg" in html and "导师指导费（建议）" in html


def test_budget_rows_show_against_spending(world: World):
    cohort = world.samples.extra["completion"]["cohort"]
    budgets = world.db.table("budgets")
    for row in budgets.where(cohort=cohort, category="资料费"):  # the demo's own budget
        budgets.void(row.id, user=ADMIN, reason="测试")
    budgets.insert({"cohort": cohort, "category": "资料费", "amount": 1}, user=ADMIN)
    html = world.client("admin").get(f"/completion/funding?cohort={cohort}").get_data(as_text=True)
    assert "超支" in html  # the demo spent more than 1 yuan on 资料费


def test_recording_a_mentor_fee_adds_the_proposed_amount_as_an_expense(world: World):
    x = world.samples.extra["completion"]
    world.app.config["MENTOR_FEE_PER_HOUR"] = 100
    db = world.db
    trainees = {t.id for t in db.table("trainees").where(cohort=x["cohort"])}
    hours = sum(
        Decimal(str(r["hours"]))
        for r in db.table("mentoring_logs").where(mentor=x["mentor"])
        if r["trainee"] in trainees
    )
    name = db.table("mentors").get(x["mentor"])["name"]
    already = sum(
        Decimal(str(e["amount"]))
        for e in db.table("expenses").where(cohort=x["cohort"], category="导师指导费", payee=name)
    )
    client = world.client("admin")
    post_form(
        client,
        "/completion/funding/mentor-fee",
        {"cohort": x["cohort"], "mentor": x["mentor"], "source": "市专项经费", "amount": "999999"},
        page=f"/completion/funding?cohort={x['cohort']}",
    )
    recorded = db.table("expenses").where(cohort=x["cohort"], category="导师指导费", payee=name)
    total = sum(Decimal(str(e["amount"])) for e in recorded)
    assert total == max(hours * 100, already)
    # a second click records nothing more
    post_form(
        client,
        "/completion/funding/mentor-fee",
        {"cohort": x["cohort"], "mentor": x["mentor"], "source": "市专项经费"},
        page=f"/completion/funding?cohort={x['cohort']}",
    )
    again = db.table("expenses").where(cohort=x["cohort"], category="导师指导费", payee=name)
    assert len(again) == len(recorded)


@pytest.mark.parametrize("role", ["district", "mentor", "trainee", "expert"])
def test_only_admins_see_the_funding_ledger(world: World, role: str):
    assert world.client(role).get("/completion/funding").status_code == 403
