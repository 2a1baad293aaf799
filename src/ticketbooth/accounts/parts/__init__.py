"""The flows of an account's parts and the tenant's definitions they refer to: contacts, notes, attributes,
segments, on one generic list service (service.py).
"""
