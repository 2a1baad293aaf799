"""Ticketbooth: a self-hosted shopper identity service speaking Kibo Commerce's auth ticket wire format."""

__version__ = "0.1.0"
