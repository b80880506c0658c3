"""Masking of phone and ID-card numbers: fixed examples plus properties over generated values."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mingxiao.masking import mask_id_card, mask_phone

mobiles = st.from_regex(r"\A1[3-9]\d{9}\Z")
id_cards = st.from_regex(r"\A\d{17}[\dX]\Z")
any_text = st.text(alphabet="0123456789-X ", max_size=30)


def test_mobile_keeps_first_three_and_last_four():
    assert mask_phone("13812345678") == "138****5678"


def test_id_card_keeps_first_four_and_last_four():
    assert mask_id_card("33010619900101123x") == "3301**********123X"


def test_landline_keeps_only_the_last_four():
    assert mask_phone("87654321") == "****4321"


def test_empty_values_mask_to_empty_text():
    assert (mask_phone(None), mask_id_card("")) == ("", "")


def test_reveal_shows_the_whole_number():
    assert mask_phone("13812345678", reveal=True) == "13812345678"


@given(mobiles)
def test_masked_mobile_hides_exactly_the_middle_four(number):
    assert mask_phone(number) == number[:3] + "****" + number[-4:]


@given(id_cards)
def test_masked_id_card_never_shows_the_birth_date(number):
    assert mask_id_card(number)[4:14] == "*" * 10


@given(any_text)
def test_masking_keeps_the_length(value):
    stripped = value.strip()
    assert len(mask_phone(value)) == len(stripped) and len(mask_id_card(value)) == len(stripped)


@given(any_text)
def test_a_masked_phone_shows_at_most_seven_characters_and_never_most_of_a_short_one(value):
    masked = mask_phone(value)
    visible = len(masked) - masked.count("*")
    assert visible <= 7 and (len(masked) >= 11 or visible <= len(masked) / 2)


@given(st.one_of(mobiles, id_cards))
def test_masking_is_idempotent(value):
    assert mask_phone(mask_phone(value)) == mask_phone(value)
    assert mask_id_card(mask_id_card(value)) == mask_id_card(value)


def test_jinja_filters_are_registered(app):
    with app.app_context():
        html = app.jinja_env.from_string("{{ p|mask_phone }} {{ i|mask_id }}").render(
            p="13812345678", i="330106199001011234"
        )
    assert html == "138****5678 3301**********1234"
