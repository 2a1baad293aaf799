"""The GraphQL transport: `POST /graphql`, Kibo's GraphQL API for shopper identity (issue 15).

A transport beside the REST routes: the machinery here, with Kibo's wire; the resolvers in each concept's
`graphql.py` or `graphql/` (tickets/graphql.py, accounts/graphql/, ...). Neither touches storage; every rule stays in the
services, every answer is shaped by kibo/wire.py, every domain error is mapped by kibo/errors.py.

Modules:
- schema.graphql     our SDL, written by tools/graphql_schema.py from Kibo's reference schema: only the root
                     fields we serve and the types they reach, in Kibo's names, types and nullability.
- kibo_root_fields.txt  every root field name of Kibo's schema (same tool): a query naming one we do not
                     serve gets "Operation not served" (validation.py) instead of "Cannot query field".
- endpoint.py        the HTTP route: body, batching refused, the document cache, execute, the answer.
- execution.py       graphql-core's executor with a shorter path for the plain data our resolvers return
                     (leaf and object fields of dicts; the sub-selections of a cached document kept).
- documents.py       parsed + validated documents cached by text (LRU); validation.py: the added validation rules
                     (Kibo's unserved operations, depth and size limits).
- context.py         `caller(info, shopper=..., app_credential=...)`: kibo.context.resolve for a resolver (a
                     mutation counts as a write); `core(info)`; `read_input(Model, value, name)`: an input
                     object checked by the REST body model of the same Kibo shape (kibo/bodies.py).
- errors.py          a domain error as `extensions.response {status, body}`: the REST status and envelope.
- schema.py          binds the resolver modules (RESOLVER_MODULES) to the SDL with Ariadne.
- <concept>/graphql.py  the resolvers, one module per concept, listed in schema.RESOLVER_MODULES.
- paging.py          Kibo's paging arguments as REST's query parameters.
                     (accounts/graphql/parts.py binds an account's parts from their REST `Resource`
                     registrations).

Adding an operation (the pattern every resolver follows):
1. Add its root field name to SERVED in tools/graphql_schema.py and run `python tools/graphql_schema.py`
   (it writes the field with Kibo's arguments and every type it reaches; tests/graphql/test_schema.py
   checks the result against Kibo's schema).
2. In the resolver module of its concept (a new module: add its `query`/`mutation` to
   schema.RESOLVER_MODULES), write a thin resolver; arguments arrive by Kibo's names:

       @mutation.field("updateCustomerAccount")
       async def update_customer_account(_: Any, info: GraphQLResolveInfo, accountId: int,
                                         customerAccountInput: dict[str, Any] | None = None) -> dict[str, Any]:
           ctx = await caller(info, shopper="optional")        # the same needs as the REST route
           <the REST route's rights check, if it has one before reading its body>
           body = read_input(CustomerAccountUpdate, customerAccountInput, "customerAccountInput")
           account = await <the service function the REST route calls>(core(info), ctx.caller, ...)
           return wire.account(account)                          # the REST route's wire function

   Where the REST route does more than call one service function, move that into a function of the REST
   module both call (as accounts/routes/accounts.py `register`, `account_page`), never a copy.
   Raise domain errors as the services do; errors.py turns them into Kibo's error extensions and the field
   into null. An operation Kibo answers with an empty 200 returns `True` (Kibo's type is Boolean).
3. Test it in tests/graphql/ over HTTP on both databases (`gql(...)` in tests/graphql/support.py), with
   every refusal its REST twin has.
"""
