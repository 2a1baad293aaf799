"""The shopper's address a storefront's server forwards with its call (issue 15, point 8).

A storefront's server calls for all its shoppers from its own address. Kibo's Next.js storefront
passes the shopper's address on as `X-Forwarded-For: <address>` on the calls it makes while serving
that shopper (and none on the ticket calls its auth client makes); other servers may use the standard
`Forwarded: for=<address>` (RFC 7239). This module only reads what the server sent; whether it is
believed is decided by `services.caller.Caller`: only from an application flagged as a storefront
server that proved itself with its own credential.

What counts as the server's forwarded address:
- X-Forwarded-For: the right-most hop the server itself sent, that is the one just left of the
  server's own address as `context.client_address` found it (the peer, or what the nearest trusted
  proxy saw). Hops further left are what the shopper's side claimed.
- Only when the request carries no X-Forwarded-For at all: the `for` of the last element of
  `Forwarded`. (A trusted proxy in front of Ticketbooth adds X-Forwarded-For, so behind one the
  server must use X-Forwarded-For.)
- Anything that is not a plain IPv4 or IPv6 address (a port is allowed only in `Forwarded`'s
  syntax; `unknown`, an obfuscated `_name`, an IPv6 zone) counts as nothing forwarded: the call is
  then counted against the server's own budget, as one that forwards none.
"""

from __future__ import annotations

import ipaddress


def _plain(text: str) -> str:
    """`text` as a normalized IP address, or "" when it is none (an IPv6 zone, `%eth0`, is refused:
    no shopper on the internet has one, and it would make the address arbitrarily long)."""
    if "%" in text:
        return ""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return ""


def _node(value: str) -> str:
    """The address of one `Forwarded` node (RFC 7239 section 6): `192.0.2.43`, `"192.0.2.43:4711"`,
    `"[2001:db8::17]"` or `"[2001:db8::17]:4711"`; "" for `unknown`, `_hidden` or anything else."""
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if text.startswith("["):
        end = text.find("]")
        rest = text[end + 1:] if end > 0 else "?"
        if end < 0 or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return ""
        return _plain(text[1:end]) if ":" in text[1:end] else ""
    if text.count(":") == 1:
        text, port = text.split(":")
        if not port.isdigit():
            return ""
    address = _plain(text)
    return address if ":" not in address else ""  # unbracketed, only IPv4: IPv6 is written in brackets


def _forwarded_for(values: list[str]) -> str:
    """The `for` of the last element of the `Forwarded` header(s), as an address ("" if none)."""
    elements = [element for value in values for element in value.split(",") if element.strip()]
    if not elements:
        return ""
    for pair in elements[-1].split(";"):
        name, sep, value = pair.partition("=")
        if sep and name.strip().lower() == "for":
            return _node(value)
    return ""


def forwarded_address(claimed_hops: list[str], x_forwarded_for: bool, forwarded: list[str]) -> str:
    """The shopper's address the caller forwarded, or "" when it forwarded none (or nothing usable).

    `claimed_hops` are the X-Forwarded-For hops left of the caller's own address (as
    `context.client_address` found it), nearest last; `x_forwarded_for` whether the request carried
    that header at all; `forwarded` the values of the `Forwarded` header."""
    if claimed_hops:
        return _plain(claimed_hops[-1])
    if x_forwarded_for:
        return ""
    return _forwarded_for(forwarded)
