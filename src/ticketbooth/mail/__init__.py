"""Mail: templates and sealing (room.py), queuing in the outbox and sending over SMTP (service.py), the pure
rules (rules.py), the outbox's SQL (store.py).
"""
