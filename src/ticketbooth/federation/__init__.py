"""OpenID Connect federation (issue 19): social and enterprise sign-in, linked identities, identity providers."""
