"""The REST routes of tickets: the authtickets resource and /.well-known."""
