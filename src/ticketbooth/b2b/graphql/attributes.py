"""Resolvers of a B2B account's attribute values: `b2bAccountAttributes`, `b2bAccountAttributeVocabularyValues`
(Kibo's name for reading one attribute's values), `createCustomerB2bAccountAttribute`,
`updateCustomerB2bAccountAttribute` and `deleteB2bAccountAttribute`: the twins of b2b/routes/attributes.py,
bound from its `Resource` registration by the same resolvers as a customer account's parts
(accounts/graphql/parts.py: the caller, the path values and the input checked as REST checks them)."""

from __future__ import annotations

from ariadne import MutationType, QueryType

from ticketbooth.accounts.graphql.parts import operations
from ticketbooth.b2b.routes.attributes import ATTRIBUTES

query = QueryType()
mutation = MutationType()

_ops = operations(ATTRIBUTES, "customerAttributeInput")
_r = ATTRIBUTES
assert _r.list and _r.get and _r.add and _r.update and _r.delete, "every attribute operation is served over REST"
query.set_field("b2bAccountAttributes", _ops.list(_r.list.call))
query.set_field("b2bAccountAttributeVocabularyValues", _ops.get(_r.get.call))
mutation.set_field("createCustomerB2bAccountAttribute", _ops.add(_r.add.call))
mutation.set_field("updateCustomerB2bAccountAttribute", _ops.update(_r.update.call))
mutation.set_field("deleteB2bAccountAttribute", _ops.delete(_r.delete.call))
