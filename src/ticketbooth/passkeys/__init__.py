"""Shoppers' passkeys (WebAuthn, issue 19): registration by a signed-in shopper, list, rename, delete, and
sign-in with a passkey (usernameless or for a username) to the usual ticket. The ceremony itself
(ceremony.py, over py_webauthn) is shared with the console's staff passkeys. Pure rules in rules.py, SQL
in store.py, REST in routes.py, GraphQL in graphql.py.
"""
