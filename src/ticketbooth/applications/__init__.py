"""Applications, tenants, sites and customer sets: the app token flow, the in-memory directory of apps and sites,
and setting them up (admin.py, used by the CLI).
"""
