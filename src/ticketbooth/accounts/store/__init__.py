"""The SQL of accounts: writes (accounts.py), the raw-driver reads of the hot paths (reads.py), Kibo filters to
SQL (filtering.py), the parts (parts.py).
"""
