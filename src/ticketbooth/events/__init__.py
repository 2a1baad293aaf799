"""The event log (issue 17): one row per change or security event, written in the same transaction as
the change (service.py `publish`), the topics (rules.py), the pull API (routes.py) and the log's
retention (store.py). Push delivery to subscribers is webhooks/.
"""
