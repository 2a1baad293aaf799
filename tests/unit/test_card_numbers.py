"""domain/card_numbers.py: the Luhn check and the finder of full card numbers in card fields."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketbooth.domain.card_numbers import (
    MAX_DIGITS,
    MIN_DIGITS,
    card_number_at,
    digit_runs,
    has_card_number,
    luhn_valid,
    run_is_card_number,
)

# the card numbers payment services publish for testing (Visa, Mastercard, Amex, Discover, JCB, Diners, 13-digit Visa)
TEST_NUMBERS = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "3530111333300000",
                "30569309025904", "4222222222222", "6759649826438453", "4000056655665556"]


def _check_digit(body: str) -> str:
    """The digit that makes `body + digit` pass Luhn, worked out the textbook way (independently of the code)."""
    for d in "0123456789":
        digits = [int(c) for c in body + d]
        total = 0
        for i, x in enumerate(reversed(digits)):
            if i % 2:
                x *= 2
                x = x // 10 + x % 10
            total += x
        if total % 10 == 0:
            return d
    raise AssertionError("unreachable")


def _reference_luhn(digits: str) -> bool:
    return bool(digits) and _check_digit(digits[:-1]) == digits[-1]


digit_strings = st.text(alphabet="0123456789", min_size=1, max_size=30)
card_numbers = st.integers(MIN_DIGITS - 1, MAX_DIGITS - 1).flatmap(
    lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)).map(lambda body: body + _check_digit(body))
separators = st.sampled_from(["", " ", "-", "  ", " - ", "\u2013", "\t"])
no_digits = st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=20)


@pytest.mark.parametrize("number", TEST_NUMBERS)
def test_published_test_numbers_are_found(number: str) -> None:
    assert luhn_valid(number)
    assert has_card_number(number)
    assert has_card_number(f"card {number[:4]} {number[4:8]} {number[8:12]} {number[12:]} please")
    assert has_card_number("-".join(number[i:i + 4] for i in range(0, len(number), 4)))


@pytest.mark.parametrize("text", [
    "", "1111", "************1111", "XXXX-XXXX-XXXX-1111", "VISA", "Nina Neu", "12/2030",
    "4111111111111112",  # fails Luhn
    "41111111111",  # 11 digits
    "4111 1111 1111 111a1",  # the letter ends the run: 15 digits that fail Luhn
])
def test_what_is_not_a_card_number(text: str) -> None:
    assert not has_card_number(text)


def test_separators_only_between_digits_and_other_characters_end_a_run() -> None:
    assert list(digit_runs("ab 12 34-5/67 8")) == ["12345", "678"]
    assert list(digit_runs("  -12")) == ["12"]
    assert list(digit_runs("\uff14\uff11\uff11\uff11")) == ["4111"]  # fullwidth digits count as digits


def test_digits_of_other_scripts_count() -> None:
    fullwidth = "".join(chr(0xFF10 + int(c)) for c in "4111111111111111")
    assert has_card_number(fullwidth)


def test_a_card_number_hidden_in_a_longer_run_is_found() -> None:
    assert has_card_number("99" + "4111111111111111" + "77777")
    assert run_is_card_number("0" * 25)  # 12 zeros pass Luhn: long runs of digits are refused
    assert not run_is_card_number("1" * 11)


def test_numbers_and_nested_values() -> None:
    assert card_number_at(4111111111111111, "expireYear") == "expireYear"
    assert card_number_at(4111111111111111.0, "expireYear") == "expireYear"
    assert card_number_at(2030, "expireYear") is None
    assert card_number_at(True, "isDefaultPayMethod") is None
    assert card_number_at(None, "x") is None
    assert card_number_at({"billing": {"address": {"address1": "4111 1111 1111 1111"}}}, "card") == \
        "card.billing.address.address1"
    assert card_number_at(["ok", {"n": "5555-5555-5555-4444"}], "items") == "items[1].n"
    assert card_number_at({"4111111111111111": 1}, "body") == "body.<key 0>"
    assert card_number_at({"name": "Nina", "last": "1111"}, "body") is None


@given(digit_strings)
def test_luhn_agrees_with_the_textbook_rule(digits: str) -> None:
    assert luhn_valid(digits) == _reference_luhn(digits)


@given(card_numbers, st.data())
def test_luhn_catches_every_single_digit_error(number: str, data: st.DataObject) -> None:
    assert luhn_valid(number)
    i = data.draw(st.integers(0, len(number) - 1))
    other = data.draw(st.sampled_from([d for d in "0123456789" if d != number[i]]))
    assert not luhn_valid(number[:i] + other + number[i + 1:])


@given(card_numbers, st.lists(separators, min_size=MAX_DIGITS, max_size=MAX_DIGITS), no_digits, no_digits)
def test_a_card_number_is_found_however_it_is_written_and_wherever(
        number: str, seps: list[str], before: str, after: str) -> None:
    written = "".join(d + seps[i] for i, d in enumerate(number[:-1])) + number[-1]
    # text around it must not glue more digits or separators to the run
    assert has_card_number(f"{before}x{written}x{after}")
    assert card_number_at({"a": [None, {"b": f"{before}x{written}x{after}"}]}, "card") == "card.a[1].b"


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=40),
       st.lists(st.text(alphabet="0123456789", min_size=1, max_size=MIN_DIGITS - 1), max_size=5))
def test_text_without_a_run_of_twelve_digits_is_never_refused(text: str, numbers: list[str]) -> None:
    mixed = "x".join([text, *numbers, text])
    assert not has_card_number(mixed)


@given(card_numbers)
def test_the_number_is_never_part_of_the_answer(number: str) -> None:
    where = card_number_at({"nameOnCard": number}, "card")
    assert where == "card.nameOnCard" and number not in where
