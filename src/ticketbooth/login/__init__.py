"""Logging in and the password: the password login flow, lockout, rate limits, the second factors (2FA and one-
time passcodes: challenges), login state, password changes, login names and the forgotten-password reset. Pure
rules in rules.py, SQL in store/, REST in routes/.
"""
