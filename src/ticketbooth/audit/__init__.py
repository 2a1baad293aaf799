"""The audit trail: recording entries in the same transaction as the change (service.py), reading them over REST,
keeping them for the retention period.
"""
