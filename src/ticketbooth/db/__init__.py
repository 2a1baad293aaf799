"""The database: tables, engines, migrations, the raw-driver hot paths, and the Store that gathers each concept's
SQL over one engine.
"""
