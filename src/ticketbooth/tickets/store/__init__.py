"""The SQL of tickets: refresh-token rotation, once per database (rotation.py), and the ticket rows the raw-driver
hot path reads and writes (rows.py)."""
