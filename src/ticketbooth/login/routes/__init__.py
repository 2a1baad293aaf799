"""The REST routes of logging in: login state, passwords and login names of an account, and the forgotten-password reset."""
