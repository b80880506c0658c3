"""Eligibility and plausibility rules for a nomination (人选推荐), as plain functions.

Every check returns ``None`` when the value is fine, or a :data:`Problem`: a Chinese msgid
template marked with ``N_`` plus its parameters. The UI shows ``_(template).format(**params)``,
so each message says, in a district clerk's words, what is wrong and what to fix.

Hard rules (DOMAIN.md §1): the nominee is a 正职校长 or 党组织书记, has held the head post for
at least 3 full years at the cohort's nomination deadline, and holds 高级教师 / 正高级教师 or
else describes an outstanding contribution in school management.

Dates: "N full years" counts anniversaries. A post (or a birth) that began on 29 February
has its anniversary on **1 March** in common years. That is the conservative reading: a
candidate who started on 2020-02-29 completes 3 years on 2023-03-01, not 2023-02-28, so no
one is ever counted eligible a day early.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from mingxiao.sheetdb.types import MOBILE_RE, N_, id_card_checksum_ok, valid_id_card

Problem = tuple[str, dict[str, Any]]
"""(Chinese msgid template with ``{placeholders}``, params); the UI does ``_(t).format(**p)``."""

ELIGIBLE_POSITIONS = ("正职校长", "党组织书记")
SENIOR_TITLES = ("高级教师", "正高级教师")
MIN_TENURE_YEARS = 3
MIN_CONTRIBUTION_CHARS = 20
MIN_AGE, MAX_AGE = 25, 65  # plausible age at the deadline of a serving head of school
MIN_AGE_AT_HEAD_POST = 20  # nobody heads a school before turning 20: an earlier date is a typo

DUPLICATE_KEY = "_duplicate"


# ---------------------------------------------------------------------------------------------
# date helpers


def anniversary(start: dt.date, years: int) -> dt.date:
    """``start`` moved on by ``years``; 29 February falls on 1 March in common years."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 Feb in a common year: the conservative choice is the day after
        return dt.date(start.year + years, 3, 1)


def full_years_in_post(head_since: dt.date, deadline: dt.date) -> int:
    """Completed years from ``head_since`` to ``deadline`` (the anniversary day counts); 0 if later."""
    years = deadline.year - head_since.year
    if anniversary(head_since, years) > deadline:
        years -= 1
    return max(years, 0)


def latest_start_for(deadline: dt.date, years: int = MIN_TENURE_YEARS) -> dt.date:
    """The last start date that still gives ``years`` full years at ``deadline``."""
    try:
        return deadline.replace(year=deadline.year - years)
    except ValueError:  # deadline on 29 Feb: a 29 Feb start would only count on 1 March
        return dt.date(deadline.year - years, 2, 28)


