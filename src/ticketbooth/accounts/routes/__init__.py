"""The REST routes of accounts, their parts and the tenant's customer definitions."""
