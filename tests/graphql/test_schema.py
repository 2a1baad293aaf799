"""The schema check: what /graphql serves (read by introspection from the live app) against Kibo's reference
schema. Every type, field and argument we serve must be in Kibo's schema with the same type: name,
nullability and list-ness. Kibo's schema comes from TICKETBOOTH_KIBO_GRAPHQL_SCHEMA, else
../shared/reference/kibo-graphql-schema-2022.graphql beside the repository (no Kibo npm package ships the
SDL or an introspection result); without either the test is skipped, saying so."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from graphql import (
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    build_client_schema,
    build_schema,
    get_introspection_query,
)
from tests.conftest import ROOT
from tests.graphql.support import data, gql, storefront

pytestmark = pytest.mark.usefixtures("seeded")

REFERENCE = ROOT.parent / "shared" / "reference"
KIBO_SDL = Path(os.environ.get("TICKETBOOTH_KIBO_GRAPHQL_SCHEMA") or REFERENCE / "kibo-graphql-schema-2022.graphql")
KIBO_TYPES_2024 = KIBO_SDL.parent / "kibo-graphql-types-2024.ts"

NEWER_THAN_THE_SDL = {
    # served, absent from Kibo's 2022 SDL: (type, field[, argument]) -> our type, and why
    ("Query", "getAnonymousShopperToken"): "CustomerAuthTicket",  # in Kibo's 2024 types (older storefront uses it)
    ("Mutation", "refreshCustomerAuthTickets", "accountId"): "Int",  # sent by Kibo's newer storefront (KIBO_COMPAT 8)
    ("Mutation", "updateForgottenCustomerAccountPassword"): "Boolean",  # in Kibo's 2024 types (the storefront's reset)
    ("ConfirmationInfoInput",): "GraphQLInputObjectType",  # its argument's type, in Kibo's 2024 types
    # sent by Kibo's B2B storefront (KIBO_COMPAT 9), typed as the REST operations they mirror
    ("Query", "getB2BAccountHierarchy"): "B2BAccountHierarchyResult",
    ("Mutation", "changeB2BAccountParent"): "B2BAccount",  # its arguments are in Kibo's 2024 types
    ("B2BAccountHierarchyResult",): "GraphQLObjectType",  # REST's B2BAccountHierarchyResult
    ("AccountHierarchyNode",): "GraphQLObjectType",  # REST's AccountHierarchyNode
    # passkeys (issue 19): ours, the twins of the REST operations (README "Passkeys")
    ("Query", "customerAccountPasskeys"): "PasskeyCollection",
    ("Mutation", "createCustomerAccountPasskeyRegistrationOptions"): "PasskeyOptions",
    ("Mutation", "createCustomerAccountPasskey"): "Passkey",
    ("Mutation", "updateCustomerAccountPasskey"): "Passkey",
    ("Mutation", "deleteCustomerAccountPasskey"): "Boolean",
    ("Mutation", "createPasskeyAuthenticationOptions"): "PasskeyOptions",
    ("Mutation", "createCustomerAuthTicketWithPasskey"): "CustomerAuthTicket",
    **{(name,): "GraphQLObjectType" for name in ("Passkey", "PasskeyCollection", "PasskeyOptions")},
    **{(name,): "GraphQLInputObjectType" for name in (
        "PasskeyRegistrationInput", "PasskeyUpdateInput", "PasskeyOptionsInput", "PasskeyAuthInput")},
}


def _kibo() -> GraphQLSchema:
    if not KIBO_SDL.exists():
        pytest.skip(f"Kibo's GraphQL schema not found: set TICKETBOOTH_KIBO_GRAPHQL_SCHEMA or put it at {KIBO_SDL}")
    return build_schema(KIBO_SDL.read_text())


def differences(ours: GraphQLSchema, kibo: GraphQLSchema) -> list[str]:
    """What we serve that Kibo's schema lacks or types otherwise."""
    found: list[str] = []
    for name, ours_type in ours.type_map.items():
        if name.startswith("__"):
            continue
        theirs = kibo.type_map.get(name)
        if theirs is None and NEWER_THAN_THE_SDL.get((name,)) == type(ours_type).__name__:
            continue  # its fields are checked against Kibo's 2024 types (test_what_we_serve_is_kibos_schema)
        if theirs is None or type(theirs) is not type(ours_type):
            found.append(f"type {name}: Kibo's schema has {type(theirs).__name__ if theirs else 'none'}")
            continue
        if not isinstance(ours_type, GraphQLObjectType | GraphQLInputObjectType):
            continue
        assert isinstance(theirs, GraphQLObjectType | GraphQLInputObjectType)
        for fname, field in ours_type.fields.items():
            kibo_field = theirs.fields.get(fname)
            if kibo_field is None:
                if NEWER_THAN_THE_SDL.get((name, fname)) != str(field.type):
                    found.append(f"{name}.{fname}: not in Kibo's schema")
                continue
            if str(field.type) != str(kibo_field.type):
                found.append(f"{name}.{fname}: {field.type} here, {kibo_field.type} in Kibo's schema")
            for aname, arg in getattr(field, "args", {}).items():
                kibo_arg = kibo_field.args.get(aname)  # type: ignore[union-attr]
                if kibo_arg is None:
                    if NEWER_THAN_THE_SDL.get((name, fname, aname)) != str(arg.type):
                        found.append(f"{name}.{fname}({aname}): not in Kibo's schema")
                elif str(arg.type) != str(kibo_arg.type):
                    found.append(f"{name}.{fname}({aname}): {arg.type} here, {kibo_arg.type} in Kibo's schema")
    return found


