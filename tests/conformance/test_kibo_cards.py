"""Saved cards through `@kibocommerce/rest-sdk`'s CustomerAccountApi (addAccountCard, getAccountCards,
getAccountCard, updateAccountCard, deleteAccountCard) against a live `ticketbooth serve`, as a shopper with
the ticket's JWT: the SDK's Card and CardCollection models read what the service answers, and its
refusals (a full card number, another shopper's account) arrive as Kibo errors. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.conftest import Kibo, assert_api_error
from tests.conftest import ADMIN, PASSWORD, LiveServer

pytestmark = pytest.mark.conformance

API = "CustomerAccountApi"
CARD_KEYS = {"id", "nameOnCard", "cardType", "expireMonth", "expireYear", "cardNumberPart", "contactId",
             "isDefaultPayMethod"}
PAYMENT_ID = "0f5e4d3c2b1a49788796a5b4c3d2e1f0"


def _result(out: dict[str, Any]) -> Any:
    assert out["ok"] is True, f"{out['call']} failed through the SDK: {out['error']}"
    return out["result"]


def test_saved_cards_through_the_sdk(live_server: LiveServer) -> None:
    kibo = Kibo(live_server.base_url)
    ticket = kibo.ok("register", "card.holder@example.com", PASSWORD)
    other = kibo.ok("register", "card.thief@example.com", PASSWORD)
    me, jwt = ticket["customerAccount"]["id"], ticket["jwtAccessToken"]

    contact = _result(kibo.call(API, "addAccountContact", {"accountId": me, "customerContact": {
        "firstName": "Card", "lastNameOrSurname": "Holder", "types": [{"name": "Billing", "isPrimary": True}],
        "address": {"address1": "1 Main St", "cityOrTown": "Austin", "postalOrZipCode": "78701", "countryCode": "US"}}},
        jwt))
    card = {"id": PAYMENT_ID, "nameOnCard": "Card Holder", "cardType": "VISA", "expireMonth": 9, "expireYear": 2031,
            "cardNumberPart": "************1111", "contactId": contact["id"], "isDefaultPayMethod": True}

    added = _result(kibo.call(API, "addAccountCard", {"accountId": me, "card": card}, jwt))
    assert added == card and set(added) == CARD_KEYS
    listed = _result(kibo.call(API, "getAccountCards", {"accountId": me}, jwt))
    assert listed == {"totalCount": 1, "items": [card]}
    assert _result(kibo.call(API, "getAccountCard", {"accountId": me, "cardId": PAYMENT_ID}, jwt)) == card
    fields = _result(kibo.call(API, "getAccountCard", {"accountId": me, "cardId": PAYMENT_ID,
                                                       "responseFields": "id,cardNumberPart"}, jwt))
    assert fields == {"id": PAYMENT_ID, "cardNumberPart": "************1111"}
    updated = _result(kibo.call(API, "updateAccountCard", {"accountId": me, "cardId": PAYMENT_ID,
                                                           "card": {**card, "expireYear": 2032}}, jwt))
    assert updated == {**card, "expireYear": 2032}

    # a full card number, in any field, is a Kibo 400 naming the field
    refused = kibo.call(API, "addAccountCard", {"accountId": me, "card": {**card, "id": None,
                                                                           "nameOnCard": "4111 1111 1111 1111"}}, jwt)
    assert refused["ok"] is False, refused
    assert_api_error(refused["error"], 400, "MISSING_OR_INVALID_PARAMETER", "nameOnCard")
    assert "4111" not in refused["error"]["message"]
    # another shopper, and the storefront application alone, are refused
    for token in (other["jwtAccessToken"], None):
        out = kibo.call(API, "getAccountCards", {"accountId": me}, token)
        assert out["ok"] is False, out
        assert_api_error(out["error"], 403, "FORBIDDEN")
    # an application with customer:admin reads any account's cards
    assert _result(kibo.as_(creds=ADMIN).call(API, "getAccountCards", {"accountId": me}))["totalCount"] == 1

    assert _result(kibo.call(API, "deleteAccountCard", {"accountId": me, "cardId": PAYMENT_ID}, jwt)) is None
    assert _result(kibo.call(API, "getAccountCards", {"accountId": me}, jwt)) == {"totalCount": 0, "items": []}
    gone = kibo.call(API, "getAccountCard", {"accountId": me, "cardId": PAYMENT_ID}, jwt)
    assert gone["ok"] is False, gone
    assert_api_error(gone["error"], 404, "ITEM_NOT_FOUND")
