"""The GraphQL resolvers of B2B accounts (issue 16), the twins of the B2B REST routes that Kibo's B2B storefront
uses: accounts.py (accounts, their users and the users' roles), hierarchy.py (the hierarchy and moving an
account under another parent) and attributes.py (a B2B account's attribute values).

Each resolver resolves the caller as its REST twin does (kibo/graphql/context.caller: a mutation counts as a
write), checks path values as REST's path parameters check them (the same limits, the same 400), reads its
input object with the REST body model (read_input), calls the function its REST route calls and shapes the
answer with the same wire function (b2b/routes/wire.py); a refusal is the REST status and Kibo envelope in
errors[].extensions.response (kibo/graphql/errors.py). An operation REST answers with an empty 200 answers
GraphQL's Boolean `true`.
"""
