"""Resolvers of an account's parts: contacts, saved cards, attribute values, notes and segments.

Each part is the REST resource registered in accounts/routes/parts.py (a `Resource`: its scope, key, body
model, service functions and wire shape), so its GraphQL operations are bound from that registration by
one helper (`bind`) rather than written out five times: Kibo names them after the part
(`customerAccountContacts`, `customerAccountContact`, `createCustomerAccountContact`,
`updateCustomerAccountContact`, `deleteCustomerAccountContact`), its arguments are the REST path
parameters by the same names (accountId, contactId, cardId, attributeFQN, noteId) and the REST paging
parameters, and its input object is checked by the REST body model. An operation the REST resource does
not serve is not bound. `updateCustomerAccountContacts` (one contact in Kibo's schema) is the REST PUT of
the collection with that one contact.

The caller is resolved as the REST routes resolve it (the account's own shopper or an admin application;
a mutation counts as a write), then the path values are checked as REST checks them (the same limits,
the same 400), then the input; `userId` arguments are accepted and ignored as in accounts/graphql/accounts.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ariadne import MutationType, QueryType
from pydantic import TypeAdapter, ValidationError

from ticketbooth.accounts.routes import parts as account_parts
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.kibo.bodies import CustomerContactIn
from ticketbooth.kibo.graphql.context import Info, caller, core, read_input
from ticketbooth.kibo.lists import Paging, collection
from ticketbooth.kibo.resource_routes import ACCOUNT, AccountId, Resource

query = QueryType()
mutation = MutationType()

Resolver = Callable[..., Awaitable[Any]]
_ACCOUNT_ID: TypeAdapter[int] = TypeAdapter(AccountId)


def _checked(adapter: TypeAdapter[Any], name: str, value: Any) -> Any:
    """A path value as REST's path parameter of that name takes it: the same limits, the same 400."""
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"]
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} {message}") from None


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


class _Part:
    """The GraphQL operations of one REST `Resource` of an account's part."""

    def __init__(self, r: Resource[Any], input_name: str | None) -> None:
        assert r.scope is ACCOUNT, f"{r.path}: only an account's parts are bound here"
        self.r = r
        self.input_name = input_name
        self.key = TypeAdapter(r.key_type)

    async def _scope(self, info: Info, accountId: int) -> tuple[Any, ...]:
        """The service's arguments after `core` up to the key: (caller, shopper, accountId)."""
        ctx = await caller(info, shopper="optional")
        return self.r.scope.args(ctx, {"accountId": _checked(_ACCOUNT_ID, "accountId", accountId)})

    def _key(self, args: dict[str, Any]) -> Any:
        return _checked(self.key, self.r.key, args[self.r.key])

    def _body(self, args: dict[str, Any]) -> tuple[Any, ...]:
        r = self.r
        assert r.body is not None and r.args is not None and self.input_name is not None
        return r.args(read_input(r.body, args.get(self.input_name), self.input_name))

    def list(self, call: Resolver) -> Resolver:
        r = self.r

        async def resolve(_: Any, info: Info, accountId: int, startIndex: int | None = None,
                          pageSize: int | None = None, sortBy: str | None = None, filter: str | None = None,
                          userId: str | None = None) -> dict[str, Any]:
            scope = await self._scope(info, accountId)
            if not r.paged:
                items = [r.shape(item) for item in await call(core(info), *scope)]
                return {"totalCount": len(items), "items": items}
            paging = Paging(_text(startIndex), _text(pageSize), sortBy, filter)
            return collection(await call(core(info), *scope, paging.query(r.vocabulary)), r.shape)
        return resolve

    def get(self, call: Resolver) -> Resolver:
        async def resolve(_: Any, info: Info, accountId: int, **args: Any) -> dict[str, Any]:
            scope = await self._scope(info, accountId)
            return self.r.shape(await call(core(info), *scope, self._key(args)))
        return resolve

    def add(self, call: Resolver) -> Resolver:
        async def resolve(_: Any, info: Info, accountId: int, **args: Any) -> dict[str, Any]:
            scope = await self._scope(info, accountId)
            return self.r.shape(await call(core(info), *scope, *self._body(args)))
        return resolve

    def update(self, call: Resolver) -> Resolver:
        async def resolve(_: Any, info: Info, accountId: int, **args: Any) -> dict[str, Any]:
            scope = await self._scope(info, accountId)
            key = self._key(args)
            return self.r.shape(await call(core(info), *scope, key, *self._body(args)))
        return resolve

    def delete(self, call: Resolver) -> Resolver:
        async def resolve(_: Any, info: Info, accountId: int, **args: Any) -> bool:
            scope = await self._scope(info, accountId)
            await call(core(info), *scope, self._key(args))
            return True  # Kibo answers the REST DELETE with an empty 2xx: GraphQL's Boolean true
        return resolve


def bind(r: Resource[Any], part: str, input_name: str | None = None) -> None:
    """Bind Kibo's operations on the account's `part` ("Contact": customerAccountContacts, ...) to the
    service functions of the REST resource `r`; `input_name` is the argument holding the input object."""
    p = _Part(r, input_name)
    if r.list is not None:
        query.set_field(f"customerAccount{part}s", p.list(r.list.call))
    if r.get is not None:
        query.set_field(f"customerAccount{part}", p.get(r.get.call))
    if r.add is not None:
        mutation.set_field(f"createCustomerAccount{part}", p.add(r.add.call))
    if r.update is not None:
        mutation.set_field(f"updateCustomerAccount{part}", p.update(r.update.call))
    if r.delete is not None:
        mutation.set_field(f"deleteCustomerAccount{part}", p.delete(r.delete.call))


bind(account_parts.CONTACTS, "Contact", "customerContactInput")
bind(account_parts.CARDS, "Card", "cardInput")
bind(account_parts.ATTRIBUTES, "Attribute", "customerAttributeInput")
bind(account_parts.NOTES, "Note", "customerNoteInput")
bind(account_parts.SEGMENTS, "Segment")


@mutation.field("updateCustomerAccountContacts")
async def update_customer_account_contacts(_: Any, info: Info, accountId: int,
                                           customerContactInput: dict[str, Any] | None = None) -> dict[str, Any]:
    """Kibo's schema takes one contact here: the REST PUT of the collection with that contact (added
    without an id, replaced with one)."""
    ctx = await caller(info, shopper="optional")
    account_id = _checked(_ACCOUNT_ID, "accountId", accountId)
    body = read_input(CustomerContactIn, customerContactInput, "customerContactInput")
    return await account_parts.save_contacts_from(core(info), ctx, account_id, [body])


def operations(r: Resource[Any], input_name: str | None = None) -> _Part:
    """The resolvers of a REST `Resource` of an account's part, for binding under names of their own (a B2B
    account's attribute values: b2b/graphql/attributes.py)."""
    return _Part(r, input_name)
