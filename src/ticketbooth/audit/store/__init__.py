"""The SQL of the audit trail: the entries and their retention."""
