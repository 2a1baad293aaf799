"""Customer sets, read only: the tenant's login namespaces, the sites that share each, and how many
accounts each holds. Any application of the tenant may read them: they carry no personal data, and a
storefront needs to know which set its site uses."""

from __future__ import annotations

from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter, NotFound
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import CustomerSetInfo, Page
from ticketbooth.domain.text import clean_text


async def list_customer_sets(core: Core, caller: Caller, query: ListQuery) -> Page[CustomerSetInfo]:
    return await core.store.page_customer_sets(caller.tenant.id, query)


async def get_customer_set(core: Core, caller: Caller, code: str) -> CustomerSetInfo:
    """The tenant's customer set `code` (compared case-insensitively)."""
    try:
        key = clean_text(code, "code", 100, required=True)
    except InvalidParameter:
        key = None
    found = await core.store.customer_set_info(caller.tenant.id, key) if key else None
    if found is None:
        raise NotFound(f"Item not found: customer set {code[:100]} does not exist")
    return found
