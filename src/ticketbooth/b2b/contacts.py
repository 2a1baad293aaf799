"""The contacts of B2B accounts (B2BContactApi getB2BContacts): every contact of the customer set's B2B accounts,
each with its account's id and name (Kibo's ExtendedCustomerContact), filtered, sorted and paged as any list.
For merchant applications (customer:admin) only."""

from __future__ import annotations

from ticketbooth.accounts.access import require_admin
from ticketbooth.b2b.rules import ExtendedContact
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import Page


def require_merchant(caller: Caller) -> None:
    """Forbidden unless a merchant application calls (checked before a body is read)."""
    require_admin(caller, "listing B2B contacts")


async def b2b_contacts(core: Core, caller: Caller, query: ListQuery) -> Page[ExtendedContact]:
    require_admin(caller, "listing B2B contacts")
    return await core.store.page_b2b_contacts(caller.tenant.id, caller.site.customer_set_id, query)
