"""Sessions: one session is one family of refresh tokens, from a login to its end. Listing and ending them, and
impersonation (a session started for a shopper by customer service).
"""
