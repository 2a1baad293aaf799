"""The attribute values of B2B accounts (/b2baccounts/{accountId}/attributes...): the customer account's attribute
flows (accounts/parts/attributes.py: definitions, value checks, who sets what) behind the B2B access rule.

Who may: the merchant (customer:admin) reads and sets every attribute. A user of the account (or, with 1010, of an
account above it) reads its ShopperEntered attributes; one who manages account attributes (1004) also sets and
removes those that are not read-only. Each change is audited (b2b.account-updated, fields ["attributes"]) in its
transaction.
"""

from __future__ import annotations

from ticketbooth.accounts.access import actor
from ticketbooth.accounts.parts.attributes import (
    SHOPPER_ENTERED,
    AttributeValues,
    fqn_key,
    get_definition,
    write_attribute,
)
from ticketbooth.audit import service as audit
from ticketbooth.audit.persistence import AuditTrail
from ticketbooth.b2b import access as b2b_access
from ticketbooth.b2b.access import Access
from ticketbooth.b2b.rules import MANAGE_ACCOUNT_ATTRIBUTES
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Forbidden, InvalidParameter, NotFound
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import AccountAttribute, AttributeDefinition, Page, Shopper


async def _access(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, needed: int | None,
                  doing: str) -> Access:
    _, access = await b2b_access.account_for(core, caller, shopper, account_id, needed, doing, with_users=False)
    return access


def _check_may_read(access: Access, d: AttributeDefinition) -> None:
    if not access.admin and d.spec.value_type != SHOPPER_ENTERED:
        raise Forbidden(f"Forbidden: the attribute {d.fqn} is the merchant's; a B2B user may read only ShopperEntered "
                        "attributes")


async def _record(core: Core, tx: AuditTrail, caller: Caller, shopper: Shopper | None, access: Access,
                  account_id: int) -> None:
    await audit.record(core, audit.Event.B2B_ACCOUNT_UPDATED, caller=caller, account_id=account_id,
                       actor=caller.app.client_id if access.admin else actor(caller, shopper),
                       detail={"fields": ["attributes"]}, store=tx)


async def list_attributes(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                          query: ListQuery) -> Page[AccountAttribute]:
    access = await _access(core, caller, shopper, account_id, None, "reading a B2B account's attributes")
    only = None
    if not access.admin:
        only = [d.id for d in await core.store.definitions_with_value_type(caller.tenant.id, SHOPPER_ENTERED)]
    return await core.store.page_account_attributes(account_id, query, only)


async def get_attribute(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                        fqn: str) -> AccountAttribute:
    access = await _access(core, caller, shopper, account_id, None, "reading a B2B account's attributes")
    definition = await get_definition(core, caller, fqn)
    _check_may_read(access, definition)
    found = await core.store.get_account_attribute(account_id, definition.id)
    if found is None:
        raise NotFound(f"Item not found: account {account_id} has no value for the attribute {definition.fqn}")
    return found


async def add_attribute(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                        given: AttributeValues) -> AccountAttribute:
    access = await _access(core, caller, shopper, account_id, MANAGE_ACCOUNT_ATTRIBUTES,
                           "changing a B2B account's attributes")
    async with core.store.transaction() as tx:
        written = await write_attribute(tx, caller, account_id, given, actor(caller, shopper), core.clock.now(),
                                        replace_existing=False)
        await _record(core, tx, caller, shopper, access, account_id)
        return written


async def set_attribute(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, fqn: str,
                        given: AttributeValues) -> AccountAttribute:
    access = await _access(core, caller, shopper, account_id, MANAGE_ACCOUNT_ATTRIBUTES,
                           "changing a B2B account's attributes")
    if given.fqn and given.fqn.strip() and fqn_key(given.fqn) != fqn_key(fqn):
        raise InvalidParameter("fullyQualifiedName", "Missing or invalid parameter: fullyQualifiedName differs from the "
                               "attribute in the path", given.fqn[:300])
    async with core.store.transaction() as tx:
        written = await write_attribute(tx, caller, account_id, AttributeValues(fqn, given.values),
                                        actor(caller, shopper), core.clock.now(), replace_existing=True)
        await _record(core, tx, caller, shopper, access, account_id)
        return written


async def delete_attribute(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, fqn: str) -> None:
    access = await _access(core, caller, shopper, account_id, MANAGE_ACCOUNT_ATTRIBUTES,
                           "changing a B2B account's attributes")
    definition = await get_definition(core, caller, fqn)
    if not access.admin and (definition.spec.value_type != SHOPPER_ENTERED or definition.spec.is_read_only):
        raise Forbidden(f"Forbidden: the attribute {definition.fqn} is set by the merchant; a B2B user may set only "
                        "ShopperEntered attributes that are not read-only")
    if definition.spec.is_required:
        raise InvalidParameter("attributeFQN", f"Missing or invalid parameter: the attribute {definition.fqn} is "
                               "required and cannot be removed; set another value instead", definition.fqn)
    async with core.store.transaction() as tx:
        if not await tx.delete_account_attribute(account_id, definition.id):
            raise NotFound(f"Item not found: account {account_id} has no value for the attribute {definition.fqn}")
        await _record(core, tx, caller, shopper, access, account_id)
