"""Shopper tickets: anonymous and registered tickets, refresh-token rotation, who the shopper behind a ticket is,
and the public keys that verify ticket JWTs. Routes in routes/, the flows in service.py.
"""
