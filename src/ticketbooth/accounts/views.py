"""What a shopper is shown of their own account. Notes are the merchant's ("customers cannot view
these notes", Kibo) and so are attributes other than ShopperEntered ones: neither appears in a
ticket's customerAccount, the current account, or an account read by its own shopper. Applications
with the customer:admin behavior see the whole account."""

from __future__ import annotations

import dataclasses

from ticketbooth.core import Core
from ticketbooth.domain.models import ATTRIBUTE_SHOPPER_ENTERED, Account


async def shopper_view(core: Core, account: Account) -> Account:
    """The account without its notes and merchant attributes (one query, only when it has attributes:
    which of them are ShopperEntered; one that is not found is not shown)."""
    if not account.notes and not account.attributes:
        return account
    visible: set[int] = set()
    if account.attributes:
        visible = await core.store.attribute_ids_of_type(account.id, ATTRIBUTE_SHOPPER_ENTERED)
    return dataclasses.replace(
        account, notes=[], attributes=[a for a in account.attributes if a.definition_id in visible])
