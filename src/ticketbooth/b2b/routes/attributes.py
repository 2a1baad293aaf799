"""/api/commerce/customer/b2baccounts/{accountId}/attributes...: a B2B account's attribute values (list, add, get,
set, delete), registered from a `Resource` as the customer account's parts are. The flows are in b2b/attributes.py."""

from __future__ import annotations

from fastapi import APIRouter

from ticketbooth.accounts.routes.parts import ATTRIBUTE_FIELDS, AttributeFqn
from ticketbooth.accounts.routes.parts import ATTRIBUTES as ACCOUNT_ATTRIBUTES
from ticketbooth.b2b import attributes
from ticketbooth.b2b.routes import openapi_more as _documented  # noqa: F401  (describes these routes)
from ticketbooth.kibo import wire
from ticketbooth.kibo.bodies import CustomerAttributeIn
from ticketbooth.kibo.resource_routes import ACCOUNT, Op, Resource, register

router = APIRouter(prefix="/api/commerce/customer/b2baccounts/{accountId:int}", tags=["B2BAccount attributes"])

ATTRIBUTES: Resource[CustomerAttributeIn] = Resource(
    path="/attributes", scope=ACCOUNT, key="attributeFQN", key_type=AttributeFqn, vocabulary=ATTRIBUTE_FIELDS,
    shape=wire.attribute, body=CustomerAttributeIn, args=ACCOUNT_ATTRIBUTES.args,
    list=Op("list_b2b_attributes", "A B2B account's attribute values", attributes.list_attributes),
    add=Op("add_b2b_attribute", "Give a B2B account values of an attribute", attributes.add_attribute),
    get=Op("get_b2b_attribute", "A B2B account's values of one attribute", attributes.get_attribute),
    update=Op("set_b2b_attribute", "Set a B2B account's values of one attribute", attributes.set_attribute),
    delete=Op("delete_b2b_attribute", "Remove a B2B account's values of one attribute", attributes.delete_attribute),
)
register(router, ATTRIBUTES)
