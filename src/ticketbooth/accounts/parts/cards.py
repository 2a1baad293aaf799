"""An account's saved payment cards (Kibo's Card), for its shopper or an application with the
customer:admin behavior, as its contacts are (accounts/access.py).

Every transport calls these five functions with `(core, caller, shopper, account_id, ...)`: REST's
/accounts/{accountId}/cards routes and GraphQL's customerAccountCard(s) and
create/update/deleteCustomerAccountCard. A card comes in as a `CardInput` (the values as the client
sent them) and is checked here (domain/cards.py): a full card number in any field is refused before
anything else, and is never stored, logged or repeated back.

- The card's id is the payment service's card id when the client gives one (Kibo's storefront does:
  it saves the id its payment service answered), else a random one made here; it is unique in the
  tenant (409 otherwise), so no account can attach a card another account holds.
- The billing contact (`contactId`) must be one of the account's contacts when the card is added or
  updated. Deleting that contact later leaves the card as it is.
- One default card per account: a card saved with isDefaultPayMethod true clears the flag on the
  others, in the same transaction, under the account's row lock.
- Every add, update and delete is in the account's audit trail (`card.added`, `card.updated`,
  `card.deleted`), naming the card by its id only.
"""

from __future__ import annotations

from ticketbooth.accounts.access import actor
from ticketbooth.accounts.persistence import AccountsPersistence
from ticketbooth.audit import service as audit
from ticketbooth.b2b.access import customer_account_for
from ticketbooth.b2b.rules import MANAGE_SAVED_PAYMENTS
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.card_numbers import has_card_number
from ticketbooth.domain.cards import Card, CardDetails, CardInput, check_card_id, clean_card, clean_card_id, is_card_id
from ticketbooth.domain.errors import InvalidParameter, NotFound
from ticketbooth.domain.models import Shopper
from ticketbooth.infra.tokens import new_hex

DOING = "using the account's saved cards"
MAX_CARDS_PER_ACCOUNT = 100


def new_card_id() -> str:
    """A random card id: 32 lowercase hex, as the payment service's are, drawn again in the rare case
    (about 3 in 1,000) that its digits would read as a card number, which no card field may hold."""
    while True:
        card_id = new_hex(16)
        if not has_card_number(card_id):
            return card_id


def _missing(account_id: int, card_id: str) -> NotFound:
    shown = card_id if is_card_id(card_id) else "given"
    return NotFound(f"Item not found: card {shown} of account {account_id} does not exist")


def _key(account_id: int, card_id: str) -> str:
    """The card id from a path: refused when it looks like a card number; NotFound when it cannot name a card."""
    check_card_id(card_id)
    if not is_card_id(card_id):
        raise _missing(account_id, card_id)
    return card_id


async def _check_contact(tx: AccountsPersistence, account_id: int, details: CardDetails) -> None:
    if await tx.get_contact(account_id, details.contact_id) is None:
        raise InvalidParameter("contactId", f"Missing or invalid parameter: contactId {details.contact_id} is not a "
                               f"contact of account {account_id}")


async def _record(core: Core, tx: AccountsPersistence, caller: Caller, shopper: Shopper | None, account_id: int,
                  event: audit.Event, card_id: str) -> None:
    detail: dict[str, object] = {"cardId": card_id}
    if shopper is not None and shopper.acting_client_id:
        detail["impersonation"] = True
    await audit.record(core, event, caller=caller, account_id=account_id, actor=actor(caller, shopper), detail=detail,
                       store=tx)


async def list_cards(core: Core, caller: Caller, shopper: Shopper | None, account_id: int) -> list[Card]:
    """The account's cards, in the order they were added (Kibo's CardCollection is not paged)."""
    await customer_account_for(core, caller, shopper, account_id, MANAGE_SAVED_PAYMENTS, DOING)
    return await core.store.cards_of(account_id)


async def get_card(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, card_id: str) -> Card:
    await customer_account_for(core, caller, shopper, account_id, MANAGE_SAVED_PAYMENTS, DOING)
    card = await core.store.get_card(account_id, _key(account_id, card_id))
    if card is None:
        raise _missing(account_id, card_id)
    return card


async def add_card(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, card: CardInput) -> Card:
    """Save a card on the account. 400 for a bad field (a card number in any field first), 409 when the
    tenant already has a card with the id given."""
    await customer_account_for(core, caller, shopper, account_id, MANAGE_SAVED_PAYMENTS, DOING)
    details = clean_card(card)
    card_id = clean_card_id(card.id) or new_card_id()
    by, now = actor(caller, shopper), core.clock.now()
    async with core.store.transaction() as tx:
        if not await tx.lock_account(account_id):
            raise NotFound(f"Item not found: account {account_id} does not exist")
        await _check_contact(tx, account_id, details)
        if await tx.count_cards(account_id) >= MAX_CARDS_PER_ACCOUNT:
            raise InvalidParameter("cards", f"Missing or invalid parameter: an account may have at most "
                                   f"{MAX_CARDS_PER_ACCOUNT} cards")
        if details.is_default_pay_method:
            await tx.clear_default_card(account_id, now, by)
        saved = await tx.insert_card(caller.tenant.id, account_id, card_id, details, now, by)
        await _record(core, tx, caller, shopper, account_id, audit.Event.CARD_ADDED, card_id)
        return saved


async def update_card(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, card_id: str,
                      card: CardInput) -> Card:
    """Replace the card's values (its id stays: an id in the body is checked for card numbers, and
    otherwise ignored)."""
    await customer_account_for(core, caller, shopper, account_id, MANAGE_SAVED_PAYMENTS, DOING)
    key = _key(account_id, card_id)
    details = clean_card(card)
    by, now = actor(caller, shopper), core.clock.now()
    async with core.store.transaction() as tx:
        if not await tx.lock_account(account_id):
            raise NotFound(f"Item not found: account {account_id} does not exist")
        if await tx.get_card(account_id, key) is None:
            raise _missing(account_id, key)
        await _check_contact(tx, account_id, details)
        if details.is_default_pay_method:
            await tx.clear_default_card(account_id, now, by)
        saved = await tx.update_card(account_id, key, details, now, by)
        assert saved is not None  # the account row is locked and the card was there
        await _record(core, tx, caller, shopper, account_id, audit.Event.CARD_UPDATED, key)
        return saved


async def delete_card(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, card_id: str) -> None:
    await customer_account_for(core, caller, shopper, account_id, MANAGE_SAVED_PAYMENTS, DOING)
    key = _key(account_id, card_id)
    async with core.store.transaction() as tx:
        if not await tx.delete_card(account_id, key):
            raise _missing(account_id, key)
        await _record(core, tx, caller, shopper, account_id, audit.Event.CARD_DELETED, key)