def _ts_fields(types: str, name: str) -> dict[str, str]:
    """The fields of `export type {name} = {...}` in Kibo's TypeScript types: name -> type as written."""
    block = re.search(rf"^export type {name} = \{{\n(.*?)^\}}", types, re.S | re.M)
    assert block, name
    return {m.group(1): m.group(2) for m in re.finditer(r"^  (\w+)\??: (.+)$", block.group(1), re.M)}


async def _served(client: httpx.AsyncClient, app_headers: dict[str, str]) -> GraphQLSchema:
    return build_client_schema(data(await gql(client, storefront(app_headers), get_introspection_query())))


async def test_what_we_serve_is_kibos_schema(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    kibo, ours = _kibo(), await _served(client, app_headers)
    assert differences(ours, kibo) == []
    if KIBO_TYPES_2024.exists():  # the additions are Kibo's too
        types = KIBO_TYPES_2024.read_text()
        assert "getAnonymousShopperToken?: Maybe<CustomerAuthTicket>" in types
        assert "updateForgottenCustomerAccountPassword?: Maybe<Scalars['Boolean']>" in types
        assert _ts_fields(types, "MutationUpdateForgottenCustomerAccountPasswordArgs") == {
            "confirmationInfoInput": "InputMaybe<ConfirmationInfoInput>"}
        served_input = ours.get_type("ConfirmationInfoInput")
        assert isinstance(served_input, GraphQLInputObjectType)
        assert _ts_fields(types, "ConfirmationInfoInput") == {
            name: f"InputMaybe<Scalars['{field.type}']>" for name, field in served_input.fields.items()}
        parent = ours.mutation_type.fields["changeB2BAccountParent"]  # type: ignore[union-attr]
        assert _ts_fields(types, "MutationChangeB2bAccountParentArgs") == {
            name: f"Scalars['{str(arg.type).rstrip('!')}']" for name, arg in parent.args.items()}
    served = set(ours.query_type.fields) | set(ours.mutation_type.fields)  # type: ignore[union-attr]
    assert {"getAnonymousShopperToken", "getCurrentAccount", "customerAccount", "customerAccounts",
            "customerAccountLoginState", "createCustomerAuthTicket", "refreshCustomerAuthTickets",
            "createCustomerAccountAndLogin", "createCustomerAccount", "createCustomerAccountLogin",
            "createCustomerAccounts", "updateCustomerAccount", "deleteCustomerAccount", "changeCustomerAccountPassword",
            "updateCustomerAccountPasswords", "resetCustomerAccountPassword", "updateForgottenCustomerAccountPassword",
            "setCustomerAccountLoginLocked", "setCustomerAccountPasswordChangeRequired", "customerAccountAuditLog",
            "customerSets", "customerSet", "b2bAccount", "b2bAccounts", "b2bAccountUsers", "b2bAccountUserRoles",
            "getB2BAccountHierarchy", "createCustomerB2bAccount", "updateCustomerB2bAccount", "changeB2BAccountParent",
            "createCustomerB2bAccountUser", "updateCustomerB2bAccountUser", "removeCustomerB2bAccountUser",
            "addRoleToCustomerB2bAccount", "deleteB2bAccountRole", "b2bAccountAttributes",
            "b2bAccountAttributeVocabularyValues", "createCustomerB2bAccountAttribute",
            "updateCustomerB2bAccountAttribute", "deleteB2bAccountAttribute"} <= served


async def test_the_check_finds_a_difference(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    """The check can fail: a field typed otherwise, a missing field, a changed nullability are found."""
    kibo = _kibo()
    altered = build_schema(
        "type Query { getCurrentAccount: CustomerAccount customerAccount(accountId: Int): CustomerAccount }\n"
        "type CustomerAccount { id: Int emailAddress: [String] madeUp: String }")
    assert differences(altered, kibo) == [
        "Query.customerAccount(accountId): Int here, Int! in Kibo's schema",
        "CustomerAccount.id: Int here, Int! in Kibo's schema",
        "CustomerAccount.emailAddress: [String] here, String in Kibo's schema",
        "CustomerAccount.madeUp: not in Kibo's schema",
    ]
