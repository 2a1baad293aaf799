"""`responseFields`: Kibo's comma list with nested parentheses that trims a response body."""

from __future__ import annotations

import pytest

from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.kibo import response_fields as rf

TICKET = {
    "accessToken": "a" * 64,
    "refreshToken": "r" * 32,
    "userId": "u" * 32,
    "requires2FA": False,
    "customerAccount": {
        "id": 7,
        "emailAddress": "shopper@example.test",
        "firstName": "Ada",
        "auditInfo": {"createBy": "x", "createDate": "2026-11-27T12:00:00.000Z"},
        "contacts": [
            {"id": 1, "email": "one@example.test", "firstName": "One"},
            {"id": 2, "email": "two@example.test", "firstName": "Two"},
        ],
    },
}


def trim(raw: str | None) -> object:
    return rf.apply(TICKET, rf.parse(raw))


# -- parse ---------------------------------------------------------------------------------------

def test_nested_parentheses_parse_into_nested_selections() -> None:
    assert rf.parse("accessToken,customerAccount(id,emailAddress,contacts(email))") == {
        "accesstoken": None,
        "customeraccount": {"id": None, "emailaddress": None, "contacts": {"email": None}},
    }


@pytest.mark.parametrize("raw", [None, "", "   ", ","])
def test_empty_means_everything(raw: str | None) -> None:
    assert rf.parse(raw) is None
    assert trim(raw) == TICKET


def test_spaces_around_names_commas_and_parentheses_are_ignored() -> None:
    assert rf.parse(" accessToken , customerAccount ( id , contacts ( email ) ) ") == rf.parse(
        "accessToken,customerAccount(id,contacts(email))")


def test_trailing_comma_is_accepted() -> None:
    assert rf.parse("accessToken,userId,") == {"accesstoken": None, "userid": None}
    assert rf.parse("customerAccount(id,),") == {"customeraccount": {"id": None}}


def test_a_field_named_whole_and_with_children_keeps_the_whole_field() -> None:
    assert rf.parse("customerAccount,customerAccount(id)") == {"customeraccount": None}
    assert rf.parse("customerAccount(id),customerAccount(firstName)") == {
        "customeraccount": {"id": None, "firstname": None}}


@pytest.mark.parametrize("raw, detail", [
    ("customerAccount(id", "unmatched"),
    ("customerAccount(id))", "unexpected"),
    ("(id)", "without a field name"),
    ("accessToken userId", "unexpected"),
    ("accessToken;userId", "unexpected"),
    ("customerAccount(contacts(email)", "unmatched"),
    ("a.b", "unexpected"),
])
def test_malformed_input_is_an_invalid_response_fields_parameter(raw: str, detail: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        rf.parse(raw)
    assert info.value.name == "responseFields"
    assert "responseFields" in info.value.message
    assert detail in info.value.message


def test_nesting_up_to_the_limit_is_fine_and_deeper_is_refused() -> None:
    def nested(depth: int) -> str:
        return "a(" * depth + "b" + ")" * depth

    selection = rf.parse(nested(rf.MAX_DEPTH))
    for _ in range(rf.MAX_DEPTH):
        assert selection is not None
        selection = selection["a"]
    assert selection == {"b": None}

    with pytest.raises(InvalidParameter) as info:
        rf.parse(nested(rf.MAX_DEPTH + 1))
    assert info.value.name == "responseFields"
    assert "deeply" in info.value.message


def test_very_deep_nesting_is_refused_without_a_recursion_error() -> None:
    with pytest.raises(InvalidParameter):
        rf.parse("a(" * 2000)


def test_length_up_to_the_limit_is_fine_and_longer_is_refused() -> None:
    pairs = (rf.MAX_LENGTH - 2) // 2
    at_limit = "x," * pairs + "y" * (rf.MAX_LENGTH - 2 * pairs)
    assert len(at_limit) == rf.MAX_LENGTH
    assert rf.parse(at_limit) == {"x": None, "y" * (rf.MAX_LENGTH - 2 * pairs): None}

    with pytest.raises(InvalidParameter) as info:
        rf.parse(at_limit + "z")
    assert info.value.name == "responseFields"
    assert "too long" in info.value.message


# -- apply ---------------------------------------------------------------------------------------

def test_keeps_only_the_named_fields_at_every_level() -> None:
    assert trim("accessToken,customerAccount(id,emailAddress,contacts(email))") == {
        "accessToken": TICKET["accessToken"],
        "customerAccount": {
            "id": 7,
            "emailAddress": "shopper@example.test",
            "contacts": [{"email": "one@example.test"}, {"email": "two@example.test"}],
        },
    }


def test_a_field_without_parentheses_is_kept_whole() -> None:
    assert trim("customerAccount") == {"customerAccount": TICKET["customerAccount"]}


def test_names_compare_case_insensitively_and_the_response_keeps_its_own_case() -> None:
    assert trim("ACCESSTOKEN,customeraccount(EmailAddress)") == {
        "accessToken": TICKET["accessToken"],
        "customerAccount": {"emailAddress": "shopper@example.test"},
    }


def test_lists_are_trimmed_item_by_item() -> None:
    out = rf.apply([{"a": 1, "b": 2}, {"a": 3, "c": 4}, "scalar"], rf.parse("a"))
    assert out == [{"a": 1}, {"a": 3}, "scalar"]


def test_unknown_names_are_ignored() -> None:
    assert trim("userId,noSuchField,customerAccount(nope)") == {"userId": TICKET["userId"], "customerAccount": {}}
    assert trim("nothingKnown") == {}


def test_null_and_scalar_values_pass_through_a_nested_selection() -> None:
    assert rf.apply({"customerAccount": None}, rf.parse("customerAccount(id)")) == {"customerAccount": None}


def test_apply_does_not_change_its_input() -> None:
    before = repr(TICKET)
    trim("customerAccount(contacts(email))")
    assert repr(TICKET) == before
