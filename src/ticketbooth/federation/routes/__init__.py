"""The REST routes of federation (api.py), their request bodies (bodies.py), answers (wire.py) and OpenAPI
entries (openapi.py)."""
