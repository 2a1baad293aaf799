"""Customer accounts and their parts (contacts, notes, attribute values, segments): rights over an account
(access.py), the account flows (service.py), the parts' flows (parts/), REST in routes/, SQL in store/.
"""
