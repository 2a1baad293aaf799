"""The SQL of logging in: login records and failure counts, challenges, reset codes."""
