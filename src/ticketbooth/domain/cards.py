"""Saved payment cards of an account (Kibo's `Card`): the records and the rules a card must meet.

A card holds what Kibo's holds and nothing more: its id (the payment service's card id, a reference
to a card the payment service keeps), the name on the card, its type, the last four digits (or a mask
ending in them), its expiry, the billing contact and whether it is the account's default payment
method. Never the full card number or a security code: a full card number in any field a client sends
is refused (`CardNumberRefused`, domain/card_numbers.py), before anything else is looked at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ticketbooth.domain.card_numbers import card_number_at, has_card_number
from ticketbooth.domain.errors import CardNumberRefused, InvalidParameter
from ticketbooth.domain.models import Audit
from ticketbooth.domain.text import clean_text

MAX_CARD_ID = 100
MAX_NAME_ON_CARD = 200
MAX_CARD_TYPE = 50
MAX_NUMBER_PART = 30
MIN_EXPIRE_YEAR, MAX_EXPIRE_YEAR = 2000, 2099
MAX_CONTACT_ID = 2**63 - 1

CARD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*$")
"""A card id: URL-safe (it is a path segment), as the payment service's ids are (32 lowercase hex)."""
NUMBER_PART = re.compile(r"^[*Xx#\u2022 -]*[0-9]{4}$")
"""The last four digits, alone ("1111") or after a mask ("************1111", as Kibo's payment
service answers a card's `numberPart`)."""

REFUSED = ("Missing or invalid parameter: {name} looks like a full card number; a saved card holds only the "
           "last four digits, never the card number or its security code")


@dataclass(frozen=True, slots=True)
class CardInput:
    """A card as a client sent it (REST's Card body, GraphQL's CardInput), each value as parsed, unchecked.
    `others` holds every other field the client sent: they are stored nowhere, but searched for card
    numbers like the rest."""

    id: object = None
    name_on_card: object = None
    card_type: object = None
    expire_month: object = None
    expire_year: object = None
    card_number_part: object = None
    contact_id: object = None
    is_default_pay_method: object = None
    others: Mapping[str, object] = field(default_factory=dict)

    def fields(self) -> dict[str, object]:
        """The values by Kibo's field names."""
        return {
            "id": self.id, "nameOnCard": self.name_on_card, "cardType": self.card_type,
            "expireMonth": self.expire_month, "expireYear": self.expire_year, "cardNumberPart": self.card_number_part,
            "contactId": self.contact_id, "isDefaultPayMethod": self.is_default_pay_method,
        }


@dataclass(frozen=True, slots=True)
class CardDetails:
    """A card's checked values (everything but its id)."""

    contact_id: int
    name_on_card: str | None = None
    card_type: str | None = None
    expire_month: int | None = None
    expire_year: int | None = None
    card_number_part: str | None = None
    is_default_pay_method: bool = False


@dataclass(frozen=True, slots=True)
class Card:
    id: str
    account_id: int
    details: CardDetails
    audit: Audit = field(default_factory=Audit)


def refuse_card_numbers(card: CardInput) -> None:
    """CardNumberRefused naming the first field (or nested field) that holds a full card number."""
    for name, value in (*card.fields().items(), *card.others.items()):
        found = card_number_at(value, name)
        if found is not None:
            raise CardNumberRefused(found, REFUSED.format(name=found))


def check_card_id(card_id: str, name: str = "cardId") -> None:
    """A card id in a path or a request: CardNumberRefused when it looks like a card number."""
    if has_card_number(card_id):
        raise CardNumberRefused(name, REFUSED.format(name=name))


def is_card_id(card_id: str) -> bool:
    """Whether `card_id` has the shape of a card id (anything else names no card)."""
    return len(card_id) <= MAX_CARD_ID and CARD_ID.fullmatch(card_id) is not None


def _integer(value: object, name: str, low: int, high: int, *, required: bool = False) -> int | None:
    if value is None:
        if required:
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} is required")
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be a whole number")
    if not low <= value <= high:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be between {low} and {high}")
    return value


def clean_card_id(value: object) -> str | None:
    """The card id a client gave (None: none given, one is made up)."""
    text = clean_text(value, "id", MAX_CARD_ID)
    if text is not None and not is_card_id(text):
        raise InvalidParameter("id", "Missing or invalid parameter: id may hold only letters, digits and . _ ~ -, "
                               "starting with a letter or digit")
    return text


def clean_card(card: CardInput) -> CardDetails:
    """The card's values checked: CardNumberRefused first when any field holds a full card number, then
    InvalidParameter naming the first bad field. The id is checked apart (`clean_card_id`)."""
    refuse_card_numbers(card)
    number_part = clean_text(card.card_number_part, "cardNumberPart", MAX_NUMBER_PART)
    if number_part is not None and not NUMBER_PART.fullmatch(number_part):
        raise InvalidParameter("cardNumberPart", "Missing or invalid parameter: cardNumberPart is the card's last four "
                               "digits, alone or after a mask such as ************1111")
    default = card.is_default_pay_method
    if default is not None and not isinstance(default, bool):
        raise InvalidParameter("isDefaultPayMethod", "Missing or invalid parameter: isDefaultPayMethod must be true "
                               "or false")
    contact_id = _integer(card.contact_id, "contactId", 1, MAX_CONTACT_ID, required=True)
    assert contact_id is not None
    return CardDetails(
        contact_id=contact_id,
        name_on_card=clean_text(card.name_on_card, "nameOnCard", MAX_NAME_ON_CARD),
        card_type=clean_text(card.card_type, "cardType", MAX_CARD_TYPE),
        expire_month=_integer(card.expire_month, "expireMonth", 1, 12),
        expire_year=_integer(card.expire_year, "expireYear", MIN_EXPIRE_YEAR, MAX_EXPIRE_YEAR),
        card_number_part=number_part,
        is_default_pay_method=bool(default),
    )
