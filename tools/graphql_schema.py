"""Write Ticketbooth's GraphQL SDL (src/ticketbooth/kibo/graphql/schema.graphql) and the list of Kibo's root
field names (src/ticketbooth/kibo/graphql/kibo_root_fields.txt) from Kibo's reference schema.

    python tools/graphql_schema.py [path/to/kibo-graphql-schema-2022.graphql [path/to/kibo-graphql-types-2024.ts]]

The SDL holds only what we serve: the root fields in SERVED (with the arguments and types of Kibo's schema),
the types they reach, without Kibo's descriptions and without its `_get`/`_root` helper fields. Root fields
Kibo's 2022 SDL lacks but its 2024 TypeScript types have are in ADDED, with their type as there. To serve a
new operation: add its name to SERVED, run this, write its resolver (see the package docstring).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    get_named_type,
    specified_scalar_types,
)

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "ticketbooth" / "kibo" / "graphql"
REFERENCE = ROOT.parent / "shared" / "reference"

SERVED = {
    "Query": ["getAnonymousShopperToken", "getCurrentAccount", "customerAccount", "customerAccounts",
              "customerAccountLoginState",
              # accounts, passwords, audit, customer sets (issue 15, second wave)
              "customerAccountAuditLog", "customerSets", "customerSet",
              # an account's parts (accounts/graphql/parts.py)
              "customerAccountContacts", "customerAccountContact", "customerAccountCards", "customerAccountCard",
              "customerAccountAttributes", "customerAccountAttribute", "customerAccountNotes",
              "customerAccountNote", "customerAccountSegments",
              # purchase-order accounts (purchase_orders/graphql.py)
              "customerPurchaseOrderAccount", "customerPurchaseOrderAccountTransaction",
              # B2B accounts (b2b/graphql.py, issue 16)
              "b2bAccount", "b2bAccounts", "b2bAccountUsers", "b2bAccountUserRoles", "getB2BAccountHierarchy",
              "b2bAccountAttributes", "b2bAccountAttributeVocabularyValues",
              # passkeys (passkeys/graphql.py, issue 19; ours: in ADDED)
              "customerAccountPasskeys"],
    "Mutation": ["createCustomerAuthTicket", "refreshCustomerAuthTickets", "createCustomerAccountAndLogin",
                 "createCustomerAccount", "createCustomerAccountLogin",
                 # accounts, passwords, audit, customer sets (issue 15, second wave)
                 "createCustomerAccounts", "updateCustomerAccount", "deleteCustomerAccount",
                 "changeCustomerAccountPassword", "updateCustomerAccountPasswords", "resetCustomerAccountPassword",
                 "updateForgottenCustomerAccountPassword", "setCustomerAccountLoginLocked",
                 "setCustomerAccountPasswordChangeRequired",
                 # an account's parts (accounts/graphql/parts.py)
                 "createCustomerAccountContact", "updateCustomerAccountContact", "deleteCustomerAccountContact",
                 "updateCustomerAccountContacts", "createCustomerAccountCard", "updateCustomerAccountCard",
                 "deleteCustomerAccountCard", "createCustomerAccountAttribute", "updateCustomerAccountAttribute",
                 "deleteCustomerAccountAttribute", "createCustomerAccountNote", "updateCustomerAccountNote",
                 "deleteCustomerAccountNote",
                 # purchase-order accounts (purchase_orders/graphql.py)
                 "createCustomerAccountPurchaseOrderAccount", "updateCustomerPurchaseOrderAccount",
                 "createCustomerAccountPurchaseOrderAccountTransaction", "createPurchaseOrderAccount",
                 # B2B accounts (b2b/graphql.py, issue 16)
                 "createCustomerB2bAccount", "updateCustomerB2bAccount", "changeB2BAccountParent",
                 "createCustomerB2bAccountUser", "updateCustomerB2bAccountUser", "removeCustomerB2bAccountUser",
                 "addRoleToCustomerB2bAccount", "deleteB2bAccountRole", "createCustomerB2bAccountAttribute",
                 "updateCustomerB2bAccountAttribute", "deleteB2bAccountAttribute",
                 # passkeys (passkeys/graphql.py, issue 19; ours: in ADDED)
                 "createCustomerAccountPasskeyRegistrationOptions", "createCustomerAccountPasskey",
                 "updateCustomerAccountPasskey", "deleteCustomerAccountPasskey", "createPasskeyAuthenticationOptions",
                 "createCustomerAuthTicketWithPasskey"],
}
ADDED = {
    # root fields of Kibo's 2024 types (kibo-graphql-types-2024.ts) that its 2022 SDL lacks: name -> SDL
    ("Query", "getAnonymousShopperToken"): "getAnonymousShopperToken: CustomerAuthTicket",
    ("Mutation", "updateForgottenCustomerAccountPassword"):
        "updateForgottenCustomerAccountPassword(confirmationInfoInput: ConfirmationInfoInput): Boolean",
    # Kibo's B2B storefront sends these two (KIBO_COMPAT section 9); neither reference has the root field (the
    # 2024 types have changeB2BAccountParent's arguments only): typed as the REST operations they mirror
    ("Query", "getB2BAccountHierarchy"): "getB2BAccountHierarchy(accountId: Int!): B2BAccountHierarchyResult",
    ("Mutation", "changeB2BAccountParent"):
        "changeB2BAccountParent(accountId: Int!, parentAccountId: Int!): B2BAccount",
    # passkeys (issue 19): ours, the twins of the REST operations (README "Passkeys")
    ("Query", "customerAccountPasskeys"): "customerAccountPasskeys(accountId: Int!): PasskeyCollection",
    ("Mutation", "createCustomerAccountPasskeyRegistrationOptions"):
        "createCustomerAccountPasskeyRegistrationOptions(accountId: Int!): PasskeyOptions",
    ("Mutation", "createCustomerAccountPasskey"):
        "createCustomerAccountPasskey(accountId: Int!, passkeyRegistrationInput: PasskeyRegistrationInput): Passkey",
    ("Mutation", "updateCustomerAccountPasskey"):
        "updateCustomerAccountPasskey(accountId: Int!, passkeyId: String!, passkeyUpdateInput: PasskeyUpdateInput): "
        "Passkey",
    ("Mutation", "deleteCustomerAccountPasskey"):
        "deleteCustomerAccountPasskey(accountId: Int!, passkeyId: String!): Boolean",
    ("Mutation", "createPasskeyAuthenticationOptions"):
        "createPasskeyAuthenticationOptions(passkeyOptionsInput: PasskeyOptionsInput): PasskeyOptions",
    ("Mutation", "createCustomerAuthTicketWithPasskey"):
        "createCustomerAuthTicketWithPasskey(passkeyAuthInput: PasskeyAuthInput): CustomerAuthTicket",
}
ADDED_TYPES = {
    # types of Kibo's 2024 types that its 2022 SDL lacks, reached by an ADDED root field: name -> SDL
    "ConfirmationInfoInput": "input ConfirmationInfoInput {\n  confirmationCode: String\n  newPassword: String\n"
                             "  userName: String\n}",
    # the REST B2BAccountHierarchyResult and AccountHierarchyNode (kibo-openapi-customer.json), the type of
    # getB2BAccountHierarchy; the storefront's fragment reads `AccountHierarchyNode { id children {...} }`
    "B2BAccountHierarchyResult": "type B2BAccountHierarchyResult {\n  accounts: [B2BAccount]\n"
                                 "  hierarchy: AccountHierarchyNode\n}",
    "AccountHierarchyNode": "type AccountHierarchyNode {\n  id: Int!\n  children: [AccountHierarchyNode]\n}",
    # passkeys (issue 19): the REST shapes (passkeys/routes/openapi.py); options and credentials are WebAuthn's JSON
    "Passkey": "type Passkey {\n  id: String!\n  name: String\n  credentialId: String\n  createdOn: DateTime\n"
               "  lastUsedOn: DateTime\n  backupEligible: Boolean\n  backedUp: Boolean\n  transports: [String]\n"
               "  aaguid: String\n}",
    "PasskeyCollection": "type PasskeyCollection {\n  startIndex: Int\n  pageSize: Int\n  pageCount: Int\n"
                         "  totalCount: Int\n  items: [Passkey]\n}",
    "PasskeyOptions": "type PasskeyOptions {\n  challengeId: String!\n  options: Object\n}",
    "PasskeyRegistrationInput": "input PasskeyRegistrationInput {\n  challengeId: String\n  credential: Object\n"
                                "  name: String\n}",
    "PasskeyUpdateInput": "input PasskeyUpdateInput {\n  name: String\n}",
    "PasskeyOptionsInput": "input PasskeyOptionsInput {\n  username: String\n}",
    "PasskeyAuthInput": "input PasskeyAuthInput {\n  challengeId: String\n  credential: Object\n"
                        "  fingerprint: String\n  region: String\n}",
}
EXTRA_ARGUMENTS = {
    # arguments Kibo's newer storefront sends (KIBO_COMPAT section 8) that neither reference lists
    ("Mutation", "refreshCustomerAuthTickets"): "accountId: Int",
}
HELPERS = {"_get", "_root"}
"""Fields every Kibo object type has for its JSON helpers; not served."""


def _named(t: object) -> GraphQLNamedType:
    named: GraphQLNamedType = get_named_type(t)  # type: ignore[arg-type]
    return named


def _args(field: GraphQLField, extra: str | None) -> str:
    parts = [_arg(name, arg) for name, arg in field.args.items()] + ([extra] if extra else [])
    return f"({', '.join(parts)})" if parts else ""


def _arg(name: str, arg: GraphQLArgument | GraphQLInputField) -> str:
    """`name: Type`, without Kibo's default value: an input field the client leaves out stays out, so the
    REST body model that reads it sees only what was sent (Kibo's `isActive: Boolean = false` on
    CustomerAccountInput would otherwise deactivate every account an update leaves it out of)."""
    return f"{name}: {arg.type}"


def _reach(schema: GraphQLSchema, served: dict[str, list[str]]) -> list[GraphQLNamedType]:
    seen: dict[str, GraphQLNamedType] = {}
    todo: list[GraphQLNamedType] = []
    for root, names in served.items():
        parent = schema.get_type(root)
        assert isinstance(parent, GraphQLObjectType)
        for name in names:
            if name in parent.fields:
                field = parent.fields[name]
                todo += [_named(field.type)] + [_named(a.type) for a in field.args.values()]
    todo.append(_named(schema.get_type("CustomerAuthTicket")))
    while todo:
        t = todo.pop()
        if t.name in seen:
            continue
        seen[t.name] = t
        if isinstance(t, GraphQLObjectType | GraphQLInputObjectType):
            for fname, f in t.fields.items():
                if fname not in HELPERS:
                    todo.append(_named(f.type))
    return sorted(seen.values(), key=lambda t: t.name)


def sdl(schema: GraphQLSchema) -> str:
    out = ["# Written by tools/graphql_schema.py from Kibo's reference schema: only what Ticketbooth serves,",
           "# in Kibo's names, types and nullability. Do not edit by hand.", ""]
    for root, names in SERVED.items():
        parent = schema.get_type(root)
        assert isinstance(parent, GraphQLObjectType)
        out.append(f"type {root} {{")
        for name in names:
            if (root, name) in ADDED:
                out.append(f"  {ADDED[root, name]}")
                continue
            field = parent.fields[name]
            out.append(f"  {name}{_args(field, EXTRA_ARGUMENTS.get((root, name)))}: {field.type}")
        out += ["}", ""]
    for t in _reach(schema, SERVED):
        if t.name in specified_scalar_types:
            continue
        if isinstance(t, GraphQLScalarType):
            out += [f"scalar {t.name}", ""]
        elif isinstance(t, GraphQLObjectType):
            out.append(f"type {t.name} {{")
            out += [f"  {n}{_args(f, None)}: {f.type}" for n, f in t.fields.items() if n not in HELPERS]
            out += ["}", ""]
        elif isinstance(t, GraphQLInputObjectType):
            out.append(f"input {t.name} {{")
            out += [f"  {_arg(n, f)}" for n, f in t.fields.items()]
            out += ["}", ""]
        else:
            raise SystemExit(f"{t.name}: {type(t).__name__} is not printed yet")
    for text in ADDED_TYPES.values():
        out += [text, ""]
    return "\n".join(out)


def root_names(schema: GraphQLSchema, types_ts: Path | None) -> list[str]:
    """Every root field name of Kibo's schema (2022 SDL, and the 2024 types when given)."""
    names = {n for root in (schema.query_type, schema.mutation_type) if root for n in root.fields}
    if types_ts is not None and types_ts.exists():
        text = types_ts.read_text()
        for root in ("Query", "Mutation"):
            block = re.search(rf"^export type {root} = \{{\n(.*?)^\}}", text, re.S | re.M)
            if block:
                names |= {m.group(1) for m in re.finditer(r"^  (\w+)\??:", block.group(1), re.M)} - {"__typename"}
    return sorted(names)


def main(argv: list[str]) -> None:
    sdl_path = Path(argv[1]) if len(argv) > 1 else REFERENCE / "kibo-graphql-schema-2022.graphql"
    ts_path = Path(argv[2]) if len(argv) > 2 else REFERENCE / "kibo-graphql-types-2024.ts"
    schema = build_schema(sdl_path.read_text())
    (PACKAGE / "schema.graphql").write_text(sdl(schema))
    names = root_names(schema, ts_path)
    (PACKAGE / "kibo_root_fields.txt").write_text(
        "# Root field names of Kibo's GraphQL schema (tools/graphql_schema.py); one a line.\n" + "\n".join(names) + "\n")
    print(f"wrote schema.graphql and {len(names)} Kibo root field names")


if __name__ == "__main__":
    main(sys.argv)
