"""The executable schema: our SDL (schema.graphql, written from Kibo's by tools/graphql_schema.py) with
the resolvers of every resolver module bound to it by Ariadne."""

from __future__ import annotations

from functools import cache
from importlib import resources

from ariadne import make_executable_schema

from graphql import GraphQLSchema
from ticketbooth.accounts.graphql import accounts, parts
from ticketbooth.applications import graphql as customer_sets
from ticketbooth.audit import graphql as audit
from ticketbooth.b2b.graphql import accounts as b2b_accounts
from ticketbooth.b2b.graphql import attributes as b2b_attributes
from ticketbooth.b2b.graphql import hierarchy as b2b_hierarchy
from ticketbooth.login import graphql as passwords
from ticketbooth.passkeys import graphql as passkeys
from ticketbooth.purchase_orders import graphql as purchase_orders
from ticketbooth.tickets import graphql as tickets

RESOLVER_MODULES = (tickets, accounts, parts, passwords, audit, customer_sets, purchase_orders, b2b_accounts,
                    b2b_hierarchy, b2b_attributes, passkeys)
"""Every module that binds resolvers (its `query` and `mutation`); a new one is added here."""


def sdl() -> str:
    return resources.files(__package__).joinpath("schema.graphql").read_text()


@cache
def schema() -> GraphQLSchema:
    bindables = [b for module in RESOLVER_MODULES for b in (module.query, module.mutation)]
    return make_executable_schema(sdl(), *bindables)