def _as_date(value: Any) -> dt.date | None:
    """A date from a date or datetime value; anything else (empty, bad text) is None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def _text(value: Any) -> str:
    """A cell value as stripped text ('' for None)."""
    return "" if value is None else str(value).strip()


# ---------------------------------------------------------------------------------------------
# the three hard rules


def check_position(position: str | None) -> Problem | None:
    """The nominee must currently be 正职校长 or 党组织书记."""
    text = _text(position)
    if not text:
        return N_("请选择现任职务：须为现任正职校长或党组织书记（幼儿园园长选“正职校长”）"), {}
    if text not in ELIGIBLE_POSITIONS:
        return (
            N_(
                "现任职务为“{position}”，不符合选拔条件：只有现任正职校长或党组织书记可以推荐（幼儿园园长选“正职校长”）"
            ),
            {"position": text},
        )
    return None


def check_tenure(head_since: dt.date | None, deadline: dt.date) -> Problem | None:
    """At least 3 full years in the head post at the nomination deadline."""
    start = _as_date(head_since)
    if start is None:
        return N_("请填写任正职时间：开始担任正职校长或党组织书记的日期，如 2019-09-01"), {}
    latest = latest_start_for(deadline).isoformat()
    if start > deadline:
        return (
            N_(
                "任正职时间 {head_since} 晚于推荐截止日 {deadline}：请核对日期；须在 {latest} 或之前开始任正职"
            ),
            {"head_since": start.isoformat(), "deadline": deadline.isoformat(), "latest": latest},
        )
    years = full_years_in_post(start, deadline)
    if years >= MIN_TENURE_YEARS:
        return None
    days = (deadline - anniversary(start, years)).days
    missing = (anniversary(start, MIN_TENURE_YEARS) - deadline).days
    return (
        N_(
            "任正职须满 {required} 年：截至推荐截止日 {deadline}，任正职 {years} 年 {days} 天，还差 {missing} 天（须在 {latest} 或之前开始任正职）"
        ),
        {
            "required": MIN_TENURE_YEARS,
            "deadline": deadline.isoformat(),
            "years": years,
            "days": days,
            "missing": missing,
            "latest": latest,
        },
    )


def check_title_or_contribution(title: str | None, contribution: str | None) -> Problem | None:
    """高级教师 or 正高级教师; otherwise a contribution statement of at least 20 characters."""
    title_text = _text(title)
    if title_text in SENIOR_TITLES:
        return None
    # Count written characters only: spaces and line breaks pad nothing out.
    written = len("".join(_text(contribution).split()))
    if written >= MIN_CONTRIBUTION_CHARS:
        return None
    if not title_text:
        return (
            N_(
                "请选择专业技术职务；不具备高级教师及以上职称的，须在“学校管理突出贡献”中具体说明（至少 {min} 字）"
            ),
            {"min": MIN_CONTRIBUTION_CHARS},
        )
    if written == 0:
        return (
            N_(
                "专业技术职务为“{title}”，未达到高级教师：请在“学校管理突出贡献”中具体说明在学校管理方面的突出贡献（至少 {min} 字），否则不符合选拔条件"
            ),
            {"title": title_text, "min": MIN_CONTRIBUTION_CHARS},
        )
    return (
        N_(
            "专业技术职务为“{title}”，“学校管理突出贡献”只写了 {n} 字：请具体说明突出贡献及佐证，至少 {min} 字"
        ),
        {"title": title_text, "n": written, "min": MIN_CONTRIBUTION_CHARS},
    )


def eligibility(values: Mapping[str, Any], *, deadline: dt.date) -> dict[str, Problem]:
    """Field key → problem for the three hard rules.

    The title rule is keyed ``"title"`` when no title was chosen, else ``"contribution"``
    (the field the clerk has to fill in).
    """
    problems: dict[str, Problem] = {}
    if p := check_position(values.get("position")):
        problems["position"] = p
    if p := check_tenure(values.get("head_since"), deadline):
        problems["head_since"] = p
    if p := check_title_or_contribution(values.get("title"), values.get("contribution")):
        problems["title" if not _text(values.get("title")) else "contribution"] = p
    return problems


# ---------------------------------------------------------------------------------------------
# format checks


def check_mobile(phone: str | None) -> Problem | None:
    """A mainland mobile number, 1[3-9] and 9 more digits (spaces and hyphens ignored).

    Empty is not a problem here: whether the field is required is the schema's business.
    """
    text = _text(phone)
    if not text:
        return None
    if MOBILE_RE.match(text.replace(" ", "").replace("-", "")):
        return None
    return (
        N_("手机号码“{phone}”不是有效的手机号：应为 1 开头的 11 位数字（如 13812345678），请核对"),
        {"phone": text},
    )


def normalise_id_number(id_number: Any) -> str:
    """An ID number as typed, without spaces, with a lower-case x made upper-case."""
    return _text(id_number).replace(" ", "").upper()


def check_id_number(id_number: str | None, birth_date: dt.date | None = None) -> Problem | None:
    """An 18-character resident ID: GB 11643 check digit, a real birth date, matching ``birth_date``.

    Empty is not a problem here (the schema decides whether it is required). Legacy 15-digit
    numbers are refused: they were replaced in 2013 and carry no check digit.
    """
    text = normalise_id_number(id_number)
    if not text:
        return None
    if len(text) != 18 or not (text[:17].isdigit() and (text[17].isdigit() or text[17] == "X")):
        return (
            N_(
                "身份证号“{id_number}”应为 18 位：前 17 位是数字，最后一位是数字或 X（现在是 {n} 位）；15 位旧号码请换成新身份证上的 18 位号码"
            ),
            {"id_number": text, "n": len(text)},
        )
    if not id_card_checksum_ok(text):
        return (
            N_(
                "身份证号“{id_number}”的最后一位校验码不对，可能有一位输错或两位颠倒：请对照身份证逐位核对"
            ),
            {"id_number": text},
        )
    if not valid_id_card(text):
        return (
            N_(
                "身份证号“{id_number}”中的出生日期（第 7–14 位“{digits}”）不是真实日期：请对照身份证逐位核对"
            ),
            {"id_number": text, "digits": text[6:14]},
        )
    born = _as_date(birth_date)
    if born is not None and text[6:14] != born.strftime("%Y%m%d"):
        return (
            N_(
                "身份证号中的出生日期 {id_birth} 与填写的出生日期 {birth_date} 不一致：请核对其中之一"
            ),
            {
                "id_birth": f"{text[6:10]}-{text[10:12]}-{text[12:14]}",
                "birth_date": born.isoformat(),
            },
        )
    return None


def check_dates(values: Mapping[str, Any], deadline: dt.date, today: dt.date) -> dict[str, Problem]:
    """Plausibility of birth_date, head_since and declared_on; field key → problem.

    - birth_date: age 25–65 (full years) at the deadline;
    - head_since: on or after the 20th birthday, and not after the deadline or today;
    - declared_on: not in the future.
    Values that are not dates are left to the schema's type check.
    """
    problems: dict[str, Problem] = {}
    born = _as_date(values.get("birth_date"))
    if born is not None:
        if born > today:
            problems["birth_date"] = (
                N_("出生日期 {birth_date} 在今天之后：请核对年份"),
                {"birth_date": born.isoformat()},
            )
        else:
            age = full_years_in_post(born, deadline)
            if not MIN_AGE <= age <= MAX_AGE:
                problems["birth_date"] = (
                    N_(
                        "出生日期 {birth_date}：截至推荐截止日 {deadline} 年满 {age} 周岁，不在 {min}–{max} 周岁之间，请核对年份"
                    ),
                    {
                        "birth_date": born.isoformat(),
                        "deadline": deadline.isoformat(),
                        "age": age,
                        "min": MIN_AGE,
                        "max": MAX_AGE,
                    },
                )
    start = _as_date(values.get("head_since"))
    if start is not None:
        if start > today:
            problems["head_since"] = (
                N_("任正职时间 {head_since} 在今天之后：请填写已经开始任正职的日期"),
                {"head_since": start.isoformat()},
            )
        elif start > deadline:
            problems["head_since"] = (
                N_("任正职时间 {head_since} 晚于推荐截止日 {deadline}：请核对日期"),
                {"head_since": start.isoformat(), "deadline": deadline.isoformat()},
            )
        elif born is not None and start < anniversary(born, MIN_AGE_AT_HEAD_POST):
            problems["head_since"] = (
                N_(
                    "任正职时间 {head_since} 早于年满 {min_age} 周岁（出生日期 {birth_date}）：请核对任正职时间和出生日期"
                ),
                {
                    "head_since": start.isoformat(),
                    "min_age": MIN_AGE_AT_HEAD_POST,
                    "birth_date": born.isoformat(),
                },
            )
    declared = _as_date(values.get("declared_on"))
    if declared is not None and declared > today:
        problems["declared_on"] = (
            N_("承诺签署日期 {declared_on} 在今天之后：请填写实际签署的日期"),
            {"declared_on": declared.isoformat()},
        )
    return problems


# ---------------------------------------------------------------------------------------------
# duplicate persons


def _same_person(a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    """Why ``a`` and ``b`` are the same person (``"id_number"`` or ``"name_birth"``), else None.

    ID numbers decide when both are known; otherwise name and birth date must match, and the
    school too when both rows have one.
    """
    id_a, id_b = normalise_id_number(a.get("id_number")), normalise_id_number(b.get("id_number"))
    if id_a and id_b:
        return "id_number" if id_a == id_b else None
    name_a, name_b = "".join(_text(a.get("name")).split()), "".join(_text(b.get("name")).split())
    born_a, born_b = _as_date(a.get("birth_date")), _as_date(b.get("birth_date"))
    if not (name_a and born_a) or name_a != name_b or born_a != born_b:
        return None
    school_a, school_b = _text(a.get("school")), _text(b.get("school"))
    if school_a and school_b and school_a != school_b:
        return None
    return "name_birth"


# One whole sentence per basis, so each is a single msgid (no text pieced together).
_SAME_COHORT = {
    "id_number": N_(
        "与本期已有的推荐 {other_id}（{district}，{status}）身份证号相同，是同一人：同一人每期只能推荐一次，请核对后删除重复的一条"
    ),
    "name_birth": N_(
        "与本期已有的推荐 {other_id}（{district}，{status}）姓名和出生日期相同，应是同一人：同一人每期只能推荐一次，请核对后删除重复的一条"
    ),
}
_ADMITTED = {
    "id_number": N_(
        "此人已在期次 {other_cohort} 录取为学员（学员编号 {trainee_id}，身份证号相同）：已录取过的人员不能再次推荐"
    ),
    "name_birth": N_(
        "此人已在期次 {other_cohort} 录取为学员（学员编号 {trainee_id}，姓名和出生日期相同）：已录取过的人员不能再次推荐，如确非同一人请填写身份证号"
    ),
}


def find_duplicates(
    values: Mapping[str, Any],
    nominations: Iterable[Mapping[str, Any]],
    trainees: Iterable[Mapping[str, Any]],
    *,
    cohort: str,
    exclude_id: str | None = None,
) -> list[Problem]:
    """Other records of the same person: nominations in ``cohort``, and trainees of other cohorts.

    - Every non-voided nomination of the same cohort counts, whatever its status, except
      ``exclude_id`` (the nomination being edited).
    - A trainee belongs to an earlier cohort when its cohort differs from ``cohort`` (a
      trainee of this cohort came from a nomination already checked above). The person is
      resolved through the trainee's nomination; a trainee whose nomination is not among
      ``nominations`` is compared on its own fields.
    """
    by_id: dict[str, Mapping[str, Any]] = {}
    found: list[Problem] = []
    for nom in nominations:
        nom_id = _text(nom.get("id"))
        if nom_id:
            by_id[nom_id] = nom
        if nom.get("voided") or (exclude_id and nom_id == exclude_id):
            continue
        if _text(nom.get("cohort")) != cohort:
            continue
        basis = _same_person(values, nom)
        if basis:
            found.append(
                (
                    _SAME_COHORT[basis],
                    {
                        "other_id": nom_id,
                        "district": _text(nom.get("district")),
                        "status": _text(nom.get("status")),
                    },
                )
            )
    for trainee in trainees:
        if trainee.get("voided") or _text(trainee.get("cohort")) in ("", cohort):
            continue
        nomination_ref = _text(trainee.get("nomination"))
        if exclude_id and nomination_ref == exclude_id:
            continue
        person = by_id.get(nomination_ref, trainee)
        basis = _same_person(values, person)
        if basis:
            found.append(
                (
                    _ADMITTED[basis],
                    {
                        "other_cohort": _text(trainee.get("cohort")),
                        "trainee_id": _text(trainee.get("id")),
                    },
                )
            )
    return found


# ---------------------------------------------------------------------------------------------
# everything together


def validate_nomination(
    values: Mapping[str, Any],
    *,
    deadline: dt.date,
    today: dt.date,
    nominations: Iterable[Mapping[str, Any]],
    trainees: Iterable[Mapping[str, Any]],
    cohort: str,
    exclude_id: str | None = None,
) -> dict[str, Problem]:
    """All rules above, keyed by the field to highlight; duplicates under ``"_duplicate"``.

    Implausible dates win over the tenure rule on the same field (a typo is the likelier
    fix); only the first duplicate is reported (same-cohort nominations before trainees).
    """
    problems = check_dates(values, deadline, today)
    for key, problem in eligibility(values, deadline=deadline).items():
        problems.setdefault(key, problem)
    if p := check_mobile(values.get("phone")):
        problems["phone"] = p
    if p := check_id_number(values.get("id_number"), _as_date(values.get("birth_date"))):
        problems["id_number"] = p
    duplicates = find_duplicates(
        values, nominations, trainees, cohort=cohort, exclude_id=exclude_id
    )
    if duplicates:
        problems[DUPLICATE_KEY] = duplicates[0]
    return problems
