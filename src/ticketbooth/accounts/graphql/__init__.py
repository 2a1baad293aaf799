"""The GraphQL resolvers of accounts (accounts.py) and of their parts (parts.py, bound from the REST
`Resource` registrations of accounts/routes/parts.py)."""
