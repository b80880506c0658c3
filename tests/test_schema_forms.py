"""The shared schema form builder (mingxiao/schema_forms.py): one field per column type, the
engine's Chinese messages naming the column, choices as values or pairs, overrides and extras."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField

from mingxiao.schema_forms import form_data, merge_base, options, parse_merge_base, schema_form
from mingxiao.sheetdb.schema import Column, SheetSchema

SCHEMA = SheetSchema(
    key="test_things",
    title="测试",
    id_prefix="T",
    columns=(
        Column("name", "名称", "text", required=True, max_length=5),
        Column("kind", "类别", "enum", choices=("甲", "乙")),
        Column("when", "日期", "date"),
        Column("count", "人数", "int", min=1, max=100),
        Column("hours", "学时", "decimal", min=0),
        Column("share", "比例", "decimal", min=0, max=1),
        Column("notes", "备注", "long_text"),
        Column("active", "在岗", "bool"),
    ),
)
KEYS = ("name", "kind", "when", "count", "hours", "share", "notes", "active")


@pytest.fixture
def ctx(app):
    app.config["WTF_CSRF_ENABLED"] = False  # these forms are built, not posted
    with app.test_request_context():
        yield


def submit(**values):
    base = {"name": "张三", "kind": "甲", "when": "2026-09-01", "count": "3", "hours": "1.5"}
    base.update(values)
    return schema_form(SCHEMA, KEYS, {"kind": ["甲", "乙"]}, formdata=MultiDict(base))


def test_fields_follow_the_column_types(ctx):
    form = submit()
    assert isinstance(form.name, StringField) and form.name.flags.required
    assert isinstance(form.kind, SelectField)
    assert [c.value for c in form.kind.choices] == ["", "甲", "乙"]
    assert form.when.render_kw == {"type": "date"}
    assert form.count.render_kw == {"inputmode": "numeric"}
    assert isinstance(form.notes, TextAreaField)
    assert isinstance(form.active, BooleanField)
    assert form.name.label.text == "名称"


def test_valid_input_gives_typed_data(ctx):
    form = submit()
    assert form.validate(), form.errors
    assert form.when.data == dt.date(2026, 9, 1)
    assert form.count.data == 3 and isinstance(form.count.data, int)
    assert form.hours.data == Decimal("1.5")
    assert form.share.data is None  # left empty


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "  ", "“名称”是必填项"),
        ("count", "abc", "“人数”应填数字，如 1.5"),
        ("count", "2.5", "“人数”应填整数"),
        ("count", "0", "“人数”应在 1 到 100 之间"),
        ("count", "101", "“人数”应在 1 到 100 之间"),
        ("hours", "-0.5", "“学时”不能小于 0"),
        ("hours", "NaN", "“学时”不能小于 0"),
        ("share", "1.01", "“比例”应在 0 到 1 之间"),
    ],
)
def test_errors_name_the_column_in_chinese(ctx, field, value, message):
    form = submit(**{field: value})
    assert not form.validate()
    assert form.errors[field] == [message]


def test_boundaries_are_inclusive(ctx):
    assert submit(count="1", share="1", hours="0").validate()
    assert submit(count="100", share="0").validate()


def test_choices_as_a_function_with_pairs_overrides_and_extra(ctx):
    form = schema_form(
        SCHEMA,
        ("kind", "name"),
        lambda col: [("甲", "甲类"), "乙"],
        overrides={"name": HiddenField()},
        extra={"form_base": HiddenField()},
    )
    assert [(c.value, c.label) for c in form.kind.choices][1:] == [("甲", "甲类"), ("乙", "乙")]
    assert isinstance(form.name, HiddenField)
    assert "form_base" in form._fields
    assert type(form).__name__ == "TestThingsForm"


def test_text_in_a_date_cell_shows_as_an_empty_date(ctx):
    assert form_data(SCHEMA, KEYS, {"when": "九月一日", "name": "x"}) == {"when": None, "name": "x"}
    form = schema_form(SCHEMA, KEYS, data={"when": "九月一日", "name": "张三"})
    assert form.when.data is None and form.name.data == "张三"


def test_options_accept_values_and_pairs():
    assert [(o.value, o.label) for o in options(["a", ("b", "B")])] == [("a", "a"), ("b", "B")]


def test_merge_base_round_trip_and_tampering():
    rec = {"when": dt.date(2026, 9, 1), "hours": Decimal("1.5"), "name": "张三", "other": 1}
    text = merge_base(rec, ("when", "hours", "name", "missing"))
    assert parse_merge_base(text) == {
        "when": "2026-09-01", "hours": "1.5", "name": "张三", "missing": None,
    }  # fmt: skip
    for bad in (None, "", "not json", "[1, 2]", '"text"'):
        assert parse_merge_base(bad) is None
